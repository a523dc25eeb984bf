// One run in this process: the terminal view, approvals, signals, threads and actions that
// execute_run/continue_run need, wired to the real machine.
#pragma once

#include <functional>
#include <memory>
#include <optional>

#include <nlohmann/json.hpp>

#include "cli.h"
#include "dr/azure_actions.h"
#include "dr/runner.h"
#include "dr/sim.h"
#include "run_support.h"
#include "run_view.h"

namespace edgedr {

// What a command adds to the end of a run (the drill's score): lines under the summary, failures
// for the CI annotations, fields for the `-o json` document, and a different exit code.
struct RunEpilogue {
  std::vector<std::string> lines;
  std::vector<std::string> ci_errors;
  nlohmann::json json = nlohmann::json::object();
  std::optional<int> exit_code;
};

class RunSession {
 public:
  RunSession(const Context& ctx, const RunFlags& flags, std::size_t total_steps);
  ~RunSession();
  // Runs `start` (execute_run or continue_run) and renders the outcome; returns the exit code.
  // `epilogue`, when given, is called with a run that has a report.
  int run(const std::function<dr::RunResult(const dr::RunContext&)>& start,
          const std::function<RunEpilogue(const dr::RunResult&)>& epilogue = {});
  dr::Clock& clock() { return *clock_; }

 private:
  const Context& ctx_;
  const RunFlags& flags_;
  // Sets up the Azure pipeline (and under --simulate the simulator) for the loaded runbook.
  std::optional<std::string> set_up(const dr::Runbook& rb, dr::Operation op);

  SignalWatcher signals_;                          // first: blocks the signals before any thread starts
  std::unique_ptr<dr::Clock> clock_;               // scaled when simulating
  std::unique_ptr<dr::sim::Simulator> simulator_;  // --simulate; before the threads that call it
  std::unique_ptr<dr::Executor> executor_;
  std::shared_ptr<dr::azure::AzureContext> azure_;
  dr::ActionRegistry actions_;
  std::unique_ptr<dr::SecretResolver> secrets_;
  std::unique_ptr<RunView> view_;
  std::unique_ptr<CliApprovals> approvals_;
};

}  // namespace edgedr
