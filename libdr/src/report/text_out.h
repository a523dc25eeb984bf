// Small text helpers the renderers share: escaping for XML/HTML and Markdown, and numbers
// printed the same way on every machine (no locale, fixed precision).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace dr::report::detail {

// &, <, >, " and ' as entities; control characters other than tab and newline (which XML 1.0
// cannot carry at all) as U+FFFD.
std::string xml_escape(std::string_view s);
// For a Markdown table cell: | and newlines would end the cell; backticks and * would format.
std::string md_escape(std::string_view s);
// "12.345" (3 decimals, trailing zeros trimmed, "0" for zero).
std::string num(double v);
// "15m0s"-like durations for people: "14m 3.2s", "2.5s", "1h 2m".
std::string human_seconds(double seconds);
std::string human_seconds(const std::optional<double>& seconds, std::string_view none = "not measured");

}  // namespace dr::report::detail
