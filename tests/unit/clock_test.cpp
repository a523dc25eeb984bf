#include <doctest/doctest.h>

#include <thread>

#include "dr/clock.h"

using namespace dr;
using namespace std::chrono_literals;

namespace {

// Waits on `clock` until `deadline` with nothing to wake it early.
void sleep_on(Clock& clock, Clock::time_point deadline) {
  std::mutex m;
  std::condition_variable cv;
  std::unique_lock lock(m);
  clock.wait_until(deadline, cv, lock, [] { return false; });
}

}  // namespace

TEST_CASE("a fake clock jumps to the deadline instead of sleeping") {
  FakeClock clock;
  const auto start = clock.now();
  const auto wall_start = clock.wall();
  const auto real_start = std::chrono::steady_clock::now();
  sleep_on(clock, start + 1h);
  CHECK(clock.now() == start + 1h);
  CHECK(clock.wall() == wall_start + 1h);
  CHECK(std::chrono::steady_clock::now() - real_start < 1s);

  // A deadline already past does not move it back.
  sleep_on(clock, start);
  CHECK(clock.now() == start + 1h);
}

TEST_CASE("a fake clock does not move when the wake condition already holds") {
  FakeClock clock;
  const auto start = clock.now();
  std::mutex m;
  std::condition_variable cv;
  std::unique_lock lock(m);
  clock.wait_until(start + 5min, cv, lock, [] { return true; });
  CHECK(clock.now() == start);
}

TEST_CASE("advancing a fake clock moves both readings; setting its wall time moves only the wall") {
  FakeClock clock;
  const auto start = clock.now();
  const auto wall_start = clock.wall();
  clock.advance(90s);
  CHECK(clock.now() == start + 90s);
  CHECK(clock.wall() == wall_start + 90s);

  const auto jump = wall_start - 24h;  // the wall clock is set back a day
  clock.set_wall(jump);
  CHECK(clock.wall() == jump);
  CHECK(clock.now() == start + 90s);
}

TEST_CASE("a fake clock starts at a fixed, reproducible wall time") {
  FakeClock a, b;
  CHECK(a.wall() == b.wall());
  CHECK(format_rfc3339(a.wall()) == "2026-01-01T00:00:00.000Z");
}

TEST_CASE("a scaled clock runs faster than real time") {
  ScaledClock clock(0.01);
  CHECK(clock.scale() == 0.01);
  CHECK(clock.to_real(1s) == std::chrono::nanoseconds(10ms));

  const auto start = clock.now();
  const auto wall_start = clock.wall();
  const auto real_start = std::chrono::steady_clock::now();
  sleep_on(clock, start + 1s);  // one second of clock time
  const auto real = std::chrono::steady_clock::now() - real_start;
  CHECK(clock.now() >= start + 1s);
  CHECK(real >= 9ms);
  CHECK(real < 500ms);
  CHECK(clock.wall() - wall_start >= 1s);
}

TEST_CASE("a scaled clock's wait ends early when woken") {
  ScaledClock clock(0.5);
  std::mutex m;
  std::condition_variable cv;
  bool done = false;
  std::thread waker([&] {
    std::this_thread::sleep_for(20ms);
    std::lock_guard g(m);
    done = true;
    cv.notify_all();
  });
  const auto real_start = std::chrono::steady_clock::now();
  {
    std::unique_lock lock(m);
    clock.wait_until(clock.now() + 1h, cv, lock, [&] { return done; });
  }
  waker.join();
  CHECK(done);
  CHECK(std::chrono::steady_clock::now() - real_start < 10s);
}

TEST_CASE("a scaled clock refuses a scale outside (0, 1]") {
  CHECK_THROWS_AS(ScaledClock(0), std::invalid_argument);
  CHECK_THROWS_AS(ScaledClock(1.5), std::invalid_argument);
  CHECK_THROWS_AS(ScaledClock(-1), std::invalid_argument);
}

TEST_CASE("the system clock waits until its deadline or until woken") {
  SystemClock clock;
  const auto start = clock.now();
  sleep_on(clock, start + 20ms);
  CHECK(clock.now() >= start + 20ms);

  std::mutex m;
  std::condition_variable cv;
  std::unique_lock lock(m);
  const auto before = clock.now();
  clock.wait_until(before + 1h, cv, lock, [] { return true; });
  CHECK(clock.now() - before < 1s);
}

TEST_CASE("RFC 3339 times print in UTC with milliseconds") {
  using namespace std::chrono;
  const auto t = sys_days{year{2026} / 11 / 23} + 9h + 26min + 38s + 123ms;
  CHECK(format_rfc3339(t) == "2026-11-23T09:26:38.123Z");
  CHECK(format_rfc3339(t + 456us) == "2026-11-23T09:26:38.123Z");  // truncated, not rounded
  CHECK(format_rfc3339(sys_days{year{1970} / 1 / 1}) == "1970-01-01T00:00:00.000Z");
  CHECK(format_rfc3339(sys_days{year{2024} / 2 / 29} + 23h + 59min + 59s + 999ms) == "2024-02-29T23:59:59.999Z");
}

TEST_CASE("RFC 3339 times read back with Z, offsets and optional fractions") {
  using namespace std::chrono;
  const auto t = sys_days{year{2026} / 11 / 23} + 9h + 26min + 38s;
  CHECK(parse_rfc3339("2026-11-23T09:26:38Z") == t);
  CHECK(parse_rfc3339("2026-11-23T09:26:38.123Z") == t + 123ms);
  CHECK(parse_rfc3339("2026-11-23T09:26:38.5Z") == t + 500ms);
  CHECK(parse_rfc3339("2026-11-23T09:26:38.123456789Z") == t + 123456789ns);
  CHECK(parse_rfc3339("2026-11-23T10:26:38+01:00") == t);
  CHECK(parse_rfc3339("2026-11-23T04:56:38.250-04:30") == t + 250ms);
  CHECK(parse_rfc3339("2026-11-23t09:26:38z") == t);
  CHECK(parse_rfc3339("2026-11-24T00:26:38+15:00") == t);
}

TEST_CASE("RFC 3339 refuses what is not a full date and time") {
  for (const char* bad :
       {"", "2026-11-23", "2026-11-23T09:26:38", "2026-11-23T09:26Z", "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z",
        "2026-11-23T24:00:00Z", "2026-11-23T09:60:00Z", "2026-11-23T09:26:38.Z", "2026-11-23T09:26:38+0100",
        "2026-11-23T09:26:38+01", "2026-11-23T09:26:38Zjunk", "26-11-23T09:26:38Z", "2026-11-23T09:26:38 Z"})
    CHECK_MESSAGE(!parse_rfc3339(bad), bad);
}

TEST_CASE("RFC 3339 round-trips at millisecond precision") {
  SystemClock clock;
  const auto now = std::chrono::floor<std::chrono::milliseconds>(clock.wall());
  const auto text = format_rfc3339(now);
  REQUIRE(parse_rfc3339(text));
  CHECK(*parse_rfc3339(text) == now);
  for (const char* text2 : {"2000-01-01T00:00:00.000Z", "2026-11-23T09:26:38.123Z", "2099-12-31T23:59:59.999Z"})
    CHECK(format_rfc3339(*parse_rfc3339(text2)) == text2);
}
