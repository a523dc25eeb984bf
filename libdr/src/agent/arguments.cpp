// Argument checks and argv building. The agent never runs a shell, so an argument can only ever
// become one argv element; the checks below are what keeps that element from meaning more than
// the operator declared (an option, a path outside the intended tree, a second line).
#include <charconv>
#include <regex>

#include "dr/agent_server.h"

namespace dr::agent {
namespace {

bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (std::size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    i += n;
  }
  return true;
}

bool has_dotdot_segment(std::string_view s) {
  std::size_t start = 0;
  while (start <= s.size()) {
    const auto end = s.find_first_of("/\\", start);
    const auto seg = s.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    if (seg == "..") return true;
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return false;
}

ArgumentError invalid(const std::string& arg, std::string why) {
  return {"InvalidArgument", arg, "argument '" + arg + "' " + std::move(why)};
}

// The value to put in argv, or why `value` is refused.
tl::expected<std::string, ArgumentError> check(const ArgSpec& spec, const std::string& value, std::size_t max_length) {
  const std::string& name = spec.name;
  if (value.size() > max_length)
    return tl::unexpected(invalid(name, "is longer than " + std::to_string(max_length) + " bytes"));
  for (const char ch : value) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7F) return tl::unexpected(invalid(name, "holds a control character (a newline, NUL, ...)"));
  }
  if (!valid_utf8(value)) return tl::unexpected(invalid(name, "is not valid UTF-8"));
  switch (spec.type) {
    case ArgSpec::Type::integer: {
      long long v = 0;
      const bool digits = !value.empty() && value.find_first_not_of("-0123456789") == std::string::npos;
      const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
      if (!digits || ec != std::errc() || end != value.data() + value.size())
        return tl::unexpected(invalid(name, "must be an integer"));
      if ((spec.min && v < *spec.min) || (spec.max && v > *spec.max))
        return tl::unexpected(invalid(name, "must be from " + (spec.min ? std::to_string(*spec.min) : "-inf") + " to " +
                                                (spec.max ? std::to_string(*spec.max) : "inf")));
      return std::to_string(v);  // canonical: no leading zeros, no "-0"
    }
    case ArgSpec::Type::enumeration:
      for (const auto& allowed : spec.values)
        if (value == allowed) return value;
      return tl::unexpected(invalid(name, "must be one of the values the agent declares"));
    case ArgSpec::Type::string: break;
  }
  // An argument that starts with '-' would be read as an option by most programs.
  if (!value.empty() && value.front() == '-') return tl::unexpected(invalid(name, "must not start with '-'"));
  if (has_dotdot_segment(value)) return tl::unexpected(invalid(name, "holds a '..' path segment"));
  // regex_match: the whole value, whether or not the pattern is written with ^ and $.
  const std::regex re(spec.pattern, std::regex::ECMAScript);
  if (!std::regex_match(value, re)) return tl::unexpected(invalid(name, "does not match the pattern " + spec.pattern));
  return value;
}

}  // namespace

tl::expected<std::vector<std::string>, ArgumentError> build_argv(const CommandSpec& spec,
                                                                 const std::map<std::string, std::string>& given,
                                                                 std::size_t max_length) {
  for (const auto& [name, value] : given)
    if (!spec.args.count(name))
      return tl::unexpected(ArgumentError{"UnknownArgument", name.size() > 64 ? name.substr(0, 64) : name,
                                          "'" + spec.name + "' takes no argument named '" +
                                              (name.size() > 64 ? name.substr(0, 64) + "..." : name) + "'"});
  std::map<std::string, std::string> values;
  for (const auto& [name, arg] : spec.args) {
    const auto it = given.find(name);
    if (it == given.end()) {
      if (!arg.default_value)
        return tl::unexpected(
            ArgumentError{"MissingArgument", name, "'" + spec.name + "' needs the argument '" + name + "'"});
      values[name] = *arg.default_value;  // the operator's own value, trusted like the literals
      continue;
    }
    auto checked = check(arg, it->second, max_length);
    if (!checked) return tl::unexpected(checked.error());
    values[name] = std::move(*checked);
  }
  std::vector<std::string> argv;
  argv.reserve(spec.argv.size());
  for (const auto& el : spec.argv) {
    if (el.size() > 2 && el.front() == '{' && el.back() == '}') {
      const auto it = values.find(el.substr(1, el.size() - 2));
      if (it != values.end()) {
        argv.push_back(it->second);
        continue;
      }
    }
    argv.push_back(el);
  }
  return argv;
}

}  // namespace dr::agent
