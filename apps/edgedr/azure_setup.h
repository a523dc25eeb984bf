// What the Azure actions need from a loaded runbook: the cloud, a credential, the subscription,
// the targets with their references resolved, and the ARM pipeline. Filled once per run (new,
// resumed or rolled back) before the engine starts.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "dr/azure_actions.h"
#include "dr/engine.h"

namespace edgedr {

struct AzureSetup {
  dr::SecretResolver* secrets = nullptr;
  dr::Clock* clock = nullptr;
  // Under --simulate every request is routed to the simulator (dr::set_simulation_route), so the
  // runbook's own cloud stays in every URL; only the credential changes: a client secret the
  // simulator's token endpoint accepts, instead of the machine's credential chain.
  bool simulated = false;
  std::function<void(const std::string&)> debug_log;  // --debug: one line per request
};

// Fills `out` for `rb`. Problems that only matter once an Azure step runs (no credential, an
// unset subscription) go to out.setup_error, so a runbook of local steps still runs; nothing is
// returned for them. Returns an error only for a broken configuration (an unknown cloud).
std::optional<std::string> set_up_azure(const dr::Runbook& rb, const AzureSetup& setup, dr::azure::AzureContext& out);

}  // namespace edgedr
