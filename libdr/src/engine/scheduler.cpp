// The forward graph: which steps may start, in which order. Ready steps start by longest
// remaining critical path first (ninja's rule), so the makespan stays close to the critical path
// even with a concurrency limit.
#include "engine/engine_impl.h"

namespace dr {

void Engine::Impl::init_graph_state() {
  const auto& nodes = graph_.nodes();
  unit_of_node_.assign(nodes.size(), -1);
  pending_deps_.assign(nodes.size(), 0);
  node_done_.assign(nodes.size(), false);
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    pending_deps_[i] = static_cast<int>(nodes[i].deps.size());
    if (!nodes[i].is_step()) continue;
    Unit u;
    u.kind = Unit::Kind::forward;
    u.node = static_cast<int>(i);
    u.spec = nodes[i].step;
    u.forward = nodes[i].step;
    u.action = u.spec->action;
    u.id = u.spec->id;
    unit_of_node_[i] = static_cast<int>(units_.size());
    units_.push_back(std::move(u));
  }
}

// Called once the run's state is known (fresh, or replayed from a journal): seeds the ready queue.
void Engine::Impl::start_ready_units() {
  // Seed: nodes with no pending dependencies that have not been queued or finished.
  if (!seeded_) {
    seeded_ = true;
    for (std::size_t i = 0; i < pending_deps_.size(); ++i)
      if (pending_deps_[i] == 0 && !node_done_[i]) make_ready(static_cast<int>(i));
  }
  while (!ready_.empty() && in_flight_ < opt_.concurrency && mode_ == Mode::forward) {
    const int node = -ready_.top().second;
    ready_.pop();
    const int ui = unit_of_node_[static_cast<std::size_t>(node)];
    Unit& u = units_[static_cast<std::size_t>(ui)];
    if (u.phase != Unit::Phase::idle || u.outcome != Unit::Outcome::none) continue;
    ++in_flight_;
    begin_attempt(ui);
  }
}

// A node whose dependencies are all done: join nodes finish at once, steps queue up, steps that
// finished in an earlier life of the run (resume) finish at once. Iterative, because a resumed
// run can finish a chain of thousands of nodes here.
void Engine::Impl::make_ready(int first) {
  std::vector<int> work{first};
  while (!work.empty()) {
    const int node = work.back();
    work.pop_back();
    const auto& n = graph_.node(node);
    if (n.is_step()) {
      const Unit& u = units_[static_cast<std::size_t>(unit_of_node_[static_cast<std::size_t>(node)])];
      if (u.outcome == Unit::Outcome::none) {
        const std::int64_t priority = opt_.scheduling == EngineOptions::Scheduling::fifo ? -(ready_seq_++)
                                                                                          : n.remaining.count();
        ready_.emplace(priority, -node);
        continue;
      }
    }
    if (node_done_[static_cast<std::size_t>(node)]) continue;
    node_done_[static_cast<std::size_t>(node)] = true;
    ++nodes_done_;
    for (int d : n.dependents)
      if (--pending_deps_[static_cast<std::size_t>(d)] == 0) work.push_back(d);
  }
}

// A step finished (succeeded, skipped, or failed with continue-on-error): release what waits on it.
void Engine::Impl::node_finished(int node) {
  if (node_done_[static_cast<std::size_t>(node)]) return;
  node_done_[static_cast<std::size_t>(node)] = true;
  ++nodes_done_;
  for (int d : graph_.node(node).dependents)
    if (--pending_deps_[static_cast<std::size_t>(d)] == 0) make_ready(d);
}

bool Engine::Impl::forward_work_left() const { return nodes_done_ < graph_.nodes().size(); }

}  // namespace dr
