// edgedr plan --preflight: the read-only checks of an operation against the real services, the
// simulator (--simulate) or a running `edgedr sim serve` (--simulator URL). Changes nothing.
#pragma once

#include <ostream>
#include <string>

#include "cli.h"
#include "dr/runner.h"
#include "run_support.h"

namespace edgedr {

// Sets up what the run commands set up (clock, simulator or route, Azure, actions, secrets),
// runs dr::run_preflight and returns its report. `error` is set when the set-up itself failed
// (a world file, a --simulator URL, an unknown cloud).
dr::PreflightReport run_plan_preflight(const dr::Prepared& prepared, dr::Operation op,
                                       const std::map<std::string, std::string>& inputs, const RunFlags& flags,
                                       std::string& error);

// The table: one line per check, PASS or FAIL, and the reason.
void print_preflight_text(std::ostream& out, const dr::PreflightReport& report, bool colour);
// {"passed": bool, "checks": [{"name","action","kind","passed","reason"}]}
std::string preflight_json(const dr::PreflightReport& report);

}  // namespace edgedr
