// Interpolation of ${...} references in runbook strings.
//
// A string is parsed once into pieces (literal text and references) at load time, so syntax
// errors are load errors; values are substituted later by whoever knows them (the loader for
// inputs, the engine for env, file and step outputs). Text from env and file references is
// secret: resolve() reports whether any went into the result so callers can keep it out of
// logs, journals and reports.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "dr/runbook.h"

namespace dr {

struct TemplatePiece {
  std::string literal;  // used when !ref
  std::optional<Reference> ref;
};

struct ParsedTemplate {
  std::vector<TemplatePiece> pieces;
  bool has_refs() const;
  // True when the whole string is exactly one reference ("${env.TOKEN}").
  bool is_single_ref() const;
};

// Parses "a ${env.X} b"; "$${" stands for a literal "${". On a syntax error returns nullopt and
// sets `error` (e.g. "unclosed '${'", "unknown reference kind 'envs' (expected env, file,
// inputs or steps)"), with `suggestion` set to a near kind when there is one.
std::optional<ParsedTemplate> parse_template(std::string_view text, std::string& error, std::string& suggestion);

struct Resolved {
  std::string text;
  bool secret = false;  // some env or file value went into text
};

// Substitutes each reference with lookup(ref); nullopt from lookup leaves the reference text as is.
Resolved resolve_template(const ParsedTemplate& t,
                          const std::function<std::optional<std::string>(const Reference&)>& lookup);

// `v` with every string's references substituted, through lists and maps. A string that does
// not parse, or a reference lookup() cannot fill, sets `error` (the first one only) and stays as
// written. Used for a step's `with:` (engine) and for targets and azure settings (run set-up).
Value resolve_references(const Value& v, const std::function<std::optional<std::string>(const Reference&)>& lookup,
                         std::string& error);

}  // namespace dr
