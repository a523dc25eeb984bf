#include "dr/duration.h"

#include <cstdint>

namespace dr {

std::optional<Duration> parse_duration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  constexpr std::int64_t kLimitMs = 100LL * 365 * 24 * 3600 * 1000;
  std::int64_t total = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    std::int64_t n = 0;
    std::size_t digits = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      n = n * 10 + (text[i] - '0');
      if (n > kLimitMs) return std::nullopt;
      ++i, ++digits;
    }
    if (digits == 0 || i == text.size()) return std::nullopt;  // a bare number has no unit
    std::int64_t unit = 0;
    if (text.substr(i, 2) == "ms") {
      unit = 1, i += 2;
    } else {
      switch (text[i]) {
        case 's': unit = 1000; break;
        case 'm': unit = 60'000; break;
        case 'h': unit = 3'600'000; break;
        case 'd': unit = 86'400'000; break;
        default: return std::nullopt;
      }
      ++i;
    }
    total += n * unit;
    if (total > kLimitMs) return std::nullopt;
  }
  return Duration{total};
}

std::string format_duration(Duration d) {
  std::int64_t ms = d.count();
  if (ms == 0) return "0s";
  std::string out;
  if (ms < 0) out = "-", ms = -ms;
  if (ms < 1000) return out + std::to_string(ms) + "ms";
  const std::int64_t days = ms / 86'400'000, hours = ms / 3'600'000 % 24, minutes = ms / 60'000 % 60;
  const std::int64_t seconds = ms / 1000 % 60, millis = ms % 1000;
  if (days) out += std::to_string(days) + "d";
  if (hours) out += std::to_string(hours) + "h";
  if (minutes) out += std::to_string(minutes) + "m";
  if (seconds || millis) {
    out += std::to_string(seconds);
    if (millis) {
      std::string frac = std::to_string(1000 + millis).substr(1);
      while (frac.back() == '0') frac.pop_back();
      out += "." + frac;
    }
    out += "s";
  }
  return out;
}

}  // namespace dr
