// A step in a few words, shared by every rendering of the plan.
#include <string>

#include "dr/plan_view.h"

namespace dr {
namespace {

std::string text_of(const StepSpec& step, std::string_view key) {
  const Value* v = step.with.find(key);
  if (!v) return {};
  return v->is_string() ? v->as_string() : v->to_text();
}

bool has_prefix(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

}  // namespace

std::string describe_target(const StepSpec& step) {
  const std::string& a = step.action;
  const std::string target = text_of(step, "target");
  auto with_target = [&](const std::string& detail) {
    if (detail.empty()) return target;
    return target.empty() ? detail : target + ": " + detail;
  };
  if (has_prefix(a, "traffic-manager.")) return target + "/" + text_of(step, "endpoint");
  if (has_prefix(a, "site-recovery.")) {
    if (auto plan = text_of(step, "plan"); !plan.empty()) return with_target("plan " + plan);
    if (auto item = text_of(step, "item"); !item.empty()) return with_target("item " + item);
    return target;
  }
  if (has_prefix(a, "backup.")) return with_target(text_of(step, "item"));
  if (a == "agent.run") return with_target(text_of(step, "action"));
  if (a == "agent.check") {
    const std::string check = text_of(step, "check");
    return with_target(check.empty() ? "health" : check);
  }
  if (a == "http.probe") {
    const std::string method = text_of(step, "method");
    const std::string url = text_of(step, "url");
    return method.empty() || method == "GET" ? url : method + " " + url;
  }
  if (a == "exec") {
    const Value* cmd = step.with.find("command");
    if (!cmd || !cmd->is_list()) return cmd ? cmd->to_text() : std::string{};
    std::string out;
    for (const auto& arg : cmd->items()) {
      if (!out.empty()) out += ' ';
      out += arg.is_string() ? arg.as_string() : arg.to_text();
    }
    return out;
  }
  if (a == "wait") return text_of(step, "duration");
  if (a == "manual.approve") return "operator";
  return target;
}

std::string describe_undo(const StepSpec& step, const Catalogue& catalogue) {
  switch (step.undo.kind) {
    case UndoSpec::Kind::none: return "none";
    case UndoSpec::Kind::explicit_step: return "explicit:" + (step.undo.step ? step.undo.step->action : std::string{});
    case UndoSpec::Kind::builtin: break;
  }
  const ActionSpec* action = catalogue.find(step.action);
  return action && !action->builtin_undo.empty() ? "builtin:" + action->builtin_undo : "none";
}

PlanVerdict plan_verdict(const Runbook& runbook, const StepGraph& graph, int concurrency) {
  PlanVerdict v;
  v.concurrency = concurrency > 0 ? concurrency : runbook.concurrency;
  v.expected = expected_run_duration(graph, v.concurrency);
  v.rto = runbook.objectives.rto;
  return v;
}

}  // namespace dr
