// The engine loop: start what may start, take in completions, fire due timers, otherwise sleep
// on the injected clock until the next timer or completion.
#include <deque>
#include <filesystem>
#include <stdexcept>

#include "engine/engine_impl.h"

namespace dr {

const char* run_status_name(RunStatus s) {
  switch (s) {
    case RunStatus::succeeded: return "succeeded";
    case RunStatus::rolled_back: return "rolled-back";
    case RunStatus::paused: return "paused";
    case RunStatus::rollback_incomplete: return "rollback-incomplete";
    case RunStatus::interrupted: return "interrupted";
    case RunStatus::storage_failed: return "storage-failed";
  }
  return "?";
}

int exit_code_for(RunStatus s) {
  switch (s) {
    case RunStatus::succeeded: return 0;
    case RunStatus::rolled_back: return 1;
    case RunStatus::paused:
    case RunStatus::rollback_incomplete:
    case RunStatus::storage_failed: return 4;
    case RunStatus::interrupted: return 130;
  }
  return 1;
}

Engine::Engine(const Runbook& runbook, const StepGraph& graph, RunJournal& journal, EngineDeps deps,
               EngineOptions options)
    : impl_(std::make_unique<Impl>(runbook, graph, journal, deps, std::move(options))) {}
Engine::~Engine() = default;
RunReport Engine::run() {
  return impl_->run();
}
RunReport Engine::resume() {
  return impl_->resume();
}
RunReport Engine::rollback() {
  return impl_->rollback();
}
void Engine::interrupt() {
  impl_->interrupt();
}

Engine::Impl::Impl(const Runbook& rb, const StepGraph& graph, RunJournal& journal, EngineDeps deps,
                   EngineOptions options)
    : rb_(rb), graph_(graph), journal_(journal), deps_(deps), opt_(std::move(options)) {
  runbook_dir_ = std::filesystem::path(rb_.file).parent_path().string();
  rng_.seed(opt_.jitter_seed ? opt_.jitter_seed : std::random_device{}());
  if (opt_.concurrency < 1) opt_.concurrency = 1;
  if (opt_.run_ref.empty()) opt_.run_ref = opt_.run_id;
  // Drills always clean up (runbook-format.md §10): a failed drill is undone like any run, and a
  // paused one would leave test failovers standing for nobody.
  if (drill()) opt_.on_failure = OnFailure::rollback;
  init_graph_state();
}

void Engine::Impl::interrupt() {
  interrupts_.fetch_add(1);
  completions_->cv.notify_all();
}

int Engine::Impl::interrupt_level() const {
  return interrupts_.load();
}

// Seconds since this run (or this resumption of it) started, by the engine's clock.
Value Engine::Impl::elapsed() const {
  return Value::number(std::chrono::duration<double>(deps_.clock->now() - run_start_).count());
}

// Group commit: step and undo records are written at once and put on disk together, by one
// fsync, before the next side effect is sent (flush_effects) or the loop goes idle. Run-level
// records (run.*, rollback.*) are on disk before this returns.
void Engine::Impl::sync_journal() {
  if (storage_failed_) throw JournalError("journal already failed");
  try {
    journal_.sync();
  } catch (const JournalError&) {
    storage_failed_ = true;
    throw;
  }
}

// Sends the side effects whose intents were written since the last flush, after one fsync for
// all of them. Returns true when it sent any.
bool Engine::Impl::flush_effects() {
  if (deferred_effects_.empty()) return false;
  sync_journal();  // throws on a storage error: nothing below is sent
  auto calls = std::move(deferred_effects_);
  deferred_effects_.clear();
  for (auto& c : calls) {
    if (units_[static_cast<std::size_t>(c.unit)].generation != c.generation) continue;
    if (c.blocking)
      deps_.executor->post(std::move(c.task));
    else
      c.task();
  }
  return true;
}

void Engine::Impl::journal(std::string type, Value fields, bool durable) {
  if (storage_failed_) throw JournalError("journal already failed");
  const bool grouped = type.rfind("step.", 0) == 0 || type.rfind("undo.", 0) == 0 || type.rfind("approval.", 0) == 0;
  try {
    const JournalEvent& e = journal_.append(std::move(type), std::move(fields), durable && !grouped);
    if (deps_.observer) deps_.observer->on_event(e);
  } catch (const JournalError&) {
    storage_failed_ = true;
    throw;
  }
}

RunReport Engine::Impl::run() {
  run_start_ = deps_.clock->now();
  run_start_wall_ = format_rfc3339(deps_.clock->wall());
  std::vector<Value::Entry> inputs, only, skip;
  for (const auto& [k, v] : opt_.inputs) inputs.emplace_back(k, Value::string(v));
  std::vector<Value> only_list, skip_list;
  for (const auto& s : opt_.filter.only) only_list.push_back(Value::string(s));
  for (const auto& s : opt_.filter.skip) skip_list.push_back(Value::string(s));
  // The objectives the run is scored against, as they were when it ran (reports read them here).
  std::vector<Value::Entry> objectives;
  auto seconds = [](Duration d) { return Value::integer(std::chrono::duration_cast<std::chrono::seconds>(d).count()); };
  if (rb_.objectives.rto) objectives.emplace_back("rto_seconds", seconds(*rb_.objectives.rto));
  if (rb_.objectives.rpo) objectives.emplace_back("rpo_seconds", seconds(*rb_.objectives.rpo));
  try {
    journal("run.started",
            Value::map({{"run_id", Value::string(opt_.run_id)},
                        {"runbook", Value::string(rb_.name)},
                        // Absolute, so resume finds the runbook from any working directory.
                        {"file", Value::string(std::filesystem::absolute(rb_.file).string())},
                        {"content_hash", Value::string(rb_.content_hash)},
                        {"operation", Value::string(operation_name(graph_.operation()))},
                        {"inputs", Value::map(std::move(inputs))},
                        {"objectives", Value::map(std::move(objectives))},
                        {"options", Value::map({{"concurrency", Value::integer(opt_.concurrency)},
                                                {"on_failure", Value::string(on_failure_name(opt_.on_failure))},
                                                {"only", Value::list(std::move(only_list))},
                                                {"skip", Value::list(std::move(skip_list))},
                                                {"dry_run", Value::boolean(opt_.dry_run)}})},
                        {"user", Value::string(opt_.user)},
                        {"host", Value::string(opt_.host)},
                        {"simulated", Value::boolean(opt_.simulated)},
                        {"time_scale", Value::number(opt_.time_scale)}}),
            true);
  } catch (const JournalError& e) {
    return finish(RunStatus::storage_failed, std::string("cannot write the journal: ") + e.what());
  }
  return drive();
}

RunReport Engine::Impl::drive() {
  try {
    while (mode_ != Mode::done) {
      if (interrupt_level() >= 2) {
        journal("run.interrupted", Value::map({}), true);
        return finish(RunStatus::interrupted,
                      "stopped at once by a second interrupt; continue with `edgedr resume " + opt_.run_ref + "`");
      }
      if (interrupt_level() == 1 && seen_interrupts_ == 0) {
        seen_interrupts_ = 1;
        if (mode_ == Mode::forward) {
          mode_ = Mode::stopping;
          stop_reason_ = "interrupted by the operator";
        }
      }
      if (step_once()) continue;
      // Nothing more to do right now: is the run over?
      if (mode_ == Mode::forward && !forward_work_left()) {
        if (drill()) {
          drill_passed_ = true;
          begin_rollback("drill cleanup");
          continue;
        }
        journal("run.finished", Value::map({{"status", Value::string("succeeded")}, {"seconds", elapsed()}}), true);
        return finish(RunStatus::succeeded, "");
      }
      if (mode_ == Mode::stopping && in_flight_ == 0) {
        if (!drill() && (operator_needed_ || opt_.on_failure == OnFailure::pause)) {
          journal("run.paused", Value::map({{"reason", Value::string(stop_reason_)}}), true);
          return finish(RunStatus::paused, stop_reason_ + "; continue with `edgedr resume " + opt_.run_ref +
                                               "` or undo with `edgedr rollback " + opt_.run_ref + "`");
        }
        begin_rollback(stop_reason_);
        continue;
      }
      if (mode_ == Mode::rolling_back && undo_running_ < 0) {
        if (rollback_failed_) {
          journal("rollback.finished", Value::map({{"status", Value::string("incomplete")}}), true);
          journal("run.paused", Value::map({{"reason", Value::string(stop_reason_)}}), true);
          return finish(RunStatus::rollback_incomplete,
                        stop_reason_ + "; fix it, then `edgedr rollback " + opt_.run_ref + "` continues the rollback");
        }
        if (undo_next_ >= undo_queue_.size()) {
          journal("rollback.finished", Value::map({{"status", Value::string("complete")}}), true);
          if (drill_passed_) {
            journal("run.finished", Value::map({{"status", Value::string("succeeded")}, {"seconds", elapsed()}}), true);
            return finish(RunStatus::succeeded, "drill passed; cleaned up: " + rollback_summary());
          }
          if (drill() && operator_needed_) {
            // Everything known was cleaned up; a step whose effect nobody can tell is left to a person.
            journal("run.paused", Value::map({{"reason", Value::string(stop_reason_)}}), true);
            return finish(RunStatus::paused, stop_reason_ + "; the rest was cleaned up (" + rollback_summary() +
                                                 "); check that step by hand, then `edgedr rollback " + opt_.run_ref +
                                                 "`");
          }
          journal("run.finished", Value::map({{"status", Value::string("rolled-back")}, {"seconds", elapsed()}}), true);
          return finish(RunStatus::rolled_back,
                        stop_reason_ + (drill() ? "; cleaned up: " : "; ") + rollback_summary());
        }
        start_next_undo();
        continue;
      }
      if (flush_effects()) continue;
      sync_journal();  // outcomes on disk before the loop sleeps
      wait_for_work();
    }
  } catch (const JournalError& e) {
    // Nothing more is sent: the journal could not record it.
    return finish(RunStatus::storage_failed, std::string("stopped: the journal could not be written (") + e.what() +
                                                 "); no further request was sent");
  }
  return finish(RunStatus::succeeded, "");
}

// One round of progress: every completion that has arrived, then every timer that is due, then
// the starts they allow. Taking whole rounds keeps a flood of answers from holding back due polls
// (or the other way round), and lets one group fsync cover everything the round wrote. Returns
// false when there was nothing to do.
bool Engine::Impl::step_once() {
  std::deque<Completion> batch;
  {
    std::lock_guard lock(completions_->mu);
    batch.swap(completions_->items);
  }
  bool progress = !batch.empty();
  for (Completion& c : batch) {
    Unit& u = units_[static_cast<std::size_t>(c.unit)];
    if (c.generation != u.generation) continue;  // a stale answer (timed out meanwhile)
    --in_flight_calls_;
    switch (c.kind) {
      case Completion::Kind::captured: on_captured(c.unit, std::move(c.captured)); break;
      case Completion::Kind::result:
        on_result(c.unit, std::move(c.result),
                  c.answered == Clock::time_point{} ? std::nullopt : std::optional<Clock::time_point>(c.answered));
        break;
      case Completion::Kind::reconciled: on_reconciled(c.unit, std::move(c.reconciliation)); break;
    }
  }
  // The timers due now; bounded by how many there were, so a timer that re-arms for `now` cannot
  // keep the loop here.
  const auto now = deps_.clock->now();
  for (std::size_t due = timers_.size(); due > 0 && !timers_.empty() && timers_.top().at <= now; --due) {
    engine::Timer t = timers_.top();
    timers_.pop();
    progress = true;
    if (t.generation == units_[static_cast<std::size_t>(t.unit)].generation) timer_fired(t.unit);
  }
  const std::size_t before = in_flight_calls_;
  if (mode_ == Mode::forward) start_ready_units();
  return progress || in_flight_calls_ != before;
}

void Engine::Impl::wait_for_work() {
  std::unique_lock lock(completions_->mu);
  const int level = interrupt_level();
  auto wake = [&] { return !completions_->items.empty() || interrupt_level() != level; };
  if (wake()) return;
  Clock::time_point deadline = timers_.empty() ? deps_.clock->now() + std::chrono::hours(24) : timers_.top().at;
  if (in_flight_calls_ == 0 && timers_.empty())
    throw std::logic_error("engine stalled: nothing in flight, no timer, and the run is not over");
  deps_.clock->wait_until(deadline, completions_->cv, lock, wake);
}

RunReport Engine::Impl::finish(RunStatus status, std::string message) {
  mode_ = Mode::done;
  RunReport r;
  r.run_id = opt_.run_id;
  r.runbook = rb_.name;
  r.operation = graph_.operation();
  r.status = status;
  r.cause = stop_cause_;
  r.message = std::move(message);
  r.started = run_start_wall_;
  r.finished = format_rfc3339(deps_.clock->wall());
  r.seconds = std::chrono::duration<double>(deps_.clock->now() - run_start_).count();
  for (int n : graph_.topological_order()) {
    const int ui = unit_of_node_[static_cast<std::size_t>(n)];
    if (ui < 0) continue;
    const Unit& u = units_[static_cast<std::size_t>(ui)];
    StepReport s;
    s.id = u.id;
    s.action = u.action;
    s.attempts = u.attempt;
    s.started = u.started_wall;
    s.finished = u.finished_wall;
    if (u.outcome != Unit::Outcome::none && u.started != Clock::time_point{})
      s.seconds = std::chrono::duration<double>(u.finished - u.started).count();
    s.error = u.error;
    s.outputs = u.outputs;
    switch (u.outcome) {
      case Unit::Outcome::succeeded: s.status = "succeeded"; break;
      case Unit::Outcome::failed: s.status = "failed"; break;
      case Unit::Outcome::skipped: s.status = "skipped"; break;
      case Unit::Outcome::cancelled: s.status = "cancelled"; break;
      case Unit::Outcome::none:
        s.status = u.phase != Unit::Phase::idle ? "in-flight" : u.failed_before_resume ? "failed" : "not-run";
        break;
    }
    r.steps.push_back(std::move(s));
  }
  for (int ui : undo_queue_) {
    const Unit& undo = units_[static_cast<std::size_t>(ui)];
    for (auto& s : r.steps)
      if (s.id == undo.id && s.status == "succeeded")
        s.status = undo.outcome == Unit::Outcome::succeeded ? "undone"
                   : undo.outcome == Unit::Outcome::failed  ? "undo-failed"
                                                            : s.status;
  }
  return r;
}

}  // namespace dr
