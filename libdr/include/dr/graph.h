// The step graph: for one operation of a runbook, the DAG of steps that says what may run when.
//
// Built per runbook-format.md §3: steps of a service run in the order written; a service's first
// step waits for the last step of every service it depends on; `tier: N` adds a barrier after all
// services of lower tiers; preflight runs before everything; a ${steps...} reference adds an
// edge from the producing step. Services with no steps for the operation (or filtered out by
// --only/--skip) still pass their dependencies through, so order among the rest is kept.
//
// Besides real steps the graph holds zero-length join nodes (a service's end, a tier barrier,
// the end of preflight), so every constraint costs O(1) edges instead of O(services^2).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dr/diagnostic.h"
#include "dr/duration.h"
#include "dr/runbook.h"

namespace dr {

struct GraphNode {
  enum class Kind { step, service_end, tier_barrier, preflight_end };
  Kind kind = Kind::step;
  const StepSpec* step = nullptr;  // Kind::step only; points into the Runbook
  std::string label;               // step id, or "@service:<name>", "@tier:<n>", "@preflight"
  Duration expected{0};            // expected duration (0 for join nodes)
  std::vector<int> deps;           // nodes that must finish first
  std::vector<int> dependents;
  // 0-based, counting real steps only. A join node holds the wave of a step that would wait
  // for it alone.
  int wave = 0;
  Duration remaining{0};  // longest expected path from this node's start to the end

  bool is_step() const { return kind == Kind::step; }
};

// --only / --skip. Preflight steps guard every run, so --only keeps them; naming one
// ("preflight/<name>") in --skip drops it.
struct GraphOptions {
  std::vector<std::string> only;  // service names or step ids; empty = all
  std::vector<std::string> skip;  // service names or step ids
};

class StepGraph {
 public:
  Operation operation() const { return operation_; }
  const std::vector<GraphNode>& nodes() const { return nodes_; }
  const GraphNode& node(int i) const { return nodes_[static_cast<std::size_t>(i)]; }

  // Every node in an order that respects every edge (dependencies first).
  const std::vector<int>& topological_order() const { return topo_; }
  // Real steps grouped by wave: a step's wave is one more than the largest wave among the real
  // steps it (transitively, through join nodes) depends on.
  const std::vector<std::vector<int>>& waves() const { return waves_; }
  // The real steps on the longest expected-duration path, in order, and its total.
  const std::vector<int>& critical_path() const { return critical_path_; }
  Duration critical_duration() const { return critical_duration_; }
  std::size_t step_count() const { return step_count_; }
  // Index of the node for a step id (or a join node's label), or -1. Constant time.
  int find(std::string_view step_id) const;

  // Filled in by build_graph.
  Operation operation_ = Operation::failover;
  std::vector<GraphNode> nodes_;
  std::vector<int> topo_;
  std::vector<std::vector<int>> waves_;
  std::vector<int> critical_path_;
  Duration critical_duration_{0};
  std::size_t step_count_ = 0;
  std::vector<int> label_slots_;  // open-addressed hash of node indices by label, for find()
};

// The expected duration of a step: `expect:`, else the action's duration parameter (wait), else
// the action's typical duration from the catalogue.
Duration expected_duration(const StepSpec& step, const Catalogue& catalogue);

// The expected wall time of the whole graph when at most `concurrency` steps run at once and,
// among ready steps, the one with the longest remaining path starts first (as the engine does,
// §3). Never less than critical_duration(); equal to it when concurrency is no constraint.
// A concurrency of 0 or less means no limit.
Duration expected_run_duration(const StepGraph& graph, int concurrency);

// Builds the graph; on a cycle or an unknown --only/--skip name, adds errors (a cycle as a path:
// "mes -> traffic -> mes") and returns nullopt. Warnings (e.g. an --only service whose
// dependencies are not selected) are added too.
std::optional<StepGraph> build_graph(const Runbook& runbook, Operation op, const GraphOptions& options,
                                     Diagnostics& diag, const Catalogue& catalogue = Catalogue::v1());

}  // namespace dr
