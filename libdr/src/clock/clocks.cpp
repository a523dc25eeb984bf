#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <stdexcept>

#include "dr/clock.h"

namespace dr {

std::string Clock::monotonic_epoch() const {
  char text[64];
  std::snprintf(text, sizeof text, "process-%ld-%p", static_cast<long>(::getpid()), static_cast<const void*>(this));
  return text;
}

std::string SystemClock::monotonic_epoch() const {
  // Read once: the boot id cannot change while the process lives.
  static const std::string boot = [] {
    std::ifstream in("/proc/sys/kernel/random/boot_id");
    std::string id;
    std::getline(in, id);
    return id.empty() ? std::string() : "boot-" + id;
  }();
  return boot.empty() ? Clock::monotonic_epoch() : boot;
}

void SystemClock::wait_until(time_point deadline, std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                             const std::function<bool()>& wake) {
  if (deadline == time_point::max()) {
    cv.wait(lock, wake);
    return;
  }
  cv.wait_until(lock, deadline, wake);
}

// --- ScaledClock ---------------------------------------------------------------------------

namespace {

// Nanosecond counts are computed in double so that time_point::max() and other far deadlines
// saturate instead of overflowing.
std::chrono::nanoseconds saturated_ns(double ns) {
  constexpr double kLimit = static_cast<double>(std::numeric_limits<std::int64_t>::max() / 4);
  if (ns > kLimit) ns = kLimit;
  if (ns < -kLimit) ns = -kLimit;
  return std::chrono::nanoseconds(static_cast<std::int64_t>(ns));
}

}  // namespace

ScaledClock::ScaledClock(double scale)
    : scale_(scale), real_start_(std::chrono::steady_clock::now()), wall_start_(std::chrono::system_clock::now()) {
  if (!(scale > 0 && scale <= 1)) throw std::invalid_argument("ScaledClock: the time scale must be in (0, 1]");
}

// Clock time runs 1/scale times faster than real time from the moment the clock was made. Both
// readings are derived from the monotonic real clock, so a wall-clock jump does not move them.
Clock::time_point ScaledClock::now() const {
  const auto real = std::chrono::steady_clock::now() - real_start_;
  return real_start_ + saturated_ns(static_cast<double>(real.count()) / scale_);
}

Clock::wall_time ScaledClock::wall() const {
  const auto real = std::chrono::steady_clock::now() - real_start_;
  return wall_start_ +
         std::chrono::duration_cast<wall_time::duration>(saturated_ns(static_cast<double>(real.count()) / scale_));
}

std::chrono::nanoseconds ScaledClock::to_real(Duration d) const {
  return saturated_ns(static_cast<double>(std::chrono::nanoseconds(d).count()) * scale_);
}

void ScaledClock::wait_until(time_point deadline, std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                             const std::function<bool()>& wake) {
  if (deadline == time_point::max()) {
    cv.wait(lock, wake);
    return;
  }
  const double clock_ns = static_cast<double>(deadline.time_since_epoch().count()) -
                          static_cast<double>(real_start_.time_since_epoch().count());
  cv.wait_until(lock, real_start_ + saturated_ns(clock_ns * scale_), wake);
}

// --- FakeClock -----------------------------------------------------------------------------

namespace {
// A fixed, recognisable start so tests are reproducible: 2026-01-01T00:00:00Z, and a steady
// reading far from zero so code that subtracts durations from now() stays positive.
constexpr auto kFakeWallStart = std::chrono::sys_days{std::chrono::year{2026} / 1 / 1};
constexpr auto kFakeSteadyStart = std::chrono::hours(24 * 365);
}  // namespace

FakeClock::FakeClock() : now_(kFakeSteadyStart), wall_(kFakeWallStart) {}

Clock::time_point FakeClock::now() const {
  std::lock_guard g(mu_);
  return now_;
}

Clock::wall_time FakeClock::wall() const {
  std::lock_guard g(mu_);
  return wall_;
}

void FakeClock::advance(Duration d) {
  std::lock_guard g(mu_);
  now_ += d;
  wall_ += d;
}

void FakeClock::set_wall(wall_time t) {
  std::lock_guard g(mu_);
  wall_ = t;
}

void FakeClock::wait_until(time_point deadline, std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                           const std::function<bool()>& wake) {
  if (wake()) return;
  // No deadline: fake time cannot pass on its own, so only another thread's notify can end this.
  if (deadline == time_point::max()) {
    cv.wait(lock, wake);
    return;
  }
  std::lock_guard g(mu_);
  if (deadline > now_) {
    const auto step = deadline - now_;
    now_ = deadline;
    wall_ += std::chrono::duration_cast<wall_time::duration>(step);
  }
}

}  // namespace dr
