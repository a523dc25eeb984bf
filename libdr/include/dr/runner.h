// Running an operation end to end: load the runbook strictly (secrets and required inputs must
// resolve), build the graph, take the run lock, create the run's journal, and drive the engine.
// Resume and rollback start from a run's journal instead: they reload the same runbook (its
// content hash must match), rebuild the same graph, and continue.
//
// The command line only parses flags, asks for confirmation and renders; everything that decides
// what happens is here, so it is tested without a terminal.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "dr/engine.h"
#include "dr/graph.h"
#include "dr/journal.h"
#include "dr/runbook.h"

namespace dr {

struct RunRequest {
  std::string runbook_file;
  Operation operation = Operation::failover;
  std::map<std::string, std::string> inputs;
  GraphOptions filter;
  std::optional<int> concurrency;       // else the runbook's
  std::optional<OnFailure> on_failure;  // else the runbook's
  std::string state_dir;                // empty: default_state_dir()
  Duration lock_timeout{0};
  EngineOptions::Scheduling scheduling = EngineOptions::Scheduling::critical_path;
};

// What the caller provides: the clock, threads, actions, secrets, approvals and who is running.
struct RunContext {
  Clock* clock = nullptr;
  Executor* executor = nullptr;
  const ActionRegistry* actions = nullptr;
  SecretResolver* secrets = nullptr;
  ApprovalSource* approvals = nullptr;
  EngineObserver* observer = nullptr;
  std::string user, host;
  bool simulated = false;
  double time_scale = 1.0;
  // Called once the engine exists, so a signal watcher can forward interrupts to it.
  std::function<void(Engine&)> on_engine;
  // Called with the loaded runbook before the engine starts (a new run, resume and rollback
  // alike), so the caller can set up what the actions need from it (the Azure pipeline, the
  // simulator). A returned text stops the run before any step: exit 78 with that message.
  std::function<std::optional<std::string>(const Runbook&, Operation)> on_runbook;
  // Called with the run id and directory once the run exists (approval files live there).
  std::function<void(const std::string& run_id, const std::string& run_dir)> on_run;
};

// A runbook and graph ready to run, or the reasons they are not.
struct Prepared {
  std::optional<Runbook> runbook;
  std::optional<StepGraph> graph;
  Diagnostics diagnostics;
  bool ok() const { return runbook && graph && !diagnostics.has_errors(); }
};
Prepared prepare_run(const RunRequest& request, bool require_secrets = true);

struct RunResult {
  int exit_code = 0;
  std::string error;  // set when the run could not start (lock held, journal not writable, ...)
  std::optional<RunReport> report;
  std::optional<LockHolder> lock_holder;  // set when the lock was held (exit 75)
};

// Starts a new run of a prepared runbook.
RunResult execute_run(const RunRequest& request, const Prepared& prepared, const RunContext& context);

enum class Continuation { resume, rollback };
// Continues (or rolls back) run `run_id` from its journal in `state_dir`.
RunResult continue_run(const std::string& state_dir, const std::string& run_id, Continuation how,
                       const RunContext& context, Duration lock_timeout = Duration{0});

// The run.started event of a journal, as the run was asked for (for resume, runs show).
struct StartedRun {
  std::string run_id, runbook, file, content_hash, user, host, started;
  Operation operation = Operation::failover;
  std::map<std::string, std::string> inputs;
  GraphOptions filter;
  int concurrency = 0;
  OnFailure on_failure = OnFailure::rollback;
  bool simulated = false;  // ran against the simulator
};
std::optional<StartedRun> read_started(const std::vector<JournalEvent>& events);

// A run as its journal tells it: each step's last state, and what an operator should do next.
struct RunDetails {
  std::optional<StartedRun> started;
  std::string status;  // succeeded | rolled-back | paused | interrupted | rollback-incomplete | running/crashed
  std::string reason;  // from run.paused / the last failure
  struct Step {
    std::string id, action, state, error;  // succeeded, failed, needs-check, in-flight, skipped, undone, undo-failed
    int attempts = 0;
    std::string handle;  // the journaled handle, when in flight
  };
  std::vector<Step> steps;             // in the order they first appear
  std::vector<std::string> approvals;  // "step by who"
  std::string next;                    // what to do next, in a sentence with the command
};
// `run_ref`: how the advice names the run (see run_reference); empty: its id.
RunDetails describe_journal(const std::vector<JournalEvent>& events, const std::string& run_ref = {});

// The run as a command line names it: the id, plus `--state-dir DIR` (quoted for a shell when
// needed) when `state_dir` is not the default one, so advice like `edgedr resume REF` works as
// pasted.
std::string run_reference(const std::string& run_id, const std::string& state_dir);

// ---- plan --preflight (cli.md) -----------------------------------------------------------

// One row of `plan --preflight`.
struct PreflightCheck {
  std::string name;    // a step id, or a set-up check ("azure credentials")
  std::string action;  // the step's action; empty for set-up checks
  std::string kind;    // "check" (a read-only step ran), "exists" (a changing step's resources), "setup"
  bool passed = false;
  std::string reason;  // why it failed, or what it found (a check's outputs)
};

struct PreflightReport {
  std::vector<PreflightCheck> checks;
  bool passed() const;  // all of them (also when there are none)
};

struct PreflightContext {
  Clock* clock = nullptr;
  const ActionRegistry* actions = nullptr;
  SecretResolver* secrets = nullptr;
  const std::atomic<bool>* cancelled = nullptr;
  std::map<std::string, std::string> inputs;  // --input, for steps' `when:`
  // Checks of what the actions need before any step (a token for each cloud the runbook uses),
  // listed first; the caller knows the clouds and credentials.
  std::function<std::vector<PreflightCheck>()> setup_checks;
};

// The read-only part of `prepared`'s operation against the real services (or the simulator),
// changing nothing and journaling nothing: the set-up checks; then, in graph order, every step
// whose action is read-only (check-health, check-recovery-point, agent.check, http.probe,
// wait-endpoint; not wait or manual.approve) and that does not come after a changing step (the
// runbook's preflight steps, and checks at the start of the operation), run to its result within
// its timeout; and for every changing Traffic Manager step, a read of the endpoint it changes.
// Steps whose `when:` does not hold are left out. A check that uses another step's outputs
// cannot run first: it fails, saying so.
PreflightReport run_preflight(const Prepared& prepared, const PreflightContext& context);

// The lines `--dry-run` prints: each step in order with the requests it would send.
std::vector<std::string> describe_run(const Prepared& prepared, const ActionRegistry& actions);

}  // namespace dr
