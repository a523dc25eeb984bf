// How long a step is expected to take, for the critical path and the scheduler's priorities.
#include "graph/graph_internal.h"

namespace dr {

Duration graph_detail::expected_duration(const StepSpec& step, const ActionSpec& action) {
  if (step.expect) return *step.expect;
  // `wait` says how long it takes in its own parameters; a ${...} there cannot be known yet.
  if (!action.duration_param.empty())
    if (const Value* v = step.with.find(action.duration_param); v && v->is_string())
      if (auto d = parse_duration(v->as_string())) return *d;
  return action.typical;
}

Duration expected_duration(const StepSpec& step, const Catalogue& catalogue) {
  if (step.expect) return *step.expect;
  const ActionSpec* action = catalogue.find(step.action);
  // The loader reports unknown actions; a plan of a broken runbook still renders.
  return action ? graph_detail::expected_duration(step, *action) : Duration{0};
}

}  // namespace dr
