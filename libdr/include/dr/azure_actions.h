// The Azure actions of the catalogue (runbook-format.md §5): traffic-manager.*, site-recovery.*,
// backup.*. Each sends its requests through the ARM pipeline (dr/azure.h), captures the prior
// state its undo restores, journals a plain-text handle for anything long-running (an LRO URL, an
// ASR job name, a Backup job id) and reconciles after a crash by reading remote state (a job that
// started after the step's intent is adopted, not re-sent).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "dr/action.h"
#include "dr/azure.h"

namespace dr::azure {

// What the Azure actions need at run time. The run command fills it once the runbook is loaded
// (before the engine starts, also on resume), so the actions can be registered earlier.
struct AzureContext {
  std::shared_ptr<Arm> arm;  // null: "no Azure settings" errors from every Azure action
  std::string subscription;  // resolved (may come from ${env...}: not a secret, but not journaled either)
  ApiVersions api_versions;
  // The cloud's ARM endpoint, for the full URLs of describe() (plan, --dry-run); requests go
  // through `arm`, which knows it already.
  std::string arm_endpoint = "https://management.azure.com";
  // Each target's fields with references resolved: resource-group, profile, vault, ...
  std::map<std::string, Value> targets;
  std::string setup_error;  // why `arm` is null (no credential, no subscription), for the step's error
  // The credential `arm` signs in with and its scope, for plan --preflight's credentials check.
  std::shared_ptr<TokenCredential> credential;
  std::string token_scope;
};

// What set_up_azure needs from the run.
struct AzureSetup {
  // Resolves a ${env...} or ${file...} reference (file paths relative to `runbook_dir`); nullopt
  // when unset or unreadable.
  std::function<std::optional<std::string>(const Reference&, const std::string& runbook_dir)> secret;
  Clock* clock = nullptr;
  // Under --simulate every request is routed to the simulator (dr::set_simulation_route), so the
  // runbook's own cloud stays in every URL; only the credential changes: a client secret the
  // simulator's token endpoint accepts, instead of the machine's credential chain. Unset secrets
  // become "simulated-NAME".
  bool simulated = false;
  std::function<void(const std::string&)> debug_log;  // --debug: one line per request
};

// Fills `out` for `rb`, once per run (new, resumed or rolled back) before the engine starts.
// Problems that only matter once an Azure step runs (no `azure:` section, an unset subscription)
// go to out.setup_error, so a runbook of local steps still runs. Returns an error only for a
// broken configuration (an unknown cloud).
std::optional<std::string> set_up_azure(const Runbook& rb, const AzureSetup& setup, AzureContext& out);

// Adds every traffic-manager.*, site-recovery.* and backup.* action to `registry`. The actions
// read `context` when called, so it may be filled in after registration.
void register_azure_actions(ActionRegistry& registry, std::shared_ptr<AzureContext> context);

}  // namespace dr::azure
