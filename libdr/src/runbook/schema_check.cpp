#include "runbook/schema_check.h"

#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "dr/runbook.h"
#include "dr/suggest.h"
#include "runbook/path_words.h"
#include "runbook/yaml_adapter.h"

namespace dr::schema {
namespace {

using json = nlohmann::json;
using yaml::Node;

// --- the schemas, parsed once ---------------------------------------------------------------

struct Schemas {
  json doc;
  json fragment_doc;
  valijson::Schema runbook;
  valijson::Schema fragment;
};

const Schemas& schemas() {
  // valijson::Schema cannot be moved, so the schemas are built in place, once.
  static const Schemas* s = [] {
    auto* out_ptr = new Schemas();
    Schemas& out = *out_ptr;
    out.doc = json::parse(runbook_schema());
    // The include-file schema is the fragment definition, with the same definitions to resolve $refs.
    out.fragment_doc = out.doc["definitions"]["fragment"];
    out.fragment_doc["definitions"] = out.doc["definitions"];
    valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
    valijson::adapters::NlohmannJsonAdapter a(out.doc), b(out.fragment_doc);
    parser.populateSchema(a, out.runbook);
    parser.populateSchema(b, out.fragment);
    return out_ptr;
  }();
  return *s;
}

// --- navigation: the instance node and the subschema at a valijson context path ------------

// valijson writes a context as "<root>", "[key]", "[key]"...; array indexes look like keys, so
// the instance tree decides which it is.
std::vector<std::string> path_of(const std::vector<std::string>& context) {
  std::vector<std::string> out;
  for (const auto& c : context) {
    if (c == "<root>") continue;
    out.push_back(c.size() >= 2 && c.front() == '[' && c.back() == ']' ? c.substr(1, c.size() - 2) : c);
  }
  return out;
}

const Node* node_at(const Node* root, const std::vector<std::string>& path) {
  const Node* n = root;
  for (const auto& p : path) {
    if (!n) return nullptr;
    if (n->is_map()) {
      n = n->find(p);
    } else if (n->is_seq()) {
      std::size_t i = 0;
      auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), i);
      n = (ec == std::errc() && ptr == p.data() + p.size() && i < n->items.size()) ? n->items[i] : nullptr;
    } else {
      return nullptr;
    }
  }
  return n;
}

class Navigator {
 public:
  explicit Navigator(const json& root) : root_(root) {}

  const json* resolve(const json* s) const {
    for (int guard = 0; s && s->is_object() && s->contains("$ref") && guard < 16; ++guard) {
      const std::string ref = (*s)["$ref"];
      if (ref.rfind("#/", 0) != 0) return s;
      s = &root_.at(json::json_pointer(ref.substr(1)));
    }
    return s;
  }

  // For anyOf, the branch whose declared type fits the instance node.
  const json* branch_for(const json* s, const Node* n) const {
    s = resolve(s);
    if (!s || !s->is_object() || !s->contains("anyOf") || !n) return s;
    for (const auto& b : (*s)["anyOf"]) {
      const json* r = resolve(&b);
      const bool wants_object = r->value("type", "") == "object";
      if (wants_object == n->is_map()) return r;
    }
    return s;
  }

  // The schema for child `key` of an object schema (properties, then patternProperties, then
  // additionalProperties when it is a schema), or nullptr when the key is not allowed.
  const json* child(const json* s, const Node* n, const std::string& key) const {
    s = branch_for(s, n);
    if (!s || !s->is_object()) return nullptr;
    if (n && n->is_seq()) return s->contains("items") ? &(*s)["items"] : nullptr;
    if (s->contains("properties") && (*s)["properties"].contains(key)) return &(*s)["properties"][key];
    if (s->contains("patternProperties"))
      for (const auto& [pat, sub] : (*s)["patternProperties"].items())
        if (std::regex_search(key, std::regex(pat))) return &sub;
    if (s->contains("additionalProperties") && (*s)["additionalProperties"].is_object())
      return &(*s)["additionalProperties"];
    return nullptr;
  }

  // The outermost schema at `path` (not resolved into anyOf branches), for its x-expected.
  const json* at(const Node* root, const std::vector<std::string>& path) const {
    const json* s = &root_;
    const Node* n = root;
    for (const auto& p : path) {
      s = child(s, n, p);
      if (!s) return nullptr;
      n = node_at(n, {p});
    }
    return s;
  }

  std::vector<std::string> property_names(const json* s, const Node* n) const {
    s = branch_for(s, n);
    std::vector<std::string> out;
    if (s && s->is_object() && s->contains("properties"))
      for (const auto& [k, v] : (*s)["properties"].items()) out.push_back(k);
    return out;
  }

  std::string expected(const json* s, const Node* n) const {
    if (!s) return {};
    if (s->is_object() && s->contains("x-expected")) return (*s)["x-expected"];
    const json* r = branch_for(s, n);
    if (r && r->is_object() && r->contains("x-expected")) return (*r)["x-expected"];
    if (r && r->is_object() && r->contains("enum")) {
      std::string out;
      for (const auto& e : (*r)["enum"])
        out += (out.empty() ? "" : ", ") + (e.is_string() ? e.get<std::string>() : e.dump());
      return "one of " + out;
    }
    if (r && r->is_object() && r->contains("type") && (*r)["type"].is_string()) {
      const std::string t = (*r)["type"];
      if (t == "object") return "a map";
      if (t == "array") return "a list";
      if (t == "string") return "text";
      if (t == "integer") return "a whole number";
      if (t == "boolean") return "true or false";
      return t;
    }
    return {};
  }

 private:
  const json& root_;
};

std::string got(const Node* n) {
  if (!n) return "nothing";
  switch (n->kind) {
    case Node::Kind::null: return "an empty value";
    case Node::Kind::map: return "a map";
    case Node::Kind::sequence: return "a list";
    case Node::Kind::scalar: {
      std::string t = n->text.size() > 60 ? n->text.substr(0, 57) + "..." : n->text;
      return "'" + t + "'";
    }
  }
  return "?";
}

bool starts_with(const std::string& s, std::string_view p) {
  return s.rfind(p, 0) == 0;
}

bool is_wrapper(const std::string& d) {
  return starts_with(d, "Failed to validate against schema associated with") ||
         starts_with(d, "Failed to validate item #") || starts_with(d, "Failed to validate against additional") ||
         starts_with(d, "Failed to validate against child schema") ||
         starts_with(d, "Failed to validate against any schemas allowed by anyOf");
}

std::string quoted_tail(const std::string& d) {
  const auto e = d.rfind('\'');
  const auto b = e == std::string::npos ? e : d.rfind('\'', e - 1);
  return b == std::string::npos ? std::string{} : d.substr(b + 1, e - b - 1);
}

class Translator {
 public:
  Translator(const yaml::Document& doc, const Navigator& nav, Diagnostics& diag)
      : doc_(doc), nav_(nav), diag_(diag), root_(doc.root()) {}

  void translate(const std::vector<valijson::ValidationResults::Error>& errors) {
    // valijson also reports a wrapper at each enclosing level; only leaf errors are shown.
    auto has_other_below = [&](const std::vector<std::string>& p, const std::string& self) {
      for (const auto& e : errors) {
        if (is_wrapper(e.description) || e.description == self) continue;
        auto q = path_of(e.context);
        if (q.size() >= p.size() && std::equal(p.begin(), p.end(), q.begin()) && !is_type_or_enum(e.description))
          return true;
      }
      return false;
    };

    for (const auto& e : errors) {
      const auto path = path_of(e.context);
      const Node* n = node_at(root_, path);
      const std::string& d = e.description;
      // valijson reports a failed propertyNames constraint silently, so check names at every
      // path it mentions (and at the property a wrapper names); good names report nothing.
      check_property_names(path);
      if (starts_with(d, "Failed to validate against schema associated with property name")) {
        auto child_path = path;
        child_path.push_back(quoted_tail(d));
        check_property_names(child_path);
      }
      if (is_wrapper(d)) continue;
      // A type or enum mismatch on a map that has other errors inside comes from the anyOf
      // branch that did not apply (undo: none | {...}); the real errors are the others.
      if (is_type_or_enum(d) && n && (n->is_map() || n->is_seq()) && has_other_below(path, d)) continue;

      if (starts_with(d, "Object contains a property that could not be validated")) {
        unknown_keys(path, n);
      } else if (starts_with(d, "Missing required property")) {
        const std::string key = quoted_tail(d);
        diag_.error(doc_.pos(n), "missing required key '" + key + "' in " + path_words(path, root_));
      } else if (starts_with(d, "Elements at indexes")) {
        diag_.error(doc_.pos(n), path_words(path, root_) + " lists the same entry twice");
      } else {
        const json* s = nav_.at(root_, path);
        std::string expected = nav_.expected(s, n);
        if (expected.empty()) expected = d;
        diag_.error(doc_.pos(n), path_words(path, root_) + ": expected " + expected + ", got " + got(n));
      }
    }
  }

 private:
  static bool is_type_or_enum(const std::string& d) {
    return starts_with(d, "Value type not permitted") || starts_with(d, "Failed to match against any enum") ||
           starts_with(d, "Failed to match expected value set by 'const'");
  }

  void unknown_keys(const std::vector<std::string>& path, const Node* n) {
    if (!n || !n->is_map()) return;
    const json* s = nav_.at(root_, path);
    const auto allowed = nav_.property_names(s, n);
    for (const auto& [k, v] : n->entries) {
      if (nav_.child(s, n, k->text)) continue;
      diag_.error(doc_.pos(k), "unknown key '" + k->text + "' in " + path_words(path, root_),
                  nearest_name(k->text, allowed));
    }
  }

  void check_property_names(const std::vector<std::string>& path) {
    if (!names_checked_.insert(path).second) return;
    const Node* n = node_at(root_, path);
    const json* s = nav_.resolve(nav_.at(root_, path));
    if (!n || !n->is_map() || !s || !s->is_object() || !s->contains("propertyNames")) return;
    const json* names = nav_.resolve(&(*s)["propertyNames"]);
    if (!names->contains("pattern")) return;
    const std::regex re((*names)["pattern"].get<std::string>());
    const std::string expected =
        names->value("x-expected", "a name matching " + (*names)["pattern"].get<std::string>());
    for (const auto& [k, v] : n->entries)
      if (!std::regex_search(k->text, re))
        diag_.error(doc_.pos(k), "bad name '" + k->text + "' in " + path_words(path, root_) + ": expected " + expected);
  }

  std::set<std::vector<std::string>> names_checked_;
  const yaml::Document& doc_;
  const Navigator& nav_;
  Diagnostics& diag_;
  const Node* root_;
};

}  // namespace

bool check(const yaml::Document& doc, DocumentKind kind, Diagnostics& diag) {
  const Schemas& s = schemas();
  if (!doc.root()) return false;
  // valijson walks the YAML tree itself (runbook/yaml_adapter.h), not a JSON copy of it.
  SortedMembers sorted;
  const YamlAdapter instance(doc.root(), &sorted);
  valijson::Validator validator(valijson::Validator::kStrongTypes);
  valijson::ValidationResults results;
  const bool ok = validator.validate(kind == DocumentKind::runbook ? s.runbook : s.fragment, instance, &results);
  if (ok) return true;
  std::vector<valijson::ValidationResults::Error> errors(results.begin(), results.end());
  if (std::getenv("EDGEDR_DEBUG_SCHEMA"))
    for (const auto& e : errors) {
      std::string c;
      for (const auto& x : e.context) c += x;
      std::fprintf(stderr, "valijson: %s: %s\n", c.c_str(), e.description.c_str());
    }
  const Navigator nav(kind == DocumentKind::runbook ? s.doc : s.fragment_doc);
  const std::size_t before = diag.error_count();
  Translator(doc, nav, diag).translate(errors);
  if (diag.error_count() == before)  // never pass a document valijson refused
    diag.error(doc.pos(doc.root()), "the runbook does not match the runbook schema");
  return false;
}

}  // namespace dr::schema
