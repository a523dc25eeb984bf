// What the local actions share: their factories (registered by local_actions.cpp) and small
// helpers for deadlines, parameters and journal-safe text.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "dr/action.h"

namespace dr::actions {

std::shared_ptr<Action> make_wait_action();
std::shared_ptr<Action> make_exec_action();
std::shared_ptr<Action> make_simulated_exec_action();
std::shared_ptr<Action> make_http_probe_action();
std::shared_ptr<Action> make_manual_approve_action();

// The call's clock; a call without one is a wiring bug.
Clock& clock_of(const StepCall& call);

// Time left until the call's deadline (negative once past); nullopt when the call has none.
std::optional<Duration> time_left(const StepCall& call);
bool deadline_passed(const StepCall& call);

// `wanted`, shortened so the poll comes no later than the deadline (and at least 1 ms away).
Duration poll_delay(const StepCall& call, Duration wanted);

// The step's id as operators know it ("historian/failover/approve"); empty without a step.
std::string step_id(const StepCall& call);

// A duration parameter: nullopt when absent, an error message when it is not a duration.
struct DurationParam {
  std::optional<Duration> value;
  std::string error;
};
DurationParam duration_param(const StepCall& call, std::string_view name);

// Bytes as valid UTF-8 (invalid sequences become U+FFFD): outputs go into the JSON journal.
std::string valid_utf8(std::string_view bytes);

}  // namespace dr::actions
