// Reporting a cycle as a path an operator can follow: "dependency cycle: mes -> traffic -> mes".
//
// Kahn's algorithm leaves out exactly the nodes on or behind a cycle, and each of those still
// waits for at least one other left-out node. Walking from one of them to such a dep, again and
// again, must come back to a node already seen: that loop is the cycle, found in linear time.
#include <algorithm>
#include <limits>
#include <string>
#include <unordered_set>

#include "graph/graph_internal.h"

namespace dr::graph_detail {
namespace {

// The loop, each node depending on the next and the last on the first.
std::vector<int> find_loop(const std::vector<GraphNode>& nodes, const std::vector<int>& order) {
  std::vector<bool> ordered(nodes.size(), false);
  for (int i : order) ordered[static_cast<std::size_t>(i)] = true;
  std::vector<int> seen_at(nodes.size(), -1);
  std::vector<int> path;
  int at = static_cast<int>(std::find(ordered.begin(), ordered.end(), false) - ordered.begin());
  while (seen_at[static_cast<std::size_t>(at)] < 0) {
    seen_at[static_cast<std::size_t>(at)] = static_cast<int>(path.size());
    path.push_back(at);
    const auto& deps = nodes[static_cast<std::size_t>(at)].deps;
    at = *std::find_if(deps.begin(), deps.end(), [&](int d) { return !ordered[static_cast<std::size_t>(d)]; });
  }
  return {path.begin() + seen_at[static_cast<std::size_t>(at)], path.end()};
}

std::string join_path(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += n + " -> ";
  return out + names.front();
}

// A cycle made of depends-on (and tier) edges only, named by service: consecutive nodes of one
// service collapse into its name, a tier barrier reads "tier N barrier".
void report_service_cycle(const Runbook& runbook, const std::vector<GraphNode>& nodes, const std::vector<int>& loop,
                          const NodeOrigins& origins, Diagnostics& diag) {
  struct Hop {
    int service;  // -1 for a tier barrier
    std::string name;
  };
  std::vector<Hop> hops;
  for (int n : loop) {
    const int svc = origins.service[static_cast<std::size_t>(n)];
    std::string name = svc >= 0 ? runbook.services[static_cast<std::size_t>(svc)].name
                                : "tier " + nodes[static_cast<std::size_t>(n)].label.substr(6) + " barrier";
    if (hops.empty() || hops.back().name != name) hops.push_back({svc, std::move(name)});
  }
  if (hops.size() > 1 && hops.front().name == hops.back().name) hops.pop_back();
  // Start at the service written first, so the same cycle reads the same in every operation
  // (validate builds them all, and identical diagnostics are merged).
  auto rank = [](const Hop& h) { return h.service < 0 ? std::numeric_limits<int>::max() : h.service; };
  auto first =
      std::min_element(hops.begin(), hops.end(), [&](const Hop& a, const Hop& b) { return rank(a) < rank(b); });
  std::rotate(hops.begin(), first, hops.end());

  std::vector<std::string> names;
  bool through_tier = false;
  for (const auto& h : hops) names.push_back(h.name), through_tier |= h.service < 0;
  // Point at the depends-on entry that closes the loop from the first service onward.
  SourcePos pos;
  for (std::size_t k = 0; k < hops.size() && pos.line == 0; ++k) {
    if (hops[k].service < 0) continue;
    const Service& svc = runbook.services[static_cast<std::size_t>(hops[k].service)];
    const std::string& next = hops[(k + 1) % hops.size()].name;
    auto it = std::find(svc.depends_on.begin(), svc.depends_on.end(), next);
    const auto d = static_cast<std::size_t>(it - svc.depends_on.begin());
    if (it != svc.depends_on.end() && d < svc.depends_on_pos.size()) pos = svc.depends_on_pos[d];
  }
  if (pos.line == 0 && hops.front().service >= 0)
    pos = runbook.services[static_cast<std::size_t>(hops.front().service)].pos;
  std::string message = "dependency cycle: " + join_path(names);
  if (through_tier) message += " (a service with a tier waits for every service of a lower tier)";
  diag.error(pos, message);
}

// A cycle through ${steps...} references, named by step id.
void report_step_cycle(const std::vector<GraphNode>& nodes, std::vector<int> loop, const RefEdge& ref,
                       Diagnostics& diag) {
  std::rotate(loop.begin(), std::find(loop.begin(), loop.end(), ref.to), loop.end());
  std::vector<std::string> names;
  for (int n : loop)
    if (nodes[static_cast<std::size_t>(n)].is_step()) names.push_back(nodes[static_cast<std::size_t>(n)].label);
  diag.error(ref.pos, "dependency cycle through step outputs: " + join_path(names));
}

}  // namespace

void report_cycle(const Runbook& runbook, const std::vector<GraphNode>& nodes, const std::vector<int>& order,
                  const NodeOrigins& origins, Diagnostics& diag) {
  const std::vector<int> loop = find_loop(nodes, order);
  // Each hop of the loop is "loop[k] waits for loop[k+1]"; a hop made by a reference means the
  // operator has to look at the references, not the depends-on lists.
  auto key = [](int from, int to) { return (static_cast<std::uint64_t>(from) << 32) | static_cast<std::uint32_t>(to); };
  std::unordered_set<std::uint64_t> hops;
  for (std::size_t k = 0; k < loop.size(); ++k) hops.insert(key(loop[(k + 1) % loop.size()], loop[k]));
  const RefEdge* first_ref = nullptr;
  for (const auto& e : origins.ref_edges)
    if (hops.count(key(e.from, e.to)) && (!first_ref || e.to < first_ref->to)) first_ref = &e;
  if (first_ref)
    report_step_cycle(nodes, loop, *first_ref, diag);
  else
    report_service_cycle(runbook, nodes, loop, origins, diag);
}

}  // namespace dr::graph_detail
