// Pieces the run commands share: approvals from the command line, files and the terminal; the
// SIGINT/SIGTERM watcher; who is running; the confirmation rule.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "cli.h"
#include "dr/engine.h"

namespace edgedr {

class RunView;

// --approve STEP-ID, an approval file written by `edgedr approve RUN STEP-ID`, or a question at
// the terminal. Questions are asked one at a time, in the order the steps asked, on a thread of
// their own; one that became moot (the step was approved elsewhere, or timed out) is withdrawn
// with whatever was typed at it.
class CliApprovals final : public dr::ApprovalSource {
 public:
  // `prompt`: ask at the terminal (stdin and stderr are both terminals). Everything shown goes
  // through `view`.
  CliApprovals(std::set<std::string> pre_approved, std::string user, bool prompt, RunView& view);
  ~CliApprovals() override;
  void set_run_dir(std::string dir) { run_dir_ = std::move(dir); }
  std::optional<std::string> approved_by(const std::string& run_id, const std::string& step_id) override;
  void request(const std::string& run_id, const std::string& step_id, const std::string& message) override;
  std::string how_to_approve(const std::string& run_id, const std::string& step_id) const override;

 private:
  struct Answer {
    enum class Kind { line, end_of_input, withdrawn } kind;
    std::string text;
  };
  void ask_loop();
  Answer read_answer(int ticket);

  std::set<std::string> pre_;
  std::string user_;
  bool prompt_;
  RunView& view_;
  std::string run_dir_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::map<std::string, std::string> answered_;
  std::set<std::string> asked_;
  std::deque<std::pair<std::string, std::string>> to_ask_;  // run id, step id
  std::atomic<bool> closing_{false};
  std::thread asker_;
};

// Where `edgedr approve` leaves an approval for a run's step.
std::string approval_file(const std::string& run_dir, const std::string& step_id);

// Blocks SIGINT and SIGTERM in every thread and handles them on one of its own: the first SIGINT
// asks the engine to stop starting steps, the second (or a SIGTERM) to stop at once. Each time it
// says on the terminal what happens next.
class SignalWatcher {
 public:
  SignalWatcher();  // construct before any other thread starts
  ~SignalWatcher();
  void attach(dr::Engine& engine);
  // Where to say it (nullptr: straight to stderr); reset before the view goes away.
  void report_to(RunView* view);

 private:
  void say(const char* what, bool last = false);

  std::atomic<bool> stop_{false};
  std::atomic<dr::Engine*> engine_{nullptr};
  std::mutex view_mu_;
  RunView* view_ = nullptr;
  std::thread thread_;
  int count_ = 0;
};

std::string current_user();
std::string current_host();

// Destructive commands ask on a TTY (only `yes` goes ahead); without a TTY they need --yes.
// Returns an exit code to stop with, or -1 to go on.
int confirm(const std::string& what, bool yes);

// Run-command flags shared by failover/failback/backup/restore/resume/rollback.
struct RunFlags {
  bool yes = false;
  std::vector<std::string> approve;
  std::string state_dir;
  std::string lock_timeout = "0s";
  std::string output = "text";
  // --simulate: an in-process simulator of every target (world derived from the runbook, or
  // --world over it); --simulator URL: an `edgedr sim serve` already running (its state outlives
  // this process, so a crashed run can be resumed against it). Both scale time by --time-scale.
  bool simulate = false;
  std::string world;
  std::string simulator;
  // 0: 1/60 under --simulate; else 1, as `edgedr sim serve` runs by default (the two clocks must
  // run at the same rate for Retry-After and job durations to agree).
  double time_scale = 0;
  bool simulating() const { return simulate || !simulator.empty(); }
  double effective_time_scale() const { return time_scale > 0 ? time_scale : simulate ? 1.0 / 60 : 1.0; }
};
void add_run_flags(CLI::App* cmd, RunFlags& flags);

// Under simulation: the real secrets where they are set, else "simulated-NAME", so a runbook can
// be rehearsed on a machine that has none of its secrets (the simulator accepts any value).
std::unique_ptr<dr::SecretResolver> make_simulated_secret_resolver(std::unique_ptr<dr::SecretResolver> real);

// "1/60", "1/100", "0.25": a time scale as an operator would write it.
std::string format_scale(double scale);

// --simulator URL must be plain http to a loopback address (an `edgedr sim serve`); the reason
// when it is not.
std::optional<std::string> check_simulator_url(const std::string& url);

}  // namespace edgedr
