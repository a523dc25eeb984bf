// `wait`: pause a run for `duration` without holding a thread.
//
// The handle holds the end of the wait twice: as a monotonic deadline with the epoch of the clock
// that set it, and as wall time. A poll by a clock of the same epoch (this process, or a resume on
// the same boot) uses the monotonic deadline, so a wall-clock jump neither stretches nor cuts a
// wait (reliability P11). Only a resume after a reboot, where no monotonic reading carries over,
// falls back to the wall time.
#include "actions/action_support.h"

namespace dr::actions {
namespace {

// The handle's monotonic deadline, when it was set by a clock of the same epoch as `clock`.
std::optional<Clock::time_point> same_epoch_deadline(const Clock& clock, const Value& handle) {
  const Value* epoch = handle.find("clock");
  const Value* ns = handle.find("deadline_ns");
  if (!epoch || !epoch->is_string() || !ns || ns->kind() != Value::Kind::integer) return std::nullopt;
  if (epoch->as_string() != clock.monotonic_epoch()) return std::nullopt;
  return Clock::time_point(std::chrono::duration_cast<Clock::time_point::duration>(std::chrono::nanoseconds(ns->as_int())));
}

class WaitAction final : public Action {
 public:
  StepResult submit(const StepCall& call) override {
    const auto d = duration_param(call, "duration");
    if (!d.error.empty()) return StepResult::fail(d.error, false);
    if (!d.value) return StepResult::fail("wait needs a duration, e.g. `duration: 90s`", false);
    if (*d.value <= Duration::zero()) return StepResult::ok();
    const Clock& clock = clock_of(call);
    const auto until = clock.wall() + *d.value;
    const auto deadline = clock.now() + *d.value;
    const auto deadline_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(deadline.time_since_epoch()).count();
    return StepResult::wait(Value::map({{"until", Value::string(format_rfc3339(until))},
                                        {"clock", Value::string(clock.monotonic_epoch())},
                                        {"deadline_ns", Value::integer(deadline_ns)}}),
                            *d.value, "waiting " + format_duration(*d.value));
  }

  StepResult poll(const StepCall& call, const Value& handle) override {
    const Clock& clock = clock_of(call);
    const Value* until_text = handle.find("until");
    const auto until = until_text && until_text->is_string() ? parse_rfc3339(until_text->as_string()) : std::nullopt;
    if (!until) return StepResult::fail("the wait's handle has no valid `until` time", false);
    Duration remaining;
    if (auto deadline = same_epoch_deadline(clock, handle)) {
      remaining = std::chrono::ceil<Duration>(*deadline - clock.now());
    } else {
      remaining = std::chrono::ceil<Duration>(*until - clock.wall());
    }
    if (remaining <= Duration::zero()) return StepResult::ok();
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
  bool read_only() const override { return true; }

  std::vector<std::string> describe(const StepCall& call) const override {
    return {"wait " + call.param_text("duration", "?")};
  }
};

}  // namespace

std::shared_ptr<Action> make_wait_action() {
  return std::make_shared<WaitAction>();
}

}  // namespace dr::actions
