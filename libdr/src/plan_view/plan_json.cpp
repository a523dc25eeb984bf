// The plan as a document for tools: format "edgedr.plan/v1", described field by field in
// schemas/plan.schema.json. Fields are added, never renamed or removed, within v1.
#include <nlohmann/json.hpp>

#include "dr/plan_view.h"

namespace dr {
namespace {

// Insertion order, so the document reads top-down like the schema.
using json = nlohmann::ordered_json;

constexpr const char* kFormat = "edgedr.plan/v1";

// Whole seconds as integers (the common case reads cleanly), fractions where there are any.
json seconds(Duration d) {
  if (d.count() % 1000 == 0) return d.count() / 1000;
  return static_cast<double>(d.count()) / 1000.0;
}

const char* kind_name(GraphNode::Kind k) {
  switch (k) {
    case GraphNode::Kind::step: return "step";
    case GraphNode::Kind::service_end: return "service-end";
    case GraphNode::Kind::tier_barrier: return "tier-barrier";
    case GraphNode::Kind::preflight_end: return "preflight-end";
  }
  return "step";
}

json node_json(const StepGraph& graph, int index, bool critical, const Catalogue& catalogue) {
  const GraphNode& n = graph.node(index);
  json deps = json::array();
  for (int d : n.deps) deps.push_back(graph.node(d).label);
  json out{{"id", n.label}, {"kind", kind_name(n.kind)}, {"depends_on", std::move(deps)}};
  if (!n.is_step()) return out;
  const StepSpec& step = *n.step;
  out["service"] = step.service.empty() ? json(nullptr) : json(step.service);
  out["name"] = step.name;
  out["action"] = step.action;
  out["target"] = describe_target(step);
  out["wave"] = n.wave + 1;
  out["expected_seconds"] = seconds(n.expected);
  out["critical"] = critical;
  out["undo"] = describe_undo(step, catalogue);
  out["timeout_seconds"] = seconds(step.timeout);
  out["retry_attempts"] = step.retry.attempts;
  return out;
}

}  // namespace

std::string render_plan_json(const Runbook& runbook, const StepGraph& graph, const PlanJsonOptions& options) {
  const Catalogue& catalogue = options.catalogue ? *options.catalogue : Catalogue::v1();
  const PlanVerdict verdict = plan_verdict(runbook, graph, options.concurrency);
  std::vector<bool> critical(graph.nodes().size(), false);
  for (int n : graph.critical_path()) critical[static_cast<std::size_t>(n)] = true;

  json nodes = json::array();
  for (int n : graph.topological_order())
    nodes.push_back(node_json(graph, n, critical[static_cast<std::size_t>(n)], catalogue));
  json waves = json::array();
  for (const auto& wave : graph.waves()) {
    json ids = json::array();
    for (int n : wave) ids.push_back(graph.node(n).label);
    waves.push_back(std::move(ids));
  }
  json path = json::array();
  for (int n : graph.critical_path()) path.push_back(graph.node(n).label);

  const auto& objectives = runbook.objectives;
  json doc{
      {"format", kFormat},
      {"runbook", runbook.name},
      {"file", runbook.file},
      {"content_hash", runbook.content_hash},
      {"operation", operation_name(graph.operation())},
      {"step_count", graph.step_count()},
      {"concurrency", verdict.concurrency},
      {"nodes", std::move(nodes)},
      {"waves", std::move(waves)},
      {"critical_path", {{"steps", std::move(path)}, {"expected_seconds", seconds(graph.critical_duration())}}},
      {"expected_seconds", seconds(verdict.expected)},
      {"objectives",
       {{"rto_seconds", objectives.rto ? seconds(*objectives.rto) : json(nullptr)},
        {"rpo_seconds", objectives.rpo ? seconds(*objectives.rpo) : json(nullptr)},
        {"within_rto", objectives.rto ? json(verdict.within_rto()) : json(nullptr)}}},
  };
  return doc.dump(2) + "\n";
}

}  // namespace dr
