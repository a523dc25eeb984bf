#include "report/text_out.h"

#include <cmath>
#include <cstdio>

namespace dr::report::detail {

std::string xml_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n')
          out += "\xEF\xBF\xBD";
        else
          out += c;
    }
  }
  return out;
}

std::string md_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\n' || c == '\r')
      out += ' ';
    else if (c == '|' || c == '`' || c == '*' || c == '_' || c == '<' || c == '>' || c == '[' || c == ']' || c == '\\')
      out += std::string("\\") + c;
    else
      out += c;
  }
  return out;
}

std::string num(double v) {
  if (!std::isfinite(v)) return "0";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  std::string s = buf;
  while (!s.empty() && s.back() == '0') s.pop_back();
  if (!s.empty() && s.back() == '.') s.pop_back();
  if (s == "-0") s = "0";
  return s;
}

std::string human_seconds(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) seconds = 0;
  if (seconds < 60) return num(std::round(seconds * 10) / 10) + "s";
  const long total = std::lround(seconds);
  const long h = total / 3600, m = total % 3600 / 60, s = total % 60;
  std::string out;
  if (h) out += std::to_string(h) + "h ";
  if (h || m) out += std::to_string(m) + "m";
  if (s) out += " " + std::to_string(s) + "s";
  return out;
}

std::string human_seconds(const std::optional<double>& seconds, std::string_view none) {
  return seconds ? human_seconds(*seconds) : std::string(none);
}

}  // namespace dr::report::detail
