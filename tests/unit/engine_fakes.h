// Fakes for the engine tests: a scripted action, an in-memory journal, approvals.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "dr/engine.h"
#include "dr/sha256.h"

namespace dr::test {

// A journal in memory; can be told to fail from the Nth append on (storage errors).
class MemoryJournal final : public RunJournal {
 public:
  explicit MemoryJournal(Clock& clock, std::vector<JournalEvent> existing = {})
      : clock_(clock), events_(std::move(existing)) {}
  const JournalEvent& append(std::string type, Value fields, bool durable) override {
    if (fail_from_ && events_.size() + 1 >= fail_from_) throw JournalError("disk full (test)");
    JournalEvent e;
    e.seq = static_cast<std::int64_t>(events_.size()) + 1;
    e.ts = format_rfc3339(clock_.wall());
    e.type = std::move(type);
    e.fields = std::move(fields);
    e.prev = events_.empty() ? "" : events_.back().hash;
    e.hash = sha256_hex(e.prev + e.type + e.fields.to_text());
    if (durable) {
      ++durable_count;
      synced_ = events_.size() + 1;
    }
    events_.push_back(std::move(e));
    return events_.back();
  }
  void sync() override {
    if (fail_from_ && events_.size() >= fail_from_) throw JournalError("disk full (test)");
    if (synced_ < events_.size()) ++sync_count;
    synced_ = events_.size();
  }
  // How many events are on "disk": covered by a durable append or a sync.
  std::size_t synced() const { return synced_; }
  const std::vector<JournalEvent>& events() const override { return events_; }
  std::string head_hash() const override { return events_.empty() ? "" : events_.back().hash; }

  std::vector<std::string> types() const {
    std::vector<std::string> out;
    for (const auto& e : events_) out.push_back(e.type);
    return out;
  }
  // "type step" for every event about a step, in order.
  std::vector<std::string> step_events(const std::string& type_prefix = "") const {
    std::vector<std::string> out;
    for (const auto& e : events_) {
      const Value* s = e.fields.find("step");
      if (s && e.type.rfind(type_prefix, 0) == 0) out.push_back(e.type + " " + s->as_string());
    }
    return out;
  }
  std::size_t fail_from_ = 0;  // 0: never
  int durable_count = 0;
  int sync_count = 0;  // syncs that had something to put on disk

 private:
  Clock& clock_;
  std::vector<JournalEvent> events_;
  std::size_t synced_ = 0;
};

// What a scripted step does, attempt by attempt.
struct Script {
  int fail_attempts = 0;                                    // the first N submits fail (retryable)
  bool fail_forever = false;                                // every submit fails
  StepResult::Cause fail_cause = StepResult::Cause::other;  // why (exit codes 77 and 3)
  bool retryable = true;
  int pending_polls = 0;       // polls answering pending before success
  int undo_pending_polls = 0;  // the same for the step's undo
  Duration poll_after{std::chrono::seconds(1)};
  bool never_finishes = false;  // pending forever
  Duration busy{0};             // FakeClock time a submit takes (advanced by the action)
  Value capture;                // what capture() returns
  Reconciliation::Verdict reconcile = Reconciliation::Verdict::not_started;
  bool undo_fails = false;
};

// One action implementation for every action name; behaviour per step id from `scripts`.
class ScriptedAction final : public Action {
 public:
  explicit ScriptedAction(FakeClock* clock = nullptr) : clock_(clock) {}

  Value capture(const StepCall& call) override {
    std::lock_guard lock(mu_);
    ++captures[call.step->id];
    return script(call).capture;
  }
  StepResult submit(const StepCall& call) override {
    std::lock_guard lock(mu_);
    const std::string key = id(call);
    log.push_back("submit " + key);
    // P1: a side effect leaves only when its intent (the journal's last such event) is on disk.
    if (journal) {
      const auto& ev = journal->events();
      std::size_t intent = 0;
      for (std::size_t i = ev.size(); i-- > 0;)
        if (ev[i].type == (call.is_undo ? "undo.intent" : "step.intent") && ev[i].fields.find("step") &&
            ev[i].fields.find("step")->as_string() == call.step->id) {
          intent = i + 1;
          break;
        }
      if (intent == 0 || journal->synced() < intent) unsynced_submits.push_back(key);
    }
    ++submits[key];
    if (call.is_undo) {
      undo_captured[call.step->id] = call.captured.to_text();
      if (script(call).undo_fails) return StepResult::fail("undo broke", false);
      if (script(call).undo_pending_polls > 0)  // like a cleanup job
        return StepResult::wait(Value::map({{"job", Value::string(key)}}), script(call).poll_after, "working");
      return StepResult::ok();
    }
    ++in_flight;
    max_in_flight = std::max(max_in_flight, in_flight);
    const Script& s = script(call);
    if (s.busy.count() && clock_) clock_->advance(s.busy);
    if (s.fail_forever || submits[key] <= s.fail_attempts) {
      --in_flight;
      StepResult r = StepResult::fail("scripted failure " + std::to_string(submits[key]), s.retryable);
      r.cause = s.fail_cause;
      return r;
    }
    if (s.never_finishes || s.pending_polls > 0)
      return StepResult::wait(Value::map({{"job", Value::string(key)}}), s.poll_after, "working");
    --in_flight;
    return StepResult::ok({{"done", key}});
  }
  StepResult poll(const StepCall& call, const Value& handle) override {
    std::lock_guard lock(mu_);
    const std::string key = id(call);
    log.push_back("poll " + key);
    ++polls[key];
    polled_handles[key] = handle.to_text();
    const Script& s = script(call);
    if (call.is_undo) {
      if (polls[key] < s.undo_pending_polls) return StepResult::wait(handle, s.poll_after, "working");
      return StepResult::ok();
    }
    if (s.never_finishes || polls[key] < s.pending_polls) return StepResult::wait(handle, s.poll_after, "working");
    --in_flight;
    return StepResult::ok({{"done", key}});
  }
  Reconciliation reconcile(const StepCall& call) override {
    std::lock_guard lock(mu_);
    ++reconciles[id(call)];
    Reconciliation r;
    r.verdict = script(call).reconcile;
    if (r.verdict == Reconciliation::Verdict::adopted) r.handle = Value::map({{"job", Value::string("adopted")}});
    if (r.verdict == Reconciliation::Verdict::operator_needed) r.reason = "cannot tell";
    return r;
  }
  void cancel(const StepCall& call, const Value&) override {
    std::lock_guard lock(mu_);
    ++cancels[id(call)];
    --in_flight;
  }
  bool blocking() const override { return false; }
  bool read_only() const override { return read_only_calls; }

  const MemoryJournal* journal = nullptr;     // set: submits check their intent is on disk
  bool read_only_calls = false;               // act as a read-only action (wait, http.probe)
  std::vector<std::string> unsynced_submits;  // submits sent before their intent was on disk
  std::map<std::string, Script> scripts;
  std::vector<std::string> log;
  std::map<std::string, int> submits, polls, captures, reconciles, cancels;
  std::map<std::string, std::string> polled_handles, undo_captured;
  int in_flight = 0, max_in_flight = 0;

 private:
  static std::string id(const StepCall& call) { return (call.is_undo ? "undo:" : "") + call.step->id; }
  const Script& script(const StepCall& call) {
    const std::string& id = call.is_undo && call.step ? call.step->id : call.step->id;
    return scripts[id];
  }
  FakeClock* clock_;
  std::mutex mu_;
};

class NoApprovals final : public ApprovalSource {
 public:
  std::optional<std::string> approved_by(const std::string&, const std::string&) override { return std::nullopt; }
  void request(const std::string&, const std::string&, const std::string&) override {}
  std::string how_to_approve(const std::string&, const std::string&) const override { return "--approve"; }
};

}  // namespace dr::test
