// The Markdown report: for a ticket, a wiki page or $GITHUB_STEP_SUMMARY.
#include "dr/report.h"
#include "report/text_out.h"

namespace dr::report {
namespace {

using detail::human_seconds;
using detail::md_escape;
using detail::num;

std::string verdict(const std::optional<double>& measured, const std::optional<double>& objective, bool missed) {
  if (!objective) return "no objective";
  if (missed) return "**missed** (objective " + human_seconds(*objective) + ")";
  if (!measured) return "not measured (objective " + human_seconds(*objective) + ")";
  return "met (objective " + human_seconds(*objective) + ")";
}

std::string run_md(const RunRecord& r) {
  std::string o;
  o += "## " + md_escape(r.runbook) + " " + md_escape(r.operation) + " " + md_escape(r.run_id) + ": " +
       md_escape(r.status) + "\n\n";
  o += "| | |\n|---|---|\n";
  auto row = [&](const std::string& k, const std::string& v) { o += "| " + k + " | " + v + " |\n"; };
  row("Run", md_escape(r.run_id) + (r.simulated ? " (simulated)" : ""));
  row("Runbook", md_escape(r.runbook) + " (" + md_escape(r.file) + ")");
  row("Content hash", md_escape(r.content_hash));
  row("Operation", md_escape(r.operation));
  row("Run by", md_escape(r.user) + " on " + md_escape(r.host));
  row("Started", md_escape(r.started));
  for (const auto& c : r.resumes)
    row(c.rollback ? "Rolled back" : "Resumed",
        md_escape(c.at) + " by " + md_escape(c.user) + " on " + md_escape(c.host));
  row("Finished", md_escape(r.finished) + (r.seconds ? " (" + human_seconds(*r.seconds) + ")" : " (not finished)"));
  row("Status", md_escape(r.status) + (r.reason.empty() ? "" : ": " + md_escape(r.reason)));
  if (r.status != "succeeded" && !r.next.empty()) row("Next", md_escape(r.next));
  row("Journal", md_escape(r.journal) + ", " + std::to_string(r.chain.lines) + " lines, hash chain " +
                     (r.chain.ok ? "intact" : "BROKEN: " + md_escape(r.chain.problem)));
  row("Head hash", md_escape(r.chain.head_hash));

  const Score& s = r.score;
  o += "\n### Objectives\n\n";
  o += "- RTO: " + human_seconds(s.rto_seconds) + ", " +
       verdict(s.rto_seconds, s.objectives.rto_seconds, s.rto_missed) + "; " + md_escape(s.rto_basis) + "\n";
  o += "- RPO: " + human_seconds(s.rpo_seconds) + ", " +
       verdict(s.rpo_seconds, s.objectives.rpo_seconds, s.rpo_missed) +
       (s.rpo_step.empty() ? "" : "; reported by " + md_escape(s.rpo_step)) + "\n";
  for (const auto& svc : s.services)
    o += "- RTO of " + md_escape(svc.service) + ": " + human_seconds(svc.seconds) + "\n";

  o += "\n### Steps\n\n";
  if (r.steps.empty())
    o += "No step ran.\n";
  else
    o += "| Step | Action | Start | Took | Attempts | Outcome | Notes |\n|---|---|---|---|---|---|---|\n";
  for (const auto& st : r.steps) {
    std::string notes;
    if (st.critical) notes += "critical path";
    if (st.verification) notes += std::string(notes.empty() ? "" : "; ") + "verification";
    if (st.undone) notes += std::string(notes.empty() ? "" : "; ") + "undone";
    if (!st.error.empty()) notes += std::string(notes.empty() ? "" : "; ") + "error: " + md_escape(st.error);
    if (!st.skip_reason.empty()) notes += std::string(notes.empty() ? "" : "; ") + md_escape(st.skip_reason);
    for (const auto& [k, v] : st.outputs)
      if (k == "rpo") notes += std::string(notes.empty() ? "" : "; ") + "rpo " + md_escape(v);
    o += "| " + md_escape(st.id) + " | " + md_escape(st.action) + " | +" + num(st.start_offset) + "s | " +
         (st.finished.empty() ? "-" : human_seconds(st.seconds)) + " | " + std::to_string(st.attempts) + " | " +
         md_escape(st.outcome) + " | " + notes + " |\n";
  }
  if (!r.undos.empty()) {
    o += "\n### Undos\n\n| Step undone | Action | Start | Took | Outcome | Notes |\n|---|---|---|---|---|---|\n";
    for (const auto& u : r.undos)
      o += "| " + md_escape(u.step) + " | " + md_escape(u.action) + " | +" + num(u.start_offset) + "s | " +
           human_seconds(u.seconds) + " | " + md_escape(u.outcome) + " | " + md_escape(u.error) + " |\n";
  }
  if (!r.approvals.empty()) {
    o += "\n### Approvals\n\n";
    for (const auto& a : r.approvals)
      o += "- " + md_escape(a.step) + ": " +
           (a.by.empty() ? "requested " + md_escape(a.requested) + ", not granted"
                         : "approved by " + md_escape(a.by) + " at " + md_escape(a.granted)) +
           (a.message.empty() ? "" : " (" + md_escape(a.message) + ")") + "\n";
  }
  if (!r.rollbacks.empty()) {
    o += "\n### Rollbacks\n\n";
    for (const auto& b : r.rollbacks)
      o += std::string("- ") + (b.cleanup ? "cleanup" : "rollback") + " at " + md_escape(b.started) + ": " +
           md_escape(b.reason) + "; " + md_escape(b.outcome) + "\n";
  }
  return o + "\n";
}

}  // namespace

std::string markdown(const std::vector<RunRecord>& runs) {
  std::string o = "# edgedr audit report\n\n";
  o += std::to_string(runs.size()) + (runs.size() == 1 ? " run" : " runs") +
       ". Every journal's hash chain was verified; a head hash kept elsewhere proves the journal is the one "
       "written.\n\n";
  for (const auto& r : runs) o += run_md(r);
  const auto groups = trends(runs);
  if (!groups.empty()) o += "## RTO trend\n\n";
  for (const auto& t : groups) {
    o += "### " + md_escape(t.runbook) + " " + md_escape(t.operation) + "\n\n";
    o += "| Run | Started | Status | RTO | Objective | Result |\n|---|---|---|---|---|---|\n";
    for (const auto& p : t.points)
      o += "| " + md_escape(p.run_id) + " | " + md_escape(p.started) + " | " + md_escape(p.status) + " | " +
           human_seconds(p.rto_seconds) + " | " + human_seconds(p.rto_objective_seconds, "none") + " | " +
           (p.missed ? "**missed**" : "ok") + " |\n";
    o += "\n";
  }
  return o;
}

}  // namespace dr::report
