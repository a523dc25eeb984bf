// The "edgedr.report/v1" document (schemas/report.schema.json). Fields are added, never renamed
// or removed, within v1. Absent measurements are null, never 0, so a tool cannot mistake them.
#include <nlohmann/json.hpp>

#include "dr/report.h"

namespace dr::report {
namespace {

using Json = nlohmann::ordered_json;

Json opt(const std::optional<double>& v) {
  return v ? Json(*v) : Json(nullptr);
}

Json steps_json(const RunRecord& r) {
  Json steps = Json::array();
  for (const auto& s : r.steps) {
    Json outputs = Json::object();
    for (const auto& [k, v] : s.outputs) outputs[k] = v;
    steps.push_back({{"id", s.id},
                     {"service", s.service},
                     {"action", s.action},
                     {"outcome", s.outcome},
                     {"started", s.started},
                     {"finished", s.finished},
                     {"start_offset_seconds", s.start_offset},
                     {"seconds", s.seconds},
                     {"attempts", s.attempts},
                     {"error", s.error},
                     {"skip_reason", s.skip_reason},
                     {"outputs", outputs},
                     {"verification", s.verification},
                     {"undone", s.undone},
                     {"critical", s.critical}});
  }
  return steps;
}

Json run_json(const RunRecord& r) {
  Json undos = Json::array();
  for (const auto& u : r.undos)
    undos.push_back({{"step", u.step},
                     {"action", u.action},
                     {"outcome", u.outcome},
                     {"started", u.started},
                     {"finished", u.finished},
                     {"start_offset_seconds", u.start_offset},
                     {"seconds", u.seconds},
                     {"attempts", u.attempts},
                     {"error", u.error}});
  Json approvals = Json::array();
  for (const auto& a : r.approvals)
    approvals.push_back(
        {{"step", a.step}, {"message", a.message}, {"requested", a.requested}, {"by", a.by}, {"granted", a.granted}});
  Json rollbacks = Json::array();
  for (const auto& b : r.rollbacks)
    rollbacks.push_back({{"reason", b.reason},
                         {"cleanup", b.cleanup},
                         {"started", b.started},
                         {"finished", b.finished},
                         {"outcome", b.outcome}});
  Json resumes = Json::array();
  for (const auto& c : r.resumes)
    resumes.push_back({{"at", c.at}, {"user", c.user}, {"host", c.host}, {"rollback", c.rollback}});
  const Score& s = r.score;
  Json services = Json::array();
  for (const auto& svc : s.services) services.push_back({{"service", svc.service}, {"rto_seconds", opt(svc.seconds)}});
  return {
      {"run_id", r.run_id},
      {"runbook", r.runbook},
      {"file", r.file},
      {"content_hash", r.content_hash},
      {"operation", r.operation},
      {"user", r.user},
      {"host", r.host},
      {"simulated", r.simulated},
      {"started", r.started},
      {"finished", r.finished},
      {"status", r.status},
      {"reason", r.reason},
      {"next", r.next},
      {"seconds", opt(r.seconds)},
      {"journal",
       {{"path", r.journal}, {"chain_ok", r.chain.ok}, {"lines", r.chain.lines}, {"head_hash", r.chain.head_hash}}},
      {"objectives", {{"rto_seconds", opt(r.objectives.rto_seconds)}, {"rpo_seconds", opt(r.objectives.rpo_seconds)}}},
      {"score",
       {{"rto_seconds", opt(s.rto_seconds)},
        {"rto_basis", s.rto_basis},
        {"rpo_seconds", opt(s.rpo_seconds)},
        {"rpo_step", s.rpo_step},
        {"rto_missed", s.rto_missed},
        {"rpo_missed", s.rpo_missed},
        {"missed", s.missed()},
        {"verification_steps", s.verification_steps},
        {"verification_passed", s.verification_passed},
        {"services", services}}},
      {"critical_path", critical_path(r)},
      {"steps", steps_json(r)},
      {"undos", undos},
      {"approvals", approvals},
      {"rollbacks", rollbacks},
      {"resumes", resumes}};
}

}  // namespace

std::string json(const std::vector<RunRecord>& runs) {
  Json doc = {{"format", "edgedr.report/v1"}, {"runs", Json::array()}, {"trends", Json::array()}};
  for (const auto& r : runs) doc["runs"].push_back(run_json(r));
  for (const auto& t : trends(runs)) {
    Json points = Json::array();
    for (const auto& p : t.points)
      points.push_back({{"run_id", p.run_id},
                        {"started", p.started},
                        {"status", p.status},
                        {"rto_seconds", opt(p.rto_seconds)},
                        {"rto_objective_seconds", opt(p.rto_objective_seconds)},
                        {"missed", p.missed}});
    doc["trends"].push_back({{"runbook", t.runbook}, {"operation", t.operation}, {"points", points}});
  }
  // Invalid UTF-8 cannot come from a journal (the journal replaces it), but a record built in
  // code could carry it: replace rather than throw.
  return doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace dr::report
