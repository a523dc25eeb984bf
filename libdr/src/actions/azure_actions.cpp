#include "dr/azure_actions.h"

#include "actions/azure_action_support.h"
#include "dr/catalogue.h"

namespace dr::azure {

void register_azure_actions(ActionRegistry& registry, std::shared_ptr<AzureContext> context) {
  // The catalogue names the actions; each family's factory knows its members.
  for (const auto& name : Catalogue::v1().names()) {
    if (name.rfind("traffic-manager.", 0) == 0)
      registry.add(name, actions::az::make_traffic_manager_action(name, context));
    else if (name.rfind("site-recovery.", 0) == 0)
      registry.add(name, actions::az::make_site_recovery_action(name, context));
    else if (name.rfind("backup.", 0) == 0)
      registry.add(name, actions::az::make_backup_action(name, context));
  }
}

}  // namespace dr::azure
