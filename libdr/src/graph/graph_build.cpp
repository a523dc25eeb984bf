// build_graph: nodes and edges per runbook-format.md §3.
//
// Join nodes keep the edge count linear: a service's dependents wait for its one `service_end`
// node instead of for its last step directly (which may be filtered out), and each tier's
// services wait for one barrier that chains to the previous tier's barrier, instead of for every
// service of every lower tier.
#include <algorithm>
#include <map>
#include <string>
#include <unordered_map>
#include <utility>

#include "graph/graph_internal.h"

namespace dr {
namespace {

using graph_detail::NodeOrigins;
using graph_detail::RefEdge;
using graph_detail::Selection;

class GraphBuilder {
 public:
  GraphBuilder(const Runbook& runbook, Operation op, const Catalogue& catalogue, Diagnostics& diag)
      : runbook_(runbook), op_(op), catalogue_(catalogue), diag_(diag) {}

  StepGraph build(const Selection& sel) {
    graph_.operation_ = op_;
    add_nodes(sel);
    add_service_edges();
    add_step_ref_edges();
    finish_edges();
    return std::move(graph_);
  }

  const NodeOrigins& origins() const { return origins_; }

 private:
  // A service's kept steps are consecutive nodes, [first, end), followed by its end node.
  struct ServiceNodes {
    int first = -1;
    int end = -1;
  };

  int add_node(GraphNode::Kind kind, std::string label, int service, const StepSpec* step = nullptr) {
    GraphNode n;
    n.kind = kind;
    n.label = std::move(label);
    n.step = step;
    if (step) {
      n.expected = expected(*step);
      ++graph_.step_count_;
    }
    graph_.nodes_.push_back(std::move(n));
    origins_.service.push_back(service);
    return static_cast<int>(graph_.nodes_.size()) - 1;
  }
  GraphNode& at(int i) { return graph_.nodes_[static_cast<std::size_t>(i)]; }
  void edge(int from, int to) { edges_.emplace_back(to, from); }

  // The catalogue lookup, once per distinct action rather than once per step.
  Duration expected(const StepSpec& step) {
    if (step.expect) return *step.expect;
    auto [it, added] = actions_.try_emplace(step.action, nullptr);
    if (added) it->second = catalogue_.find(step.action);
    return it->second ? graph_detail::expected_duration(step, *it->second) : Duration{0};
  }

  // Nodes in the order an operator reads the runbook (preflight, then each service's steps
  // followed by its end), so index order is a natural tie-break everywhere else.
  void add_nodes(const Selection& sel) {
    std::size_t estimate = runbook_.preflight.size() + 1;
    for (const auto& svc : runbook_.services) estimate += svc.steps(op_).size() + 1;
    graph_.nodes_.reserve(estimate);
    edges_.reserve(2 * estimate);
    origins_.service.reserve(estimate);
    std::vector<int> pre;
    for (const auto& step : runbook_.preflight)
      if (step.preflight_applies(op_) && sel.keeps_preflight(step))
        pre.push_back(add_node(GraphNode::Kind::step, step.id, -1, &step));
    if (!pre.empty()) {
      preflight_end_ = add_node(GraphNode::Kind::preflight_end, "@preflight", -1);
      for (int p : pre) edge(p, preflight_end_);
    }

    // One barrier per tier above the lowest; the lowest tier has nothing to wait for.
    std::map<int, int> tiers;
    for (const auto& svc : runbook_.services)
      if (svc.tier) tiers.emplace(*svc.tier, -1);
    int previous = -1;
    bool lowest = true;
    for (auto& [tier, barrier] : tiers) {
      if (std::exchange(lowest, false)) continue;
      barrier = add_node(GraphNode::Kind::tier_barrier, "@tier:" + std::to_string(tier), -1);
      if (previous >= 0) edge(previous, barrier);
      previous = barrier;
    }
    // tier -> (its barrier, the next tier's barrier); -1 where there is none.
    for (auto it = tiers.begin(); it != tiers.end(); ++it) {
      auto next = std::next(it);
      tier_barriers_[it->first] = {it->second, next == tiers.end() ? -1 : next->second};
    }

    services_.resize(runbook_.services.size());
    for (std::size_t i = 0; i < runbook_.services.size(); ++i) {
      const Service& svc = runbook_.services[i];
      const int owner = static_cast<int>(i);
      services_[i].first = static_cast<int>(graph_.nodes_.size());
      for (const auto& step : svc.steps(op_))
        if (sel.keeps(i, step)) add_node(GraphNode::Kind::step, step.id, owner, &step);
      services_[i].end = add_node(GraphNode::Kind::service_end, "@service:" + svc.name, owner);
    }
  }

  void add_service_edges() {
    std::vector<int> entry;
    for (std::size_t i = 0; i < runbook_.services.size(); ++i) {
      const Service& svc = runbook_.services[i];
      const ServiceNodes& nodes = services_[i];
      // What the service's first step waits for; an empty service's end waits for the same,
      // which passes the order through to its own dependents.
      entry.clear();
      if (preflight_end_ >= 0) entry.push_back(preflight_end_);
      for (const auto& dep : svc.depends_on) {
        // Unknown names are the loader's to report; a graph built anyway just ignores them.
        if (auto it = runbook_.service_index.find(dep); it != runbook_.service_index.end())
          entry.push_back(services_[it->second].end);
      }
      if (svc.tier) {
        const auto [own, next] = tier_barriers_.at(*svc.tier);
        if (own >= 0) entry.push_back(own);
        if (next >= 0) edge(nodes.end, next);
      }
      for (int e : entry) edge(e, nodes.first);  // the end node itself when there are no steps
      for (int k = nodes.first + 1; k <= nodes.end; ++k) edge(k - 1, k);
    }
  }

  // ${steps.<service>.<step>.<output>} in a step's `with:` makes it wait for that step. Refs in
  // an undo add nothing: an undo runs after its own step, which already waited.
  void add_step_ref_edges() {
    const std::string op = operation_name(op_);
    std::unordered_map<std::string_view, int> step_node;  // step id -> node; views into the Runbook
    for (std::size_t i = 0; i < services_.size(); ++i) {
      for (int user = services_[i].first; user < services_[i].end; ++user) {
        const StepSpec& step = *at(user).step;
        for (const auto& ref : step.step_refs) {
          if (ref.kind != Reference::Kind::step_output) continue;
          // Most runbooks have no references; index the steps only when the first one appears.
          if (step_node.empty())
            for (std::size_t n = 0; n < graph_.nodes_.size(); ++n)
              if (graph_.nodes_[n].step) step_node.emplace(graph_.nodes_[n].step->id, static_cast<int>(n));
          const std::string id = ref.service + "/" + op + "/" + ref.step;
          if (auto it = step_node.find(id); it != step_node.end()) {
            edge(it->second, user);
            origins_.ref_edges.push_back({it->second, user, ref.pos});
          } else if (exists(ref.service, ref.step)) {
            diag_.warning(ref.pos, "step '" + step.id + "' uses " + ref.text() + ", but --only/--skip leaves out '" +
                                       id + "'; the value will be missing when the step runs");
          }
          // Otherwise the loader has reported the unknown name.
        }
      }
    }
  }

  bool exists(const std::string& service, const std::string& step) const {
    const Service* svc = runbook_.service(service);
    if (!svc) return false;
    const auto& steps = svc->steps(op_);
    return std::any_of(steps.begin(), steps.end(), [&](const StepSpec& s) { return s.name == step; });
  }

  // Edges are gathered in one list and handed out per node at the end, so each node's deps
  // and dependents are allocated once, at their final size. Duplicates (a ref to the previous
  // step, a service listed twice) would count twice in Kahn's in-degrees and are dropped;
  // sorted deps and dependents also make every later walk stable.
  void finish_edges() {
    auto& nodes = graph_.nodes_;
    // Bucket the edges by the waiting node (a counting sort: linear, where sorting the whole
    // list was the slowest part of a large build).
    std::vector<std::size_t> start(nodes.size() + 1, 0), out_degree(nodes.size(), 0);
    for (const auto& [to, from] : edges_) ++start[static_cast<std::size_t>(to) + 1];
    for (std::size_t i = 0; i < nodes.size(); ++i) start[i + 1] += start[i];
    std::vector<int> from_of(edges_.size());
    std::vector<std::size_t> fill(start.begin(), start.end() - 1);
    for (const auto& [to, from] : edges_) from_of[fill[static_cast<std::size_t>(to)]++] = from;
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      auto first = from_of.begin() + static_cast<std::ptrdiff_t>(start[i]);
      auto last = from_of.begin() + static_cast<std::ptrdiff_t>(start[i + 1]);
      std::sort(first, last);
      nodes[i].deps.assign(first, std::unique(first, last));
      for (int d : nodes[i].deps) ++out_degree[static_cast<std::size_t>(d)];
    }
    for (std::size_t i = 0; i < nodes.size(); ++i) nodes[i].dependents.reserve(out_degree[i]);
    for (std::size_t i = 0; i < nodes.size(); ++i)
      for (int d : nodes[i].deps) at(d).dependents.push_back(static_cast<int>(i));
  }

  const Runbook& runbook_;
  Operation op_;
  const Catalogue& catalogue_;
  Diagnostics& diag_;
  StepGraph graph_;
  NodeOrigins origins_;
  std::vector<ServiceNodes> services_;
  std::map<int, std::pair<int, int>> tier_barriers_;
  std::vector<std::pair<int, int>> edges_;  // (node, a node it waits for)
  std::unordered_map<std::string_view, const ActionSpec*> actions_;
  int preflight_end_ = -1;
};

}  // namespace

std::optional<StepGraph> build_graph(const Runbook& runbook, Operation op, const GraphOptions& options,
                                     Diagnostics& diag, const Catalogue& catalogue) {
  const std::size_t errors_before = diag.error_count();
  const Selection sel = graph_detail::select_steps(runbook, op, options, diag);
  GraphBuilder builder(runbook, op, catalogue, diag);
  StepGraph graph = builder.build(sel);

  graph.topo_ = graph_detail::kahn_order(graph.nodes_);
  if (graph.topo_.size() != graph.nodes_.size()) {
    graph_detail::report_cycle(runbook, graph.nodes_, graph.topo_, builder.origins(), diag);
    return std::nullopt;
  }
  if (diag.error_count() != errors_before) return std::nullopt;
  graph_detail::analyse(graph);
  return graph;
}

}  // namespace dr
