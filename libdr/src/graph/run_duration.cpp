// A dry run of the scheduler on expected durations: how long the operation should take with a
// bounded number of steps in flight. The critical path alone is a lower bound that ignores
// `concurrency`; an operator comparing against an RTO wants the estimate that does not.
#include <queue>
#include <tuple>
#include <vector>

#include "dr/graph.h"

namespace dr {

Duration expected_run_duration(const StepGraph& graph, int concurrency) {
  const auto& nodes = graph.nodes();
  const std::size_t limit = concurrency > 0 ? static_cast<std::size_t>(concurrency) : nodes.size() + 1;
  auto node = [&](int i) -> const GraphNode& { return nodes[static_cast<std::size_t>(i)]; };

  // Ready steps, longest remaining path first, then the order written (as the engine picks).
  auto later = [&](int a, int b) {
    return std::make_tuple(-node(a).remaining.count(), a) > std::make_tuple(-node(b).remaining.count(), b);
  };
  std::priority_queue<int, std::vector<int>, decltype(later)> ready(later);
  using Finish = std::pair<Duration::rep, int>;  // (end time, node); earliest first
  std::priority_queue<Finish, std::vector<Finish>, std::greater<>> running;

  std::vector<std::size_t> waiting(nodes.size());
  std::vector<int> done_now;  // nodes finished at the current time whose dependents to release
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    waiting[i] = nodes[i].deps.size();
    if (waiting[i] != 0) continue;
    if (nodes[i].is_step())
      ready.push(static_cast<int>(i));
    else
      done_now.push_back(static_cast<int>(i));
  }
  Duration::rep now = 0;
  for (;;) {
    // Join nodes take no time: finishing one may release more at the same instant.
    while (!done_now.empty()) {
      const int n = done_now.back();
      done_now.pop_back();
      for (int d : node(n).dependents) {
        if (--waiting[static_cast<std::size_t>(d)] != 0) continue;
        if (node(d).is_step())
          ready.push(d);
        else
          done_now.push_back(d);
      }
    }
    while (running.size() < limit && !ready.empty()) {
      const int s = ready.top();
      ready.pop();
      running.emplace(now + node(s).expected.count(), s);
    }
    if (running.empty()) break;
    now = running.top().first;
    while (!running.empty() && running.top().first == now) {
      done_now.push_back(running.top().second);
      running.pop();
    }
  }
  return Duration{now};
}

}  // namespace dr
