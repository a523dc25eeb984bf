#include "dr/local_actions.h"

#include "actions/action_support.h"

namespace dr {

void register_local_actions(ActionRegistry& registry, bool simulated) {
  registry.add("wait", actions::make_wait_action());
  registry.add("exec", simulated ? actions::make_simulated_exec_action() : actions::make_exec_action());
  registry.add("http.probe", actions::make_http_probe_action());
  registry.add("manual.approve", actions::make_manual_approve_action());
}

}  // namespace dr
