// Time, injected. The core (engine, journal, report) reads time only through a Clock, so tests
// drive thousands of steps on a fake clock in milliseconds and the simulator can scale time.
//
// Two readings: `now()` is monotonic (timeouts, poll schedules: immune to wall-clock jumps, see
// reliability P11) and `wall()` is UTC wall time (journal timestamps, reports).
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "dr/duration.h"

namespace dr {

class Clock {
 public:
  using time_point = std::chrono::steady_clock::time_point;
  using wall_time = std::chrono::system_clock::time_point;

  virtual ~Clock() = default;
  virtual time_point now() const = 0;
  virtual wall_time wall() const = 0;

  // Blocks until `deadline` (clock time) or until `wake()` is true, re-checked whenever `cv` is
  // notified; `lock` must hold the mutex `wake` reads under. A fake clock jumps straight to the
  // deadline instead of sleeping.
  virtual void wait_until(time_point deadline, std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                          const std::function<bool()>& wake) = 0;

  // Names the origin of now()'s readings. Two clocks with the same epoch give comparable now()
  // readings, so a deadline journaled by one process is still valid in another (a resume) when
  // the epochs match; otherwise only wall time carries over. The default is this object alone.
  virtual std::string monotonic_epoch() const;
};

// The real clocks: steady_clock and system_clock.
class SystemClock final : public Clock {
 public:
  time_point now() const override { return std::chrono::steady_clock::now(); }
  wall_time wall() const override { return std::chrono::system_clock::now(); }
  void wait_until(time_point deadline, std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                  const std::function<bool()>& wake) override;
  // Linux's CLOCK_MONOTONIC (steady_clock) counts from boot for every process: the boot id.
  std::string monotonic_epoch() const override;
};

// Time that runs `1/scale` times faster than real time (scale 1/60: a simulated minute per real
// second). Used with --simulate so job durations, Retry-After, retries and timeouts shrink together.
class ScaledClock final : public Clock {
 public:
  explicit ScaledClock(double scale);  // scale in (0, 1]
  time_point now() const override;
  wall_time wall() const override;
  void wait_until(time_point deadline, std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                  const std::function<bool()>& wake) override;
  double scale() const { return scale_; }
  // Real time that `d` of this clock's time takes.
  std::chrono::nanoseconds to_real(Duration d) const;

 private:
  double scale_;
  std::chrono::steady_clock::time_point real_start_;
  std::chrono::system_clock::time_point wall_start_;
};

// A clock tests move by hand. wait_until() advances it to the deadline unless wake() is already
// true, so an engine on a FakeClock never sleeps (only a wait with no deadline, time_point::max(),
// blocks until notified). It starts at 2026-01-01T00:00:00.000Z wall time.
class FakeClock final : public Clock {
 public:
  FakeClock();
  time_point now() const override;
  wall_time wall() const override;
  void wait_until(time_point deadline, std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                  const std::function<bool()>& wake) override;
  void advance(Duration d);
  void set_wall(wall_time t);  // a wall-clock jump: now() is unaffected

 private:
  mutable std::mutex mu_;
  time_point now_;
  wall_time wall_;
};

// RFC 3339 UTC with milliseconds: "2026-11-23T09:26:38.123Z".
std::string format_rfc3339(Clock::wall_time t);
std::optional<Clock::wall_time> parse_rfc3339(std::string_view text);

}  // namespace dr
