#include "plan_preflight.h"

#include <nlohmann/json.hpp>

#include "dr/agent_actions.h"
#include "dr/azure_actions.h"
#include "dr/http.h"
#include "dr/local_actions.h"
#include "dr/sim.h"

namespace edgedr {
namespace {

bool uses_azure(const dr::Runbook& rb) {
  for (const auto& [name, target] : rb.targets)
    if (target.kind == dr::TargetKind::traffic_manager || target.kind == dr::TargetKind::site_recovery ||
        target.kind == dr::TargetKind::backup)
      return true;
  return false;
}

// A token for the runbook's cloud: the credential every Azure step would sign in with.
dr::PreflightCheck credentials_check(const dr::azure::AzureContext& azure) {
  dr::PreflightCheck c;
  c.name = "azure credentials";
  c.kind = "setup";
  if (!azure.arm || !azure.credential) {
    c.reason = azure.setup_error.empty() ? "no Azure client" : azure.setup_error;
    return c;
  }
  auto token = azure.credential->get_token(azure.token_scope);
  c.passed = token.has_value();
  c.reason = token ? "a token for " + azure.token_scope + " from " + azure.credential->name() : token.error().message;
  return c;
}

}  // namespace

dr::PreflightReport run_plan_preflight(const dr::Prepared& prepared, dr::Operation op,
                                       const std::map<std::string, std::string>& inputs, const RunFlags& flags,
                                       std::string& error) {
  std::unique_ptr<dr::Clock> clock;
  if (flags.simulating())
    clock = std::make_unique<dr::ScaledClock>(flags.effective_time_scale());
  else
    clock = std::make_unique<dr::SystemClock>();
  const dr::Runbook& rb = *prepared.runbook;

  // The same set-up as a run (RunSession::set_up), without the engine, journal or lock.
  std::unique_ptr<dr::sim::Simulator> simulator;
  struct RouteGuard {
    bool set = false;
    ~RouteGuard() {
      if (set) dr::set_simulation_route({});
    }
  } route;
  if (flags.simulate) {
    auto sim =
        dr::sim::start_simulation(rb, flags.world.empty() ? std::nullopt : std::optional(flags.world), *clock, op);
    if (!sim) {
      error = "the simulator's world cannot be used:";
      for (const auto& d : sim.error().all()) error += "\n" + d.str();
      return {};
    }
    simulator = std::move(*sim);
  } else if (!flags.simulator.empty()) {
    if (auto bad = check_simulator_url(flags.simulator)) {
      error = *bad;
      return {};
    }
    dr::set_simulation_route(flags.simulator);
    route.set = true;
  }
  auto secrets = flags.simulating() ? make_simulated_secret_resolver(dr::make_process_secret_resolver())
                                    : dr::make_process_secret_resolver();
  auto azure = std::make_shared<dr::azure::AzureContext>();
  dr::ActionRegistry actions;
  dr::register_local_actions(actions, flags.simulating());
  dr::azure::register_azure_actions(actions, azure);
  dr::register_agent_actions(actions, azure);
  dr::azure::AzureSetup setup;
  setup.secret = [&](const dr::Reference& ref, const std::string& dir) { return secrets->resolve(ref, dir); };
  setup.clock = clock.get();
  setup.simulated = flags.simulating();
  if (auto bad = dr::azure::set_up_azure(rb, setup, *azure)) {
    error = *bad;
    return {};
  }

  dr::PreflightContext context;
  context.clock = clock.get();
  context.actions = &actions;
  context.secrets = secrets.get();
  context.inputs = inputs;
  context.setup_checks = [&]() -> std::vector<dr::PreflightCheck> {
    if (!uses_azure(rb)) return {};
    return {credentials_check(*azure)};
  };
  dr::PreflightReport report = dr::run_preflight(prepared, context);
  return report;
}

void print_preflight_text(std::ostream& out, const dr::PreflightReport& report, bool colour) {
  out << "\nPreflight (read-only checks against the services):\n";
  if (report.checks.empty()) {
    out << "  nothing to check: no read-only steps, no Azure targets\n";
    return;
  }
  std::size_t width = 5;
  for (const auto& c : report.checks)
    width = std::max(width, c.name.size() + (c.action.empty() ? 0 : c.action.size() + 3));
  for (const auto& c : report.checks) {
    std::string name = c.action.empty() ? c.name : c.name + " (" + c.action + ")";
    name.resize(width, ' ');
    const char* word = c.passed ? "PASS" : "FAIL";
    if (colour) word = c.passed ? "\033[32mPASS\033[0m" : "\033[31mFAIL\033[0m";
    out << "  " << name << "  " << word << "  " << c.reason << "\n";
  }
  std::size_t failed = 0;
  for (const auto& c : report.checks) failed += c.passed ? 0 : 1;
  out << "  " << report.checks.size() - failed << " passed, " << failed << " failed\n";
}

std::string preflight_json(const dr::PreflightReport& report) {
  nlohmann::json checks = nlohmann::json::array();
  for (const auto& c : report.checks)
    checks.push_back(
        {{"name", c.name}, {"action", c.action}, {"kind", c.kind}, {"passed", c.passed}, {"reason", c.reason}});
  return nlohmann::json{{"passed", report.passed()}, {"checks", checks}}.dump(2);
}

}  // namespace edgedr
