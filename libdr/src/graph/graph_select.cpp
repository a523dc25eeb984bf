// --only / --skip: which steps of an operation are kept.
//
// An entry names a service or a full step id. A name that matches nothing is an error with the
// nearest real name, never silently ignored: a typo in --skip would otherwise run a step the
// operator meant to leave out.
#include <string>

#include "dr/suggest.h"
#include "graph/graph_internal.h"

namespace dr::graph_detail {

bool Selection::keeps(std::size_t service, const StepSpec& step) const {
  if (!active) return true;
  if (skip_service[service] || skip_steps.count(step.id)) return false;
  return !has_only || only_service[service] || only_steps.count(step.id);
}

namespace {

// Every name an entry may use, for the "did you mean" suggestion. Built only when a name is
// unknown, so the common path stays linear.
std::vector<std::string> known_names(const Runbook& runbook, Operation op) {
  std::vector<std::string> names;
  for (const auto& step : runbook.preflight)
    if (step.preflight_applies(op)) names.push_back(step.id);
  for (const auto& svc : runbook.services) {
    names.push_back(svc.name);
    for (const auto& step : svc.steps(op)) names.push_back(step.id);
  }
  return names;
}

}  // namespace

Selection select_steps(const Runbook& runbook, Operation op, const GraphOptions& options, Diagnostics& diag) {
  Selection sel;
  sel.has_only = !options.only.empty();
  sel.active = sel.has_only || !options.skip.empty();
  if (!sel.active) return sel;
  sel.only_service.assign(runbook.services.size(), false);
  sel.skip_service.assign(runbook.services.size(), false);
  sel.touched.assign(runbook.services.size(), false);

  // Step id -> service index, for the steps an entry may name.
  std::unordered_map<std::string_view, std::size_t> step_service;
  constexpr std::size_t kPreflight = static_cast<std::size_t>(-1);
  for (const auto& step : runbook.preflight)
    if (step.preflight_applies(op)) step_service.emplace(step.id, kPreflight);
  for (std::size_t i = 0; i < runbook.services.size(); ++i)
    for (const auto& step : runbook.services[i].steps(op)) step_service.emplace(step.id, i);

  std::vector<std::string> names;  // filled on the first unknown entry
  auto resolve = [&](const std::string& entry, bool only) {
    if (auto it = runbook.service_index.find(entry); it != runbook.service_index.end()) {
      (only ? sel.only_service : sel.skip_service)[it->second] = true;
      if (only) sel.touched[it->second] = true;
    } else if (auto s = step_service.find(entry); s != step_service.end()) {
      (only ? sel.only_steps : sel.skip_steps).insert(entry);
      if (only && s->second != kPreflight) sel.touched[s->second] = true;
    } else {
      if (names.empty()) names = known_names(runbook, op);
      diag.error({},
                 std::string(only ? "--only" : "--skip") + " names '" + entry +
                     "', which is neither a service nor a step of " + operation_name(op),
                 nearest_name(entry, names));
    }
  };
  for (const auto& entry : options.only) resolve(entry, true);
  for (const auto& entry : options.skip) resolve(entry, false);

  // Dependencies of an --only service are not added behind the operator's back (§3), but a
  // plan that silently drops them would be worse: say so.
  if (sel.has_only) {
    for (std::size_t i = 0; i < runbook.services.size(); ++i) {
      if (!sel.touched[i]) continue;
      const Service& svc = runbook.services[i];
      for (std::size_t d = 0; d < svc.depends_on.size(); ++d) {
        auto it = runbook.service_index.find(svc.depends_on[d]);
        if (it == runbook.service_index.end() || sel.touched[it->second]) continue;
        if (runbook.services[it->second].steps(op).empty()) continue;  // nothing of it would run anyway
        const SourcePos pos = d < svc.depends_on_pos.size() ? svc.depends_on_pos[d] : svc.pos;
        diag.warning(pos, "service '" + svc.name + "' depends on '" + svc.depends_on[d] +
                              "', which --only leaves out; its steps will not run");
      }
    }
  }
  return sel;
}

}  // namespace dr::graph_detail
