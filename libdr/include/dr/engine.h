// The engine: runs one operation of a runbook, step by step, as the graph allows.
//
// Each step is a state machine driven by the engine (see docs/architecture.md):
//
//   ready -> intent journaled -> submitted -> [handle journaled -> polled ...] -> succeeded | failed
//
// The scheduler starts ready steps by longest remaining critical path first, up to `concurrency`.
// Timeouts hold across retries; retries back off (fixed or exponential, with jitter). A failed
// step stops new starts; in-flight steps finish; then on-failure applies: `rollback` runs the
// undo of every succeeded step in reverse completion order, `pause` stops for an operator.
// Everything that precedes or records a side effect is journaled (and fsync'ed) first, so
// resume() polls a journaled handle instead of resubmitting, and reconciles a step that has only
// an intent. Time comes only from the injected Clock; blocking action calls run on the injected
// Executor, so unit tests drive thousands of steps on a FakeClock with an inline executor.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dr/action.h"
#include "dr/clock.h"
#include "dr/graph.h"
#include "dr/journal.h"
#include "dr/runbook.h"

namespace dr {

// Runs blocking work off the engine thread.
class Executor {
 public:
  virtual ~Executor() = default;
  virtual void post(std::function<void()> task) = 0;
};
// Runs each task at once, on the caller's thread (tests).
class InlineExecutor final : public Executor {
 public:
  void post(std::function<void()> task) override { task(); }
};
// A fixed pool of threads.
std::unique_ptr<Executor> make_thread_pool(int threads);

// Values of ${env.*} and ${file.*} at run time. They are secrets: the engine passes them to
// actions and never journals or prints them.
class SecretResolver {
 public:
  virtual ~SecretResolver() = default;
  virtual std::optional<std::string> resolve(const Reference& ref, const std::string& runbook_dir) = 0;
};
// Reads the process environment and files (relative paths from the runbook's directory).
std::unique_ptr<SecretResolver> make_process_secret_resolver();

// Sees every journaled event as it happens (the live view, CI annotations).
class EngineObserver {
 public:
  virtual ~EngineObserver() = default;
  virtual void on_event(const JournalEvent&) {}
};

enum class RunStatus {
  succeeded,            // exit 0
  rolled_back,          // a step failed; every undo ran (exit 1)
  paused,               // a step failed; on-failure: pause, or an operator must decide (exit 4)
  rollback_incomplete,  // an undo failed (exit 4)
  interrupted,          // stopped at once by a second SIGINT; resumable (exit 130)
  storage_failed,       // the journal could not be written; nothing more was sent (exit 4)
};
const char* run_status_name(RunStatus s);
int exit_code_for(RunStatus s);

struct StepReport {
  std::string id;
  std::string action;
  std::string status;  // succeeded | failed | skipped | not-run | cancelled | undone | undo-failed
  int attempts = 0;
  std::string started, finished;  // RFC 3339, empty when it did not run
  double seconds = 0;             // by the engine's clock
  std::string error;
  std::map<std::string, std::string> outputs;
};

struct RunReport {
  std::string run_id;
  std::string runbook;
  Operation operation = Operation::failover;
  RunStatus status = RunStatus::succeeded;
  std::string message;  // why it stopped, and what to do
  std::string started, finished;
  double seconds = 0;
  std::vector<StepReport> steps;  // in graph order
  // Why the step that stopped the run failed, when the exit code says so: a run rolled back
  // because a credential was refused exits 77, because a resource is missing 3 (cli.md).
  StepResult::Cause cause = StepResult::Cause::other;
  int exit_code() const {
    if (status == RunStatus::rolled_back && cause == StepResult::Cause::auth) return 77;
    if (status == RunStatus::rolled_back && cause == StepResult::Cause::not_found) return 3;
    return exit_code_for(status);
  }
};

struct EngineOptions {
  std::string run_id;
  // How a command line names this run in the advice the engine gives ("edgedr resume REF"): the
  // id, plus `--state-dir DIR` when the run's state directory is not the default. Empty: the id.
  std::string run_ref;
  int concurrency = 16;
  OnFailure on_failure = OnFailure::rollback;
  GraphOptions filter;
  std::map<std::string, std::string> inputs;  // --input, merged with defaults by the caller
  bool dry_run = false;                       // journal nothing, send nothing mutating
  std::uint64_t jitter_seed = 0;              // 0: random
  std::string user, host;                     // journaled in run.started
  bool simulated = false;                     // journaled: durations are simulated time
  double time_scale = 1.0;
  // Which ready step starts first. critical_path (the default): the longest remaining expected
  // path; fifo: the one that became ready first (only for comparison in benchmarks).
  enum class Scheduling { critical_path, fifo } scheduling = Scheduling::critical_path;
};

struct EngineDeps {
  const ActionRegistry* actions = nullptr;
  Clock* clock = nullptr;
  Executor* executor = nullptr;
  SecretResolver* secrets = nullptr;
  ApprovalSource* approvals = nullptr;
  EngineObserver* observer = nullptr;  // optional
};

class Engine {
 public:
  Engine(const Runbook& runbook, const StepGraph& graph, RunJournal& journal, EngineDeps deps, EngineOptions options);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // A fresh run: journals run.started, then runs the graph.
  RunReport run();
  // Continues a run from its journal: succeeded steps stay done, journaled handles are polled,
  // intents are reconciled, a paused failed step gets a new attempt, an interrupted rollback
  // continues.
  RunReport resume();
  // Undoes every succeeded step of the run in the journal, in reverse completion order.
  RunReport rollback();

  // SIGINT: the first call stops new starts and lets in-flight steps finish, then on-failure
  // applies; the second stops at once (journaled, exit 130, resumable). Safe from any thread.
  void interrupt();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dr
