// Resume and rollback of an existing run: rebuild every unit's state from the journal, then let
// the same loop continue. A succeeded step stays done; a step with a journaled handle is polled,
// never submitted again; a step with only an intent is reconciled by its action (did the request
// arrive?); a step that failed for good (a paused run) gets a new attempt.
#include <unordered_map>

#include "engine/engine_impl.h"

namespace dr {
namespace {

std::string text(const Value& fields, std::string_view key) {
  const Value* v = fields.find(key);
  return v && v->is_string() ? v->as_string() : std::string{};
}
int integer(const Value& fields, std::string_view key) {
  const Value* v = fields.find(key);
  return v && v->kind() == Value::Kind::integer ? static_cast<int>(v->as_int()) : 0;
}
bool boolean(const Value& fields, std::string_view key) {
  const Value* v = fields.find(key);
  return v && v->kind() == Value::Kind::boolean && v->as_bool();
}

}  // namespace

void Engine::Impl::replay_journal() {
  std::unordered_map<std::string, int> unit_by_id;
  for (std::size_t i = 0; i < units_.size(); ++i) unit_by_id[units_[i].id] = static_cast<int>(i);
  auto unit = [&](const Value& f) -> Unit* {
    auto it = unit_by_id.find(text(f, "step"));
    return it == unit_by_id.end() ? nullptr : &units_[static_cast<std::size_t>(it->second)];
  };
  for (const JournalEvent& e : journal_.events()) {
    const Value& f = e.fields;
    const std::string& t = e.type;
    if (t == "run.started") {
      run_start_wall_ = e.ts;
    } else if (t == "run.finished") {
      finished_status_ = text(f, "status");
    } else if (t == "rollback.started") {
      rollback_begun_ = true;
      drill_passed_ = boolean(f, "drill_passed");
    } else if (t.rfind("step.", 0) == 0) {
      Unit* u = unit(f);
      if (!u) continue;  // a step filtered out of this graph
      if (t == "step.intent") {
        u->attempt = integer(f, "attempt");
        u->intent_journaled = true;
        u->accepted_journaled = false;
        u->handle = Value();
        u->outcome = Unit::Outcome::none;
        if (u->started_wall.empty()) u->started_wall = e.ts;
        if (auto t = parse_rfc3339(e.ts)) u->intent_wall = *t;
        if (const Value* undo = f.find("undo"))
          if (const Value* c = undo->find("captured")) u->captured = *c;
      } else if (t == "step.accepted") {
        if (const Value* h = f.find("handle")) u->handle = *h;
        u->accepted_journaled = true;
        // Adopted after a recheck: the attempt is under way again, whatever failed it before.
        u->intent_journaled = true;
        u->outcome = Unit::Outcome::none;
        u->recheck = false;
      } else if (t == "step.succeeded") {
        u->outcome = Unit::Outcome::succeeded;
        u->finished_wall = e.ts;
        if (const Value* o = f.find("outputs"))
          for (const auto& [k, v] : o->entries()) u->outputs[k] = v.to_text();
        outputs_by_step_[u->id] = u->outputs;
        completion_order_.push_back(static_cast<int>(u - units_.data()));
      } else if (t == "step.skipped") {
        u->outcome = Unit::Outcome::skipped;
      } else if (t == "step.failed") {
        u->error = text(f, "error");
        // A final failure stopped the run; resuming means trying that step again.
        if (boolean(f, "final")) u->outcome = Unit::Outcome::failed;
        u->recheck = boolean(f, "final") && boolean(f, "operator");
        u->intent_journaled = false;
        u->handle = Value();
      }
    } else if (t.rfind("undo.", 0) == 0) {
      const std::string id = text(f, "step");
      if (t == "undo.intent") {
        undo_replay_[id] = {integer(f, "attempt"), true, Value()};
      } else if (t == "undo.accepted") {
        if (const Value* h = f.find("handle")) undo_replay_[id].handle = *h;
      } else if (t == "undo.succeeded" || t == "undo.skipped") {
        undone_.insert(id);
        undo_replay_.erase(id);
      } else if (t == "undo.failed" && boolean(f, "final")) {
        undo_replay_.erase(id);  // a new attempt when the rollback continues
      }
    }
  }
  // Units that are not finished: set their clocks, and pick up those caught in flight.
  const auto now = deps_.clock->now();
  for (std::size_t i = 0; i < units_.size(); ++i) {
    Unit& u = units_[i];
    if (u.outcome == Unit::Outcome::failed) {  // paused: a resume tries again, a rollback leaves it
      u.outcome = Unit::Outcome::none;
      u.failed_before_resume = true;
    }
    if (u.outcome != Unit::Outcome::none) {
      u.phase = Unit::Phase::done;
      continue;
    }
    if (u.attempt == 0) continue;  // never started: the scheduler starts it as usual
    u.started = now;
    u.deadline = now + u.spec->timeout;  // a fresh window: the outage may have lasted longer
    if (!u.intent_journaled) continue;   // between attempts: the next attempt starts as usual
    ++in_flight_;
    if (!u.handle.is_null()) {
      u.phase = Unit::Phase::waiting;
      ++u.generation;
      timers_.push({now, static_cast<int>(i), u.generation});
    } else {
      reconcile(static_cast<int>(i));
    }
  }
}

// Asks the action what happened to a request whose intent is journaled but whose answer is not.
void Engine::Impl::reconcile(int ui) {
  auto p = prepare_call(ui);
  if (!p) return;
  units_[static_cast<std::size_t>(ui)].phase = Unit::Phase::reconciling;
  dispatch(ui, Completion::Kind::reconciled, [action = p->action, call = std::move(p->call)](Completion& c) {
    c.reconciliation = action->reconcile(call);
  });
}

RunReport Engine::Impl::resume() {
  run_start_ = deps_.clock->now();
  replay_journal();
  if (!finished_status_.empty())
    return finish(RunStatus::succeeded, "run " + opt_.run_id + " already finished (" + finished_status_ + ")");
  journal("run.resumed", Value::map({{"user", Value::string(opt_.user)}, {"host", Value::string(opt_.host)}}), true);
  if (rollback_begun_) {
    mode_ = Mode::stopping;  // let anything caught in flight finish, then continue the rollback
    opt_.on_failure = OnFailure::rollback;
    stop_reason_ = drill_passed_ ? "drill cleanup" : "continuing an interrupted rollback";
  }
  return drive();
}

RunReport Engine::Impl::rollback() {
  run_start_ = deps_.clock->now();
  replay_journal();
  if (!finished_status_.empty() && finished_status_ != "succeeded")
    return finish(RunStatus::rolled_back, "run " + opt_.run_id + " already finished (" + finished_status_ + ")");
  journal(
      "run.resumed",
      Value::map(
          {{"user", Value::string(opt_.user)}, {"host", Value::string(opt_.host)}, {"for", Value::string("rollback")}}),
      true);
  mode_ = Mode::stopping;
  opt_.on_failure = OnFailure::rollback;
  stop_reason_ = rollback_begun_ ? "continuing the rollback" : "rollback requested by the operator";
  return drive();
}

}  // namespace dr
