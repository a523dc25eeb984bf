// `plan --preflight`: the read-only part of an operation against the real services (or the
// simulator). Nothing here journals, locks or changes anything: read-only steps are called as
// the engine would call them, and changing steps only get their action's own read-only check.
#include <algorithm>
#include <condition_variable>
#include <mutex>

#include "dr/catalogue.h"
#include "dr/interpolation.h"
#include "dr/runner.h"

namespace dr {
namespace {

// Read-only actions that check nothing: waiting for time or for an operator.
bool checks_nothing(const std::string& action) {
  return action == "wait" || action == "manual.approve";
}

// The step's `when:` against the inputs given (else their defaults), as the engine decides.
bool when_holds(const Prepared& prepared, const StepSpec& step, const std::map<std::string, std::string>& inputs) {
  for (const auto& [input, want] : step.when) {
    std::string have;
    if (auto it = inputs.find(input); it != inputs.end())
      have = it->second;
    else if (auto d = prepared.runbook->inputs.find(input); d != prepared.runbook->inputs.end())
      have = d->second.default_value.value_or("");
    if (have != want) return false;
  }
  return true;
}

// A step's `with:` as the engine would resolve it before the first step ran: inputs and secrets
// are known, other steps' outputs are not.
std::optional<Value> resolve_with(const Prepared& prepared, const StepSpec& step, const PreflightContext& context,
                                  std::string& error) {
  const Runbook& rb = *prepared.runbook;
  const std::string dir = rb.file.empty() ? std::string() : rb.file.substr(0, rb.file.find_last_of('/') + 1);
  std::string why;
  const auto lookup = [&](const Reference& ref) -> std::optional<std::string> {
    switch (ref.kind) {
      case Reference::Kind::input:
        if (auto it = context.inputs.find(ref.name); it != context.inputs.end()) return it->second;
        if (auto it = rb.inputs.find(ref.name); it != rb.inputs.end() && it->second.default_value)
          return *it->second.default_value;
        return std::string{};  // declared, no default, not given: empty, as the engine has it
      case Reference::Kind::env:
      case Reference::Kind::file: {
        auto v = context.secrets ? context.secrets->resolve(ref, dir.empty() ? "." : dir) : std::nullopt;
        if (!v && why.empty()) why = ref.text() + " is not set";
        return v;
      }
      case Reference::Kind::step_output:
        if (why.empty()) why = "it uses " + ref.text() + ", known only once that step has run";
        return std::nullopt;
    }
    return std::nullopt;
  };
  Value out = resolve_references(step.with, lookup, error);
  if (!why.empty()) error = why;
  if (!error.empty()) return std::nullopt;
  return out;
}

StepCall call_for(const StepSpec& step, Value params, const PreflightContext& context) {
  StepCall call;
  call.run_id = "preflight";
  call.step = &step;
  call.action = step.action;
  call.params = std::move(params);
  call.idempotency_key = "preflight/" + step.id + "/1";
  call.clock = context.clock;
  call.deadline = context.clock->now() + step.timeout;
  call.cancelled = context.cancelled;
  return call;
}

// Submit, then poll at the pace the action asks for, until a result or the step's timeout.
StepResult run_read_only(Action& action, const StepCall& call, Clock& clock) {
  StepResult r = action.submit(call);
  while (r.status == StepResult::Status::pending) {
    if (call.cancelled && call.cancelled->load()) return StepResult::fail("interrupted", false);
    const auto next = std::min(clock.now() + r.poll_after, call.deadline);
    std::mutex mu;
    std::condition_variable cv;
    std::unique_lock lock(mu);
    clock.wait_until(next, cv, lock, [&] { return call.cancelled && call.cancelled->load(); });
    if (clock.now() >= call.deadline) return StepResult::fail("no answer within the step's timeout", false);
    r = action.poll(call, r.handle);
  }
  return r;
}

// A changing Traffic Manager step: its endpoint is read the way traffic-manager.wait-endpoint
// reads it (through the profile when the type is not given). nullopt for other actions; "" when
// the endpoint is there (any monitor status), else the read's error.
std::optional<std::string> endpoint_problem(const StepCall& call, const PreflightContext& context) {
  if (call.action.rfind("traffic-manager.", 0) != 0) return std::nullopt;
  Action* reader = context.actions->find("traffic-manager.wait-endpoint");
  if (!reader) return std::nullopt;
  StepCall read = call;
  read.action = "traffic-manager.wait-endpoint";
  std::vector<Value::Entry> params;
  for (const char* key : {"target", "endpoint", "endpoint-type"})
    if (const Value* v = call.param(key)) params.emplace_back(key, *v);
  read.params = Value::map(std::move(params));
  const StepResult r = reader->submit(read);
  // Pending: it is there, just not at the monitor status asked for.
  return r.status == StepResult::Status::failed ? r.error : std::string();
}

}  // namespace

bool PreflightReport::passed() const {
  return std::all_of(checks.begin(), checks.end(), [](const PreflightCheck& c) { return c.passed; });
}

PreflightReport run_preflight(const Prepared& prepared, const PreflightContext& context) {
  PreflightReport report;
  if (context.setup_checks)
    for (auto& c : context.setup_checks()) report.checks.push_back(std::move(c));
  if (!prepared.ok() || !context.actions || !context.clock) return report;
  const Catalogue& catalogue = Catalogue::v1();
  const StepGraph& graph = *prepared.graph;
  // Whether a node comes after a changing step: a read-only step there checks the change's
  // effect (the standby answering), which cannot hold before the operation.
  std::vector<char> after_change(graph.nodes().size(), 0);
  for (const int i : graph.topological_order()) {
    const GraphNode& node = graph.node(i);
    for (const int d : node.deps) {
      const GraphNode& dep = graph.node(d);
      const ActionSpec* dep_spec = dep.is_step() ? catalogue.find(dep.step->action) : nullptr;
      if (after_change[static_cast<std::size_t>(d)] || (dep_spec && dep_spec->mutating))
        after_change[static_cast<std::size_t>(i)] = 1;
    }
  }
  for (const int i : graph.topological_order()) {
    const GraphNode& node = graph.node(i);
    if (!node.is_step()) continue;
    const StepSpec& step = *node.step;
    const ActionSpec* spec = catalogue.find(step.action);
    Action* action = context.actions->find(step.action);
    if (!spec || !action || !when_holds(prepared, step, context.inputs)) continue;
    const bool read_only = !spec->mutating;
    if (read_only && (checks_nothing(step.action) || after_change[static_cast<std::size_t>(i)])) continue;

    PreflightCheck check;
    check.name = step.id;
    check.action = step.action;
    check.kind = "check";
    std::string error;
    auto params = resolve_with(prepared, step, context, error);
    if (!params) {
      // A changing step whose parameters are not known yet has nothing to check; a check step
      // that cannot run is a failed check.
      if (!read_only) continue;
      check.reason = "cannot run before the operation: " + error;
      report.checks.push_back(std::move(check));
      continue;
    }
    const StepCall call = call_for(step, std::move(*params), context);
    if (read_only) {
      const StepResult r = run_read_only(*action, call, *context.clock);
      check.passed = r.status == StepResult::Status::succeeded;
      if (check.passed) {
        for (const auto& [k, v] : r.outputs) check.reason += (check.reason.empty() ? "" : ", ") + k + " " + v;
        if (check.reason.empty()) check.reason = "passed";
      } else {
        check.reason = r.error;
      }
    } else {
      auto problem = endpoint_problem(call, context);
      if (!problem) continue;  // nothing to check about this step without changing anything
      check.kind = "exists";
      check.passed = problem->empty();
      check.reason = check.passed ? "the endpoint exists" : *problem;
    }
    report.checks.push_back(std::move(check));
  }
  return report;
}

}  // namespace dr
