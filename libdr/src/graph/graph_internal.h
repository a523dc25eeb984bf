// Pieces of build_graph shared between the files of the graph module: the --only/--skip
// selection, and the analyses that run once the nodes and edges exist.
#pragma once

#include <cstdint>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "dr/graph.h"

namespace dr::graph_detail {

// Which steps --only/--skip keep. Names that match nothing are reported as errors by
// select_steps; the sets hold views into GraphOptions, which outlives the build. Without
// --only and --skip nothing is filled in and every step is kept without a lookup.
struct Selection {
  std::vector<bool> only_service;  // by index into Runbook::services: named in --only
  std::vector<bool> skip_service;  // named in --skip
  std::vector<bool> touched;       // named in --only, directly or through one of its steps
  std::unordered_set<std::string_view> only_steps, skip_steps;
  bool has_only = false;
  bool active = false;  // any --only or --skip at all

  bool keeps(std::size_t service, const StepSpec& step) const;
  // Preflight steps guard every mutating command, so --only does not drop them; only naming
  // one in --skip does.
  bool keeps_preflight(const StepSpec& step) const { return skip_steps.empty() || !skip_steps.count(step.id); }
};

Selection select_steps(const Runbook& runbook, Operation op, const GraphOptions& options, Diagnostics& diag);

// An edge added because a step uses another's output: `to` depends on `from`.
struct RefEdge {
  int from = 0;
  int to = 0;
  SourcePos pos;  // where the ${steps...} reference is written
};

// What cycle reporting needs to name nodes in the operator's words.
struct NodeOrigins {
  std::vector<int> service;  // per node: index into Runbook::services, or -1
  std::vector<RefEdge> ref_edges;
};

// expected_duration() once the action is looked up (the builder looks each action up once).
Duration expected_duration(const StepSpec& step, const ActionSpec& action);

// Kahn's algorithm with a FIFO queue seeded in index order: deterministic, and every node
// appears after all of its deps. Shorter than the node count when there is a cycle.
std::vector<int> kahn_order(const std::vector<GraphNode>& nodes);

// Finds one cycle among the nodes kahn_order left out and reports it as a path.
void report_cycle(const Runbook& runbook, const std::vector<GraphNode>& nodes, const std::vector<int>& order,
                  const NodeOrigins& origins, Diagnostics& diag);

// Waves, remaining durations, the critical path and the id index, on an acyclic graph whose
// topo_ is set.
void analyse(StepGraph& graph);

}  // namespace dr::graph_detail
