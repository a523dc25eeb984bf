// JUnit XML in the shape CI servers read (Jenkins' junit-10.xsd, which GitLab, Azure DevOps and
// the GitHub test-report actions accept too): tests/data/junit-10.xsd checks it in the tests.
#include <cmath>

#include "dr/report.h"
#include "report/text_out.h"

namespace dr::report {
namespace {

using detail::human_seconds;
using detail::num;
using detail::xml_escape;

std::string attr(std::string_view name, std::string_view value) {
  return " " + std::string(name) + "=\"" + xml_escape(value) + "\"";
}

// SUREFIRE_TIME allows digits and a fraction only: never negative.
std::string seconds_attr(double v) {
  return num(std::max(0.0, v));
}

struct Case {
  std::string name;
  double seconds = 0;
  std::string kind;  // "" (passed) | failure | error | skipped
  std::string type, message, body;
};

std::string objectives_text(const RunRecord& r) {
  const Score& s = r.score;
  std::string out = "RTO " + human_seconds(s.rto_seconds) + " (" + s.rto_basis + ")";
  if (s.objectives.rto_seconds) out += ", objective " + human_seconds(*s.objectives.rto_seconds);
  out += "; RPO " + human_seconds(s.rpo_seconds);
  if (!s.rpo_step.empty()) out += " (reported by " + s.rpo_step + ")";
  if (s.objectives.rpo_seconds) out += ", objective " + human_seconds(*s.objectives.rpo_seconds);
  return out;
}

std::vector<Case> cases_of(const RunRecord& r) {
  std::vector<Case> cases;
  for (const auto& s : r.steps) {
    Case c{s.id, s.seconds, "", "", "", ""};
    if (s.outcome == "failed") {
      c.kind = "failure";
      c.type = "step-failed";
      c.message = s.error.empty() ? "the step failed" : s.error;
      c.body = s.action + ": " + c.message + " (attempts: " + std::to_string(s.attempts) + ")";
    } else if (s.outcome == "needs-check") {
      c.kind = "error";
      c.type = "needs-check";
      c.message = "nobody knows whether this step's effect happened: " + s.error;
    } else if (s.outcome == "skipped") {
      c.kind = "skipped";
      c.message = s.skip_reason.empty() ? "skipped" : s.skip_reason;
    } else if (s.outcome != "succeeded") {
      c.kind = "skipped";
      c.message = s.outcome == "in-flight" ? "still in flight when the journal ends" : "not run";
    }
    cases.push_back(std::move(c));
  }
  Case objectives{"objectives", r.score.rto_seconds.value_or(0), "", "", "", objectives_text(r)};
  if (r.score.missed()) {
    objectives.kind = "failure";
    objectives.type = "objective-missed";
    objectives.message = std::string(r.score.rto_missed ? "RTO objective missed" : "") +
                         (r.score.rto_missed && r.score.rpo_missed ? "; " : "") +
                         (r.score.rpo_missed ? "RPO objective missed" : "");
  }
  cases.push_back(std::move(objectives));
  if (!r.rollbacks.empty()) {
    Case cleanup{"rollback", 0, "", "", "", ""};
    for (const auto& rb : r.rollbacks) {
      cleanup.body += (rb.cleanup ? "cleanup" : "rollback") + std::string(" (") + rb.reason + "): " + rb.outcome + "\n";
      if (rb.outcome != "complete") {
        cleanup.kind = "failure";
        cleanup.type = "rollback-incomplete";
        cleanup.message = "a rollback did not complete: an operator must act (`edgedr runs show " + r.run_id + "`)";
      }
    }
    for (const auto& u : r.undos) cleanup.seconds += u.seconds;
    cases.push_back(std::move(cleanup));
  }
  return cases;
}

}  // namespace

std::string junit_xml(const std::vector<RunRecord>& runs) {
  std::string suites;
  int all_tests = 0, all_failures = 0, all_errors = 0;
  double all_time = 0;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const RunRecord& r = runs[i];
    const std::string classname = "edgedr." + r.runbook + "." + r.operation;
    const auto cases = cases_of(r);
    int failures = 0, errors = 0, skipped = 0;
    for (const auto& c : cases) {
      failures += c.kind == "failure";
      errors += c.kind == "error";
      skipped += c.kind == "skipped";
    }
    const double time = r.seconds.value_or(0);
    all_tests += static_cast<int>(cases.size());
    all_failures += failures;
    all_errors += errors;
    all_time += std::max(0.0, time);
    std::string s = "  <testsuite" + attr("name", classname + " " + r.run_id) +
                    attr("tests", std::to_string(cases.size())) + attr("failures", std::to_string(failures)) +
                    attr("errors", std::to_string(errors)) + attr("skipped", std::to_string(skipped)) +
                    attr("time", seconds_attr(time)) + attr("timestamp", r.started) + attr("hostname", r.host) +
                    attr("id", std::to_string(i)) + attr("package", classname) + ">\n";
    s += "    <properties>\n";
    const std::pair<const char*, std::string> props[] = {
        {"run_id", r.run_id},
        {"runbook", r.runbook},
        {"operation", r.operation},
        {"status", r.status},
        {"user", r.user},
        {"host", r.host},
        {"runbook_file", r.file},
        {"content_hash", r.content_hash},
        {"journal", r.journal},
        {"head_hash", r.chain.head_hash},
        {"chain", r.chain.ok ? "intact" : r.chain.problem},
        {"simulated", r.simulated ? "true" : "false"},
    };
    for (const auto& [name, value] : props) s += "      <property" + attr("name", name) + attr("value", value) + "/>\n";
    s += "    </properties>\n";
    for (const auto& c : cases) {
      s +=
          "    <testcase" + attr("classname", classname) + attr("name", c.name) + attr("time", seconds_attr(c.seconds));
      if (c.kind.empty() && c.body.empty()) {
        s += "/>\n";
        continue;
      }
      s += ">\n";
      if (c.kind == "skipped")
        s += "      <skipped" + attr("message", c.message) + "/>\n";
      else if (!c.kind.empty())
        s += "      <" + c.kind + attr("type", c.type) + attr("message", c.message) + ">" + xml_escape(c.body) + "</" +
             c.kind + ">\n";
      if (c.kind.empty() || c.kind == "skipped")
        if (!c.body.empty()) s += "      <system-out>" + xml_escape(c.body) + "</system-out>\n";
      s += "    </testcase>\n";
    }
    s += "    <system-out>" +
         xml_escape("status: " + r.status + (r.reason.empty() ? "" : " (" + r.reason + ")") + "\n" +
                    objectives_text(r) + "\njournal " + r.journal + ", head hash " + r.chain.head_hash + "\n") +
         "</system-out>\n";
    s += "  </testsuite>\n";
    suites += s;
  }
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites" + attr("name", "edgedr") +
         attr("tests", std::to_string(all_tests)) + attr("failures", std::to_string(all_failures)) +
         attr("errors", std::to_string(all_errors)) + attr("time", seconds_attr(all_time)) + ">\n" + suites +
         "</testsuites>\n";
}

}  // namespace dr::report
