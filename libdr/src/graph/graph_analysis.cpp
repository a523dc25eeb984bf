// What the plan and the engine read off an acyclic step graph: a topological order, waves,
// the longest remaining path from each node, and the critical path. Each is one pass over the
// nodes in topological order (or its reverse), so a graph of tens of thousands of steps costs
// milliseconds.
#include <algorithm>
#include <bit>
#include <functional>

#include "graph/graph_internal.h"

namespace dr {
namespace graph_detail {

std::vector<int> kahn_order(const std::vector<GraphNode>& nodes) {
  // The order doubles as the FIFO queue: nodes before `next` are done, the rest are ready.
  std::vector<std::size_t> waiting(nodes.size());
  std::vector<int> order;
  order.reserve(nodes.size());
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    waiting[i] = nodes[i].deps.size();
    if (waiting[i] == 0) order.push_back(static_cast<int>(i));
  }
  for (std::size_t next = 0; next < order.size(); ++next)
    for (int d : nodes[static_cast<std::size_t>(order[next])].dependents)
      if (--waiting[static_cast<std::size_t>(d)] == 0) order.push_back(d);
  return order;
}

namespace {

void compute_waves(StepGraph& g) {
  // A join node passes on the wave a step waiting only for it would get; a step passes on its
  // own wave plus one.
  std::vector<int> next(g.nodes_.size(), 0);
  int last = -1;
  for (int i : g.topo_) {
    GraphNode& n = g.nodes_[static_cast<std::size_t>(i)];
    int wave = 0;
    for (int d : n.deps) wave = std::max(wave, next[static_cast<std::size_t>(d)]);
    n.wave = wave;
    next[static_cast<std::size_t>(i)] = n.is_step() ? wave + 1 : wave;
    if (n.is_step()) last = std::max(last, wave);
  }
  g.waves_.assign(static_cast<std::size_t>(last + 1), {});
  // By index, so each wave lists its steps in the order the runbook has them.
  for (std::size_t i = 0; i < g.nodes_.size(); ++i)
    if (g.nodes_[i].is_step()) g.waves_[static_cast<std::size_t>(g.nodes_[i].wave)].push_back(static_cast<int>(i));
}

// The dependent (or source) with the longest remaining path; the lowest index on a tie.
int longest(const std::vector<GraphNode>& nodes, const std::vector<int>& candidates) {
  int best = -1;
  for (int c : candidates)
    if (best < 0 || nodes[static_cast<std::size_t>(c)].remaining > nodes[static_cast<std::size_t>(best)].remaining ||
        (nodes[static_cast<std::size_t>(c)].remaining == nodes[static_cast<std::size_t>(best)].remaining && c < best))
      best = c;
  return best;
}

void compute_critical_path(StepGraph& g) {
  auto& nodes = g.nodes_;
  for (auto it = g.topo_.rbegin(); it != g.topo_.rend(); ++it) {
    GraphNode& n = nodes[static_cast<std::size_t>(*it)];
    Duration after{0};
    for (int d : n.dependents) after = std::max(after, nodes[static_cast<std::size_t>(d)].remaining);
    n.remaining = n.expected + after;
  }
  // The longest path starts at a node without deps: any path extends back to one, and no
  // duration is negative.
  std::vector<int> sources;
  for (std::size_t i = 0; i < nodes.size(); ++i)
    if (nodes[i].deps.empty()) sources.push_back(static_cast<int>(i));
  g.critical_path_.clear();
  g.critical_duration_ = Duration{0};
  int at = longest(nodes, sources);
  if (at >= 0) g.critical_duration_ = nodes[static_cast<std::size_t>(at)].remaining;
  while (at >= 0) {
    if (nodes[static_cast<std::size_t>(at)].is_step()) g.critical_path_.push_back(at);
    at = longest(nodes, nodes[static_cast<std::size_t>(at)].dependents);
  }
}

// Node indices in an open-addressed table keyed by label: no allocation per node (a map of
// strings would copy every label), and plain indices stay valid when the graph is copied.
std::size_t slot_count(std::size_t nodes) {
  return std::bit_ceil(2 * nodes + 1);
}

void index_labels(StepGraph& g) {
  g.label_slots_.assign(slot_count(g.nodes_.size()), -1);
  const std::size_t mask = g.label_slots_.size() - 1;
  for (std::size_t i = 0; i < g.nodes_.size(); ++i) {
    std::size_t s = std::hash<std::string_view>{}(g.nodes_[i].label) & mask;
    while (g.label_slots_[s] >= 0) s = (s + 1) & mask;
    g.label_slots_[s] = static_cast<int>(i);
  }
}

}  // namespace

void analyse(StepGraph& graph) {
  compute_waves(graph);
  compute_critical_path(graph);
  index_labels(graph);
}

}  // namespace graph_detail

int StepGraph::find(std::string_view step_id) const {
  if (label_slots_.empty()) return -1;
  const std::size_t mask = label_slots_.size() - 1;
  for (std::size_t s = std::hash<std::string_view>{}(step_id)&mask; label_slots_[s] >= 0; s = (s + 1) & mask)
    if (node(label_slots_[s]).label == step_id) return label_slots_[s];
  return -1;
}

}  // namespace dr
