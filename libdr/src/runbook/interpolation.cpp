#include "dr/interpolation.h"

#include "dr/suggest.h"

namespace dr {
namespace {

bool valid_env_name(std::string_view s) {
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  return true;
}

bool valid_name(std::string_view s) {
  if (s.empty() || s.size() > 63) return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  return s[0] != '-';
}

std::optional<Reference> parse_ref(std::string_view body, std::string& error, std::string& suggestion) {
  const auto dot = body.find('.');
  const std::string kind(body.substr(0, dot));
  const std::string_view rest = dot == std::string_view::npos ? std::string_view{} : body.substr(dot + 1);
  Reference r;
  if (kind == "env") {
    r.kind = Reference::Kind::env;
    if (!valid_env_name(rest)) {
      error = "'${" + std::string(body) + "}' is not a valid environment variable reference (expected ${env.NAME})";
      return std::nullopt;
    }
  } else if (kind == "file") {
    r.kind = Reference::Kind::file;
    if (rest.empty()) {
      error = "'${file.}' names no file (expected ${file.PATH})";
      return std::nullopt;
    }
  } else if (kind == "inputs") {
    r.kind = Reference::Kind::input;
    if (!valid_name(rest)) {
      error = "'${" + std::string(body) + "}' is not a valid input reference (expected ${inputs.NAME})";
      return std::nullopt;
    }
  } else if (kind == "steps") {
    r.kind = Reference::Kind::step_output;
    const auto d1 = rest.find('.');
    const auto d2 = d1 == std::string_view::npos ? d1 : rest.find('.', d1 + 1);
    if (d2 == std::string_view::npos || rest.find('.', d2 + 1) != std::string_view::npos) {
      error =
          "'${" + std::string(body) + "}' is not a valid step output reference (expected ${steps.SERVICE.STEP.OUTPUT})";
      return std::nullopt;
    }
    r.service = std::string(rest.substr(0, d1));
    r.step = std::string(rest.substr(d1 + 1, d2 - d1 - 1));
    r.output = std::string(rest.substr(d2 + 1));
    if (!valid_name(r.service) || !valid_name(r.step) || !valid_name(r.output)) {
      error =
          "'${" + std::string(body) + "}' is not a valid step output reference (expected ${steps.SERVICE.STEP.OUTPUT})";
      return std::nullopt;
    }
  } else {
    error =
        "unknown reference kind '" + kind + "' in '${" + std::string(body) + "}' (expected env, file, inputs or steps)";
    suggestion = nearest_name(kind, {"env", "file", "inputs", "steps"});
    return std::nullopt;
  }
  r.name = std::string(rest);
  return r;
}

}  // namespace

std::string Reference::text() const {
  switch (kind) {
    case Kind::env: return "${env." + name + "}";
    case Kind::file: return "${file." + name + "}";
    case Kind::input: return "${inputs." + name + "}";
    case Kind::step_output: return "${steps." + service + "." + step + "." + output + "}";
  }
  return {};
}

bool ParsedTemplate::has_refs() const {
  for (const auto& p : pieces)
    if (p.ref) return true;
  return false;
}

bool ParsedTemplate::is_single_ref() const {
  return pieces.size() == 1 && pieces[0].ref.has_value();
}

std::optional<ParsedTemplate> parse_template(std::string_view text, std::string& error, std::string& suggestion) {
  ParsedTemplate t;
  std::string literal;
  std::size_t i = 0;
  while (i < text.size()) {
    if (text.compare(i, 3, "$${") == 0) {
      literal += "${";
      i += 3;
      continue;
    }
    if (text.compare(i, 2, "${") != 0) {
      literal += text[i++];
      continue;
    }
    const auto close = text.find('}', i + 2);
    if (close == std::string_view::npos) {
      error = "unclosed '${' in '" + std::string(text.substr(i, 40)) + "' (write $${ for a literal ${)";
      return std::nullopt;
    }
    auto ref = parse_ref(text.substr(i + 2, close - i - 2), error, suggestion);
    if (!ref) return std::nullopt;
    if (!literal.empty()) t.pieces.push_back({std::move(literal), std::nullopt}), literal.clear();
    t.pieces.push_back({{}, std::move(ref)});
    i = close + 1;
  }
  if (!literal.empty() || t.pieces.empty()) t.pieces.push_back({std::move(literal), std::nullopt});
  return t;
}

Resolved resolve_template(const ParsedTemplate& t,
                          const std::function<std::optional<std::string>(const Reference&)>& lookup) {
  Resolved out;
  for (const auto& p : t.pieces) {
    if (!p.ref) {
      out.text += p.literal;
      continue;
    }
    if (auto v = lookup(*p.ref)) {
      out.text += *v;
      out.secret = out.secret || p.ref->secret();
    } else {
      out.text += p.ref->text();
    }
  }
  return out;
}

Value resolve_references(const Value& v, const std::function<std::optional<std::string>(const Reference&)>& lookup,
                         std::string& error) {
  switch (v.kind()) {
    case Value::Kind::string: {
      if (v.as_string().find('$') == std::string::npos) return v;
      std::string parse_error, suggestion;
      auto t = parse_template(v.as_string(), parse_error, suggestion);
      if (!t) {
        if (error.empty()) error = parse_error;
        return v;
      }
      return Value::string(resolve_template(*t, lookup).text, v.pos());
    }
    case Value::Kind::list: {
      std::vector<Value> items;
      items.reserve(v.items().size());
      for (const auto& i : v.items()) items.push_back(resolve_references(i, lookup, error));
      return Value::list(std::move(items), v.pos());
    }
    case Value::Kind::map: {
      std::vector<Value::Entry> entries;
      entries.reserve(v.entries().size());
      for (const auto& [k, val] : v.entries()) entries.emplace_back(k, resolve_references(val, lookup, error));
      return Value::map(std::move(entries), v.pos());
    }
    default: return v;
  }
}

}  // namespace dr
