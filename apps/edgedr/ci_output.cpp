#include "ci_output.h"

#include <cstdlib>
#include <fstream>

#include "dr/duration.h"

namespace edgedr {
namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

// Markdown table cells: a pipe or a newline would break the row.
std::string cell(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '|')
      out += "\\|";
    else if (c == '\n' || c == '\r')
      out += ' ';
    else
      out += c;
  }
  return out;
}

std::string seconds_text(double s) {
  return dr::format_duration(dr::Duration{static_cast<std::int64_t>(s * 1000)});
}

}  // namespace

CiEnvironment CiEnvironment::detect() {
  CiEnvironment ci;
  ci.github = env("GITHUB_ACTIONS") == "true";
  if (ci.github) ci.github_step_summary = env("GITHUB_STEP_SUMMARY");
  const std::string tf = env("TF_BUILD");
  ci.azure_devops = tf == "True" || tf == "true";
  return ci;
}

// GitHub's workflow-command escaping (toolkit/packages/core/src/command.ts): data escapes %, CR,
// LF; property values also `:` and `,`.
std::string github_escape_data(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '%')
      out += "%25";
    else if (c == '\r')
      out += "%0D";
    else if (c == '\n')
      out += "%0A";
    else
      out += c;
  }
  return out;
}

std::string github_escape_property(const std::string& text) {
  std::string out;
  for (char c : github_escape_data(text)) {
    if (c == ':')
      out += "%3A";
    else if (c == ',')
      out += "%2C";
    else
      out += c;
  }
  return out;
}

// Azure Pipelines logging-command escaping (azure-pipelines-task-lib): %AZP25 first, then CR,
// LF, `;` and `]`.
std::string azure_devops_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '%')
      out += "%AZP25";
    else if (c == '\r')
      out += "%0D";
    else if (c == '\n')
      out += "%0A";
    else if (c == ';')
      out += "%3B";
    else if (c == ']')
      out += "%5D";
    else
      out += c;
  }
  return out;
}

std::vector<std::string> ci_annotations(const CiEnvironment& ci, const dr::RunReport& r,
                                        const std::vector<std::string>& extra_errors) {
  struct Item {
    std::string title, message;
    bool error;
  };
  std::vector<Item> items;
  const std::string op = dr::operation_name(r.operation);
  for (const auto& s : r.steps) {
    if (s.status == "failed")
      items.push_back({"edgedr " + op + ": step " + s.id + " failed", s.error, true});
    else if (s.status == "undo-failed")
      items.push_back({"edgedr " + op + ": undo of " + s.id + " failed", s.error, true});
  }
  for (const auto& e : extra_errors) items.push_back({"edgedr " + op + " of " + r.runbook, e, true});
  if (r.status != dr::RunStatus::succeeded)
    items.push_back({"edgedr " + op + " of " + r.runbook + ": " + dr::run_status_name(r.status),
                     "run " + r.run_id + ": " + r.message, r.status != dr::RunStatus::rolled_back || items.empty()});
  std::vector<std::string> lines;
  for (const auto& it : items) {
    if (ci.github)
      lines.push_back(std::string(it.error ? "::error" : "::warning") + " title=" + github_escape_property(it.title) +
                      "::" + github_escape_data(it.message.empty() ? it.title : it.message));
    if (ci.azure_devops)
      lines.push_back(std::string("##vso[task.logissue type=") + (it.error ? "error" : "warning") + "]" +
                      azure_devops_escape(it.title + (it.message.empty() ? "" : ": " + it.message)));
  }
  return lines;
}

std::string ci_step_summary(const dr::RunReport& r, const std::vector<std::string>& extra_lines) {
  std::string md = "### edgedr " + std::string(dr::operation_name(r.operation)) + " of `" + r.runbook +
                   "`: " + dr::run_status_name(r.status) + "\n\n";
  md += "Run `" + r.run_id + "`, " + seconds_text(r.seconds) + ".";
  if (!r.message.empty()) md += " " + cell(r.message);
  md += "\n\n";
  for (const auto& l : extra_lines) md += l + "\n";
  if (!extra_lines.empty()) md += "\n";
  md += "| step | action | status | attempts | time |\n|---|---|---|---|---|\n";
  for (const auto& s : r.steps) {
    md += "| " + cell(s.id) + " | " + cell(s.action) + " | " + cell(s.status) + " | " + std::to_string(s.attempts) +
          " | " + (s.started.empty() ? std::string("") : seconds_text(s.seconds)) + " |\n";
  }
  return md + "\n";
}

void emit_ci_output(const CiEnvironment& ci, const dr::RunReport& report, std::ostream& out,
                    const std::function<void(const std::string&)>& warn, const std::vector<std::string>& extra_errors,
                    const std::vector<std::string>& extra_summary) {
  for (const auto& line : ci_annotations(ci, report, extra_errors)) out << line << "\n";
  out.flush();
  if (!ci.github || ci.github_step_summary.empty()) return;
  std::ofstream f(ci.github_step_summary, std::ios::app);
  f << ci_step_summary(report, extra_summary);
  f.flush();
  if (!f) warn("cannot append the step summary to " + ci.github_step_summary + " (GITHUB_STEP_SUMMARY)");
}

}  // namespace edgedr
