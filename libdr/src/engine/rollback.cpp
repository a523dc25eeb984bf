// Rollback: the undo of every succeeded step, in reverse order of completion, one at a time. The
// same attempt machinery runs each undo (journaled as undo.*), so a rollback is resumable like
// any run. The first undo that fails stops the rollback: undoing earlier steps past a failed undo
// could leave the site in a state nobody planned for, so an operator decides (exit 4).
#include "engine/engine_impl.h"

namespace dr {

void Engine::Impl::begin_rollback(std::string reason) {
  mode_ = Mode::rolling_back;
  stop_reason_ = reason;
  if (!rollback_begun_) {
    if (drill())
      journal("rollback.started",
              Value::map({{"reason", Value::string(reason)},
                          {"cleanup", Value::boolean(true)},
                          {"drill_passed", Value::boolean(drill_passed_)}}),
              true);
    else
      journal("rollback.started", Value::map({{"reason", Value::string(reason)}}), true);
  }
  rollback_begun_ = true;
  undo_queue_.clear();
  undo_next_ = 0;
  no_undo_ = 0;
  for (auto it = completion_order_.rbegin(); it != completion_order_.rend(); ++it) {
    const Unit& fwd = units_[static_cast<std::size_t>(*it)];
    if (undone_.count(fwd.id)) continue;  // undone in an earlier life of this rollback
    const UndoSpec& undo = fwd.spec->undo;
    if (undo.kind == UndoSpec::Kind::none) {
      journal("undo.skipped", Value::map({{"step", Value::string(fwd.id)}, {"reason", Value::string("no undo")}}),
              false);
      ++no_undo_;
      continue;
    }
    Unit u;
    u.kind = Unit::Kind::undo;
    u.node = fwd.node;
    u.forward = fwd.spec;
    u.id = fwd.id;
    u.captured = fwd.captured;
    if (undo.kind == UndoSpec::Kind::explicit_step) {
      u.spec = undo.step.get();
      u.action = u.spec->action;
    } else {
      u.spec = fwd.spec;  // the inverse acts on the same target, with the forward step's limits
      const ActionSpec* a = Catalogue::v1().find(fwd.action);
      u.action = a ? a->builtin_undo : "";
    }
    // A replayed undo that was in flight when the process died continues from its journal.
    if (auto r = undo_replay_.find(fwd.id); r != undo_replay_.end()) {
      u.attempt = r->second.attempt;
      u.handle = r->second.handle;
      u.intent_journaled = r->second.intent;
      u.accepted_journaled = !u.handle.is_null();
    }
    undo_queue_.push_back(static_cast<int>(units_.size()));
    units_.push_back(std::move(u));
  }
}

void Engine::Impl::start_next_undo() {
  const int ui = undo_queue_[undo_next_++];
  undo_running_ = ui;
  Unit& u = units_[static_cast<std::size_t>(ui)];
  if (u.attempt > 0 && u.intent_journaled) {
    // Resumed mid-undo: poll a journaled handle, or reconcile an intent that has none.
    u.started = deps_.clock->now();
    u.started_wall = format_rfc3339(deps_.clock->wall());
    u.deadline = u.started + u.spec->timeout;
    if (!u.handle.is_null()) return on_result(ui, StepResult::wait(u.handle, Duration{0}));
    return reconcile(ui);
  }
  begin_attempt(ui);
}

void Engine::Impl::undo_finished(int ui) {
  Unit& u = units_[static_cast<std::size_t>(ui)];
  undo_running_ = -1;
  if (u.outcome == Unit::Outcome::failed) {
    rollback_failed_ = true;
    stop_reason_ = "the undo of " + u.id + " failed: " + u.error;
  }
}

// What the finished rollback did, for the run's summary.
std::string Engine::Impl::rollback_summary() const {
  const std::size_t undone = undo_queue_.size();
  auto steps = [](std::size_t n) { return std::to_string(n) + (n == 1 ? " step" : " steps"); };
  if (undone == 0 && no_undo_ == 0) return "no step had completed, so there was nothing to undo";
  if (undone == 0) return "nothing was undone: the " + steps(no_undo_) + " that completed have no undo";
  std::string text = "every completed step with an undo was undone (" + steps(undone) + ", in reverse order";
  if (no_undo_ > 0) text += "; " + steps(no_undo_) + " without an undo left as they are";
  return text + ")";
}

}  // namespace dr
