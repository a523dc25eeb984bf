// The actions that run on this machine or talk plain HTTP(S): wait, exec, http.probe and
// manual.approve (runbook-format.md §5). The Azure and agent actions register elsewhere.
//
// Each reads its parameters from the call (checked at load time against the catalogue), keeps
// no thread waiting between polls, and never puts a secret in a result: header values and
// credential-like URL parameters stay out of errors and outputs.
#pragma once

#include "dr/action.h"

namespace dr {

// Adds "wait", "exec", "http.probe" and "manual.approve" to `registry`.
// `simulated`: a rehearsal (--simulate, --simulator) changes nothing on this machine either, so
// `exec` runs no command: it succeeds after a simulated second, saying what it would have run.
void register_local_actions(ActionRegistry& registry, bool simulated = false);

}  // namespace dr
