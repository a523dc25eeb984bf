#include <cstdio>

#include "dr/clock.h"

namespace dr {

std::string format_rfc3339(Clock::wall_time t) {
  using namespace std::chrono;
  const auto ms = floor<milliseconds>(t);
  const auto day = floor<days>(ms);
  const year_month_day ymd{day};
  const hh_mm_ss hms{ms - day};
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02lld.%03lldZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<long long>(hms.seconds().count()), static_cast<long long>(hms.subseconds().count()));
  return buf;
}

namespace {

class Reader {
 public:
  explicit Reader(std::string_view s) : s_(s) {}
  bool done() const { return i_ == s_.size(); }
  char peek() const { return done() ? '\0' : s_[i_]; }
  bool take(char c) {
    if (peek() != c) return false;
    ++i_;
    return true;
  }
  // Exactly `n` decimal digits.
  bool digits(int n, int& out) {
    out = 0;
    for (int k = 0; k < n; ++k) {
      const char c = peek();
      if (c < '0' || c > '9') return false;
      out = out * 10 + (c - '0');
      ++i_;
    }
    return true;
  }

 private:
  std::string_view s_;
  std::size_t i_ = 0;
};

}  // namespace

// RFC 3339 section 5.6: full-date "T" partial-time time-offset. "t", "z" and a space instead of
// "T" are accepted too (the RFC allows them); a leap second (:60) counts into the next minute.
std::optional<Clock::wall_time> parse_rfc3339(std::string_view text) {
  using namespace std::chrono;
  Reader r(text);
  int y, mo, d, h, mi, s;
  if (!r.digits(4, y) || !r.take('-') || !r.digits(2, mo) || !r.take('-') || !r.digits(2, d)) return std::nullopt;
  if (!r.take('T') && !r.take('t') && !r.take(' ')) return std::nullopt;
  if (!r.digits(2, h) || !r.take(':') || !r.digits(2, mi) || !r.take(':') || !r.digits(2, s)) return std::nullopt;
  if (h > 23 || mi > 59 || s > 60) return std::nullopt;
  const year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return std::nullopt;

  nanoseconds frac{0};
  if (r.take('.')) {
    int count = 0;
    std::int64_t ns = 0;
    while (r.peek() >= '0' && r.peek() <= '9') {
      if (count < 9) ns = ns * 10 + (r.peek() - '0');
      ++count;
      r.take(r.peek());
    }
    if (count == 0) return std::nullopt;
    for (int k = count; k < 9; ++k) ns *= 10;
    frac = nanoseconds(ns);
  }

  minutes offset{0};
  if (r.take('Z') || r.take('z')) {
  } else {
    int sign = 0;
    if (r.take('+'))
      sign = 1;
    else if (r.take('-'))
      sign = -1;
    else
      return std::nullopt;
    int oh, om;
    if (!r.digits(2, oh) || !r.take(':') || !r.digits(2, om) || oh > 23 || om > 59) return std::nullopt;
    offset = minutes(sign * (oh * 60 + om));
  }
  if (!r.done()) return std::nullopt;

  const auto local = sys_days{ymd} + hours{h} + minutes{mi} + seconds{s} + frac;
  return time_point_cast<Clock::wall_time::duration>(local - offset);
}

}  // namespace dr
