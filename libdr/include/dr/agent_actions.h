// The client side of the on-site agent: `agent.run` and `agent.check` (runbook-format.md §5,
// docs/actions.md). They speak the protocol the simulator serves (docs/simulator.md, "Agents"):
//   POST {url}/v1/actions/{action}/runs  {"args":{...}}  with Idempotency-Key -> 202 run
//   GET  {url}/v1/runs/{id}, POST {url}/v1/runs/{id}/cancel, GET {url}/v1/health, GET {url}/v1/checks/{name}
// with `Authorization: Bearer <token>`. The agent server itself (`edgedr agent serve`) is a later
// issue.
#pragma once

#include <memory>

#include "dr/action.h"
#include "dr/azure_actions.h"

namespace dr {

// Adds agent.run and agent.check to `registry`. They read an agent target's `url`, `token` and
// `ca-file` from `context->targets` (references resolved) when called, so the context may be
// filled in after registration, as for the Azure actions.
void register_agent_actions(ActionRegistry& registry, std::shared_ptr<azure::AzureContext> context);

}  // namespace dr
