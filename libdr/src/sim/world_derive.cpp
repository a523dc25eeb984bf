// derive_world: the healthy world a runbook expects, so any runbook runs end to end offline.
#include <algorithm>
#include <cctype>
#include <set>

#include "dr/sim.h"
#include "dr/text.h"

namespace dr::sim {
namespace {

std::string field(const Value& map, std::string_view key) {
  const Value* v = map.find(key);
  return v && v->is_scalar() ? v->to_text() : std::string();
}

std::string endpoint_type(const std::string& written) {
  const auto t = lower(written);
  if (t.rfind("azure", 0) == 0) return "AzureEndpoints";
  if (t.rfind("nested", 0) == 0) return "NestedEndpoints";
  return "ExternalEndpoints";
}

std::vector<std::string> words(const std::string& name) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : name + "-") {
    if (std::isalpha(static_cast<unsigned char>(c))) {
      cur += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else {
      if (cur.size() > 2) out.push_back(cur);
      cur.clear();
    }
  }
  return out;
}

template <typename T>
T& named(std::vector<T>& v, const std::string& name) {
  for (auto& x : v)
    if (x.name == name) return x;
  v.push_back(T{});
  v.back().name = name;
  return v.back();
}

// Every step the runbook could run: preflight, each operation's steps, and explicit undo steps.
void each_step(const Runbook& rb, const std::function<void(const StepSpec&)>& f) {
  const auto visit = [&](const StepSpec& s) {
    f(s);
    if (s.undo.kind == UndoSpec::Kind::explicit_step && s.undo.step) f(*s.undo.step);
  };
  for (const auto& s : rb.preflight) visit(s);
  for (const auto& svc : rb.services)
    for (const auto& [op, steps] : svc.operations)
      for (const auto& s : steps) visit(s);
}

}  // namespace

World derive_world(const Runbook& rb, std::optional<Operation> operation) {
  World w;
  if (rb.azure && !rb.azure->tenant.empty() && rb.azure->tenant.find("${") == std::string::npos)
    w.tenant = rb.azure->tenant;

  // Targets first, so each resource gets its resource group even when no step names it.
  for (const auto& [name, t] : rb.targets) {
    const auto rg = field(t.fields, "resource-group");
    switch (t.kind) {
      case TargetKind::traffic_manager: {
        auto& p = named(w.profiles, field(t.fields, "profile"));
        p.resource_group = rg;
        break;
      }
      case TargetKind::site_recovery: {
        auto& v = named(w.recovery_vaults, field(t.fields, "vault"));
        v.resource_group = rg;
        break;
      }
      case TargetKind::backup: {
        auto& v = named(w.backup_vaults, field(t.fields, "vault"));
        v.resource_group = rg;
        break;
      }
      case TargetKind::agent: {
        auto& a = named(w.agents, name);
        a.url = field(t.fields, "url");
        break;
      }
    }
  }
  const auto target_of = [&](const StepSpec& s) -> const Target* { return rb.target(field(s.with, "target")); };

  std::set<std::string> plan_items_named;  // "vault/item" of item steps, placed into plans below
  each_step(rb, [&](const StepSpec& s) {
    const auto& a = s.action;
    const Target* t = target_of(s);
    if (a.rfind("traffic-manager.", 0) == 0 && t) {
      auto& p = named(w.profiles, field(t->fields, "profile"));
      const auto ep_name = field(s.with, "endpoint");
      if (ep_name.empty()) return;
      const bool is_new =
          std::none_of(p.endpoints.begin(), p.endpoints.end(), [&](const TmEndpoint& e) { return e.name == ep_name; });
      auto& e = named(p.endpoints, ep_name);
      if (is_new) {
        e.priority = static_cast<int>(p.endpoints.size());
        e.weight = 1;
        e.target = ep_name + ".example.net";
      }
      if (const auto ty = field(s.with, "endpoint-type"); !ty.empty()) e.type = endpoint_type(ty);
    } else if (a.rfind("site-recovery.", 0) == 0 && t) {
      auto& v = named(w.recovery_vaults, field(t->fields, "vault"));
      if (const auto plan = field(s.with, "plan"); !plan.empty()) named(v.plans, plan);
      if (auto item = field(s.with, "item"); !item.empty()) {
        // fabric/container/item, or a friendly name
        AsrItem parsed;
        if (std::count(item.begin(), item.end(), '/') == 2) {
          const auto a1 = item.find('/'), a2 = item.find('/', a1 + 1);
          parsed.fabric = item.substr(0, a1);
          parsed.container = item.substr(a1 + 1, a2 - a1 - 1);
          item = item.substr(a2 + 1);
        }
        const bool is_new =
            std::none_of(v.items.begin(), v.items.end(), [&](const AsrItem& i) { return i.name == item; });
        auto& it = named(v.items, item);
        if (is_new) {
          if (!parsed.fabric.empty()) {
            it.fabric = parsed.fabric;
            it.container = parsed.container;
          }
          it.friendly_name = item;
        }
        plan_items_named.insert(v.name + "/" + item);
      }
    } else if (a.rfind("backup.", 0) == 0 && t) {
      auto& v = named(w.backup_vaults, field(t->fields, "vault"));
      if (const auto item = field(s.with, "item"); !item.empty()) {
        auto& it = named(v.items, item);
        if (const auto c = field(s.with, "container"); !c.empty()) it.container = c;
      }
    } else if (a.rfind("agent.", 0) == 0) {
      const auto tname = field(s.with, "target");
      auto& ag = named(w.agents, tname);
      if (a == "agent.run") {
        if (const auto n = field(s.with, "action"); !n.empty()) named(ag.actions, n);
      } else if (const auto n = field(s.with, "check"); !n.empty()) {
        named(ag.checks, n);
      }
    } else if (a == "http.probe") {
      const auto url = field(s.with, "url");
      if (url.empty()) return;
      Probe p;
      p.url = url;
      const auto body = field(s.with, "expect-body");
      if (!body.empty()) p.body = body;
      if (const Value* st = s.with.find("expect-status"); st && st->kind() == Value::Kind::integer)
        p.status = static_cast<int>(st->as_int());
      auto existing = std::find_if(w.probes.begin(), w.probes.end(), [&](const Probe& x) { return x.url == url; });
      if (existing == w.probes.end())
        w.probes.push_back(p);
      else if (!body.empty() && existing->body.find(body) == std::string::npos)
        existing->body += "\n" + body;
    }
  });

  // Items named by item steps but in no plan join the plan whose name shares a word with theirs
  // (scada-gw01 -> rp-line3-scada), else the first plan, so a plan failover moves them too.
  for (auto& v : w.recovery_vaults) {
    v.durations = {{"failover", std::chrono::minutes(6)},
                   {"test-failover", std::chrono::minutes(6)},
                   {"test-failover-cleanup", std::chrono::minutes(3)},
                   {"commit", std::chrono::minutes(1)},
                   {"cancel", std::chrono::minutes(3)},
                   {"reprotect", std::chrono::minutes(15)}};
    for (const auto& it : v.items) {
      if (!plan_items_named.count(v.name + "/" + it.name) || v.plans.empty()) continue;
      const bool in_plan = std::any_of(v.plans.begin(), v.plans.end(), [&](const AsrPlan& p) {
        return std::find(p.items.begin(), p.items.end(), it.name) != p.items.end();
      });
      if (in_plan) continue;
      AsrPlan* best = &v.plans.front();
      for (auto& p : v.plans) {
        const auto pw = words(p.name);
        for (const auto& iw : words(it.name))
          if (std::find(pw.begin(), pw.end(), iw) != pw.end()) best = &p;
      }
      best->items.push_back(it.name);
    }
    for (auto& p : v.plans)
      if (p.items.empty()) {
        p.items.push_back(p.name + "-vm1");
        auto& it = named(v.items, p.name + "-vm1");
        it.friendly_name = it.name;
      }
  }
  // A few recovery points per backup item, the newest 2 h before the simulation starts (their
  // times are fixed when the simulator starts: see Simulator).
  for (auto& v : w.backup_vaults)
    for (auto& it : v.items)
      if (it.recovery_points.empty())
        for (int i = 0; i < 3; ++i)
          it.recovery_points.push_back({std::to_string(26083826328862LL - i * 1000),
                                        Clock::wall_time{} - std::chrono::hours(2 + 24 * i),
                                        i == 0 ? "AppConsistent" : "CrashConsistent"});
  for (auto& p : w.profiles)
    if (p.resource_group.empty()) p.resource_group = "rg-" + p.name;
  if (operation == Operation::failback) {
    for (auto& v : w.recovery_vaults) {
      for (auto& p : v.plans) p.reversed = true;
      for (auto& it : v.items) it.reversed = true;
    }
  }
  return w;
}

}  // namespace dr::sim
