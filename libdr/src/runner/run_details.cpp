// What a journal says about a run, for `edgedr runs show`.
#include <cctype>
#include <map>
#include <stdexcept>
#include <string_view>

#include "dr/runner.h"

namespace dr {
namespace {

std::string text(const Value& f, std::string_view key) {
  const Value* v = f.find(key);
  return v ? v->to_text() : std::string{};
}

}  // namespace

RunDetails describe_journal(const std::vector<JournalEvent>& events, const std::string& run_ref) {
  RunDetails d;
  d.started = read_started(events);
  std::map<std::string, std::size_t> index;
  auto step = [&](const std::string& id) -> RunDetails::Step& {
    auto [it, added] = index.try_emplace(id, d.steps.size());
    if (added) d.steps.push_back({id, "", "", "", 0, ""});
    return d.steps[it->second];
  };
  std::string last_run_event;
  for (const auto& e : events) {
    const Value& f = e.fields;
    const std::string id = text(f, "step");
    if (e.type == "step.intent") {
      auto& s = step(id);
      s.action = text(f, "action");
      s.attempts = static_cast<int>(f.find("attempt") ? f.find("attempt")->as_int() : 0);
      s.state = "in-flight";
      s.handle.clear();
    } else if (e.type == "step.accepted") {
      step(id).handle = text(f, "handle");
    } else if (e.type == "step.succeeded") {
      step(id).state = "succeeded";
    } else if (e.type == "step.failed") {
      auto& s = step(id);
      s.error = text(f, "error");
      if (text(f, "final") == "true") {
        const bool unknown = text(f, "operator") == "true";  // may or may not have happened
        s.state = unknown ? "needs-check" : "failed";
        d.reason = "step " + id + (unknown ? " needs an operator: " : " failed: ") + s.error;
      }
    } else if (e.type == "step.skipped") {
      step(id).state = "skipped";
    } else if (e.type == "undo.succeeded") {
      step(id).state = "undone";
    } else if (e.type == "undo.failed" && text(f, "final") == "true") {
      auto& s = step(id);
      s.state = "undo-failed";
      s.error = text(f, "error");
      d.reason = "the undo of " + id + " failed: " + s.error;
    } else if (e.type == "approval.granted") {
      d.approvals.push_back(id + " by " + text(f, "by"));
    } else if (e.type == "run.paused") {
      d.reason = text(f, "reason");
      last_run_event = e.type;
    } else if (e.type == "run.finished") {
      d.status = text(f, "status");
      last_run_event = e.type;
    } else if (e.type == "run.interrupted" || e.type == "run.resumed" || e.type == "rollback.started" ||
               e.type == "rollback.finished") {
      last_run_event = e.type;
      if (e.type == "rollback.finished" && text(f, "status") == "incomplete") d.status = "rollback-incomplete";
    }
  }
  const std::string run = !run_ref.empty() ? run_ref : d.started ? d.started->run_id : "RUN";
  if (last_run_event == "run.finished") {
    d.next = d.status == "succeeded" ? "nothing: the run succeeded (`edgedr rollback " + run + "` would undo it)"
                                     : "nothing: the run was rolled back";
  } else if (d.status == "rollback-incomplete") {
    d.next = "fix what made the undo fail, then `edgedr rollback " + run + "` continues the rollback";
  } else if (last_run_event == "run.paused") {
    d.status = "paused";
    d.next = "fix the cause, then `edgedr resume " + run + "` to continue, or `edgedr rollback " + run + "` to undo";
  } else if (last_run_event == "run.interrupted") {
    d.status = "interrupted";
    d.next = "`edgedr resume " + run + "` continues (steps in flight are polled, not sent again), or `edgedr rollback " +
             run + "` undoes";
  } else {
    d.status = "running-or-crashed";
    d.next = "if no edgedr process is running it, `edgedr resume " + run + "` continues from the journal";
  }
  return d;
}

std::string run_reference(const std::string& run_id, const std::string& state_dir) {
  std::string fallback;
  try {
    fallback = default_state_dir();
  } catch (const std::exception&) {
  }
  if (state_dir.empty() || state_dir == fallback) return run_id;
  bool plain = true;
  for (char c : state_dir)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || std::string_view("/._-+:@%=,").find(c) != std::string_view::npos))
      plain = false;
  if (plain) return run_id + " --state-dir " + state_dir;
  std::string quoted = "'";
  for (char c : state_dir) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return run_id + " --state-dir " + quoted + "'";
}

}  // namespace dr
