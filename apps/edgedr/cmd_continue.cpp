// edgedr resume RUN / edgedr rollback RUN: continue or undo a paused or interrupted run.
#include "dr/exit_code.h"
#include "drill_outputs.h"
#include "run_session.h"

namespace edgedr {
namespace {

struct ContinueOptions {
  std::string run_id;
  RunFlags flags;
  DrillOutputs drill;  // when the run is a drill
};

int run_continue(const ContinueOptions& opt, const Context& ctx, dr::Continuation how) {
  auto lock_timeout = dr::parse_duration(opt.flags.lock_timeout);
  if (!lock_timeout) throw CLI::ValidationError("--lock-timeout", "expected a duration such as 30s");
  if (how == dr::Continuation::rollback) {
    const int stop = confirm("This undoes what run " + opt.run_id + " did", opt.flags.yes);
    if (stop >= 0) return stop;
  }
  RunSession session(ctx, opt.flags, 0);
  return session.run(
      [&](const dr::RunContext& rc) {
        return dr::continue_run(opt.flags.state_dir, opt.run_id, how, rc, *lock_timeout);
      },
      [&](const dr::RunResult& result) { return drill_epilogue(*result.report, opt.flags.state_dir, opt.drill); });
}

void add_one(CLI::App& app, Context& ctx, CommandRunner& run, const char* name, const char* help,
             dr::Continuation how) {
  auto opt = std::make_shared<ContinueOptions>();
  auto* cmd = app.add_subcommand(name, help);
  cmd->add_option("run", opt->run_id, "Run id (see `edgedr runs list`)")->required();
  add_run_flags(cmd, opt->flags);
  cmd->add_option("--junit", opt->drill.junit, "When the run is a drill: write its JUnit XML report");
  cmd->add_option("--metrics-file", opt->drill.metrics_file, "When the run is a drill: write its Prometheus metrics");
  cmd->add_option("--report", opt->drill.report,
                  "When the run is a drill: write its audit report (HTML, .md, .json, .xml)");
  cmd->callback([opt, &ctx, &run, how] { run = [opt, &ctx, how] { return run_continue(*opt, ctx, how); }; });
}

}  // namespace

void add_continue_commands(CLI::App& app, Context& ctx, CommandRunner& run) {
  add_one(app, ctx, run, "resume", "Continue a paused or interrupted run", dr::Continuation::resume);
  add_one(app, ctx, run, "rollback", "Undo what a run did, in reverse order", dr::Continuation::rollback);
}

}  // namespace edgedr
