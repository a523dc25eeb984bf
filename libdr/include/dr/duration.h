// Durations as operators write them: 90s, 15m, 2h, 1h30m, 500ms, 1d. No bare numbers: a number
// without a unit is ambiguous in a runbook and is refused.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace dr {

using Duration = std::chrono::milliseconds;

// Parses "1h30m", "90s", "250ms", "2d". Returns nullopt for anything else (bare numbers,
// unknown units, overflow past 100 years).
std::optional<Duration> parse_duration(std::string_view text);

// The shortest exact form: 5400000ms -> "1h30m", 1500ms -> "1.5s", 0 -> "0s".
std::string format_duration(Duration d);

}  // namespace dr
