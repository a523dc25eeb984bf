// The non-virtual parts of the Action interface: result constructors, the defaults every action
// inherits, and the registry the engine looks actions up in.
#include "dr/action.h"

#include <stdexcept>

namespace dr {

std::string StepCall::param_text(std::string_view name, std::string fallback) const {
  const Value* v = param(name);
  // A null is what YAML gives for `key:` with nothing after it: treat it as not given.
  if (!v || !v->is_scalar() || v->is_null()) return fallback;
  return v->to_text();
}

StepResult StepResult::ok(std::map<std::string, std::string> outputs) {
  StepResult r;
  r.status = Status::succeeded;
  r.outputs = std::move(outputs);
  return r;
}

StepResult StepResult::fail(std::string error, bool retryable) {
  StepResult r;
  r.status = Status::failed;
  r.error = std::move(error);
  r.retryable = retryable;
  return r;
}

StepResult StepResult::wait(Value handle, Duration poll_after, std::string progress) {
  StepResult r;
  r.status = Status::pending;
  r.handle = std::move(handle);
  r.poll_after = poll_after;
  r.progress = std::move(progress);
  return r;
}

StepResult Action::poll(const StepCall&, const Value&) {
  // Only an action whose submit() returns a handle is ever polled; reaching this is a bug in the
  // action or a journal edited by hand, and another attempt would end the same way.
  return StepResult::fail("this action has nothing to poll", false);
}

Reconciliation Action::reconcile(const StepCall& call) {
  Reconciliation r;
  if (call.step && call.step->idempotent) {
    r.verdict = Reconciliation::Verdict::not_started;
    return r;
  }
  // Without a way to read the remote state, running a mutating step twice could do harm
  // (reliability P3): an operator decides.
  r.verdict = Reconciliation::Verdict::operator_needed;
  r.reason = call.action + " may or may not have run before the crash; check by hand, then `edgedr resume " +
             (call.run_ref.empty() ? call.run_id : call.run_ref) +
             "` to run it again "
             "(mark the step `idempotent: true` to do this automatically)";
  return r;
}

void ActionRegistry::add(std::string name, std::shared_ptr<Action> action) {
  // Both are wiring mistakes made at start-up, not run-time conditions.
  if (!action) throw std::invalid_argument("action '" + name + "' registered without an implementation");
  if (actions_.count(name)) throw std::invalid_argument("action '" + name + "' registered twice");
  actions_.emplace(std::move(name), std::move(action));
}

Action* ActionRegistry::find(std::string_view name) const {
  auto it = actions_.find(name);
  return it == actions_.end() ? nullptr : it->second.get();
}

std::vector<std::string> ActionRegistry::names() const {
  std::vector<std::string> out;
  out.reserve(actions_.size());
  for (const auto& [name, action] : actions_) out.push_back(name);
  return out;
}

}  // namespace dr
