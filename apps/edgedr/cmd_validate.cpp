// edgedr validate RUNBOOK...: load, schema-check and resolve the graph of every operation;
// every error of every file in one pass; exit 78 on any error.
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli.h"
#include "dr/exit_code.h"
#include "dr/graph.h"
#include "dr/runbook.h"

namespace edgedr {
namespace {

struct ValidateOptions {
  std::vector<std::string> files;
  std::vector<std::string> inputs;
  std::string output = "text";
};

nlohmann::json diagnostics_json(const dr::Diagnostics& d) {
  auto out = nlohmann::json::array();
  for (const auto& item : d.all())
    out.push_back(
        {{"severity", item.severity == dr::Severity::error ? "error" : "warning"},
         {"file", item.pos.file.str()},
         {"line", item.pos.line},
         {"column", item.pos.column},
         {"message", item.message},
         {"suggestion", item.suggestion.empty() ? nlohmann::json(nullptr) : nlohmann::json(item.suggestion)}});
  return out;
}

int run_validate(const ValidateOptions& opt, const Context& ctx) {
  dr::LoadOptions load;
  load.inputs = parse_inputs(opt.inputs);
  bool all_ok = true;
  auto files = nlohmann::json::array();
  for (const auto& file : opt.files) {
    auto result = dr::load_runbook(file, load);
    std::size_t steps = 0;
    if (result.runbook) {
      // A runbook is valid only if every operation's graph resolves (no cycles).
      for (dr::Operation op : dr::kOperations) {
        auto graph = dr::build_graph(*result.runbook, op, {}, result.diagnostics);
        if (graph) steps += graph->step_count();
      }
      result.diagnostics.sort_and_dedupe();
    }
    const bool ok = result.runbook && !result.diagnostics.has_errors();
    all_ok = all_ok && ok;
    print_diagnostics(result.diagnostics, ctx);
    if (opt.output == "json") {
      nlohmann::json f{{"file", file}, {"valid", ok}, {"diagnostics", diagnostics_json(result.diagnostics)}};
      if (ok) {
        f["runbook"] = result.runbook->name;
        f["content_hash"] = result.runbook->content_hash;
        f["services"] = result.runbook->services.size();
        f["steps"] = steps;
      }
      files.push_back(std::move(f));
    } else if (ok) {
      const auto services = result.runbook->services.size();
      std::cout << file << ": valid (runbook '" << result.runbook->name << "', " << services << " service"
                << (services == 1 ? "" : "s") << ", " << steps << " step" << (steps == 1 ? "" : "s") << ")\n";
    } else {
      std::cerr << file << ": " << result.diagnostics.error_count() << " error"
                << (result.diagnostics.error_count() == 1 ? "" : "s") << "\n";
    }
  }
  if (opt.output == "json") std::cout << nlohmann::json{{"valid", all_ok}, {"files", files}}.dump(2) << "\n";
  return all_ok ? dr::exit_code::ok : dr::exit_code::invalid_runbook;
}

}  // namespace

void add_validate(CLI::App& app, Context& ctx, CommandRunner& run) {
  auto opt = std::make_shared<ValidateOptions>();
  auto* cmd = app.add_subcommand("validate", "Check runbooks: schema, names, actions, references, graph");
  cmd->add_option("runbook", opt->files, "Runbook files")->required()->check(CLI::ExistingPath);
  cmd->add_option("--input", opt->inputs, "Input value KEY=VALUE (repeatable)");
  cmd->add_option("-o,--output", opt->output, "text or json")
      ->check(CLI::IsMember({"text", "json"}))
      ->envname("EDGEDR_OUTPUT");
  cmd->callback([opt, &ctx, &run] { run = [opt, &ctx] { return run_validate(*opt, ctx); }; });
}

}  // namespace edgedr
