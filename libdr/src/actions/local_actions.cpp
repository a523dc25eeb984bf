#include "dr/local_actions.h"

#include "actions/action_support.h"

namespace dr {

void register_local_actions(ActionRegistry& registry) {
  registry.add("wait", actions::make_wait_action());
  registry.add("exec", actions::make_exec_action());
  registry.add("http.probe", actions::make_http_probe_action());
  registry.add("manual.approve", actions::make_manual_approve_action());
}

}  // namespace dr
