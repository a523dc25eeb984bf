// One run in this process: the terminal view, approvals, signals, threads and actions that
// execute_run/continue_run need, wired to the real machine.
#pragma once

#include <functional>
#include <memory>

#include "cli.h"
#include "dr/runner.h"
#include "run_support.h"
#include "run_view.h"

namespace edgedr {

class RunSession {
 public:
  RunSession(const Context& ctx, const RunFlags& flags, std::size_t total_steps);
  ~RunSession();
  // Runs `start` (execute_run or continue_run) and renders the outcome; returns the exit code.
  int run(const std::function<dr::RunResult(const dr::RunContext&)>& start);

 private:
  const Context& ctx_;
  const RunFlags& flags_;
  SignalWatcher signals_;  // first: blocks the signals before any thread starts
  dr::SystemClock clock_;
  std::unique_ptr<dr::Executor> executor_;
  dr::ActionRegistry actions_;
  std::unique_ptr<dr::SecretResolver> secrets_;
  std::unique_ptr<RunView> view_;
  std::unique_ptr<CliApprovals> approvals_;
};

}  // namespace edgedr
