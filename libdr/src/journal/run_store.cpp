#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <tuple>
#include <cstdlib>
#include <filesystem>
#include <random>

#include "dr/journal.h"
#include "journal/chain.h"
#include "journal/event_json.h"
#include "journal/files.h"
#include "journal/journal_file.h"
#include "journal/names.h"

namespace dr {

namespace {

std::string field_string(const JournalEvent& e, std::string_view key) {
  const Value* v = e.fields.find(key);
  return v && v->is_string() ? v->as_string() : std::string{};
}

class LocalRunStore final : public RunStore {
 public:
  LocalRunStore(std::string state_dir, Clock& clock)
      : state_dir_(std::move(state_dir)), runs_dir_(state_dir_ + "/runs"), clock_(clock) {}

  std::unique_ptr<RunJournal> create(const std::string& run_id, const std::string& first_prev) override {
    const std::string dir = run_dir(run_id);
    if (auto err = journal::make_dirs(dir, 0700)) throw JournalError("run " + run_id + ": " + *err);
    // create_journal_file fsyncs the run directory (the file's entry); this makes the run
    // directory's own entry durable.
    auto journal = journal::create_journal_file(journal_path(run_id), first_prev, clock_);
    if (auto err = journal::fsync_dir(runs_dir_)) throw JournalError("run " + run_id + ": " + *err);
    return journal;
  }

  std::unique_ptr<RunJournal> open(const std::string& run_id) override {
    const std::string path = journal_path(run_id);
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) throw JournalError("no run '" + run_id + "' in " + runs_dir_);
    return journal::open_journal_file(path, clock_);
  }

  std::vector<RunSummary> list() const override {
    std::vector<RunSummary> out;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(runs_dir_, ec)) {
      std::error_code entry_ec;
      if (!entry.is_directory(entry_ec)) continue;
      const std::string run_id = entry.path().filename().string();
      const std::string path = journal_path(run_id);
      if (!std::filesystem::exists(path, entry_ec)) continue;
      out.push_back(summarise(run_id, path));
    }
    // Oldest first by start time: run ids of runs started in the same second differ only in their
    // random suffix, so the id alone does not order them.
    std::sort(out.begin(), out.end(), [](const RunSummary& a, const RunSummary& b) {
      return std::tie(a.started, a.run_id) < std::tie(b.started, b.run_id);
    });
    return out;
  }

  std::string journal_path(const std::string& run_id) const override { return run_dir(run_id) + "/journal.jsonl"; }

  std::string run_dir(const std::string& run_id) const override {
    journal::check_file_name("run id", run_id);
    return runs_dir_ + "/" + run_id;
  }

 private:
  // Reads leniently (a listing must not fail on one damaged run): lines that do not parse are
  // skipped; `edgedr runs verify` is the place to report them.
  RunSummary summarise(const std::string& run_id, const std::string& path) const {
    RunSummary s;
    s.run_id = run_id;
    s.path = path;
    const auto data = journal::read_file(path);
    if (!data) {
      s.status = "unreadable";
      return s;
    }
    std::vector<JournalEvent> events;
    for (auto line : journal::split_lines(*data).lines)
      if (auto parsed = journal::parse_event_line(line); parsed.event) events.push_back(std::move(*parsed.event));
    if (events.empty()) {
      s.status = data->empty() ? "empty" : "damaged";
      return s;
    }
    const JournalEvent& first = events.front();
    s.runbook = field_string(first, "runbook");
    s.operation = field_string(first, "operation");
    s.started = first.ts;

    const JournalEvent* last_run_event = nullptr;
    for (const auto& e : events)
      if (e.type.rfind("run.", 0) == 0) last_run_event = &e;

    // A run whose lock is held by this very run is live (perhaps a resume after an earlier
    // finish); otherwise the last run-level event tells how it ended.
    if (held_by(s.runbook, run_id))
      s.status = "running";
    else if (last_run_event && last_run_event->type == "run.finished")
      s.status = field_string(*last_run_event, "status");
    else if (last_run_event && last_run_event->type == "run.paused")
      s.status = "paused";
    else if (last_run_event && last_run_event->type == "run.interrupted")
      s.status = "interrupted";
    else
      s.status = "crashed";
    if (s.status.empty()) s.status = "finished";
    return s;
  }

  bool held_by(const std::string& runbook, const std::string& run_id) const {
    if (runbook.empty()) return false;
    try {
      auto holder = make_local_lock_service(state_dir_, clock_)->holder(runbook);
      return holder && holder->run_id == run_id;
    } catch (const std::exception&) {
      return false;
    }
  }

  std::string state_dir_;
  std::string runs_dir_;
  Clock& clock_;
};

}  // namespace

std::unique_ptr<RunStore> make_local_run_store(const std::string& state_dir, Clock& clock) {
  return std::make_unique<LocalRunStore>(state_dir, clock);
}

std::string default_state_dir() {
  const char* xdg = std::getenv("XDG_STATE_HOME");
  // The XDG spec says a relative path is invalid and must be ignored.
  if (xdg && xdg[0] == '/') return std::string(xdg) + "/edgedr";
  std::string home;
  if (const char* env = std::getenv("HOME"); env && env[0] != '\0') {
    home = env;
  } else {
    passwd pw{};
    passwd* result = nullptr;
    char buf[4096];
    if (::getpwuid_r(::getuid(), &pw, buf, sizeof buf, &result) == 0 && result && result->pw_dir) home = result->pw_dir;
  }
  if (home.empty()) throw std::runtime_error("no home directory: set XDG_STATE_HOME or HOME");
  return home + "/.local/state/edgedr";
}

std::string new_run_id(Clock::wall_time now) {
  // "2026-11-23T09:26:38.123Z" -> "20261123T092638Z"
  const std::string t = format_rfc3339(now);
  std::string id = t.substr(0, 4) + t.substr(5, 2) + t.substr(8, 2) + "T" + t.substr(11, 2) + t.substr(14, 2) +
                   t.substr(17, 2) + "Z-";
  std::random_device rd;
  const unsigned bits = rd() & 0xffffffu;
  static constexpr char kHex[] = "0123456789abcdef";
  for (int shift = 20; shift >= 0; shift -= 4) id.push_back(kHex[(bits >> shift) & 15u]);
  return id;
}

}  // namespace dr
