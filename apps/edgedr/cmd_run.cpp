// edgedr failover|failback|backup|restore RUNBOOK: run an operation's steps.
#include <unistd.h>

#include <filesystem>
#include <iostream>

#include "dr/agent_actions.h"
#include "dr/exit_code.h"
#include "dr/local_actions.h"
#include "drill_outputs.h"
#include "run_session.h"

namespace edgedr {
namespace {

struct RunOptions {
  std::string file;
  dr::Operation operation = dr::Operation::failover;
  std::vector<std::string> only, skip, inputs;
  int concurrency = 0;
  std::string on_failure;
  bool dry_run = false;
  std::string scheduler = "critical-path";
  RunFlags flags;
  DrillOutputs drill;
};

// A --junit or --metrics-file that cannot be written is found before the drill, not after it.
void check_output_file(const std::string& path, const char* flag) {
  if (path.empty()) return;
  const std::filesystem::path p(path);
  const std::filesystem::path dir = p.parent_path().empty() ? std::filesystem::path(".") : p.parent_path();
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec))
    throw CLI::ValidationError(flag, "cannot write " + path + ": directory " + dir.string() + " does not exist");
  if (access(dir.c_str(), W_OK) != 0)
    throw CLI::ValidationError(flag, "cannot write " + path + ": directory " + dir.string() + " is not writable");
}

// Which recovery points a run created or restored from, and how old they were: what an operator
// checks first after a backup or a restore.
RunEpilogue recovery_point_lines(const dr::RunReport& report) {
  RunEpilogue e;
  for (const auto& s : report.steps) {
    if (s.status != "succeeded" && s.status != "undone") continue;
    auto get = [&](const char* k) {
      auto it = s.outputs.find(k);
      return it == s.outputs.end() ? std::string() : it->second;
    };
    const std::string id = get("recovery-point-id"), time = get("recovery-point-time");
    if (id.empty()) continue;
    if (s.action == "backup.restore")
      e.lines.push_back(s.id + ": restored from recovery point " + id + " taken " + time +
                        (get("rpo").empty() ? std::string() : " (" + get("rpo") + " old when the restore began)"));
    else if (s.action == "backup.backup-now")
      e.lines.push_back(s.id + ": recovery point " + id + " taken " + time);
    else if (s.action == "backup.check-recovery-point")
      e.lines.push_back(s.id + ": newest recovery point " + id + " taken " + time +
                        (get("age").empty() ? std::string() : " (" + get("age") + " old)"));
  }
  return e;
}

int run_operation(const RunOptions& opt, const Context& ctx) {
  dr::RunRequest req;
  req.runbook_file = opt.file;
  req.operation = opt.operation;
  req.inputs = parse_inputs(opt.inputs);
  req.filter = {opt.only, opt.skip};
  if (opt.concurrency > 0) req.concurrency = opt.concurrency;
  if (!opt.on_failure.empty())
    req.on_failure = opt.on_failure == "pause" ? dr::OnFailure::pause : dr::OnFailure::rollback;
  req.state_dir = opt.flags.state_dir;
  auto lock_timeout = dr::parse_duration(opt.flags.lock_timeout);
  if (!lock_timeout)
    throw CLI::ValidationError("--lock-timeout",
                               "expected a duration such as 30s, got '" + opt.flags.lock_timeout + "'");
  req.lock_timeout = *lock_timeout;
  if (opt.scheduler == "fifo") req.scheduling = dr::EngineOptions::Scheduling::fifo;

  // A dry run sends nothing and a simulated one answers any secret: neither needs them set.
  dr::Prepared prepared = dr::prepare_run(req, !opt.dry_run && !opt.flags.simulating());
  print_diagnostics(prepared.diagnostics, ctx);
  if (!prepared.ok()) return dr::exit_code::invalid_runbook;

  if (opt.dry_run) {
    dr::ActionRegistry actions;
    dr::register_local_actions(actions);
    auto azure = std::make_shared<dr::azure::AzureContext>();
    dr::azure::register_azure_actions(actions, azure);
    dr::register_agent_actions(actions, azure);
    auto secrets = dr::make_process_secret_resolver();
    dr::azure::AzureSetup setup;
    setup.secret = [&](const dr::Reference& ref, const std::string& dir) { return secrets->resolve(ref, dir); };
    if (auto error = dr::azure::set_up_azure(*prepared.runbook, setup, *azure)) {
      std::cerr << "edgedr: " << *error << "\n";
      return dr::exit_code::invalid_runbook;
    }
    for (const auto& line : dr::describe_run(prepared, actions)) std::cout << line << "\n";
    std::cerr << "dry run: nothing was sent\n";
    return dr::exit_code::ok;
  }
  // A drill is made to run unattended (CI) and cleans up after itself; backup only adds.
  const bool destructive = opt.operation != dr::Operation::backup && opt.operation != dr::Operation::drill;
  if (destructive) {
    const int stop =
        confirm("This runs " + std::string(dr::operation_name(opt.operation)) + " of '" + prepared.runbook->name +
                    "' (" + std::to_string(prepared.graph->step_count()) + " steps)",
                opt.flags.yes);
    if (stop >= 0) return stop;
  }
  check_output_file(opt.drill.junit, "--junit");
  check_output_file(opt.drill.metrics_file, "--metrics-file");
  check_output_file(opt.drill.report, "--report");
  RunSession session(ctx, opt.flags, prepared.graph->step_count());
  return session.run([&](const dr::RunContext& rc) { return dr::execute_run(req, prepared, rc); },
                     [&](const dr::RunResult& result) {
                       RunEpilogue e = drill_epilogue(*result.report, req.state_dir, opt.drill);
                       for (auto& line : recovery_point_lines(*result.report).lines) e.lines.push_back(std::move(line));
                       return e;
                     });
}

void add_operation(CLI::App& app, Context& ctx, CommandRunner& run, dr::Operation op, const std::string& help) {
  auto opt = std::make_shared<RunOptions>();
  opt->operation = op;
  auto* cmd = app.add_subcommand(dr::operation_name(op), help);
  cmd->add_option("runbook", opt->file, "Runbook file")->required()->check(CLI::ExistingFile);
  cmd->add_flag("--dry-run", opt->dry_run, "Print each step's requests; send nothing");
  cmd->add_option("--concurrency", opt->concurrency, "Most steps in flight (default: the runbook's)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--only", opt->only, "Only this service or step id (repeatable)");
  cmd->add_option("--skip", opt->skip, "Leave out this service or step id (repeatable)");
  cmd->add_option("--input", opt->inputs, "Input value KEY=VALUE (repeatable)");
  cmd->add_option("--on-failure", opt->on_failure, "rollback or pause (default: the runbook's)")
      ->check(CLI::IsMember({"rollback", "pause"}));
  add_run_flags(cmd, opt->flags);
  if (op == dr::Operation::drill) {
    cmd->add_option("--junit", opt->drill.junit,
                    "Write a JUnit XML report: a test case per step, one for the objectives");
    cmd->add_option("--metrics-file", opt->drill.metrics_file,
                    "Write Prometheus metrics (RTO, RPO, success, step durations), atomically");
    cmd->add_option("--report", opt->drill.report,
                    "Write this drill's audit report (HTML; .md, .json or .xml by the file's extension)");
  }
  // For benchmarks only: compares the critical-path scheduler with plain FIFO order.
  cmd->add_option("--scheduler", opt->scheduler)->check(CLI::IsMember({"critical-path", "fifo"}))->group("");
  cmd->callback([opt, &ctx, &run] { run = [opt, &ctx] { return run_operation(*opt, ctx); }; });
}

}  // namespace

void add_run_commands(CLI::App& app, Context& ctx, CommandRunner& run) {
  add_operation(app, ctx, run, dr::Operation::failover, "Run the failover steps");
  add_operation(app, ctx, run, dr::Operation::failback, "Run the failback steps");
  add_operation(app, ctx, run, dr::Operation::backup, "Run the backup steps");
  add_operation(app, ctx, run, dr::Operation::restore, "Run the restore steps");
  add_operation(app, ctx, run, dr::Operation::drill,
                "Run the drill steps, then always undo them all; score RTO and RPO against the objectives");
}

}  // namespace edgedr
