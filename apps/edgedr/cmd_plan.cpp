// edgedr plan RUNBOOK: the ordered steps, waves, critical path, and expected duration against
// the RTO objective, as text, JSON, Graphviz or Mermaid. Sends nothing anywhere, unless
// --preflight: then the operation's read-only checks run against the services (plan_preflight.h).
#include <iostream>
#include <sstream>

#include "cli.h"
#include "dr/exit_code.h"
#include "dr/graph.h"
#include "dr/plan_view.h"
#include "dr/runbook.h"
#include "plan_preflight.h"

namespace edgedr {
namespace {

struct PlanOptions {
  std::string file;
  std::string operation = "failover";
  std::vector<std::string> only, skip, inputs;
  std::string output = "text";
  int concurrency = 0;
  bool preflight = false;
  RunFlags sim;  // --simulate, --world, --simulator, --time-scale (with --preflight)
};

int run_plan(const PlanOptions& opt, const Context& ctx) {
  dr::LoadOptions load;
  load.inputs = parse_inputs(opt.inputs);
  auto result = dr::load_runbook(opt.file, load);
  if (!result.runbook) {
    print_diagnostics(result.diagnostics, ctx);
    return dr::exit_code::invalid_runbook;
  }
  dr::GraphOptions filter{opt.only, opt.skip};
  auto graph = dr::build_graph(*result.runbook, *dr::parse_operation(opt.operation), filter, result.diagnostics);
  result.diagnostics.sort_and_dedupe();
  print_diagnostics(result.diagnostics, ctx);
  if (!graph || result.diagnostics.has_errors()) return dr::exit_code::invalid_runbook;

  std::optional<dr::PreflightReport> preflight;
  if (opt.preflight) {
    const dr::Prepared prepared{result.runbook, graph, result.diagnostics};
    std::string error;
    preflight = run_plan_preflight(prepared, *dr::parse_operation(opt.operation), load.inputs, opt.sim, error);
    if (!error.empty()) {
      std::cerr << "edgedr: " << error << "\n";
      return dr::exit_code::invalid_runbook;
    }
  }

  if (opt.output == "json") {
    if (preflight) {
      std::ostringstream plan;
      dr::write_plan_json(plan, *result.runbook, *graph, {.concurrency = opt.concurrency});
      std::cout << "{\"plan\": " << plan.str() << ",\n\"preflight\": " << preflight_json(*preflight) << "}\n";
    } else {
      dr::write_plan_json(std::cout, *result.runbook, *graph, {.concurrency = opt.concurrency});
    }
  } else if (opt.output == "dot") {
    std::cout << dr::render_plan_dot(*result.runbook, *graph);
  } else if (opt.output == "mermaid") {
    std::cout << dr::render_plan_mermaid(*result.runbook, *graph);
  } else {
    const bool colour = ctx.terminal().stdout_tty && ctx.terminal().color;
    std::cout << dr::render_plan_text(*result.runbook, *graph, {.colour = colour, .concurrency = opt.concurrency});
  }
  if (!preflight) return dr::exit_code::ok;
  if (opt.output != "json") {
    const bool to_stdout = opt.output == "text";
    const Terminal term = ctx.terminal();
    print_preflight_text(to_stdout ? std::cout : std::cerr, *preflight,
                         (to_stdout ? term.stdout_tty : term.stderr_tty) && term.color);
  }
  if (preflight->passed()) return dr::exit_code::ok;
  for (const auto& c : preflight->checks)
    if (!c.passed && c.kind == "setup") return dr::exit_code::auth_failed;
  return dr::exit_code::step_failed_rolled_back;  // 1: a check failed
}

}  // namespace

void add_plan(CLI::App& app, Context& ctx, CommandRunner& run) {
  auto opt = std::make_shared<PlanOptions>();
  auto* cmd = app.add_subcommand("plan", "Show what an operation would do, in what order, and how long it takes");
  cmd->add_option("runbook", opt->file, "Runbook file")->required()->check(CLI::ExistingFile);
  cmd->add_option("--operation", opt->operation, "failover, failback, drill, backup or restore")
      ->check(CLI::IsMember({"failover", "failback", "drill", "backup", "restore"}));
  cmd->add_option("--only", opt->only, "Only this service or step id (repeatable)");
  cmd->add_option("--skip", opt->skip, "Leave out this service or step id (repeatable)");
  cmd->add_option("--input", opt->inputs, "Input value KEY=VALUE (repeatable)");
  cmd->add_option("--concurrency", opt->concurrency,
                  "Steps in flight for the expected duration (default: the runbook's)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("-o,--output", opt->output, "text, json, dot or mermaid")
      ->check(CLI::IsMember({"text", "json", "dot", "mermaid"}));
  auto* preflight = cmd->add_flag("--preflight", opt->preflight,
                                  "Also run the read-only checks against the services (changes nothing)");
  auto* simulate =
      cmd->add_flag("--simulate", opt->sim.simulate, "With --preflight: check against the simulator")->needs(preflight);
  cmd->add_option("--world", opt->sim.world, "With --simulate: a world file laid over the derived one")
      ->check(CLI::ExistingFile)
      ->needs(simulate);
  cmd->add_option("--simulator", opt->sim.simulator, "With --preflight: check against a running `edgedr sim serve`")
      ->excludes(simulate)
      ->needs(preflight);
  cmd->add_option("--time-scale", opt->sim.time_scale, "Simulated time per real time (default 1/60 when simulating)")
      ->check(CLI::Range(1e-6, 1.0));
  cmd->callback([opt, &ctx, &run] { run = [opt, &ctx] { return run_plan(*opt, ctx); }; });
}

}  // namespace edgedr
