// `manual.approve`: the run waits until an operator approves the step (a TTY prompt,
// `--approve STEP-ID`, or an approval file: the ApprovalSource knows which), polled once a second
// so a waiting approval holds no thread.
#include "actions/action_support.h"

namespace dr::actions {
namespace {

using namespace std::chrono_literals;

constexpr Duration kPollEvery = 1s;

class ManualApproveAction final : public Action {
 public:
  StepResult submit(const StepCall& call) override {
    if (!call.approvals)
      return StepResult::fail(
          "this run has no way to ask for approval (give --approve " + step_id(call) + " or run it from a terminal)",
          false);
    if (auto who = call.approvals->approved_by(call.run_id, step_id(call))) return approved(*who);
    call.approvals->request(call.run_id, step_id(call), message(call));
    return StepResult::wait(Value::map({{"requested", Value::string(format_rfc3339(clock_of(call).wall()))}}),
                            poll_delay(call, kPollEvery), "waiting for approval");
  }

  StepResult poll(const StepCall& call, const Value& handle) override {
    if (!call.approvals) return StepResult::fail("this run has no way to ask for approval", false);
    if (auto who = call.approvals->approved_by(call.run_id, step_id(call))) return approved(*who);
    if (deadline_passed(call)) {
      const std::string within = call.step ? format_duration(call.step->timeout) : std::string("the step's timeout");
      return StepResult::fail("not approved within " + within +
                                  "; " + call.approvals->how_to_approve(call.run_id, step_id(call)),
                              false);
    }
    return StepResult::wait(handle, poll_delay(call, kPollEvery), "waiting for approval");
  }

  std::string timeout_advice(const StepCall& call) const override {
    if (!call.approvals) return "nobody approved it";
    return "nobody approved it; " + call.approvals->how_to_approve(call.run_id, step_id(call));
  }

  // Asking again is harmless, and an approval given meanwhile is found by the next submit.
  Reconciliation reconcile(const StepCall&) override {
    Reconciliation r;
    r.verdict = Reconciliation::Verdict::not_started;
    return r;
  }

  bool blocking() const override { return false; }
  bool read_only() const override { return true; }

  std::vector<std::string> describe(const StepCall& call) const override {
    return {"ask an operator to approve: " + message(call)};
  }

 private:
  static StepResult approved(const std::string& who) { return StepResult::ok({{"approved-by", who}}); }

  static std::string message(const StepCall& call) {
    return call.param_text("message", "approve step " + step_id(call) + "?");
  }
};

}  // namespace

std::shared_ptr<Action> make_manual_approve_action() {
  return std::make_shared<ManualApproveAction>();
}

}  // namespace dr::actions
