// The Action interface: how the engine drives a step without knowing what it does.
//
// Remote work in DR is "submit, then poll". submit() returns a final result or a *handle* (an
// operation URL, a job id, a deadline) with when to poll next; the engine journals the handle,
// keeps a timer, and calls poll() later, on this run or, after a crash, on the resumed one. No
// thread waits between polls. An action that must block on I/O says so with blocking(), and the
// engine runs its calls on a small worker pool; others run on the engine's thread.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dr/clock.h"
#include "dr/runbook.h"
#include "dr/value.h"

namespace dr {

// Operator approvals for manual.approve: from --approve STEP-ID, an approval file, or a prompt.
class ApprovalSource {
 public:
  virtual ~ApprovalSource() = default;
  // Who approved `step_id`, if anyone has yet. May be asked repeatedly (each poll).
  virtual std::optional<std::string> approved_by(const std::string& run_id, const std::string& step_id) = 0;
  // Asks for approval (a TTY prompt, when there is one); returns at once.
  virtual void request(const std::string& run_id, const std::string& step_id, const std::string& message) = 0;
  // How an operator approves this step from elsewhere; part of the failure message on timeout.
  virtual std::string how_to_approve(const std::string& run_id, const std::string& step_id) const = 0;
};

// One call of an action for one attempt of one step.
struct StepCall {
  std::string run_id;
  std::string run_ref;             // the run as a command line names it (see EngineOptions::run_ref)
  const StepSpec* step = nullptr;  // the forward step (for an explicit undo: the undo's spec)
  std::string action;              // the action being run (for a built-in undo: the inverse)
  Value params;                    // `with:`, references resolved: may hold secrets, never journal it
  int attempt = 1;
  std::string idempotency_key;  // "<run-id>/<step-id>/<attempt>": stable across crashes
  // When this attempt's intent was journaled (at or before the request left); {} before that. A
  // reconcile compares remote work's start times with it: a job that started after it is ours.
  Clock::wall_time intent_wall{};
  Clock::time_point deadline{};  // the step's timeout, across all its attempts
  Clock* clock = nullptr;
  bool is_undo = false;
  Value captured;  // for an undo: what capture() returned for the forward step
  ApprovalSource* approvals = nullptr;
  const std::atomic<bool>* cancelled = nullptr;  // set when the run is stopping now

  const Value* param(std::string_view name) const { return params.find(name); }
  std::string param_text(std::string_view name, std::string fallback = {}) const;
};

struct StepResult {
  enum class Status { succeeded, failed, pending };
  Status status = Status::failed;
  std::map<std::string, std::string> outputs;  // succeeded: journaled (must hold no secret)
  std::string error;                           // failed: one line, no secrets
  bool retryable = true;                       // failed: false when another attempt cannot help
  // failed: the action cannot tell whether its work happened (a process started before a
  // restart). The engine runs an idempotent step again and otherwise stops for an operator.
  bool ambiguous = false;
  // failed: why, when a caller should hear it in the exit code (cli.md): the credential was
  // refused (77), or a resource the runbook names does not exist (3).
  enum class Cause { other, auth, not_found };
  Cause cause = Cause::other;
  Value handle;                                  // pending: journaled, polled later
  Duration poll_after{std::chrono::seconds(1)};  // pending: when to poll next (Retry-After)
  std::string progress;                          // pending: one line for the live view

  static StepResult ok(std::map<std::string, std::string> outputs = {});
  static StepResult fail(std::string error, bool retryable = true);
  static StepResult wait(Value handle, Duration poll_after, std::string progress = {});
};

// What an action finds when a crash left only the intent of a step: did the request arrive?
struct Reconciliation {
  enum class Verdict {
    not_started,      // nothing happened: submit again
    adopted,          // it is under way: poll `handle`
    finished,         // it already finished: `result`
    operator_needed,  // cannot tell: stop the run for an operator (`reason`)
  };
  Verdict verdict = Verdict::operator_needed;
  Value handle;
  StepResult result;
  std::string reason;
};

class Action {
 public:
  virtual ~Action() = default;

  // Read-only: the prior state the undo must restore (an endpoint's status or priority). Called
  // before the intent is journaled; the result is journaled with it.
  virtual Value capture(const StepCall&) { return {}; }
  virtual StepResult submit(const StepCall& call) = 0;
  virtual StepResult poll(const StepCall& call, const Value& handle);
  // Default: an idempotent step is submitted again; anything else stops for an operator.
  virtual Reconciliation reconcile(const StepCall& call);
  // Best effort: stop the remote work behind `handle` (the run is stopping now).
  virtual void cancel(const StepCall&, const Value& /*handle*/) {}
  // True when submit/poll block on I/O and must run on the worker pool.
  virtual bool blocking() const { return true; }
  // True when calling the action changes nothing outside edgedr (wait, http.probe): there is no
  // side effect for a write-ahead intent to guard, so its submit is not held back until the
  // journal's next fsync (reliability P1 is about side effects).
  virtual bool read_only() const { return false; }
  // The requests this call would send, for plan and --dry-run ("PATCH https://... {...}").
  virtual std::vector<std::string> describe(const StepCall&) const { return {}; }
  // What an operator can do about a step that ran out of time, appended to the engine's "timed
  // out after 2s" ("not approved; approve it with: edgedr approve ..."); empty for nothing.
  virtual std::string timeout_advice(const StepCall&) const { return {}; }
};

class ActionRegistry {
 public:
  void add(std::string name, std::shared_ptr<Action> action);
  Action* find(std::string_view name) const;
  std::vector<std::string> names() const;

 private:
  std::map<std::string, std::shared_ptr<Action>, std::less<>> actions_;
};

}  // namespace dr
