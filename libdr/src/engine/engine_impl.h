// The engine's inner state. One thread (the caller of run/resume/rollback) owns everything here
// except the completion queue, which worker threads push into.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <queue>
#include <random>
#include <set>

#include "dr/engine.h"

namespace dr::engine {

// One unit of work: a forward step or an undo, driven through its attempts.
struct Unit {
  enum class Kind { forward, undo };
  enum class Phase {
    idle,         // not started (or waiting for its retry timer)
    capturing,    // capture() in flight
    submitting,   // submit() in flight
    waiting,      // pending: a poll timer is set
    polling,      // poll() in flight
    reconciling,  // reconcile() in flight (resume of an intent-only step)
    done,
  };
  enum class Outcome { none, succeeded, failed, skipped, cancelled };

  Kind kind = Kind::forward;
  int node = -1;                      // graph node (forward) or the forward step's node (undo)
  const StepSpec* spec = nullptr;     // what runs: the step, or its explicit undo step
  const StepSpec* forward = nullptr;  // the forward step (for undos: whose undo this is)
  std::string action;
  std::string id;  // the forward step's id
  Phase phase = Phase::idle;
  Outcome outcome = Outcome::none;
  int attempt = 0;
  std::uint64_t generation = 0;       // bumps on every call, so stale completions are ignored
  bool intent_journaled = false;      // for this attempt
  bool failed_before_resume = false;  // failed for good in an earlier process (a paused run)
  // It stopped the run because nobody could tell whether its request arrived (a lost answer). On
  // resume the action reconciles that attempt first (a job it started is adopted, not sent
  // again); only if it still cannot tell does the operator's resume mean "try again".
  bool recheck = false;
  bool rechecking = false;          // that reconcile is in flight
  bool accepted_journaled = false;  // for this attempt
  Value handle;
  Value captured;                  // forward: what capture() returned (journaled in the intent)
  Clock::wall_time intent_wall{};  // this attempt's intent (StepCall::intent_wall)
  std::string last_progress;
  Clock::time_point started{}, deadline{};
  std::string started_wall, finished_wall;
  Clock::time_point finished{};
  std::string error;
  bool retryable = true;
  StepResult::Cause cause = StepResult::Cause::other;
  std::map<std::string, std::string> outputs;
};

struct Completion {
  int unit = -1;
  std::uint64_t generation = 0;
  enum class Kind { captured, result, reconciled } kind = Kind::result;
  Value captured;
  StepResult result;
  Reconciliation reconciliation;
  Clock::time_point answered{};  // when the action's call returned
};

// Pushed by worker threads, drained by the engine thread. Shared so a late worker finishing
// after the engine returned (a second SIGINT) writes into memory that still exists.
struct CompletionQueue {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<Completion> items;
  void push(Completion c) {
    {
      std::lock_guard lock(mu);
      items.push_back(std::move(c));
    }
    cv.notify_all();
  }
};

struct Timer {
  Clock::time_point at;
  int unit;
  std::uint64_t generation;
  bool operator>(const Timer& o) const { return at > o.at || (at == o.at && unit > o.unit); }
};

}  // namespace dr::engine

namespace dr {

class Engine::Impl {
 public:
  Impl(const Runbook& rb, const StepGraph& graph, RunJournal& journal, EngineDeps deps, EngineOptions options);

  RunReport run();
  RunReport resume();
  RunReport rollback();
  void interrupt();

 private:
  using Unit = engine::Unit;
  using Completion = engine::Completion;

  // engine.cpp: the loop and the run's end.
  RunReport drive();
  bool step_once();
  void wait_for_work();
  RunReport finish(RunStatus status, std::string message);
  void journal(std::string type, Value fields, bool durable);
  int interrupt_level() const;
  Value elapsed() const;

  // scheduler.cpp: the forward graph.
  void init_graph_state();
  void start_ready_units();
  void make_ready(int node);
  void node_finished(int node);
  bool forward_work_left() const;

  // attempt.cpp: one unit through capture, intent, submit, poll.
  void begin_attempt(int u);
  void on_captured(int u, Value captured);
  void journal_intent(int u, bool resend);
  void submit(int u);
  // `answered`: when the action returned `r` (poll_after counts from then, not from when the
  // engine got round to the answer); unset: now.
  void on_result(int u, StepResult r, std::optional<Clock::time_point> answered = std::nullopt);
  void on_reconciled(int u, Reconciliation r);
  void poll(int u);
  void timer_fired(int u);
  void fail_unit(int u, std::string error, bool retryable, bool allow_retry,
                 StepResult::Cause cause = StepResult::Cause::other);
  StepResult::Cause stop_cause_ = StepResult::Cause::other;  // of the step that stopped the run
  void ambiguous_unit(int u, std::string reason);
  void succeed_unit(int u, std::map<std::string, std::string> outputs);
  void unit_done(int u);
  // `effect`: the call changes something outside (a submit of an action that is not read-only);
  // it waits in deferred_effects_ until flush_effects() has put its intent on disk.
  void dispatch(int u, Completion::Kind kind, std::function<void(Completion&)> work, bool effect = false);
  bool flush_effects();
  void sync_journal();
  StepCall make_call(const Unit& u);
  struct PreparedCall {
    Action* action;
    StepCall call;
  };
  std::optional<PreparedCall> prepare_call(int u);
  Action* action_of(const Unit& u);
  const char* prefix(const Unit& u) const { return u.kind == Unit::Kind::forward ? "step" : "undo"; }
  Duration backoff(const Unit& u) const;

  // rollback.cpp
  void begin_rollback(std::string reason);
  // A drill's rollback is its cleanup: it runs after success too, whatever on-failure says.
  bool drill() const { return graph_.operation() == Operation::drill; }
  bool drill_passed_ = false;  // every drill step succeeded; the cleanup that follows is routine
  void start_next_undo();
  void undo_finished(int u);
  std::string rollback_summary() const;
  std::size_t no_undo_ = 0;  // completed steps the rollback skipped (undo: none)

  // resume.cpp
  void replay_journal();
  void reconcile(int u);
  struct UndoReplay {
    int attempt = 0;
    bool intent = false;
    Value handle;
  };
  std::map<std::string, UndoReplay> undo_replay_;  // undos journaled but not finished
  std::set<std::string> undone_;                   // forward step ids whose undo finished
  bool rollback_begun_ = false;
  std::string finished_status_;  // run.finished status found in the journal

  // params.cpp
  std::optional<Value> resolve_params(const Unit& u, std::string& error);

  const Runbook& rb_;
  const StepGraph& graph_;
  RunJournal& journal_;
  EngineDeps deps_;
  EngineOptions opt_;
  std::string runbook_dir_;

  std::vector<Unit> units_;
  std::vector<int> unit_of_node_;  // forward unit per graph node (-1 for join nodes)
  std::vector<int> pending_deps_;  // per node
  std::vector<bool> node_done_;
  std::size_t nodes_done_ = 0;
  std::int64_t ready_seq_ = 0;  // fifo scheduling: order of becoming ready
  bool seeded_ = false;
  std::vector<int> completion_order_;                        // forward units, in the order they succeeded
  std::priority_queue<std::pair<std::int64_t, int>> ready_;  // (remaining ms, -node)
  std::priority_queue<engine::Timer, std::vector<engine::Timer>, std::greater<>> timers_;
  std::shared_ptr<engine::CompletionQueue> completions_ = std::make_shared<engine::CompletionQueue>();
  std::map<std::string, std::map<std::string, std::string>> outputs_by_step_;  // step id -> outputs
  int in_flight_ = 0;                // forward units started and not finished (concurrency)
  std::size_t in_flight_calls_ = 0;  // action calls dispatched and not yet completed
  struct DeferredCall {
    int unit;
    std::uint64_t generation;  // a call whose unit moved on meanwhile (timed out) is not sent
    bool blocking;
    std::function<void()> task;
  };
  std::vector<DeferredCall> deferred_effects_;  // side effects waiting for the journal's fsync

  enum class Mode { forward, stopping, rolling_back, done };
  Mode mode_ = Mode::forward;
  std::string stop_reason_;
  bool run_failed_ = false;       // a step failed for good (not continue-on-error)
  bool operator_needed_ = false;  // reconcile could not tell, or an undo failed
  bool operator_check_ = false;   // the failure being journaled is "nobody can tell", not a plain one
  std::vector<int> undo_queue_;   // units, in the order to run
  std::size_t undo_next_ = 0;
  int undo_running_ = -1;
  bool rollback_failed_ = false;
  bool storage_failed_ = false;

  std::atomic<int> interrupts_{0};
  std::atomic<bool> cancel_now_{false};
  int seen_interrupts_ = 0;
  mutable std::mt19937_64 rng_;
  Clock::time_point run_start_{};
  std::string run_start_wall_;
};

}  // namespace dr
