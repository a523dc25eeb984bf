#include "run_session.h"

#include <unistd.h>

#include <iostream>

#include "dr/local_actions.h"

namespace edgedr {

RunSession::RunSession(const Context& ctx, const RunFlags& flags, std::size_t total_steps)
    : ctx_(ctx), flags_(flags) {
  const Terminal term = ctx.terminal();
  executor_ = dr::make_thread_pool(8);
  dr::register_local_actions(actions_);
  secrets_ = dr::make_process_secret_resolver();
  view_ = std::make_unique<RunView>(term.stderr_tty && !ctx.global.quiet, term.color, ctx.global.quiet, total_steps);
  std::set<std::string> pre(flags.approve.begin(), flags.approve.end());
  // Ask at the terminal only where the operator can both read the question and answer it.
  approvals_ = std::make_unique<CliApprovals>(std::move(pre), current_user(),
                                              isatty(STDIN_FILENO) == 1 && term.stderr_tty, *view_);
  signals_.report_to(view_.get());
}

RunSession::~RunSession() { signals_.report_to(nullptr); }

int RunSession::run(const std::function<dr::RunResult(const dr::RunContext&)>& start) {
  dr::RunContext rc;
  rc.clock = &clock_;
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
  const std::string format = flags_.output == "yaml" ? "json" : flags_.output;  // JSON is valid YAML 1.2
  print_run_summary(*result.report, format == "json" ? "text" : format, ctx_.terminal().color);
  if (format == "json") print_run_summary(*result.report, "json", false);
  return result.exit_code;
}

}  // namespace edgedr
