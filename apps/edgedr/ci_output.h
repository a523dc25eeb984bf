// What a run tells the CI system it runs in, beside its own output (cli.md "Outputs"):
//   GITHUB_ACTIONS=true  `::error::` / `::warning::` annotations on stdout, and a Markdown summary
//                        appended to the file $GITHUB_STEP_SUMMARY names;
//   TF_BUILD=True        `##vso[task.logissue ...]` logging commands (Azure DevOps Pipelines).
// Anything else: nothing. Values come from the run report, which never holds a secret.
#pragma once

#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "dr/engine.h"

namespace edgedr {

struct CiEnvironment {
  bool github = false;
  std::string github_step_summary;  // a file path; empty: no summary
  bool azure_devops = false;
  // From the process environment.
  static CiEnvironment detect();
};

// Annotation lines for `report` (one per failed step or undo, plus one for the run when it did not
// succeed), escaped as each system requires. `extra_errors`: more failures to report (a missed
// objective), each a one-line message.
std::vector<std::string> ci_annotations(const CiEnvironment& ci, const dr::RunReport& report,
                                        const std::vector<std::string>& extra_errors = {});

// The Markdown block a GitHub step summary gets for the run.
std::string ci_step_summary(const dr::RunReport& report, const std::vector<std::string>& extra_lines = {});

// Writes the annotations to `out` and appends the summary to $GITHUB_STEP_SUMMARY; a summary file
// that cannot be written is reported through `warn`, never fatal.
void emit_ci_output(const CiEnvironment& ci, const dr::RunReport& report, std::ostream& out,
                    const std::function<void(const std::string&)>& warn,
                    const std::vector<std::string>& extra_errors = {},
                    const std::vector<std::string>& extra_summary = {});

// Escaping rules, exposed for tests.
std::string github_escape_data(const std::string& text);
std::string github_escape_property(const std::string& text);
std::string azure_devops_escape(const std::string& text);

}  // namespace edgedr
