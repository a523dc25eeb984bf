// The HTML report: one self-contained file to attach to a ticket or print for an auditor.
#include "dr/report.h"
#include "report/svg.h"
#include "report/text_out.h"

namespace dr::report {
namespace {

using detail::human_seconds;
using detail::num;
using detail::xml_escape;

constexpr const char* kStyle = R"(
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1b1f24; margin: 2em auto;
       max-width: 1000px; padding: 0 1em; }
h1 { font-size: 1.6em; } h2 { font-size: 1.3em; border-bottom: 1px solid #d0d7de; padding-bottom: .2em; }
h3 { font-size: 1.05em; }
table { border-collapse: collapse; margin: .5em 0 1em; }
th, td { border: 1px solid #d0d7de; padding: .25em .5em; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
table.facts th { width: 10em; }
code, .hash { font-family: ui-monospace, "SFMono-Regular", Menlo, monospace; font-size: .92em; word-break: break-all; }
.status { font-weight: 600; padding: 0 .4em; border-radius: 3px; }
.status.succeeded, .ok { color: #116329; } .status.failed, .missed, .outcome-failed, .outcome-needs-check { color: #a40e26; }
.status.other { color: #7d4e00; }
tr.critical td:first-child { font-weight: 600; }
section.run { margin-bottom: 2.5em; }
svg { max-width: 100%; height: auto; font: 11px system-ui, sans-serif; }
svg .grid { stroke: #e5e8eb; stroke-width: 1; } svg .axis { stroke: #57606a; }
svg .tick { fill: #57606a; } svg .label { fill: #1b1f24; }
svg .bar.ok { fill: #8cc5a0; } svg .bar.failed { fill: #e5848f; } svg .bar.other { fill: #c9ced4; }
svg .bar.critical { stroke: #1b1f24; stroke-width: 2; }
svg .bar.undo { fill: #fff; stroke: #6f42c1; stroke-width: 1.5; stroke-dasharray: 4 2; }
svg .bar.undo.failed { stroke: #a40e26; } svg .bar.undo.other { stroke: #8c959f; }
svg .objective { fill: none; stroke: #a40e26; stroke-width: 1.5; stroke-dasharray: 6 3; }
svg .rto { fill: none; stroke: #0969da; stroke-width: 2; }
svg .point { fill: #0969da; } svg .point.missed { fill: #a40e26; } svg .unmeasured { fill: #a40e26; font-size: 14px; }
.legend span { margin-right: 1.2em; }
.swatch { display: inline-block; width: 1.6em; height: .8em; vertical-align: middle; margin-right: .3em; }
@media print {
  body { margin: 0; max-width: none; font-size: 10pt; color: #000; }
  section.run, .trend-block { break-inside: avoid-page; page-break-inside: avoid; }
  section.run + section.run { break-before: page; page-break-before: always; }
  th { background: none; }
  a { color: inherit; text-decoration: none; }
  svg .bar.ok, svg .bar.failed, svg .bar.other { print-color-adjust: exact; -webkit-print-color-adjust: exact; }
}
)";

std::string e(std::string_view s) {
  return xml_escape(s);
}

std::string status_class(const std::string& status) {
  if (status == "succeeded") return "succeeded";
  if (status == "rolled-back" || status == "rollback-incomplete" || status == "failed") return "failed";
  return "other";
}

std::string verdict(const std::optional<double>& measured, const std::optional<double>& objective, bool missed) {
  if (!objective) return "no objective";
  if (missed) return "<span class=\"missed\">missed</span> (objective " + e(human_seconds(*objective)) + ")";
  if (!measured) return "not measured (objective " + e(human_seconds(*objective)) + ")";
  return "<span class=\"ok\">met</span> (objective " + e(human_seconds(*objective)) + ")";
}

std::string run_html(const RunRecord& r, int index) {
  std::string o = "<section class=\"run\" id=\"run-" + e(r.run_id) + "\">\n";
  o += "<h2>" + e(r.runbook) + " " + e(r.operation) + " <span class=\"status " + status_class(r.status) + "\">" +
       e(r.status) + "</span></h2>\n<table class=\"facts\">\n";
  auto row = [&](const std::string& k, const std::string& v_html) {
    o += "<tr><th>" + k + "</th><td>" + v_html + "</td></tr>\n";
  };
  row("Run", "<code>" + e(r.run_id) + "</code>" + (r.simulated ? " (simulated)" : ""));
  row("Runbook", e(r.runbook) + " <code>" + e(r.file) + "</code>");
  row("Content hash", "<span class=\"hash\">" + e(r.content_hash) + "</span>");
  row("Run by", e(r.user) + " on " + e(r.host));
  row("Started", e(r.started));
  for (const auto& c : r.resumes)
    row(c.rollback ? "Rolled back" : "Resumed", e(c.at) + " by " + e(c.user) + " on " + e(c.host));
  row("Finished", e(r.finished) + (r.seconds ? " (" + e(human_seconds(*r.seconds)) + ")" : " (not finished)"));
  row("Status", e(r.status) + (r.reason.empty() ? "" : ": " + e(r.reason)));
  if (r.status != "succeeded" && !r.next.empty()) row("Next", e(r.next));
  row("Journal", "<code>" + e(r.journal) + "</code>, " + std::to_string(r.chain.lines) + " lines, hash chain " +
                     (r.chain.ok ? "<span class=\"ok\">intact</span>"
                                 : "<span class=\"missed\">broken: " + e(r.chain.problem) + "</span>"));
  row("Head hash", "<span class=\"hash\">" + e(r.chain.head_hash) + "</span>");
  o += "</table>\n";

  const Score& s = r.score;
  o += "<h3>Objectives</h3>\n<table>\n<tr><th></th><th>Measured</th><th>Against the objective</th><th>How</th></tr>\n";
  o += "<tr><td>RTO</td><td>" + e(human_seconds(s.rto_seconds)) + "</td><td>" +
       verdict(s.rto_seconds, s.objectives.rto_seconds, s.rto_missed) + "</td><td>" + e(s.rto_basis) + "</td></tr>\n";
  o += "<tr><td>RPO</td><td>" + e(human_seconds(s.rpo_seconds)) + "</td><td>" +
       verdict(s.rpo_seconds, s.objectives.rpo_seconds, s.rpo_missed) + "</td><td>" +
       (s.rpo_step.empty() ? "no step reported a recovery point age" : "reported by " + e(s.rpo_step)) + "</td></tr>\n";
  for (const auto& svc : s.services)
    o += "<tr><td>RTO of " + e(svc.service) + "</td><td>" + e(human_seconds(svc.seconds)) +
         "</td><td></td><td></td></tr>\n";
  o += "</table>\n";

  o += "<h3>Timeline</h3>\n<p class=\"legend\"><span><span class=\"swatch\" "
       "style=\"background:#8cc5a0\"></span>succeeded</span>"
       "<span><span class=\"swatch\" style=\"background:#e5848f\"></span>failed</span>"
       "<span><span class=\"swatch\" style=\"background:#c9ced4\"></span>skipped or not finished</span>"
       "<span><span class=\"swatch\" style=\"border:2px dashed #6f42c1\"></span>undo (grey: nothing to undo; red: "
       "failed)</span>"
       "<span><span class=\"swatch\" style=\"border:2px solid #1b1f24\"></span>critical path</span></p>\n";
  o += detail::timeline_svg(r, index);

  o += "<h3>Steps</h3>\n";
  if (r.steps.empty())
    o += "<p>No step ran.</p>\n";
  else
    o += "<table>\n<tr><th>Step</th><th>Action</th><th>Started</th><th>Took</th><th>Attempts</th><th>Outcome</th>"
         "<th>Notes</th></tr>\n";
  for (const auto& st : r.steps) {
    std::string notes;
    auto add = [&](const std::string& html) { notes += (notes.empty() ? "" : "; ") + html; };
    if (st.critical) add("critical path");
    if (st.verification) add("verification");
    if (st.undone) add("undone");
    if (!st.error.empty()) add("error: " + e(st.error));
    if (!st.skip_reason.empty()) add(e(st.skip_reason));
    for (const auto& [k, v] : st.outputs) add("<code>" + e(k) + "</code> = " + e(v));
    o += std::string("<tr") + (st.critical ? " class=\"critical\"" : "") + "><td><code>" + e(st.id) +
         "</code></td><td>" + e(st.action) + "</td><td>" + e(st.started) + " (+" + num(st.start_offset) +
         "s)</td><td>" + (st.finished.empty() ? "-" : e(human_seconds(st.seconds))) + "</td><td>" +
         std::to_string(st.attempts) + "</td><td class=\"outcome-" + e(st.outcome) + "\">" + e(st.outcome) +
         "</td><td>" + notes + "</td></tr>\n";
  }
  if (!r.steps.empty()) o += "</table>\n";
  if (!r.undos.empty()) {
    o += "<h3>Undos</h3>\n<table>\n<tr><th>Step undone</th><th>Action</th><th>Started</th><th>Took</th><th>Outcome</th>"
         "<th>Notes</th></tr>\n";
    for (const auto& u : r.undos)
      o += "<tr><td><code>" + e(u.step) + "</code></td><td>" + e(u.action) + "</td><td>" + e(u.started) + "</td><td>" +
           e(human_seconds(u.seconds)) + "</td><td class=\"outcome-" + e(u.outcome) + "\">" + e(u.outcome) +
           "</td><td>" + e(u.error) + "</td></tr>\n";
    o += "</table>\n";
  }
  if (!r.approvals.empty()) {
    o += "<h3>Approvals</h3>\n<ul>\n";
    for (const auto& a : r.approvals)
      o += "<li><code>" + e(a.step) + "</code>: " +
           (a.by.empty() ? "requested " + e(a.requested) + ", not granted"
                         : "approved by " + e(a.by) + " at " + e(a.granted)) +
           (a.message.empty() ? "" : " (" + e(a.message) + ")") + "</li>\n";
    o += "</ul>\n";
  }
  if (!r.rollbacks.empty()) {
    o += "<h3>Rollbacks</h3>\n<ul>\n";
    for (const auto& b : r.rollbacks)
      o += std::string("<li>") + (b.cleanup ? "cleanup" : "rollback") + " at " + e(b.started) + ": " + e(b.reason) +
           "; " + e(b.outcome) + "</li>\n";
    o += "</ul>\n";
  }
  return o + "</section>\n";
}

}  // namespace

std::string html(const std::vector<RunRecord>& runs) {
  std::string o =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>edgedr audit report</title>\n"
      "<style>" +
      std::string(kStyle) + "</style>\n</head>\n<body>\n<h1>edgedr audit report</h1>\n";
  o += "<p>" + std::to_string(runs.size()) + (runs.size() == 1 ? " run" : " runs") +
       ". Every journal's hash chain was verified; its head hash, kept elsewhere, proves later that the journal is the "
       "one that was written.</p>\n";
  if (runs.size() > 1) {
    o += "<table>\n<tr><th>Run</th><th>Runbook</th><th>Operation</th><th>Started</th><th>By</th><th>Status</"
         "th><th>RTO</th></tr>\n";
    for (const auto& r : runs)
      o += "<tr><td><a href=\"#run-" + e(r.run_id) + "\"><code>" + e(r.run_id) + "</code></a></td><td>" + e(r.runbook) +
           "</td><td>" + e(r.operation) + "</td><td>" + e(r.started) + "</td><td>" + e(r.user) + "@" + e(r.host) +
           "</td><td>" + e(r.status) + "</td><td>" + e(human_seconds(r.score.rto_seconds)) + "</td></tr>\n";
    o += "</table>\n";
  }
  const auto groups = trends(runs);
  if (!groups.empty()) o += "<h2>RTO trend</h2>\n";
  for (std::size_t i = 0; i < groups.size(); ++i) {
    o += "<div class=\"trend-block\"><h3>" + e(groups[i].runbook) + " " + e(groups[i].operation) + "</h3>\n";
    o += "<p class=\"legend\"><span>blue: measured RTO per run</span><span>red dashed: objective</span>"
         "<span>&#215;: not measured</span></p>\n";
    o += detail::trend_svg(groups[i], static_cast<int>(i)) + "</div>\n";
  }
  for (std::size_t i = 0; i < runs.size(); ++i) o += run_html(runs[i], static_cast<int>(i));
  return o + "</body>\n</html>\n";
}

}  // namespace dr::report
