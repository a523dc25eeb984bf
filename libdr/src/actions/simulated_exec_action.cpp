// `exec` in a rehearsal: a runbook's local commands (stop a service, promote a replica) would act
// on the machine the rehearsal runs on, which is not the site. So nothing runs; the step succeeds
// after a simulated second (a wait, not a blocked thread) and its output says what would have run.
#include "actions/action_support.h"

namespace dr::actions {
namespace {

std::string command_text(const StepCall& call) {
  std::string text;
  if (const Value* cmd = call.param("command"); cmd && cmd->is_list())
    for (const auto& arg : cmd->items()) text += (text.empty() ? "" : " ") + arg.to_text();
  return text;
}

class SimulatedExecAction final : public Action {
 public:
  StepResult submit(const StepCall& call) override {
    const auto until = clock_of(call).now() + std::chrono::seconds(1);
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(until.time_since_epoch()).count();
    return StepResult::wait(Value::map({{"simulated", Value::boolean(true)}, {"until_ns", Value::integer(ns)}}),
                            std::chrono::seconds(1), "simulated: not run");
  }

  StepResult poll(const StepCall& call, const Value& handle) override {
    const Value* until = handle.find("until_ns");
    const auto now = clock_of(call).now().time_since_epoch();
    if (until && std::chrono::nanoseconds(until->as_int()) > now)
      return StepResult::wait(handle, std::chrono::milliseconds(200), "simulated: not run");
    // The command line is not an output: its arguments may hold secrets from ${env...}.
    return StepResult::ok({{"exit-code", "0"}, {"stdout", "(simulated: the command was not run)"}, {"stderr", ""}});
  }

  Reconciliation reconcile(const StepCall&) override {
    Reconciliation r;
    r.verdict = Reconciliation::Verdict::not_started;  // nothing ran: running "again" is harmless
    return r;
  }

  bool blocking() const override { return false; }
  bool read_only() const override { return true; }

  std::vector<std::string> describe(const StepCall& call) const override {
    return {"simulated: would run " + command_text(call)};
  }
};

}  // namespace

std::shared_ptr<Action> make_simulated_exec_action() {
  return std::make_shared<SimulatedExecAction>();
}

}  // namespace dr::actions
