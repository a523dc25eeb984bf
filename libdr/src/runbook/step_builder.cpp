// Steps: default names, parameters checked against the catalogue, interpolation references,
// literal secrets, retry/when/undo. See model_builder.h.
#include <algorithm>
#include <filesystem>
#include <fstream>

#include "dr/suggest.h"
#include "runbook/model_builder.h"

namespace dr::model {
namespace {

using yaml::Node;

const std::vector<std::string> kSecretKeys{"token", "password", "secret", "client-secret"};

bool has_interpolation(const Node& n) {
  return n.is_scalar() && n.text.find("${") != std::string::npos;
}

bool is_plain_int(const Node& n) {
  return n.is_scalar() && n.plain && yaml::plain_integer(n.text).has_value();
}

std::string join(const std::vector<std::string>& v, const char* sep = ", ") {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

std::string article(const std::string& noun) {
  return (noun.find_first_of("aeiou") == 0 ? "an " : "a ") + noun;
}

std::string last_word(const std::string& action) {
  const auto dot = action.rfind('.');
  return dot == std::string::npos ? action : action.substr(dot + 1);
}

}  // namespace

StepSpec ModelBuilder::build_step(const yaml::Document& doc, const Node& node, const std::string& service,
                                  std::optional<Operation> op, std::vector<std::string>& used_names, bool is_undo,
                                  const std::string& parent_id) {
  StepSpec step;
  step.service = service;
  step.operation = op;
  step.pos = doc.pos(&node);
  const Node* action_node = node.find("action");
  step.action = action_node && action_node->is_scalar() ? action_node->text : "";

  // Name: as written, else the action's last word made unique within the service ("probe-2").
  if (is_undo) {
    step.name = "undo";
  } else if (const Node* n = node.find("name"); n && n->is_scalar()) {
    step.name = n->text;
    if (std::find(used_names.begin(), used_names.end(), step.name) != used_names.end())
      diag_.error(doc.pos(n), "step name '" + step.name + "' is used twice in " +
                                  (op ? service + "/" + operation_name(*op) : std::string("preflight")));
  } else {
    const std::string base = step.action.empty() ? "step" : last_word(step.action);
    step.name = base;
    for (int i = 2; std::find(used_names.begin(), used_names.end(), step.name) != used_names.end(); ++i)
      step.name = base + "-" + std::to_string(i);
  }
  used_names.push_back(step.name);
  if (is_undo)
    step.id = parent_id + "/undo";
  else if (op)
    step.id = service + "/" + operation_name(*op) + "/" + step.name;
  else
    step.id = "preflight/" + step.name;
  const std::string where = "step '" + step.id + "'";

  const Node* with = node.find("with");
  step.with = with ? to_value(doc, *with) : Value::map({}, step.pos);
  const ActionSpec* spec = catalogue_.find(step.action);
  if (!spec && !step.action.empty()) {
    diag_.error(doc.pos(action_node), "unknown action '" + step.action + "' in " + where,
                nearest_name(step.action, catalogue_.names()));
  }
  if (spec) {
    check_params(doc, with, node, *spec, where, step);
    if (!op && !is_undo && spec->mutating)
      diag_.error(doc.pos(action_node), "preflight steps must be read-only, but '" + step.action +
                                            "' changes things; move it into a service's steps");
  } else if (with) {
    check_strings(doc, *with, where, &step.step_refs);
  }

  if (const Node* e = node.find("expect"); e && e->is_scalar()) step.expect = parse_duration(e->text);
  // Without `timeout:` a step gets its action's default, which leaves room for the action's slow
  // cases (a 15-minute failover must not die at a flat 10m); `wait` gets its duration on top.
  Duration expected = spec ? spec->typical : Duration{0};
  if (spec && !spec->duration_param.empty())
    if (const Value* d = step.with.find(spec->duration_param); d && d->is_string())
      if (auto parsed = parse_duration(d->as_string())) expected = *parsed;
  if (step.expect) expected = *step.expect;
  step.timeout = spec ? spec->default_timeout : Duration{std::chrono::minutes(10)};
  if (spec && !spec->duration_param.empty()) step.timeout = expected + spec->default_timeout;
  if (const Node* t = node.find("timeout"); t && t->is_scalar()) {
    if (auto d = parse_duration(t->text)) {
      step.timeout = *d;
      if (*d < expected)
        diag_.warning(doc.pos(t), "timeout " + format_duration(*d) + " of " + where +
                                      " is shorter than its expected duration " + format_duration(expected) +
                                      "; the step will likely time out");
    }
  }
  if (const Node* ops = node.find("operations"); ops && ops->is_seq()) {
    if (op || is_undo) diag_.error(doc.pos(ops), "'operations' is only for preflight steps (" + where + ")");
    for (const Node* o : ops->items)
      if (auto parsed = o->is_scalar() ? parse_operation(o->text) : std::nullopt) step.preflight_for.push_back(*parsed);
  }
  if (const Node* d = node.find("description"); d && d->is_scalar()) step.description = d->text;
  if (const Node* c = node.find("continue-on-error"); c && c->is_scalar()) step.continue_on_error = c->text == "true";
  if (const Node* c = node.find("idempotent"); c && c->is_scalar()) step.idempotent = c->text == "true";

  if (const Node* r = node.find("retry"); r && r->is_map()) {
    if (const Node* a = r->find("attempts"); a && is_plain_int(*a))
      step.retry.attempts = static_cast<int>(std::clamp<std::int64_t>(*yaml::plain_integer(a->text), 1, 1000));
    if (const Node* i = r->find("interval"); i && i->is_scalar())
      if (auto d = parse_duration(i->text)) step.retry.interval = *d;
    if (const Node* b = r->find("backoff"); b && b->is_scalar() && b->text == "exponential")
      step.retry.backoff = Backoff::exponential;
    if (const Node* m = r->find("max-interval"); m && m->is_scalar()) {
      step.retry.max_interval = parse_duration(m->text);
      if (step.retry.max_interval && *step.retry.max_interval < step.retry.interval)
        diag_.error(doc.pos(m), "retry max-interval of " + where + " is shorter than its interval");
    }
  }

  if (const Node* w = node.find("when"); w && w->is_map()) {
    for (const auto& [k, v] : w->entries) {
      const std::string input = k->text.rfind("inputs.", 0) == 0 ? k->text.substr(7) : k->text;
      if (!rb_.inputs.count(input)) {
        std::vector<std::string> names;
        for (const auto& [n, in] : rb_.inputs) names.push_back(n);
        diag_.error(doc.pos(k), "'when' of " + where + " tests unknown input '" + input + "'",
                    nearest_name(input, names));
      }
      step.when.emplace_back(input, v->is_scalar() ? v->text : "");
    }
  }

  if (const Node* u = node.find("undo")) {
    if (u->is_scalar() && u->text == "none") {
      step.undo.kind = UndoSpec::Kind::none;
    } else if (u->is_map()) {
      if (!op) {
        diag_.error(doc.pos(u), "preflight steps change nothing, so " + where + " has nothing to undo");
      } else {
        std::vector<std::string> undo_names;
        auto undo = build_step(doc, *u, service, op, undo_names, true, step.id);
        step.undo.kind = UndoSpec::Kind::explicit_step;
        step.undo.step = std::make_shared<const StepSpec>(std::move(undo));
      }
    }
  } else {
    step.undo.kind = spec && !spec->builtin_undo.empty() ? UndoSpec::Kind::builtin : UndoSpec::Kind::none;
  }
  return step;
}

void ModelBuilder::check_params(const yaml::Document& doc, const Node* with, const Node& step_node,
                                const ActionSpec& action, const std::string& where, StepSpec& step) {
  const SourcePos at = doc.pos(with ? with : &step_node);
  if (with && with->is_map()) {
    for (const auto& [k, v] : with->entries) {
      const ParamSpec* p = action.param(k->text);
      if (!p) {
        const auto names = action.param_names();
        diag_.error(doc.pos(k),
                    "unknown parameter '" + k->text + "' for " + action.name + " in " + where +
                        " (it takes: " + join(names) + ")",
                    nearest_name(k->text, names));
        continue;
      }
      check_param_value(doc, *v, *p, action, where);
    }
    check_literal_secrets(doc, *with, where);
    check_strings(doc, *with, where, &step.step_refs);
  }
  const Node* map = with && with->is_map() ? with : nullptr;
  for (const auto& p : action.params)
    if (p.required && !(map && map->find(p.name)))
      diag_.error(
          at, "missing parameter '" + p.name + "' for " + action.name + " in " + where + " (" + p.description + ")");
  for (const auto& group : action.exactly_one_of) {
    std::vector<std::string> present;
    for (const auto& name : group)
      if (map && map->find(name)) present.push_back(name);
    if (present.size() != 1)
      diag_.error(at, action.name + " in " + where + " needs exactly one of '" + join(group, "' or '") + "'" +
                          (present.empty() ? std::string(", none given") : ", not both"));
  }
}

void ModelBuilder::check_param_value(const yaml::Document& doc, const Node& v, const ParamSpec& p,
                                     const ActionSpec& action, const std::string& where) {
  // Messages and suggestions are put together only when there is something to report: this
  // runs for every parameter of every step.
  auto what = [&] { return "parameter '" + p.name + "' of " + where; };
  auto fail = [&](const std::string& expected, const std::string& suggestion = {}) {
    const std::string got = v.is_scalar() ? "'" + v.text + "'"
                            : v.is_map()  ? "a map"
                            : v.is_seq()  ? "a list"
                                          : "nothing";
    diag_.error(doc.pos(&v), what() + ": expected " + expected + ", got " + got, suggestion);
  };
  // A value made of references is known only at run time; its type is checked then.
  if (has_interpolation(v) && p.type != ParamType::target) return;
  switch (p.type) {
    case ParamType::string:
      if (!v.is_scalar()) return fail("text");
      if (!p.allowed.empty() && std::find(p.allowed.begin(), p.allowed.end(), v.text) == p.allowed.end())
        return fail("one of " + join(p.allowed), nearest_name(v.text, p.allowed));
      return;
    case ParamType::integer: {
      if (!is_plain_int(v)) return fail("a whole number");
      const std::int64_t n = *yaml::plain_integer(v.text);
      if ((p.min && n < *p.min) || (p.max && n > *p.max))
        return fail("a whole number from " + std::to_string(p.min.value_or(0)) + " to " +
                    std::to_string(p.max.value_or(0)));
      return;
    }
    case ParamType::boolean:
      if (!(v.is_scalar() && v.plain && yaml::resolve_plain(v.text) == yaml::ScalarType::boolean))
        return fail("true or false");
      return;
    case ParamType::duration:
      if (!v.is_scalar() || !parse_duration(v.text)) return fail("a duration such as 90s, 15m or 1h30m");
      return;
    case ParamType::url:
      if (!v.is_scalar() || !(v.text.rfind("http://", 0) == 0 || v.text.rfind("https://", 0) == 0))
        return fail("an http:// or https:// URL");
      return;
    case ParamType::string_list:
      if (!v.is_seq() || v.items.empty()) return fail("a non-empty list such as [program, arg1, arg2]");
      for (const Node* i : v.items)
        if (!i->is_scalar()) return diag_.error(doc.pos(i), what() + ": every entry must be text");
      return;
    case ParamType::string_map:
      if (!v.is_map()) return fail("a map of names to values");
      for (const auto& [k, val] : v.entries)
        if (!val->is_scalar())
          diag_.error(doc.pos(val), what() + ": the value of '" + k->text + "' must be text or a number");
      return;
    case ParamType::object:
      if (!v.is_map()) return fail("a map");
      return;
    case ParamType::status_codes: {
      auto ok = [](const Node* n) {
        if (!is_plain_int(*n)) return false;
        const std::int64_t c = *yaml::plain_integer(n->text);
        return c >= 100 && c <= 599;
      };
      if (v.is_seq() && !v.items.empty() && std::all_of(v.items.begin(), v.items.end(), ok)) return;
      if (ok(&v)) return;
      return fail("an HTTP status code (100-599) or a list of them");
    }
    case ParamType::target: {
      if (!v.is_scalar() || has_interpolation(v)) return fail("the name of a target (no ${...} here)");
      const Target* t = rb_.target(v.text);
      if (t && (!p.target_kind || t->kind == *p.target_kind)) return;
      std::vector<std::string> same_kind;
      for (const auto& [name, tgt] : rb_.targets)
        if (!p.target_kind || tgt.kind == *p.target_kind) same_kind.push_back(name);
      const SourcePos pos = doc.pos(&v);
      if (!t) {
        diag_.error(
            pos,
            "unknown target '" + v.text + "' in " + where +
                (same_kind.empty()
                     ? " (no " + std::string(target_kind_name(*p.target_kind)) + " target is defined)"
                     : " (" + std::string(target_kind_name(*p.target_kind)) + " targets: " + join(same_kind) + ")"),
            nearest_name(v.text, same_kind));
      } else if (p.target_kind && t->kind != *p.target_kind) {
        diag_.error(pos,
                    action.name + " in " + where + " needs a " + target_kind_name(*p.target_kind) + " target, but '" +
                        v.text + "' is " + article(target_kind_name(t->kind)) + " target",
                    nearest_name(v.text, same_kind));
      }
      return;
    }
  }
}

void ModelBuilder::check_strings(const yaml::Document& doc, const Node& node, const std::string& where,
                                 std::vector<Reference>* step_refs) {
  if (node.is_map()) {
    for (const auto& [k, v] : node.entries) check_strings(doc, *v, where, step_refs);
    return;
  }
  if (node.is_seq()) {
    for (const Node* i : node.items) check_strings(doc, *i, where, step_refs);
    return;
  }
  if (!node.is_scalar() || node.text.find("${") == std::string::npos) return;
  std::string error, suggestion;
  auto parsed = parse_template(node.text, error, suggestion);
  const SourcePos pos = doc.pos(&node);
  if (!parsed) {
    diag_.error(pos, where + ": " + error, suggestion);
    return;
  }
  for (const auto& piece : parsed->pieces) {
    if (!piece.ref) continue;
    Reference ref = *piece.ref;
    ref.pos = pos;
    switch (ref.kind) {
      case Reference::Kind::input:
        if (!rb_.inputs.count(ref.name)) {
          std::vector<std::string> names;
          for (const auto& [n, in] : rb_.inputs) names.push_back(n);
          diag_.error(pos, where + " uses undeclared input '" + ref.name + "' (declare it under `inputs:`)",
                      nearest_name(ref.name, names));
        }
        break;
      case Reference::Kind::env:
        if (!env(ref.name)) missing_secret(pos, "environment variable " + ref.name + " is not set", ref, where);
        break;
      case Reference::Kind::file: {
        std::filesystem::path path(ref.name);
        if (path.is_relative()) path = std::filesystem::path(doc.file()).parent_path() / path;
        if (!std::ifstream(path)) missing_secret(pos, "cannot read " + path.string(), ref, where);
        break;
      }
      case Reference::Kind::step_output:
        if (!step_refs)
          diag_.error(pos, where + ": step outputs (" + ref.text() + ") can only be used in a step's `with:`");
        else
          step_refs->push_back(std::move(ref));
        break;
    }
  }
}

// One diagnostic per missing variable or file, at its first use; finish() adds how many other
// places use it. At run time it is an error, for validate and plan a warning.
void ModelBuilder::missing_secret(const SourcePos& pos, const std::string& what, const Reference& ref,
                                  const std::string& where) {
  auto [it, first] = missing_secrets_.try_emplace(ref.text(), MissingSecret{diag_.all().size(), 0});
  if (!first) {
    ++it->second.more_uses;
    return;
  }
  const std::string msg = what + " (" + ref.text() + " in " + where + ")";
  options_.require_secrets ? diag_.error(pos, msg) : diag_.warning(pos, msg);
}

void ModelBuilder::check_literal_secrets(const yaml::Document& doc, const Node& node, const std::string& where) {
  if (node.is_seq()) {
    for (const Node* i : node.items) check_literal_secrets(doc, *i, where);
    return;
  }
  if (!node.is_map()) return;
  for (const auto& [k, v] : node.entries) {
    if (v->is_scalar() && std::find(kSecretKeys.begin(), kSecretKeys.end(), k->text) != kSecretKeys.end()) {
      std::string error, suggestion;
      auto t = parse_template(v->text, error, suggestion);
      const bool ok = t && t->is_single_ref() && t->pieces[0].ref->secret();
      // The value itself is never printed: it may be a real secret.
      if (!ok)
        diag_.error(doc.pos(v), "'" + k->text + "' in " + where +
                                    " holds a literal value; secrets must come from ${env.NAME} or ${file.PATH}");
    } else {
      check_literal_secrets(doc, *v, where);
    }
  }
}

void ModelBuilder::check_step_refs(const StepSpec& step, const Service* own, std::size_t own_index) {
  auto check = [&](const StepSpec& s, bool is_undo) {
    for (const auto& ref : s.step_refs) {
      if (!own) {
        diag_.error(ref.pos, "preflight step '" + s.id + "' cannot use step outputs (" + ref.text() + ")");
        continue;
      }
      const Service* svc = rb_.service(ref.service);
      if (!svc) {
        std::vector<std::string> names;
        for (const auto& x : rb_.services) names.push_back(x.name);
        diag_.error(ref.pos, ref.text() + " in step '" + s.id + "' names unknown service '" + ref.service + "'",
                    nearest_name(ref.service, names));
        continue;
      }
      const auto& steps = svc->steps(*step.operation);
      auto it = std::find_if(steps.begin(), steps.end(), [&](const StepSpec& x) { return x.name == ref.step; });
      if (it == steps.end()) {
        std::vector<std::string> names;
        for (const auto& x : steps) names.push_back(x.name);
        diag_.error(ref.pos,
                    ref.text() + " in step '" + s.id + "' names no step of " + ref.service + "/" +
                        operation_name(*step.operation),
                    nearest_name(ref.step, names));
        continue;
      }
      const ActionSpec* producer = catalogue_.find(it->action);
      if (producer &&
          std::find(producer->outputs.begin(), producer->outputs.end(), ref.output) == producer->outputs.end()) {
        diag_.error(ref.pos,
                    ref.text() + " in step '" + s.id + "': " + it->action + " has no output '" + ref.output +
                        "' (outputs: " + (producer->outputs.empty() ? "none" : join(producer->outputs)) + ")",
                    nearest_name(ref.output, producer->outputs));
        continue;
      }
      // Within one service steps run in the order written, so a later step's output does not
      // exist yet. An undo runs after its own step, so it may use that step's outputs.
      const auto index = static_cast<std::size_t>(it - steps.begin());
      if (svc == own && (index > own_index || (index == own_index && !is_undo)))
        diag_.error(ref.pos, ref.text() + " in step '" + s.id + "' refers to a step that has not run yet");
    }
  };
  check(step, false);
  if (step.undo.step) check(*step.undo.step, true);
}

}  // namespace dr::model
