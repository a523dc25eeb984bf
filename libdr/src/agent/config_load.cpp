// The agent's configuration file (docs/agent.md): YAML read field by field, every problem
// collected with its file:line:col rather than stopping at the first.
#include <yaml-cpp/yaml.h>

#include <charconv>
#include <fstream>
#include <functional>
#include <regex>
#include <set>
#include <sstream>

#include "dr/agent_server.h"
#include "yaml/yaml_reader.h"

namespace dr::agent {
namespace {

const std::regex kNameRe("^[a-z0-9][a-z0-9._-]{0,63}$");
const std::regex kArgNameRe("^[a-z][a-z0-9_-]{0,31}$");
// A placeholder fills a whole argv element; anything like one inside a longer element is the
// string interpolation this design refuses.
const std::regex kPlaceholderRe(R"(^\{([a-z][a-z0-9_-]{0,31})\}$)");
const std::regex kEmbeddedRe(R"(\{[a-z][a-z0-9_-]*\})");

class Reader : public yaml::YamlReader {
 public:
  using YamlReader::YamlReader;

  bool str(const YAML::Node& n, std::string& out, const std::string& what) {
    if (!n.IsScalar() || n.Scalar().empty()) {
      error(n, "expected a non-empty string for " + what);
      return false;
    }
    out = n.Scalar();
    return true;
  }

  bool integer(const YAML::Node& n, long long& out, long long lo, long long hi, const std::string& what) {
    if (n.IsScalar()) {
      const auto& s = n.Scalar();
      long long v = 0;
      const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
      if (ec == std::errc() && end == s.data() + s.size() && v >= lo && v <= hi) {
        out = v;
        return true;
      }
    }
    error(n, "expected an integer from " + std::to_string(lo) + " to " + std::to_string(hi) + " for " + what);
    return false;
  }

  bool boolean(const YAML::Node& n, bool& out, const std::string& what) {
    if (n.IsScalar() && (n.Scalar() == "true" || n.Scalar() == "false")) {
      out = n.Scalar() == "true";
      return true;
    }
    error(n, "expected true or false for " + what);
    return false;
  }

  bool duration(const YAML::Node& n, Duration& out, const std::string& what) {
    if (n.IsScalar())
      if (auto d = parse_duration(n.Scalar()); d && *d > Duration::zero()) {
        out = *d;
        return true;
      }
    error(n, "expected a positive duration such as 30s, 10m or 1h30m for " + what);
    return false;
  }

  // Bytes: 4096, 4KiB, 1MiB (K and M are accepted for KiB and MiB).
  bool bytes(const YAML::Node& n, std::size_t& out, std::size_t lo, std::size_t hi, const std::string& what) {
    if (n.IsScalar()) {
      const auto& s = n.Scalar();
      unsigned long long v = 0;
      const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
      const std::string unit(end, s.data() + s.size());
      unsigned long long mult = 0;
      if (unit.empty() || unit == "B") mult = 1;
      if (unit == "K" || unit == "KiB") mult = 1024;
      if (unit == "M" || unit == "MiB") mult = 1024 * 1024;
      if (ec == std::errc() && mult && v <= hi && v * mult >= lo && v * mult <= hi) {
        out = static_cast<std::size_t>(v * mult);
        return true;
      }
    }
    error(n, "expected a size from " + std::to_string(lo) + " to " + std::to_string(hi) +
                 " bytes (a number, or with KiB or MiB) for " + what);
    return false;
  }

  std::vector<std::string> string_list(const YAML::Node& n, const std::string& what) {
    std::vector<std::string> out;
    if (!n.IsSequence() || n.size() == 0) {
      error(n, "expected a non-empty list of strings for " + what);
      return out;
    }
    for (const auto& item : n) {
      if (item.IsScalar()) {
        out.push_back(item.Scalar());
      } else {
        error(item, "expected a string in " + what);
      }
    }
    return out;
  }
};

bool split_listen(const std::string& text, std::string& host, int& port) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  const std::string p = text.substr(colon + 1);
  const auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), port);
  return ec == std::errc() && end == p.data() + p.size() && port >= 0 && port <= 65535 && !host.empty();
}

ArgSpec read_arg(Reader& r, const std::string& cmd, const std::string& name, const YAML::Node& n) {
  ArgSpec a;
  a.name = name;
  a.pos = r.pos(n);
  const std::string what = "argument '" + name + "' of '" + cmd + "'";
  if (!std::regex_match(name, kArgNameRe))
    r.error(n, "argument name '" + name + "' must match " + "^[a-z][a-z0-9_-]{0,31}$");
  std::string type = "string";
  std::optional<YAML::Node> default_node;
  r.each(n, what, {"type", "pattern", "min", "max", "values", "default", "secret"},
         [&](const std::string& key, const YAML::Node& v) {
           if (key == "type") {
             if (r.str(v, type, what + " type") && type != "string" && type != "integer" && type != "enum")
               r.error(v, "the type of " + what + " must be string, integer or enum");
           } else if (key == "pattern") {
             if (r.str(v, a.pattern, what + " pattern")) {
               try {
                 std::regex test(a.pattern, std::regex::ECMAScript);
               } catch (const std::regex_error& e) {
                 r.error(v, "the pattern of " + what + " is not a valid ECMAScript regex: " + e.what());
               }
             }
           } else if (key == "min" || key == "max") {
             long long x = 0;
             if (r.integer(v, x, -(1LL << 53), 1LL << 53, what + " " + key)) (key == "min" ? a.min : a.max) = x;
           } else if (key == "values") {
             a.values = r.string_list(v, what + " values");
           } else if (key == "default") {
             default_node = v;
           } else if (key == "secret") {
             r.boolean(v, a.secret, what + " secret");
           }
         });
  if (!n.IsMap()) return a;
  a.type = type == "integer" ? ArgSpec::Type::integer
           : type == "enum"  ? ArgSpec::Type::enumeration
                             : ArgSpec::Type::string;
  if (a.type == ArgSpec::Type::string && a.pattern.empty())
    r.error(
        n,
        what + " needs a pattern (an anchored regex such as \"^[a-z0-9-]{1,32}$\"): a string is never taken unchecked");
  if (a.type != ArgSpec::Type::string && !a.pattern.empty())
    r.error(n, "pattern applies only to string arguments (" + what + ")");
  if (a.type != ArgSpec::Type::integer && (a.min || a.max))
    r.error(n, "min and max apply only to integer arguments (" + what + ")");
  if (a.type == ArgSpec::Type::enumeration && a.values.empty())
    r.error(n, what + " is an enum and needs values: [...]");
  if (a.type != ArgSpec::Type::enumeration && !a.values.empty())
    r.error(n, "values applies only to enum arguments (" + what + ")");
  if (a.min && a.max && *a.min > *a.max) r.error(n, "min is above max for " + what);
  if (default_node) {
    if (default_node->IsScalar())
      a.default_value = default_node->Scalar();
    else
      r.error(*default_node, "the default of " + what + " must be a scalar");
  }
  return a;
}

CommandSpec read_command(Reader& r, const std::string& kind, const std::string& name, const YAML::Node& n,
                         bool is_check) {
  CommandSpec c;
  c.name = name;
  c.pos = r.pos(n);
  if (is_check) c.timeout = 10s;
  const std::string what = kind + " '" + name + "'";
  if (!std::regex_match(name, kNameRe))
    r.error(n, kind + " name '" + name + "' must match ^[a-z0-9][a-z0-9._-]{0,63}$");
  std::optional<YAML::Node> command_node;
  std::set<std::string> known = {"command", "timeout", "output-cap"};
  if (!is_check) known.insert({"args", "concurrency"});
  r.each(n, what, known, [&](const std::string& key, const YAML::Node& v) {
    if (key == "command") {
      command_node = v;
      c.argv = r.string_list(v, what + " command");
    } else if (key == "timeout") {
      r.duration(v, c.timeout, what + " timeout");
    } else if (key == "output-cap") {
      r.bytes(v, c.output_cap, 0, 16 * 1024 * 1024, what + " output-cap");
    } else if (key == "concurrency") {
      long long x = 0;
      if (r.integer(v, x, 1, 1000, what + " concurrency")) c.concurrency = static_cast<int>(x);
    }  // args: read below, once the keys are known
  });
  if (!n.IsMap()) return c;
  if (const auto args = n["args"]; args && args.IsMap()) {
    for (const auto& kv : args) c.args[kv.first.Scalar()] = read_arg(r, name, kv.first.Scalar(), kv.second);
  } else if (args && !args.IsNull()) {
    r.error(args, "expected a map of arguments for " + what);
  }
  if (!command_node) {
    r.error(n, what + " needs a command: [program, arg, ...] (an argv, never a shell line)");
    return c;
  }
  std::set<std::string> used;
  for (std::size_t i = 0; i < c.argv.size(); ++i) {
    const auto& el = c.argv[i];
    const YAML::Node el_node = (*command_node)[i];
    std::smatch m;
    if (std::regex_match(el, m, kPlaceholderRe)) {
      if (i == 0) r.error(el_node, "the program of " + what + " must be a literal, not an argument");
      if (!c.args.count(m[1].str()))
        r.error(el_node, what + " uses {" + m[1].str() + "} but declares no such argument under args:");
      used.insert(m[1].str());
    } else if (std::regex_search(el, kEmbeddedRe)) {
      r.error(el_node, "'" + el + "' in " + what +
                           ": an argument fills a whole argv element (\"{name}\"), never part of one; "
                           "split it into separate elements");
    } else if (el.empty() && i == 0) {
      r.error(el_node, "the program of " + what + " is empty");
    }
  }
  for (const auto& [arg, spec] : c.args)
    if (!used.count(arg))
      r.error_at(spec.pos, "argument '" + arg + "' of " + what + " is declared but not used in its command");
  return c;
}

}  // namespace

bool is_loopback_address(std::string_view host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

tl::expected<Config, Diagnostics> parse_config(const std::string& yaml_text, const std::string& file_name) {
  Diagnostics diags;
  Config c;
  c.file = file_name;
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::ParserException& e) {
    diags.error({file_name, e.mark.line + 1, e.mark.column + 1}, "not valid YAML: " + e.msg);
    return tl::unexpected(diags);
  }
  Reader r(file_name, diags);
  if (!root.IsMap()) {
    diags.error({file_name, 1, 1}, "expected a map with listen, tokens, state-dir and actions");
    return tl::unexpected(diags);
  }
  std::optional<YAML::Node> tls_node;
  r.each(root, "the agent configuration",
         {"listen", "tls", "tokens", "state-dir", "access-log", "limits", "actions", "checks"},
         [&](const std::string& key, const YAML::Node& v) {
           if (key == "listen") {
             std::string text;
             c.listen_pos = r.pos(v);
             if (r.str(v, text, "listen") && !split_listen(text, c.host, c.port))
               r.error(v, "listen '" + text + "' is not HOST:PORT (e.g. 0.0.0.0:8443, [::1]:8443)");
           } else if (key == "tls") {
             tls_node = v;
             r.each(v, "tls", {"cert", "key", "client-ca"}, [&](const std::string& k, const YAML::Node& x) {
               std::string& out = k == "cert" ? c.tls_cert : k == "key" ? c.tls_key : c.tls_client_ca;
               r.str(x, out, "tls " + k);
             });
           } else if (key == "tokens") {
             c.token_files = r.string_list(v, "tokens (token files)");
           } else if (key == "state-dir") {
             r.str(v, c.state_dir, "state-dir");
           } else if (key == "access-log") {
             r.str(v, c.access_log, "access-log");
           } else if (key == "limits") {
             auto& l = c.limits;
             r.each(v, "limits", {"max-body", "max-arg-length", "concurrency", "retry-after", "grace", "kill-after"},
                    [&](const std::string& k, const YAML::Node& x) {
                      long long n = 0;
                      if (k == "max-body") r.bytes(x, l.max_body, 256, 64 * 1024 * 1024, "limits max-body");
                      if (k == "max-arg-length") r.bytes(x, l.max_arg_length, 1, 64 * 1024, "limits max-arg-length");
                      if (k == "concurrency" && r.integer(x, n, 1, 1000, "limits concurrency"))
                        l.concurrency = static_cast<int>(n);
                      if (k == "retry-after") r.duration(x, l.retry_after, "limits retry-after");
                      if (k == "grace") r.duration(x, l.grace, "limits grace");
                      if (k == "kill-after") r.duration(x, l.kill_after, "limits kill-after");
                    });
           } else if (key == "actions" || key == "checks") {
             const bool checks = key == "checks";
             if (!v.IsMap()) {
               r.error(v, "expected a map of " + key + " by name");
               return;
             }
             for (const auto& kv : v) {
               const auto name = kv.first.Scalar();
               (checks ? c.checks : c.actions)[name] =
                   read_command(r, checks ? "check" : "action", name, kv.second, checks);
             }
           }
         });
  const SourcePos top{file_name, 1, 1};
  if (!root["listen"]) diags.error(top, "listen: HOST:PORT is required");
  if (!root["state-dir"]) diags.error(top, "state-dir: is required (where runs and idempotency keys are kept)");
  if (!root["tokens"]) diags.error(top, "tokens: [FILE, ...] is required (a bearer token per file)");
  if (!root["actions"] && !root["checks"]) diags.error(top, "no actions: and no checks: the agent would do nothing");
  if (tls_node && tls_node->IsMap()) {
    if (c.tls_cert.empty() != c.tls_key.empty()) r.error(*tls_node, "tls needs both cert and key");
    if (!c.tls_client_ca.empty() && c.tls_cert.empty())
      r.error(*tls_node, "tls client-ca needs a server cert and key too");
  }
  if (root["listen"] && !c.host.empty() && c.tls_cert.empty() && !is_loopback_address(c.host))
    diags.error(c.listen_pos, "plain HTTP on '" + c.host +
                                  "' is refused: tokens would cross the network in clear text; add tls: { cert: FILE, "
                                  "key: FILE } or listen on a loopback address (127.0.0.1, ::1)");
  if (diags.has_errors()) {
    diags.sort_and_dedupe();
    return tl::unexpected(diags);
  }
  return c;
}

tl::expected<Config, Diagnostics> load_config(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    Diagnostics d;
    d.error({path, 0, 0}, "cannot read the agent configuration file");
    return tl::unexpected(d);
  }
  std::ostringstream text;
  text << in.rdbuf();
  return parse_config(text.str(), path);
}

}  // namespace dr::agent
