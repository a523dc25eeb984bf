// The plan as a document for tools: format "edgedr.plan/v1", described field by field in
// schemas/plan.schema.json. Fields are added, never renamed or removed, within v1.
//
// Written field by field in the order of the schema (plan_view/json_writer.h says why it is not
// an nlohmann tree any more); the bytes are what nlohmann::ordered_json's dump(2) printed.
#include "dr/plan_view.h"
#include "plan_view/json_writer.h"

namespace dr {
namespace {

using plan_json::JsonWriter;

constexpr const char* kFormat = "edgedr.plan/v1";

// Whole seconds as integers (the common case reads cleanly), fractions where there are any.
void seconds(JsonWriter& w, Duration d) {
  if (d.count() % 1000 == 0)
    w.value(static_cast<std::int64_t>(d.count() / 1000));
  else
    w.value(static_cast<double>(d.count()) / 1000.0);
}

void optional_seconds(JsonWriter& w, const std::optional<Duration>& d) {
  if (d)
    seconds(w, *d);
  else
    w.null();
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

void node_json(JsonWriter& w, const StepGraph& graph, int index, bool critical, const Catalogue& catalogue) {
  const GraphNode& n = graph.node(index);
  w.begin_object();
  w.key("id");
  w.value(n.label);
  w.key("kind");
  w.value(kind_name(n.kind));
  w.key("depends_on");
  w.begin_array();
  for (int d : n.deps) w.value(graph.node(d).label);
  w.end_array();
  if (n.is_step()) {
    const StepSpec& step = *n.step;
    w.key("service");
    if (step.service.empty())
      w.null();
    else
      w.value(step.service);
    w.key("name");
    w.value(step.name);
    w.key("action");
    w.value(step.action);
    w.key("target");
    w.value(describe_target(step));
    w.key("wave");
    w.value(n.wave + 1);
    w.key("expected_seconds");
    seconds(w, n.expected);
    w.key("critical");
    w.value(critical);
    w.key("undo");
    w.value(describe_undo(step, catalogue));
    w.key("timeout_seconds");
    seconds(w, step.timeout);
    w.key("retry_attempts");
    w.value(step.retry.attempts);
  }
  w.end_object();
}

void write_document(JsonWriter& w, const Runbook& runbook, const StepGraph& graph, const PlanJsonOptions& options) {
  const Catalogue& catalogue = options.catalogue ? *options.catalogue : Catalogue::v1();
  const PlanVerdict verdict = plan_verdict(runbook, graph, options.concurrency);
  std::vector<bool> critical(graph.nodes().size(), false);
  for (int n : graph.critical_path()) critical[static_cast<std::size_t>(n)] = true;

  w.begin_object();
  w.key("format");
  w.value(kFormat);
  w.key("runbook");
  w.value(runbook.name);
  w.key("file");
  w.value(runbook.file);
  w.key("content_hash");
  w.value(runbook.content_hash);
  w.key("operation");
  w.value(operation_name(graph.operation()));
  w.key("step_count");
  w.value(graph.step_count());
  w.key("concurrency");
  w.value(verdict.concurrency);

  w.key("nodes");
  w.begin_array();
  for (int n : graph.topological_order()) node_json(w, graph, n, critical[static_cast<std::size_t>(n)], catalogue);
  w.end_array();

  w.key("waves");
  w.begin_array();
  for (const auto& wave : graph.waves()) {
    w.begin_array();
    for (int n : wave) w.value(graph.node(n).label);
    w.end_array();
  }
  w.end_array();

  w.key("critical_path");
  w.begin_object();
  w.key("steps");
  w.begin_array();
  for (int n : graph.critical_path()) w.value(graph.node(n).label);
  w.end_array();
  w.key("expected_seconds");
  seconds(w, graph.critical_duration());
  w.end_object();

  w.key("expected_seconds");
  seconds(w, verdict.expected);

  const auto& objectives = runbook.objectives;
  w.key("objectives");
  w.begin_object();
  w.key("rto_seconds");
  optional_seconds(w, objectives.rto);
  w.key("rpo_seconds");
  optional_seconds(w, objectives.rpo);
  w.key("within_rto");
  if (objectives.rto)
    w.value(verdict.within_rto());
  else
    w.null();
  w.end_object();

  w.end_object();
}

}  // namespace

std::string render_plan_json(const Runbook& runbook, const StepGraph& graph, const PlanJsonOptions& options) {
  std::string out;
  out.reserve(512 * graph.nodes().size() + 1024);  // a step's node prints in about 400 bytes
  JsonWriter w(out);
  write_document(w, runbook, graph, options);
  out += '\n';
  return out;
}

void write_plan_json(std::ostream& out, const Runbook& runbook, const StepGraph& graph,
                     const PlanJsonOptions& options) {
  std::string buffer;
  JsonWriter w(buffer, &out);
  write_document(w, runbook, graph, options);
  buffer += '\n';
  w.flush();
}

}  // namespace dr
