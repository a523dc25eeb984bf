// What a drill adds to its run (cli.md "drill"): its score (measured RTO and RPO against the
// runbook's objectives, read back from the run's journal by the report module, so the command and
// `edgedr report` can never disagree), exit 5 when it missed one, and the --junit and
// --metrics-file files for CI and alerting.
#pragma once

#include <string>

#include "dr/report.h"
#include "run_session.h"

namespace edgedr {

struct DrillOutputs {
  std::string junit;         // --junit FILE
  std::string metrics_file;  // --metrics-file FILE
  std::string report;        // --report FILE: the audit report of this run, as `edgedr report` writes it
};

// --report's format, from the file's extension: .md, .json, .xml (JUnit), else HTML.
dr::report::Format report_format(const std::string& path);

// The epilogue of a drill run (also of a resumed or rolled-back one) in `state_dir` (empty: the
// default). Not a drill: nothing.
RunEpilogue drill_epilogue(const dr::RunReport& report, const std::string& state_dir, const DrillOutputs& outputs);

}  // namespace edgedr
