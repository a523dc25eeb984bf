#include "run_session.h"

#include <unistd.h>

#include <iostream>

#include "ci_output.h"
#include "dr/agent_actions.h"
#include "dr/http.h"
#include "dr/local_actions.h"

namespace edgedr {

RunSession::RunSession(const Context& ctx, const RunFlags& flags, std::size_t total_steps) : ctx_(ctx), flags_(flags) {
  const Terminal term = ctx.terminal();
  if (flags.simulating()) {
    clock_ = std::make_unique<dr::ScaledClock>(flags.effective_time_scale());
  } else {
    clock_ = std::make_unique<dr::SystemClock>();
  }
  executor_ = dr::make_thread_pool(8);
  dr::register_local_actions(actions_, flags.simulating());
  azure_ = std::make_shared<dr::azure::AzureContext>();
  dr::azure::register_azure_actions(actions_, azure_);
  dr::register_agent_actions(actions_, azure_);
  secrets_ = flags.simulating() ? make_simulated_secret_resolver(dr::make_process_secret_resolver())
                                : dr::make_process_secret_resolver();
  view_ = std::make_unique<RunView>(term.stderr_tty && !ctx.global.quiet, term.color, ctx.global.quiet, total_steps,
                                    *clock_);
  std::set<std::string> pre(flags.approve.begin(), flags.approve.end());
  // Ask at the terminal only where the operator can both read the question and answer it.
  approvals_ = std::make_unique<CliApprovals>(std::move(pre), current_user(),
                                              isatty(STDIN_FILENO) == 1 && term.stderr_tty, *view_);
  signals_.report_to(view_.get());
}

RunSession::~RunSession() {
  signals_.report_to(nullptr);
  executor_.reset();  // no action is still calling the simulator when it stops
  if (!flags_.simulator.empty()) dr::set_simulation_route({});
}

std::optional<std::string> RunSession::set_up(const dr::Runbook& rb, dr::Operation op) {
  if (flags_.simulate) {
    auto sim =
        dr::sim::start_simulation(rb, flags_.world.empty() ? std::nullopt : std::optional(flags_.world), *clock_, op);
    if (!sim) {
      std::string text = "the simulator's world cannot be used:";
      for (const auto& d : sim.error().all()) text += "\n" + d.str();
      return text;
    }
    simulator_ = std::move(*sim);
    if (!ctx_.global.quiet)
      view_->note("simulating every target at " + simulator_->base_url() + " (time x" +
                  format_scale(flags_.effective_time_scale()) + ")");
  } else if (!flags_.simulator.empty()) {
    if (auto bad = check_simulator_url(flags_.simulator)) return *bad;
    dr::set_simulation_route(flags_.simulator);
    if (!ctx_.global.quiet) view_->note("against the simulator at " + flags_.simulator);
  }
  dr::azure::AzureSetup setup;
  setup.secret = [this](const dr::Reference& ref, const std::string& dir) { return secrets_->resolve(ref, dir); };
  setup.clock = clock_.get();
  setup.simulated = flags_.simulating();
  if (ctx_.global.debug) setup.debug_log = [this](const std::string& line) { view_->note(line); };
  return dr::azure::set_up_azure(rb, setup, *azure_);
}

int RunSession::run(const std::function<dr::RunResult(const dr::RunContext&)>& start,
                    const std::function<RunEpilogue(const dr::RunResult&)>& epilogue) {
  dr::RunContext rc;
  rc.clock = clock_.get();
  rc.simulated = flags_.simulating();
  rc.time_scale = flags_.effective_time_scale();
  rc.on_runbook = [this](const dr::Runbook& rb, dr::Operation op) { return set_up(rb, op); };
  rc.executor = executor_.get();
  rc.actions = &actions_;
  rc.secrets = secrets_.get();
  rc.approvals = approvals_.get();
  rc.observer = view_.get();
  rc.user = current_user();
  rc.host = current_host();
  rc.on_engine = [this](dr::Engine& e) { signals_.attach(e); };
  rc.on_run = [this](const std::string& run_id, const std::string& dir) {
    approvals_->set_run_dir(dir);
    if (!ctx_.global.quiet) view_->note("run " + run_id + " (journal in " + dir + ")");
  };
  dr::RunResult result = start(rc);
  view_->stop();
  if (!result.report) {
    std::cerr << "edgedr: " << result.error << "\n";
    return result.exit_code;
  }
  RunEpilogue extra;
  if (epilogue) extra = epilogue(result);
  const int exit_code = extra.exit_code.value_or(result.exit_code);
  const std::string format = flags_.output == "yaml" ? "json" : flags_.output;  // JSON is valid YAML 1.2
  print_run_summary(*result.report, format == "json" ? "text" : format, ctx_.terminal().color);
  if (format != "none" && !ctx_.global.quiet)
    for (const auto& line : extra.lines) std::cerr << "  " << line << "\n";
  // Workflow commands go to stdout, where CI systems read them, unless stdout is a JSON document.
  emit_ci_output(
      CiEnvironment::detect(), *result.report, format == "json" ? std::cerr : std::cout,
      [](const std::string& w) { std::cerr << "edgedr: warning: " << w << "\n"; }, extra.ci_errors, extra.lines);
  if (format == "json") print_run_summary(*result.report, "json", false, &extra.json, exit_code);
  return exit_code;
}

}  // namespace edgedr
