// One unit (a step or an undo) through its attempts:
//   capture (first attempt) -> intent journaled -> submit -> [accepted: handle journaled -> poll]*
//   -> succeeded | failed (-> retry after backoff, within the step's timeout) | timed out.
// Every action call carries the unit's generation; a timeout bumps it, so a late answer from a
// call that outlived its step is ignored instead of acted on.
#include <cmath>
#include <utility>

#include "engine/engine_impl.h"

namespace dr {
namespace {

std::int64_t ms(Duration d) {
  return d.count();
}

Value outputs_value(const std::map<std::string, std::string>& outputs) {
  std::vector<Value::Entry> e;
  for (const auto& [k, v] : outputs) e.emplace_back(k, Value::string(v));
  return Value::map(std::move(e));
}

}  // namespace

Action* Engine::Impl::action_of(const Unit& u) {
  return deps_.actions->find(u.action);
}

StepCall Engine::Impl::make_call(const Unit& u) {
  StepCall call;
  call.run_id = opt_.run_id;
  call.run_ref = opt_.run_ref;
  call.step = u.spec;
  call.action = u.action;
  call.attempt = u.attempt;
  call.idempotency_key =
      opt_.run_id + "/" + u.id + (u.kind == Unit::Kind::undo ? "/undo/" : "/") + std::to_string(u.attempt);
  call.deadline = u.deadline;
  call.clock = deps_.clock;
  call.is_undo = u.kind == Unit::Kind::undo;
  call.captured = u.captured;
  call.intent_wall = u.intent_wall;
  call.approvals = deps_.approvals;
  call.cancelled = &cancel_now_;
  return call;
}

Duration Engine::Impl::backoff(const Unit& u) const {
  const RetryPolicy& r = u.spec->retry;
  double d = static_cast<double>(r.interval.count());
  if (r.backoff == Backoff::exponential) d *= std::pow(2.0, std::max(0, u.attempt - 1));
  if (r.max_interval) d = std::min(d, static_cast<double>(r.max_interval->count()));
  // Jitter (0.8x to 1.2x) keeps many retrying steps from hitting a service in lockstep.
  std::uniform_real_distribution<double> jitter(0.8, 1.2);
  return Duration{static_cast<std::int64_t>(d * jitter(rng_))};
}

void Engine::Impl::begin_attempt(int ui) {
  Unit& u = units_[static_cast<std::size_t>(ui)];
  if (u.recheck && mode_ == Mode::forward) {
    u.recheck = false;
    u.rechecking = true;
    return reconcile(ui);  // the attempt that stopped the run, with its own idempotency key
  }
  const bool first = u.attempt == 0;
  if (first) {
    u.started = deps_.clock->now();
    u.started_wall = format_rfc3339(deps_.clock->wall());
    u.deadline = u.started + u.spec->timeout;
    if (u.kind == Unit::Kind::forward) {
      for (const auto& [input, want] : u.spec->when) {
        auto it = opt_.inputs.find(input);
        const std::string have = it == opt_.inputs.end() ? "" : it->second;
        if (have != want) {
          journal("step.skipped",
                  Value::map(
                      {{"step", Value::string(u.id)},
                       {"reason", Value::string("when: inputs." + input + " is '" + have + "', not '" + want + "'")}}),
                  true);
          u.outcome = Unit::Outcome::skipped;
          unit_done(ui);
          return;
        }
      }
    }
  }
  ++u.attempt;
  u.intent_journaled = u.accepted_journaled = false;
  u.handle = Value();
  u.last_progress.clear();
  if (first && u.kind == Unit::Kind::forward) {
    u.phase = Unit::Phase::capturing;
    auto p = prepare_call(ui);
    if (!p) return;
    dispatch(ui, Completion::Kind::captured,
             [action = p->action, call = std::move(p->call)](Completion& c) { c.captured = action->capture(call); });
    return;
  }
  on_captured(ui, u.captured);
}

void Engine::Impl::on_captured(int ui, Value captured) {
  units_[static_cast<std::size_t>(ui)].captured = std::move(captured);
  journal_intent(ui, false);
  submit(ui);
}

// Write-ahead: the intent (with what the undo needs) is on disk before the request leaves. A
// resend (a request that a resume reconciled as never started, or idempotent) gets an intent of
// its own, with the same attempt and idempotency key: every request sent has its record.
void Engine::Impl::journal_intent(int ui, bool resend) {
  Unit& u = units_[static_cast<std::size_t>(ui)];
  std::vector<Value::Entry> f{{"step", Value::string(u.id)},
                              {"action", Value::string(u.action)},
                              {"attempt", Value::integer(u.attempt)},
                              {"idempotency_key", Value::string(make_call(u).idempotency_key)}};
  if (u.kind == Unit::Kind::forward) {
    f.emplace_back("with", u.spec->with);  // templates: ${env.X} stays a reference
    const UndoSpec& undo = u.spec->undo;
    const char* kind = undo.kind == UndoSpec::Kind::builtin         ? "builtin"
                       : undo.kind == UndoSpec::Kind::explicit_step ? "explicit"
                                                                    : "none";
    std::string undo_action;
    if (undo.kind == UndoSpec::Kind::explicit_step) undo_action = undo.step->action;
    if (undo.kind == UndoSpec::Kind::builtin)
      if (const ActionSpec* a = Catalogue::v1().find(u.action)) undo_action = a->builtin_undo;
    f.emplace_back(
        "undo",
        Value::map({{"kind", Value::string(kind)}, {"action", Value::string(undo_action)}, {"captured", u.captured}}));
  }
  if (resend) f.emplace_back("resend", Value::boolean(true));
  u.intent_wall = deps_.clock->wall();  // at or before the event's own ts
  journal(std::string(prefix(u)) + ".intent", Value::map(std::move(f)), true);
  u.intent_journaled = true;
}

// The unit's action and a call with its parameters resolved; or, when there is no implementation
// of the action or a parameter does not resolve, nothing, and the unit has failed for good.
std::optional<Engine::Impl::PreparedCall> Engine::Impl::prepare_call(int ui) {
  Unit& u = units_[static_cast<std::size_t>(ui)];
  Action* action = action_of(u);
  if (!action) {
    fail_unit(ui, "no implementation of action '" + u.action + "' in this build", false, false);
    return std::nullopt;
  }
  std::string error;
  auto params = resolve_params(u, error);
  if (!params) {
    fail_unit(ui, error, false, false);
    return std::nullopt;
  }
  PreparedCall p{action, make_call(u)};
  p.call.params = std::move(*params);
  return p;
}

void Engine::Impl::submit(int ui) {
  auto p = prepare_call(ui);
  if (!p) return;
  units_[static_cast<std::size_t>(ui)].phase = Unit::Phase::submitting;
  const bool effect = !p->action->read_only();
  dispatch(
      ui, Completion::Kind::result,
      [action = p->action, call = std::move(p->call)](Completion& c) { c.result = action->submit(call); }, effect);
}

void Engine::Impl::poll(int ui) {
  auto p = prepare_call(ui);
  if (!p) return;
  Unit& u = units_[static_cast<std::size_t>(ui)];
  u.phase = Unit::Phase::polling;
  dispatch(ui, Completion::Kind::result,
           [action = p->action, call = std::move(p->call), handle = u.handle](Completion& c) {
             c.result = action->poll(call, handle);
           });
}

// Runs `work` on the worker pool when the action blocks, else right here; either way the answer
// comes back through the completion queue, tagged with the unit's generation.
void Engine::Impl::dispatch(int ui, Completion::Kind kind, std::function<void(Completion&)> work, bool effect) {
  Unit& u = units_[static_cast<std::size_t>(ui)];
  ++u.generation;
  ++in_flight_calls_;
  Completion c;
  c.unit = ui;
  c.generation = u.generation;
  c.kind = kind;
  auto task = [queue = completions_, clock = deps_.clock, c, work = std::move(work)]() mutable {
    try {
      work(c);
      c.answered = clock->now();
    } catch (const std::exception& e) {
      c.result = StepResult::fail(std::string("internal error in the action: ") + e.what(), false);
      c.reconciliation.verdict = Reconciliation::Verdict::operator_needed;
      c.reconciliation.reason = std::string("internal error while reconciling: ") + e.what();
    }
    queue->push(std::move(c));
  };
  // A call that outlives the step's deadline is abandoned when the deadline passes.
  timers_.push({u.deadline, ui, u.generation});
  Action* action = action_of(u);
  const bool blocking = action && action->blocking();
  if (effect)
    deferred_effects_.push_back({ui, u.generation, blocking, std::move(task)});
  else if (blocking)
    deps_.executor->post(std::move(task));
  else
    task();
}

void Engine::Impl::on_result(int ui, StepResult r, std::optional<Clock::time_point> answered) {
  Unit& u = units_[static_cast<std::size_t>(ui)];
  switch (r.status) {
    case StepResult::Status::succeeded: return succeed_unit(ui, std::move(r.outputs));
    case StepResult::Status::failed:
      if (r.ambiguous) return ambiguous_unit(ui, std::move(r.error));
      return fail_unit(ui, std::move(r.error), r.retryable, true, r.cause);
    case StepResult::Status::pending: break;
  }
  // Approvals are part of the audit trail in their own right, not only a step's output.
  if (u.action == "manual.approve" && !u.accepted_journaled) {
    const Value* msg = u.spec->with.find("message");
    journal("approval.requested",
            Value::map({{"step", Value::string(u.id)}, {"message", Value::string(msg ? msg->to_text() : "")}}), true);
  }
  if (!u.accepted_journaled || u.handle.to_text() != r.handle.to_text()) {
    u.handle = std::move(r.handle);
    journal(std::string(prefix(u)) + ".accepted",
            Value::map({{"step", Value::string(u.id)}, {"attempt", Value::integer(u.attempt)}, {"handle", u.handle}}),
            true);
    u.accepted_journaled = true;
  }
  if (!r.progress.empty() && r.progress != u.last_progress) {
    u.last_progress = r.progress;
    journal(std::string(prefix(u)) + ".progress",
            Value::map({{"step", Value::string(u.id)},
                        {"attempt", Value::integer(u.attempt)},
                        {"message", Value::string(r.progress)}}),
            false);
  }
  const auto now = deps_.clock->now();
  if (now >= u.deadline) return timer_fired(ui);  // the deadline check below times it out
  u.phase = Unit::Phase::waiting;
  ++u.generation;
  const Duration wait = std::max(Duration{1}, r.poll_after);
  timers_.push({std::min(answered.value_or(now) + wait, u.deadline), ui, u.generation});
}

void Engine::Impl::on_reconciled(int ui, Reconciliation r) {
  Unit& u = units_[static_cast<std::size_t>(ui)];
  if (std::exchange(u.rechecking, false) &&
      (r.verdict == Reconciliation::Verdict::not_started || r.verdict == Reconciliation::Verdict::operator_needed)) {
    // Nothing happened, or still nobody can tell and the operator, told so, resumed: try again.
    u.phase = Unit::Phase::idle;
    return begin_attempt(ui);
  }
  switch (r.verdict) {
    case Reconciliation::Verdict::not_started:
      if (mode_ == Mode::forward || u.kind == Unit::Kind::undo) {
        journal_intent(ui, true);
        return submit(ui);
      }
      // The run is stopping (rollback of a crashed run): a request that never left stays unsent.
      journal(std::string(prefix(u)) + ".skipped",
              Value::map({{"step", Value::string(u.id)},
                          {"reason", Value::string("never sent before the restart; the run is stopping")}}),
              true);
      u.outcome = Unit::Outcome::cancelled;
      return unit_done(ui);
    case Reconciliation::Verdict::adopted:
      return on_result(ui, StepResult::wait(std::move(r.handle), Duration{0}, "adopted after a restart"));
    case Reconciliation::Verdict::finished: return on_result(ui, std::move(r.result));
    case Reconciliation::Verdict::operator_needed: return ambiguous_unit(ui, std::move(r.reason));
  }
}

// Nobody can tell whether the step's work happened. An idempotent step simply runs again; any
// other stops the run for an operator, journaled as a final failure so that the operator's
// `edgedr resume` (after checking by hand) makes a new attempt instead of asking again.
void Engine::Impl::ambiguous_unit(int ui, std::string reason) {
  Unit& u = units_[static_cast<std::size_t>(ui)];
  if (u.spec->idempotent && mode_ == Mode::forward) {
    journal(std::string(prefix(u)) + ".failed",
            Value::map({{"step", Value::string(u.id)},
                        {"attempt", Value::integer(u.attempt)},
                        {"error", Value::string(reason)},
                        {"retryable", Value::boolean(true)},
                        {"final", Value::boolean(false)}}),
            true);
    u.phase = Unit::Phase::idle;
    return begin_attempt(ui);
  }
  operator_needed_ = true;
  if (u.kind == Unit::Kind::undo) rollback_failed_ = true;
  operator_check_ = true;  // fail_unit marks this failure as "needs a check", not a plain failure
  fail_unit(ui, reason, false, false);
  operator_check_ = false;
  stop_reason_ = "step " + u.id + " needs an operator: " + reason;
}

void Engine::Impl::timer_fired(int ui) {
  Unit& u = units_[static_cast<std::size_t>(ui)];
  const bool call_in_flight = u.phase == Unit::Phase::capturing || u.phase == Unit::Phase::submitting ||
                              u.phase == Unit::Phase::polling || u.phase == Unit::Phase::reconciling;
  if (deps_.clock->now() >= u.deadline && u.phase != Unit::Phase::idle) {
    if (call_in_flight) --in_flight_calls_;  // its answer will arrive stale and be dropped
    ++u.generation;
    std::string error = "timed out after " + format_duration(u.spec->timeout);
    if (Action* a = action_of(u)) {
      StepCall call = make_call(u);
      std::string ignored;
      if (auto p = resolve_params(u, ignored)) call.params = std::move(*p);
      if (auto advice = a->timeout_advice(call); !advice.empty()) error += "; " + advice;
      if (!u.handle.is_null()) {
        Value handle = u.handle;
        auto cancel = [a, call, handle] {
          try {
            a->cancel(call, handle);
          } catch (...) {
          }
        };
        if (a->blocking())
          deps_.executor->post(cancel);
        else
          cancel();
      }
    }
    return fail_unit(ui, std::move(error), false, false);
  }
  if (u.phase == Unit::Phase::waiting) return poll(ui);
  if (u.phase == Unit::Phase::idle && u.outcome == Unit::Outcome::none) return begin_attempt(ui);  // retry
}

void Engine::Impl::fail_unit(int ui, std::string error, bool retryable, bool allow_retry, StepResult::Cause cause) {
  Unit& u = units_[static_cast<std::size_t>(ui)];
  const auto now = deps_.clock->now();
  const bool more = allow_retry && retryable && u.attempt < u.spec->retry.attempts;
  const Duration delay = more ? backoff(u) : Duration{0};
  const bool retry = more && now + delay < u.deadline;
  std::vector<Value::Entry> fields{{"step", Value::string(u.id)},     {"attempt", Value::integer(u.attempt)},
                                   {"error", Value::string(error)},   {"retryable", Value::boolean(retryable)},
                                   {"final", Value::boolean(!retry)}, {"operator", Value::boolean(operator_check_)}};
  if (cause != StepResult::Cause::other)
    fields.emplace_back("cause", Value::string(cause == StepResult::Cause::auth ? "auth" : "not-found"));
  journal(std::string(prefix(u)) + ".failed", Value::map(std::move(fields)), true);
  if (retry) {
    journal(std::string(prefix(u)) + ".retry",
            Value::map({{"step", Value::string(u.id)},
                        {"attempt", Value::integer(u.attempt + 1)},
                        {"after_ms", Value::integer(ms(delay))}}),
            false);
    u.phase = Unit::Phase::idle;
    ++u.generation;
    timers_.push({now + delay, ui, u.generation});
    return;
  }
  u.outcome = Unit::Outcome::failed;
  u.error = std::move(error);
  u.retryable = retryable;
  u.cause = cause;
  unit_done(ui);
}

void Engine::Impl::succeed_unit(int ui, std::map<std::string, std::string> outputs) {
  Unit& u = units_[static_cast<std::size_t>(ui)];
  if (u.action == "manual.approve")
    if (auto by = outputs.find("approved-by"); by != outputs.end())
      journal("approval.granted", Value::map({{"step", Value::string(u.id)}, {"by", Value::string(by->second)}}), true);
  journal(
      std::string(prefix(u)) + ".succeeded",
      Value::map(
          {{"step", Value::string(u.id)}, {"attempt", Value::integer(u.attempt)}, {"outputs", outputs_value(outputs)}}),
      true);
  u.outcome = Unit::Outcome::succeeded;
  u.outputs = std::move(outputs);
  if (u.kind == Unit::Kind::forward) {
    outputs_by_step_[u.id] = u.outputs;
    completion_order_.push_back(ui);
  }
  unit_done(ui);
}

void Engine::Impl::unit_done(int ui) {
  Unit& u = units_[static_cast<std::size_t>(ui)];
  u.phase = Unit::Phase::done;
  ++u.generation;
  u.finished = deps_.clock->now();
  u.finished_wall = format_rfc3339(deps_.clock->wall());
  if (u.kind == Unit::Kind::undo) return undo_finished(ui);
  --in_flight_;
  const bool failed_for_good = u.outcome == Unit::Outcome::failed && !u.spec->continue_on_error;
  if (!failed_for_good) return node_finished(u.node);
  run_failed_ = true;
  if (mode_ == Mode::forward) {
    mode_ = Mode::stopping;
    stop_cause_ = u.cause;
    stop_reason_ = "step " + u.id + " failed: " + u.error;
  }
}

}  // namespace dr
