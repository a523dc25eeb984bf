// `wait`: pause a run for `duration` without holding a thread.
//
// The handle holds the wall-clock time the wait ends, not a steady-clock reading: steady clocks
// start anew in every process, so only the wall time still means something when a resumed run
// polls the handle after a crash. The price is that a wall-clock jump stretches or shortens a
// wait in progress; the step's timeout still runs on the monotonic clock.
#include "actions/action_support.h"

namespace dr::actions {
namespace {

class WaitAction final : public Action {
 public:
  StepResult submit(const StepCall& call) override {
    const auto d = duration_param(call, "duration");
    if (!d.error.empty()) return StepResult::fail(d.error, false);
    if (!d.value) return StepResult::fail("wait needs a duration, e.g. `duration: 90s`", false);
    if (*d.value <= Duration::zero()) return StepResult::ok();
    const auto until = clock_of(call).wall() + *d.value;
    return StepResult::wait(Value::map({{"until", Value::string(format_rfc3339(until))}}), *d.value,
                            "waiting " + format_duration(*d.value));
  }

  StepResult poll(const StepCall& call, const Value& handle) override {
    const Value* until_text = handle.find("until");
    const auto until = until_text && until_text->is_string() ? parse_rfc3339(until_text->as_string()) : std::nullopt;
    if (!until) return StepResult::fail("the wait's handle has no valid `until` time", false);
    const auto now = clock_of(call).wall();
    if (now >= *until) return StepResult::ok();
    const auto remaining = std::chrono::ceil<Duration>(*until - now);
    return StepResult::wait(handle, std::max(remaining, Duration(1)),
                            "waiting until " + until_text->as_string() + " (" + format_duration(remaining) + " left)");
  }

  // Waiting has no effect to double: after a crash the whole wait simply runs again.
  Reconciliation reconcile(const StepCall&) override {
    Reconciliation r;
    r.verdict = Reconciliation::Verdict::not_started;
    return r;
  }

  bool blocking() const override { return false; }

  std::vector<std::string> describe(const StepCall& call) const override {
    return {"wait " + call.param_text("duration", "?")};
  }
};

}  // namespace

std::shared_ptr<Action> make_wait_action() {
  return std::make_shared<WaitAction>();
}

}  // namespace dr::actions
