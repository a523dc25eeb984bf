// edgedr sim serve [--runbook FILE] [--world FILE] [--listen 127.0.0.1:PORT] [--time-scale F]: the
// simulator on its own, for rehearsing against it from another process (`edgedr failover ...
// --simulator URL`) or poking at with curl (docs/simulator.md). Serves until SIGINT or SIGTERM;
// loopback only.
#include <signal.h>

#include <iostream>
#include <memory>

#include "cli.h"
#include "dr/exit_code.h"
#include "dr/sim.h"

namespace edgedr {
namespace {

struct SimServeOptions {
  std::string runbook;
  std::string world;
  std::string listen = "127.0.0.1:0";
  double time_scale = 1.0;
};

int run_sim_serve(const SimServeOptions& opt, const Context& ctx) {
  const auto colon = opt.listen.rfind(':');
  int port = -1;
  std::string host = colon == std::string::npos ? opt.listen : opt.listen.substr(0, colon);
  try {
    if (colon != std::string::npos) port = std::stoi(opt.listen.substr(colon + 1));
  } catch (const std::exception&) {
  }
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (port < 0 || port > 65535) {
    std::cerr << "edgedr sim serve: --listen '" << opt.listen
              << "' is not HOST:PORT (e.g. 127.0.0.1:8080, port 0 = any)\n";
    return dr::exit_code::usage;
  }
  if (!(host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0)) {
    std::cerr << "edgedr sim serve: refusing to listen on '" << host
              << "': the simulator hands out tokens to anyone and listens on loopback only (127.0.0.1 or ::1)\n";
    return dr::exit_code::usage;
  }
  if (opt.runbook.empty() && opt.world.empty()) {
    std::cerr << "edgedr sim serve: give --runbook FILE (a world with everything the runbook names), --world FILE, "
                 "or both (the world file laid over the runbook's)\n";
    return dr::exit_code::usage;
  }
  dr::sim::World derived;
  if (!opt.runbook.empty()) {
    // Like --simulate: the runbook need not have its secrets here.
    dr::LoadOptions load;
    load.require_secrets = false;
    auto loaded = dr::load_runbook(opt.runbook, load);
    print_diagnostics(loaded.diagnostics, ctx);
    if (!loaded.runbook) return dr::exit_code::invalid_runbook;
    derived = dr::sim::derive_world(*loaded.runbook);
  }
  tl::expected<dr::sim::World, dr::Diagnostics> world = std::move(derived);
  if (!opt.world.empty()) world = dr::sim::load_world(opt.world, std::move(*world));
  if (!world) {
    print_diagnostics(world.error(), ctx);
    return dr::exit_code::invalid_runbook;
  }

  // Block the signals before the server's threads start, so they all inherit the mask and
  // sigwait below is the only place SIGINT/SIGTERM arrive: no handler needed.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  dr::ScaledClock clock(opt.time_scale);
  dr::sim::Simulator sim(std::move(*world), clock);
  std::string base;
  try {
    base = sim.start(host == "localhost" ? "127.0.0.1" : host, port);
  } catch (const std::exception& e) {
    std::cerr << "edgedr sim serve: " << e.what() << "\n";
    return dr::exit_code::usage;
  }
  std::cout << base << "\n"
            << "# Run against it: edgedr failover RUNBOOK --simulator " << base << "\n"
            << "# Or point a runbook at it: azure: { cloud: custom, arm-endpoint: " << base
            << ", authority-host: " << base << "/, audience: https://management.core.windows.net/ }\n"
            << "# Tokens: POST " << base << "/{tenant}/oauth2/v2.0/token (any client id and secret), or IMDS at "
            << base << "\n"
            << "# Agents: " << base << "/agents/{name}/v1/...   Request log: " << base
            << "/_sim/requests   State: " << base << "/_sim/world\n"
            << "# Time runs at " << 1.0 / opt.time_scale << "x. Ctrl-C stops.\n"
            << std::flush;
  int sig = 0;
  sigwait(&set, &sig);
  sim.stop();
  if (!ctx.global.quiet) std::cerr << "edgedr sim serve: stopped (" << sim.requests().size() << " requests served)\n";
  return dr::exit_code::ok;
}

}  // namespace

void add_sim_commands(CLI::App& app, Context& ctx, CommandRunner& run) {
  auto* sim = app.add_subcommand("sim", "The local simulator of Azure and the agents (docs/simulator.md)");
  sim->require_subcommand(1);
  auto opt = std::make_shared<SimServeOptions>();
  auto* serve = sim->add_subcommand("serve", "Serve a simulated world on loopback until Ctrl-C");
  serve->add_option("--runbook", opt->runbook, "Derive the world from this runbook (everything it names, healthy)")
      ->check(CLI::ExistingFile);
  serve->add_option("--world", opt->world, "The world file (YAML); with --runbook, laid over its world");
  serve->add_option("--listen", opt->listen, "HOST:PORT on loopback; port 0 picks a free one")->capture_default_str();
  serve->add_option("--time-scale", opt->time_scale, "Simulated time per real time, in (0, 1]: 0.01 = 100x faster")
      ->check(CLI::Range(1e-6, 1.0))
      ->capture_default_str();
  serve->callback([opt, &ctx, &run] { run = [opt, &ctx] { return run_sim_serve(*opt, ctx); }; });
}

}  // namespace edgedr
