// Scoring a run against its objectives (docs/report.md "Scoring"), its critical path, and the
// RTO trend across runs of one runbook.
#include <algorithm>
#include <map>

#include "dr/duration.h"
#include "dr/report.h"

namespace dr::report {

Score score(const RunRecord& run) {
  Score s;
  s.objectives = run.objectives;

  // RTO: run start to the last verification step passing; every verification step must pass.
  std::optional<double> last_verification, last_forward;
  bool verification_failed = false, forward_failed = false;
  std::map<std::string, std::size_t> service_index;
  for (const auto& step : run.steps) {
    const bool ok = step.outcome == "succeeded";
    if (ok)
      last_forward = std::max(last_forward.value_or(step.end_offset), step.end_offset);
    else if (step.outcome != "skipped")
      forward_failed = true;
    if (!step.verification) continue;
    ++s.verification_steps;
    if (service_index.try_emplace(step.service, s.services.size()).second)
      s.services.push_back({step.service, std::nullopt});
    if (ok) {
      ++s.verification_passed;
      last_verification = std::max(last_verification.value_or(step.end_offset), step.end_offset);
    } else {
      verification_failed = true;
    }
  }
  // Per service: the same rule over that service's verification steps.
  for (auto& service : s.services) {
    std::optional<double> last;
    bool all = true;
    for (const auto& step : run.steps) {
      if (!step.verification || step.service != service.service) continue;
      if (step.outcome != "succeeded")
        all = false;
      else
        last = std::max(last.value_or(step.end_offset), step.end_offset);
    }
    if (all) service.seconds = last;
  }
  if (s.verification_steps > 0) {
    if (verification_failed) {
      s.rto_basis = std::to_string(s.verification_steps - s.verification_passed) + " of " +
                    std::to_string(s.verification_steps) + " verification steps did not pass: no recovery to measure";
    } else {
      s.rto_seconds = last_verification;
      s.rto_basis = "run start to the last verification step passing (" + std::to_string(s.verification_steps) +
                    " verification steps)";
    }
  } else if (forward_failed) {
    s.rto_basis = "no verification step, and a step did not succeed: no recovery to measure";
  } else if (last_forward) {
    s.rto_seconds = last_forward;
    s.rto_basis = "no verification step (http.probe, agent.check): run start to the last step that succeeded";
  } else {
    s.rto_basis = "no step succeeded: nothing to measure";
  }

  // RPO: the oldest recovery point any succeeded step reports using.
  for (const auto& step : run.steps) {
    if (step.outcome != "succeeded") continue;
    for (const auto& [key, value] : step.outputs) {
      if (key != "rpo") continue;
      auto d = parse_duration(value);
      if (!d) continue;
      const double seconds = std::chrono::duration<double>(*d).count();
      if (!s.rpo_seconds || seconds > *s.rpo_seconds) {
        s.rpo_seconds = seconds;
        s.rpo_step = step.id;
      }
    }
  }

  if (s.objectives.rto_seconds) s.rto_missed = !s.rto_seconds || *s.rto_seconds > *s.objectives.rto_seconds;
  // An RPO that was not measured is reported as such, not as missed: many drills use no recovery
  // point at all (docs/report.md).
  if (s.objectives.rpo_seconds) s.rpo_missed = s.rpo_seconds && *s.rpo_seconds > *s.objectives.rpo_seconds;
  return s;
}

std::vector<std::string> critical_path(const RunRecord& run) {
  const StepRecord* last = nullptr;
  for (const auto& s : run.steps)
    if ((s.outcome == "succeeded" || s.outcome == "failed" || s.outcome == "needs-check") && !s.started.empty() &&
        (!last || s.end_offset > last->end_offset))
      last = &s;
  std::vector<std::string> path;
  while (last) {
    path.push_back(last->id);
    const StepRecord* before = nullptr;
    for (const auto& s : run.steps) {
      if (&s == last || s.finished.empty() || s.outcome == "skipped" || s.end_offset > last->start_offset) continue;
      if (!before || s.end_offset > before->end_offset) before = &s;
    }
    last = before;
  }
  std::reverse(path.begin(), path.end());
  return path;
}

std::vector<Trend> trends(const std::vector<RunRecord>& runs) {
  std::vector<Trend> out;
  std::map<std::pair<std::string, std::string>, std::size_t> index;
  for (const auto& r : runs) {
    auto [it, added] = index.try_emplace({r.runbook, r.operation}, out.size());
    if (added) out.push_back({r.runbook, r.operation, {}});
    out[it->second].points.push_back(
        {r.run_id, r.started, r.status, r.score.rto_seconds, r.objectives.rto_seconds, r.score.missed()});
  }
  // RFC 3339 UTC with fixed milliseconds sorts as text.
  for (auto& t : out)
    std::stable_sort(t.points.begin(), t.points.end(),
                     [](const TrendPoint& a, const TrendPoint& b) { return a.started < b.started; });
  return out;
}

std::vector<RunSummary> select_runs(const std::vector<RunSummary>& runs, const Selection& selection) {
  std::vector<RunSummary> out;
  for (const auto& r : runs) {
    if (!selection.runbook.empty() && r.runbook != selection.runbook) continue;
    if (!selection.operation.empty() && r.operation != selection.operation) continue;
    if (!selection.since.empty() && r.started < selection.since) continue;
    out.push_back(r);
  }
  return out;
}

std::optional<Format> parse_format(std::string_view name) {
  if (name == "md" || name == "markdown") return Format::markdown;
  if (name == "html") return Format::html;
  if (name == "json") return Format::json;
  if (name == "junit") return Format::junit;
  return std::nullopt;
}

std::string render(Format format, const std::vector<RunRecord>& runs) {
  switch (format) {
    case Format::markdown: return markdown(runs);
    case Format::html: return html(runs);
    case Format::json: return json(runs);
    case Format::junit: return junit_xml(runs);
  }
  return {};
}

}  // namespace dr::report
