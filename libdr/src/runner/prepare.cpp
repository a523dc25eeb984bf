// Loading for a run: stricter than validate (secrets and required inputs must resolve).
#include "dr/runner.h"

namespace dr {

Prepared prepare_run(const RunRequest& request, bool require_secrets) {
  Prepared p;
  LoadOptions load;
  load.inputs = request.inputs;
  load.require_secrets = require_secrets;
  auto loaded = load_runbook(request.runbook_file, load);
  p.diagnostics = std::move(loaded.diagnostics);
  if (!loaded.runbook) return p;
  for (const auto& [name, input] : loaded.runbook->inputs)
    if (input.required && !input.default_value && !request.inputs.count(name))
      p.diagnostics.error(input.pos, "input '" + name + "' is required: give it with --input " + name + "=VALUE");
  p.graph = build_graph(*loaded.runbook, request.operation, request.filter, p.diagnostics);
  // Running nothing and reporting success would tell a CI pipeline that a drill passed.
  if (p.graph && p.graph->step_count() == 0) {
    std::string has;
    for (Operation op : kOperations) {
      bool any = false;
      for (const Service& svc : loaded.runbook->services)
        if (auto it = svc.operations.find(op); it != svc.operations.end() && !it->second.empty()) any = true;
      if (any) has += std::string(has.empty() ? "" : ", ") + operation_name(op);
    }
    const bool filtered = !request.filter.only.empty() || !request.filter.skip.empty();
    p.diagnostics.error(SourcePos{loaded.runbook->file, 0, 0},
                        "runbook '" + loaded.runbook->name + "' has no " + operation_name(request.operation) +
                            " steps" + (filtered ? " left after --only/--skip" : "") + ": nothing to run" +
                            (has.empty() ? std::string() : " (it has steps for: " + has + ")"));
  }
  p.diagnostics.sort_and_dedupe();
  p.runbook = std::move(loaded.runbook);
  return p;
}

std::vector<std::string> describe_run(const Prepared& prepared, const ActionRegistry& actions) {
  std::vector<std::string> lines;
  if (!prepared.ok()) return lines;
  for (int n : prepared.graph->topological_order()) {
    const GraphNode& node = prepared.graph->node(n);
    if (!node.is_step()) continue;
    const StepSpec& step = *node.step;
    StepCall call;
    call.step = &step;
    call.action = step.action;
    call.params = step.with;  // templates: a secret shows as its reference
    const Action* action = actions.find(step.action);
    std::vector<std::string> requests;
    if (action) requests = action->describe(call);
    if (requests.empty())
      if (const ActionSpec* spec = Catalogue::v1().find(step.action)) requests.push_back(spec->summary);
    for (const auto& r : requests) lines.push_back(step.id + " (" + step.action + "): " + r);
  }
  return lines;
}

}  // namespace dr
