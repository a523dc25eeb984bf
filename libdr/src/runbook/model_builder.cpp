#include "runbook/model_builder.h"

#include <cstdlib>

#include "dr/suggest.h"

namespace dr::model {
namespace {

using yaml::Node;

std::string scalar_text(const Node* n) {
  return n && n->is_scalar() ? n->text : std::string{};
}

}  // namespace

Value to_value(const yaml::Document& doc, const Node& n) {
  const SourcePos pos = doc.pos(&n);
  switch (n.kind) {
    case Node::Kind::null: return Value::null(pos);
    case Node::Kind::scalar: {
      if (!n.plain) return Value::string(n.text, pos);
      switch (yaml::resolve_plain(n.text)) {
        case yaml::ScalarType::boolean: return Value::boolean(n.text[0] == 't' || n.text[0] == 'T', pos);
        case yaml::ScalarType::integer:
          if (auto v = yaml::plain_integer(n.text)) return Value::integer(*v, pos);
          return Value::string(n.text, pos);
        case yaml::ScalarType::number: return Value::number(std::strtod(n.text.c_str(), nullptr), pos);
        default: return Value::string(n.text, pos);
      }
    }
    case Node::Kind::sequence: {
      std::vector<Value> items;
      items.reserve(n.items.size());
      for (const Node* i : n.items) items.push_back(to_value(doc, *i));
      return Value::list(std::move(items), pos);
    }
    case Node::Kind::map: {
      std::vector<Value::Entry> entries;
      entries.reserve(n.entries.size());
      for (const auto& [k, v] : n.entries) entries.emplace_back(k->text, to_value(doc, *v));
      return Value::map(std::move(entries), pos);
    }
  }
  return Value::null(pos);
}

ModelBuilder::ModelBuilder(const LoadOptions& options, const Catalogue& catalogue, Diagnostics& diag)
    : options_(options), catalogue_(catalogue), diag_(diag) {}

const char* ModelBuilder::env(const std::string& name) const {
  return options_.getenv ? options_.getenv(name.c_str()) : std::getenv(name.c_str());
}

void ModelBuilder::add_definitions(const yaml::Document& doc) {
  const Node* root = doc.root();
  if (!root || !root->is_map()) return;
  if (const Node* n = root->find("inputs"); n && n->is_map()) add_inputs(doc, *n);
  if (const Node* n = root->find("azure"); n && n->is_map()) add_azure(doc, *n);
  if (const Node* n = root->find("targets"); n && n->is_map()) add_targets(doc, *n);
}

void ModelBuilder::add_inputs(const yaml::Document& doc, const Node& inputs) {
  for (const auto& [k, v] : inputs.entries) {
    if (auto it = rb_.inputs.find(k->text); it != rb_.inputs.end()) {
      diag_.error(doc.pos(k), "input '" + k->text + "' is defined twice (first at " + it->second.pos.str() + ")");
      continue;
    }
    Input in;
    in.name = k->text;
    in.pos = doc.pos(k);
    if (v->is_map()) {
      in.description = scalar_text(v->find("description"));
      if (const Node* d = v->find("default"); d && d->is_scalar()) in.default_value = d->text;
      if (const Node* r = v->find("required"); r && r->is_scalar()) in.required = r->text == "true";
      if (const Node* a = v->find("allowed"); a && a->is_seq())
        for (const Node* item : a->items)
          if (item->is_scalar()) in.allowed.push_back(item->text);
      if (in.default_value && !in.allowed.empty() &&
          std::find(in.allowed.begin(), in.allowed.end(), *in.default_value) == in.allowed.end())
        diag_.error(doc.pos(v->find("default")),
                    "default '" + *in.default_value + "' of input '" + in.name + "' is not among its allowed values");
    }
    rb_.inputs.emplace(in.name, std::move(in));
  }
}

void ModelBuilder::add_azure(const yaml::Document& doc, const Node& azure) {
  if (rb_.azure) {
    diag_.error(doc.pos(&azure), "'azure' is set twice (first at " + rb_.azure->pos.str() + "); keep it in one file");
    return;
  }
  AzureSettings a;
  a.pos = doc.pos(&azure);
  if (const Node* c = azure.find("cloud"); c && c->is_scalar()) a.cloud = c->text;
  a.subscription = scalar_text(azure.find("subscription"));
  a.tenant = scalar_text(azure.find("tenant"));
  if (const Node* c = azure.find("custom"); c && c->is_map()) {
    a.arm_endpoint = scalar_text(c->find("arm-endpoint"));
    a.authority_host = scalar_text(c->find("authority-host"));
    a.audience = scalar_text(c->find("audience"));
  }
  if (a.cloud == "custom" && a.arm_endpoint.empty())
    diag_.error(doc.pos(&azure),
                "azure.cloud is 'custom' but azure.custom {arm-endpoint, authority-host, audience} is missing");
  if (const Node* v = azure.find("api-versions"); v && v->is_map())
    for (const auto& [k, val] : v->entries) a.api_versions[k->text] = scalar_text(val);
  for (const char* key : {"subscription", "tenant"})
    if (const Node* n = azure.find(key)) check_strings(doc, *n, std::string("azure.") + key, nullptr);
  rb_.azure = std::move(a);
}

void ModelBuilder::add_targets(const yaml::Document& doc, const Node& targets) {
  for (const auto& [k, v] : targets.entries) {
    if (auto it = rb_.targets.find(k->text); it != rb_.targets.end()) {
      diag_.error(doc.pos(k), "target '" + k->text + "' is defined twice (first at " + it->second.pos.str() + ")");
      continue;
    }
    if (!v->is_map() || v->entries.size() != 1) continue;  // the schema has said why
    const auto& [kind_node, fields] = v->entries.front();
    Target t;
    t.name = k->text;
    t.pos = doc.pos(k);
    const std::string& kind = kind_node->text;
    if (kind == "traffic-manager")
      t.kind = TargetKind::traffic_manager;
    else if (kind == "site-recovery")
      t.kind = TargetKind::site_recovery;
    else if (kind == "backup")
      t.kind = TargetKind::backup;
    else if (kind == "agent")
      t.kind = TargetKind::agent;
    else
      continue;
    t.fields = to_value(doc, *fields);
    const std::string where = "target '" + t.name + "'";
    check_strings(doc, *fields, where, nullptr);
    check_literal_secrets(doc, *fields, where);
    rb_.targets.emplace(t.name, std::move(t));
  }
}

void ModelBuilder::add_body(const yaml::Document& doc) {
  const Node* root = doc.root();
  if (!root || !root->is_map()) return;
  rb_.file = doc.file();
  rb_.name = scalar_text(root->find("name"));
  rb_.description = scalar_text(root->find("description"));
  rb_.owner = scalar_text(root->find("owner"));
  if (const Node* o = root->find("objectives"); o && o->is_map()) {
    if (const Node* r = o->find("rto"); r && r->is_scalar()) rb_.objectives.rto = parse_duration(r->text);
    if (const Node* r = o->find("rpo"); r && r->is_scalar()) rb_.objectives.rpo = parse_duration(r->text);
  }
  if (scalar_text(root->find("on-failure")) == "pause") rb_.on_failure = OnFailure::pause;
  if (const Node* c = root->find("concurrency");
      c && c->is_scalar() && c->plain && yaml::resolve_plain(c->text) == yaml::ScalarType::integer)
    rb_.concurrency = std::clamp(std::atoi(c->text.c_str()), 1, 100000);

  if (const Node* p = root->find("preflight"); p && p->is_seq()) {
    std::vector<std::string> used;
    for (const Node* step : p->items)
      if (step->is_map()) rb_.preflight.push_back(build_step(doc, *step, "", std::nullopt, used, false, ""));
  }
  if (const Node* s = root->find("services"); s && s->is_map()) add_services(doc, *s);
}

void ModelBuilder::add_services(const yaml::Document& doc, const Node& services) {
  rb_.services.reserve(services.entries.size());
  for (const auto& [k, v] : services.entries) {
    Service svc;
    svc.name = k->text;
    svc.pos = doc.pos(k);
    if (v->is_map()) {
      svc.description = scalar_text(v->find("description"));
      if (const Node* t = v->find("tier");
          t && t->is_scalar() && yaml::resolve_plain(t->text) == yaml::ScalarType::integer)
        svc.tier = std::atoi(t->text.c_str());
      if (const Node* d = v->find("depends-on"); d && d->is_seq())
        for (const Node* dep : d->items)
          if (dep->is_scalar()) svc.depends_on.push_back(dep->text), svc.depends_on_pos.push_back(doc.pos(dep));
      for (Operation op : kOperations) {
        const Node* steps = v->find(operation_name(op));
        if (!steps || !steps->is_seq()) continue;
        std::vector<std::string> used;
        auto& list = svc.operations[op];
        list.reserve(steps->items.size());
        for (const Node* step : steps->items)
          if (step->is_map()) list.push_back(build_step(doc, *step, svc.name, op, used, false, ""));
      }
    }
    rb_.service_index.emplace(svc.name, rb_.services.size());
    rb_.services.push_back(std::move(svc));
  }
}

void ModelBuilder::apply_cli_inputs() {
  std::vector<std::string> names;
  for (const auto& [name, in] : rb_.inputs) names.push_back(name);
  const SourcePos cli{"--input", 0, 0};
  for (const auto& [key, value] : options_.inputs) {
    auto it = rb_.inputs.find(key);
    if (it == rb_.inputs.end()) {
      diag_.error(cli, "unknown input '" + key + "' (the runbook declares: " +
                           (names.empty() ? std::string("none") : [&] {
                             std::string s;
                             for (const auto& n : names) s += (s.empty() ? "" : ", ") + n;
                             return s;
                           }()) + ")",
                  nearest_name(key, names));
      continue;
    }
    const auto& allowed = it->second.allowed;
    if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), value) == allowed.end()) {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      diag_.error(cli, "input '" + key + "' = '" + value + "' is not allowed (expected one of " + list + ")",
                  nearest_name(value, allowed));
    }
  }
}

Runbook ModelBuilder::finish() {
  apply_cli_inputs();
  for (const auto& [ref, m] : missing_secrets_)
    if (m.more_uses)
      diag_.annotate(m.diagnostic,
                     "; used in " + std::to_string(m.more_uses) + " more place" + (m.more_uses == 1 ? "" : "s"));
  // depends-on names must exist; a service may not depend on itself. The names to suggest from
  // are gathered at the first unknown one: most runbooks have none, and large ones have many names.
  std::vector<std::string> names;
  for (const auto& svc : rb_.services) {
    for (std::size_t i = 0; i < svc.depends_on.size(); ++i) {
      const std::string& dep = svc.depends_on[i];
      if (dep == svc.name) {
        diag_.error(svc.depends_on_pos[i], "service '" + svc.name + "' depends on itself");
      } else if (!rb_.service(dep)) {
        if (names.empty())
          for (const auto& s : rb_.services) names.push_back(s.name);
        diag_.error(svc.depends_on_pos[i], "service '" + svc.name + "' depends on unknown service '" + dep + "'",
                    nearest_name(dep, names));
      }
    }
    for (const auto& [op, steps] : svc.operations)
      for (std::size_t i = 0; i < steps.size(); ++i) check_step_refs(steps[i], &svc, i);
  }
  for (const auto& step : rb_.preflight) check_step_refs(step, nullptr, 0);
  return std::move(rb_);
}

}  // namespace dr::model
