// edgedr plan RUNBOOK: the ordered steps, waves, critical path, and expected duration against
// the RTO objective, as text, JSON, Graphviz or Mermaid. Sends nothing anywhere.
#include <iostream>

#include "cli.h"
#include "dr/exit_code.h"
#include "dr/graph.h"
#include "dr/plan_view.h"
#include "dr/runbook.h"

namespace edgedr {
namespace {

struct PlanOptions {
  std::string file;
  std::string operation = "failover";
  std::vector<std::string> only, skip, inputs;
  std::string output = "text";
  int concurrency = 0;
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

  if (opt.output == "json") {
    dr::write_plan_json(std::cout, *result.runbook, *graph, {.concurrency = opt.concurrency});
  } else if (opt.output == "dot") {
    std::cout << dr::render_plan_dot(*result.runbook, *graph);
  } else if (opt.output == "mermaid") {
    std::cout << dr::render_plan_mermaid(*result.runbook, *graph);
  } else {
    const bool colour = ctx.terminal().stdout_tty && ctx.terminal().color;
    std::cout << dr::render_plan_text(*result.runbook, *graph, {.colour = colour, .concurrency = opt.concurrency});
  }
  return dr::exit_code::ok;
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
  cmd->callback([opt, &ctx, &run] { run = [opt, &ctx] { return run_plan(*opt, ctx); }; });
}

}  // namespace edgedr
