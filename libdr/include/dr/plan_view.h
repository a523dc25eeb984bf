// The plan view: what `edgedr plan` shows of a step graph, before anything runs.
//
// Four renderings of one StepGraph: text for an operator (waves, each step's action, target and
// expected duration, the critical path, the expected duration against the RTO objective), JSON
// for tools (the stable document described by schemas/plan.schema.json), and Graphviz DOT and
// Mermaid for pictures. Rendering only: the graph decides the order, this module says it.
#pragma once

#include <iosfwd>
#include <optional>
#include <string>

#include "dr/catalogue.h"
#include "dr/duration.h"
#include "dr/graph.h"
#include "dr/runbook.h"

namespace dr {

struct PlanTextOptions {
  bool colour = false;  // ANSI colours; the caller decides (a TTY, no --no-color, no NO_COLOR)
  int concurrency = 0;  // steps in flight for the expected duration; 0: the runbook's `concurrency:`
};

struct PlanJsonOptions {
  int concurrency = 0;                   // as in PlanTextOptions
  const Catalogue* catalogue = nullptr;  // names built-in undos; nullptr: Catalogue::v1()
};

std::string render_plan_text(const Runbook& runbook, const StepGraph& graph, const PlanTextOptions& options = {});

// One JSON document, format "edgedr.plan/v1" (schemas/plan.schema.json), ending in a newline.
std::string render_plan_json(const Runbook& runbook, const StepGraph& graph, const PlanJsonOptions& options = {});
// The same document written to `out` as it is produced: the plan of a 10,000-service runbook is
// some 16 MB that need not sit in memory whole.
void write_plan_json(std::ostream& out, const Runbook& runbook, const StepGraph& graph,
                     const PlanJsonOptions& options = {});

// A Graphviz digraph: steps as boxes (the critical path bold), join nodes as small points.
std::string render_plan_dot(const Runbook& runbook, const StepGraph& graph);

// A Mermaid `flowchart TD`: steps as boxes (the critical path in a heavier class), join nodes as
// small circles.
std::string render_plan_mermaid(const Runbook& runbook, const StepGraph& graph);

// What a step acts on, in a few words: "traffic/plant-mec" for an endpoint, "recovery: plan
// rp-historian", "plant: stop-ingest" for an agent action, a probe's URL, an exec's command line,
// a wait's duration, "operator" for an approval. Values are shown as written, so a secret shows
// as its ${env...} reference, never its value.
std::string describe_target(const StepSpec& step);

// "builtin:<action>" (the action's built-in inverse), "none", or "explicit:<action>".
std::string describe_undo(const StepSpec& step, const Catalogue& catalogue = Catalogue::v1());

// The expected duration of a whole run (with `concurrency` steps in flight; 0: the runbook's)
// against the RTO objective: what the text's last line and the JSON's objectives say.
struct PlanVerdict {
  Duration expected{0};
  int concurrency = 0;          // the one used
  std::optional<Duration> rto;  // the objective, when set
  bool within_rto() const { return !rto || expected <= *rto; }
};
PlanVerdict plan_verdict(const Runbook& runbook, const StepGraph& graph, int concurrency = 0);

}  // namespace dr
