// A journal's events as a RunRecord. Run status and advice come from describe_journal (the
// reader behind `edgedr runs show`), so `report` and `runs show` never disagree about a run;
// times, outputs, undos, approvals and rollbacks, which `runs show` does not need, are read here.
#include <filesystem>
#include <map>

#include "dr/report.h"
#include "dr/runner.h"

namespace dr::report {
namespace {

std::string text(const Value& f, std::string_view key) {
  const Value* v = f.find(key);
  return v ? v->to_text() : std::string{};
}

bool flag(const Value& f, std::string_view key) {
  const Value* v = f.find(key);
  return v && v->kind() == Value::Kind::boolean && v->as_bool();
}

int attempt(const Value& f) {
  const Value* v = f.find("attempt");
  return v && v->kind() == Value::Kind::integer ? static_cast<int>(v->as_int()) : 0;
}

std::optional<double> number(const Value* v) {
  if (!v || (v->kind() != Value::Kind::integer && v->kind() != Value::Kind::number)) return std::nullopt;
  return v->as_number();
}

// Seconds from `origin` to `ts`; 0 when either does not parse (a report still renders).
double offset(const std::optional<Clock::wall_time>& origin, const std::string& ts) {
  auto t = parse_rfc3339(ts);
  if (!origin || !t) return 0;
  return std::chrono::duration<double>(*t - *origin).count();
}

bool is_verification(const std::string& action) {
  return action == "http.probe" || action == "agent.check";
}

}  // namespace

RunRecord record_from_events(const std::vector<JournalEvent>& events, const ChainCheck& chain,
                             const std::string& journal_path) {
  RunRecord r;
  r.journal = journal_path;
  r.chain = chain;
  const RunDetails details = describe_journal(events);
  r.status = details.status;
  r.reason = details.reason;
  r.next = details.next;

  std::optional<Clock::wall_time> origin;
  // The run as it was asked for, read the way resume and `runs show` read it.
  if (const auto started = read_started(events)) {
    r.run_id = started->run_id;
    r.runbook = started->runbook;
    r.file = started->file;
    r.content_hash = started->content_hash;
    r.operation = operation_name(started->operation);
    r.user = started->user;
    r.host = started->host;
    r.simulated = started->simulated;
    r.started = started->started;
    origin = parse_rfc3339(r.started);
    if (const Value* o = events.front().fields.find("objectives"); o && o->is_map()) {
      r.objectives.rto_seconds = number(o->find("rto_seconds"));
      r.objectives.rpo_seconds = number(o->find("rpo_seconds"));
    }
  }
  if (!events.empty()) r.finished = events.back().ts;

  std::map<std::string, std::size_t> step_index;
  auto step = [&](const std::string& id) -> StepRecord& {
    auto [it, added] = step_index.try_emplace(id, r.steps.size());
    if (added) {
      StepRecord s;
      s.id = id;
      s.service = id.substr(0, id.find('/'));
      s.outcome = "not-run";
      r.steps.push_back(std::move(s));
    }
    return r.steps[it->second];
  };
  auto finish_step = [&](StepRecord& s, const JournalEvent& e, std::string outcome) {
    s.outcome = std::move(outcome);
    s.finished = e.ts;
    s.end_offset = offset(origin, e.ts);
    s.seconds = s.end_offset - s.start_offset;
  };
  // The undo currently open for each step (an undo runs at most once at a time per step).
  std::map<std::string, std::size_t> open_undo;
  auto undo = [&](const std::string& id) -> UndoRecord& {
    auto it = open_undo.find(id);
    if (it == open_undo.end()) {
      UndoRecord u;
      u.step = id;
      u.outcome = "in-flight";
      it = open_undo.emplace(id, r.undos.size()).first;
      r.undos.push_back(std::move(u));
    }
    return r.undos[it->second];
  };
  auto finish_undo = [&](const std::string& id, const JournalEvent& e, std::string outcome) {
    UndoRecord& u = undo(id);
    u.outcome = std::move(outcome);
    u.finished = e.ts;
    if (u.started.empty()) {
      u.started = e.ts;
      u.start_offset = offset(origin, e.ts);
    }
    u.end_offset = offset(origin, e.ts);
    u.seconds = u.end_offset - u.start_offset;
    open_undo.erase(id);
  };

  for (const auto& e : events) {
    const Value& f = e.fields;
    const std::string id = text(f, "step");
    if (e.type == "step.intent") {
      StepRecord& s = step(id);
      if (s.started.empty()) {
        s.started = e.ts;
        s.start_offset = offset(origin, e.ts);
      }
      s.action = text(f, "action");
      s.verification = is_verification(s.action);
      s.attempts = std::max(s.attempts, attempt(f));
      s.outcome = "in-flight";
      s.end_offset = s.start_offset;
    } else if (e.type == "step.succeeded") {
      StepRecord& s = step(id);
      finish_step(s, e, "succeeded");
      s.outputs.clear();
      if (const Value* out = f.find("outputs"); out && out->is_map())
        for (const auto& [k, v] : out->entries()) s.outputs.emplace_back(k, v.to_text());
    } else if (e.type == "step.failed") {
      StepRecord& s = step(id);
      s.error = text(f, "error");
      if (flag(f, "final")) finish_step(s, e, flag(f, "operator") ? "needs-check" : "failed");
    } else if (e.type == "step.skipped") {
      StepRecord& s = step(id);
      if (s.started.empty()) {
        s.started = e.ts;
        s.start_offset = offset(origin, e.ts);
      }
      s.skip_reason = text(f, "reason");
      finish_step(s, e, "skipped");
    } else if (e.type == "undo.intent") {
      UndoRecord& u = undo(id);
      if (u.started.empty()) {
        u.started = e.ts;
        u.start_offset = offset(origin, e.ts);
      }
      u.action = text(f, "action");
      u.attempts = std::max(u.attempts, attempt(f));
    } else if (e.type == "undo.succeeded") {
      finish_undo(id, e, "succeeded");
      if (auto it = step_index.find(id); it != step_index.end()) r.steps[it->second].undone = true;
    } else if (e.type == "undo.failed") {
      undo(id).error = text(f, "error");
      if (flag(f, "final")) finish_undo(id, e, "failed");
    } else if (e.type == "undo.skipped") {
      undo(id).error = text(f, "reason");
      finish_undo(id, e, "skipped");
    } else if (e.type == "approval.requested") {
      r.approvals.push_back({id, text(f, "message"), e.ts, "", ""});
    } else if (e.type == "approval.granted") {
      Approval* a = nullptr;
      for (auto& candidate : r.approvals)
        if (candidate.step == id && candidate.granted.empty()) a = &candidate;
      if (!a) a = &r.approvals.emplace_back(Approval{id, "", "", "", ""});
      a->by = text(f, "by");
      a->granted = e.ts;
    } else if (e.type == "rollback.started") {
      r.rollbacks.push_back({text(f, "reason"), flag(f, "cleanup"), e.ts, "", "unfinished"});
    } else if (e.type == "rollback.finished") {
      if (r.rollbacks.empty()) r.rollbacks.push_back({"", false, "", "", ""});
      r.rollbacks.back().finished = e.ts;
      r.rollbacks.back().outcome = text(f, "status");
    } else if (e.type == "run.resumed") {
      r.resumes.push_back({e.ts, text(f, "user"), text(f, "host"), text(f, "for") == "rollback"});
    } else if (e.type == "run.finished") {
      r.finished = e.ts;
      r.seconds = number(f.find("seconds"));
    }
  }
  for (const auto& id : critical_path(r))
    if (auto it = step_index.find(id); it != step_index.end()) r.steps[it->second].critical = true;
  r.score = score(r);
  return r;
}

tl::expected<RunRecord, std::string> read_run(const std::string& journal_path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(journal_path, ec))
    return tl::make_unexpected(journal_path + ": no such journal file");
  VerifyResult v = verify_journal(journal_path);
  if (!v.ok) {
    if (v.bad_line == 0) return tl::make_unexpected(journal_path + ": " + v.problem);
    return tl::make_unexpected(journal_path + ":" + std::to_string(v.bad_line) + ": " + v.problem +
                               "; the journal is damaged or was changed after it was written, so it is not reported "
                               "as evidence (`edgedr runs verify` shows the same)");
  }
  if (v.events.empty() || v.events.front().type != "run.started")
    return tl::make_unexpected(journal_path + ":1: the journal does not start with a run.started event");
  ChainCheck chain{v.ok, v.lines, v.head_hash, v.bad_line, v.problem};
  return record_from_events(v.events, chain, journal_path);
}

std::vector<RunRecord> read_history(const std::vector<RunSummary>& runs, const std::string& runbook,
                                    const std::string& operation, const std::string& except_run_id,
                                    std::vector<std::string>* problems) {
  std::vector<RunRecord> out;
  for (const auto& summary : runs) {
    if (summary.runbook != runbook || summary.operation != operation || summary.run_id == except_run_id) continue;
    auto record = read_run(summary.path);
    if (record)
      out.push_back(std::move(*record));
    else if (problems)
      problems->push_back(record.error());
  }
  return out;
}

}  // namespace dr::report
