// The run journal, the run store and the run lock.
//
// A journal is `<state-dir>/runs/<run-id>/journal.jsonl`: one JSON object per line with `seq`,
// `ts` (RFC 3339 UTC, ms), `type`, the event's fields, and `prev`: the SHA-256 (hex) of the
// previous line's bytes (for the first line, the runbook's content hash). Any edit, deletion,
// insertion or reordering breaks the chain at a line that verify() names.
//
// Crash safety: events that precede or record a side effect are appended with `durable = true`
// (write + fsync before append() returns); the directory is fsync'ed when the file is created.
// On open, a torn last line (no newline, or not JSON) is cut back to the last whole record;
// damage anywhere else is refused with its line number. A write or fsync error is a
// JournalError: the engine stops before its next side effect.
//
// The store and the lock sit behind interfaces so a shared store can replace the local files
// without touching the engine.
#pragma once

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "dr/clock.h"
#include "dr/value.h"

namespace dr {

struct JournalEvent {
  std::int64_t seq = 0;
  std::string ts;    // RFC 3339
  std::string type;  // run.started, step.intent, step.accepted, step.progress, step.succeeded, ...
  Value fields;      // a map: everything but seq, ts, type and prev
  std::string prev;
  std::string hash;  // SHA-256 of this line's bytes (the next line's prev)
};

class JournalError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The lock store cannot be read or written (disk full, permissions): an operator must fix the
// state directory; nothing was started.
class StorageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class RunJournal {
 public:
  virtual ~RunJournal() = default;
  // Appends an event (seq, ts and prev are filled in). Throws JournalError on a storage error;
  // after one, every later append throws too. Throws std::invalid_argument when `fields` is not
  // a map or uses a key of the envelope (seq, ts, type, prev). The returned reference, like
  // events(), is valid until the next append. `durable`: on disk (fsync) before append returns;
  // otherwise written, and on disk at the next durable append or sync().
  virtual const JournalEvent& append(std::string type, Value fields, bool durable) = 0;
  // Puts every event appended so far on disk (one fsync for all of them; nothing when they all
  // are). Group commit: the engine writes the intents of several steps, syncs once, then sends
  // their requests. Throws JournalError like append.
  virtual void sync() = 0;
  // Every event so far, in order (what open() read back plus what was appended).
  virtual const std::vector<JournalEvent>& events() const = 0;
  virtual std::string head_hash() const = 0;
};

struct VerifyResult {
  bool ok = false;
  std::size_t lines = 0;
  std::string head_hash;  // hash of the last good line
  int bad_line = 0;       // 1-based; 0 when ok
  std::string problem;    // "line 7: prev does not match the hash of line 6"
  std::vector<JournalEvent> events;  // the whole, chained records before the first bad line
};

// Checks a whole journal file: JSON on every line, seq 1..n, the hash chain, and (when given)
// that the first prev is the runbook hash. Does not repair anything.
VerifyResult verify_journal(const std::string& path, const std::string& expected_first_prev = {});

struct RunSummary {
  std::string run_id;
  std::string runbook;  // name
  std::string operation;
  std::string started;  // RFC 3339
  std::string status;   // running | succeeded | failed | rolled-back | paused | interrupted | ...
  std::string path;     // journal file
};

class RunStore {
 public:
  virtual ~RunStore() = default;
  // A new run directory and journal whose first prev is `first_prev`.
  virtual std::unique_ptr<RunJournal> create(const std::string& run_id, const std::string& first_prev) = 0;
  // Opens an existing run for appending (resume, rollback): cuts a torn tail, refuses damage.
  virtual std::unique_ptr<RunJournal> open(const std::string& run_id) = 0;
  virtual std::vector<RunSummary> list() const = 0;
  virtual std::string journal_path(const std::string& run_id) const = 0;
  virtual std::string run_dir(const std::string& run_id) const = 0;
};

// The local store under `state_dir` (default: $XDG_STATE_HOME/edgedr, else ~/.local/state/edgedr).
std::unique_ptr<RunStore> make_local_run_store(const std::string& state_dir, Clock& clock);
std::string default_state_dir();

// "20261123T092638Z-3fa9c1": sortable by start time, unique enough for one host.
std::string new_run_id(Clock::wall_time now);

struct LockHolder {
  std::string holder;  // user
  std::string host;
  long pid = 0;
  std::string run_id;
  std::string since;  // RFC 3339
  // "run 20261123T092638Z-3fa9c1 by alice on plant-gw-01 (pid 4242) since 2026-11-23T09:26:38.000Z"
  std::string str() const;
};

class LockHeld : public std::runtime_error {
 public:
  explicit LockHeld(LockHolder h);
  // what(): "runbook '<scope>' is locked by <holder>; wait for it to finish, or if that process
  // is gone run: edgedr unlock <scope> --force".
  LockHeld(std::string scope, LockHolder h);
  const LockHolder holder;
  const std::string scope;  // empty when built without one
};

class RunLock {
 public:
  virtual ~RunLock() = default;
};

class LockService {
 public:
  virtual ~LockService() = default;
  // Takes the lock for `scope` (a runbook name), waiting up to `timeout`. Throws LockHeld with
  // the holder's details when it stays taken. The lock lasts as long as the returned object (and
  // no longer than this process: a crashed holder frees it at once).
  virtual std::unique_ptr<RunLock> acquire(const std::string& scope, const LockHolder& me, Duration timeout) = 0;
  // Who holds `scope` now, if anyone.
  virtual std::optional<LockHolder> holder(const std::string& scope) = 0;
  // Removes the lock file of `scope` (unlock --force); returns who held it.
  virtual std::optional<LockHolder> force_unlock(const std::string& scope) = 0;
};

std::unique_ptr<LockService> make_local_lock_service(const std::string& state_dir, Clock& clock);

}  // namespace dr
