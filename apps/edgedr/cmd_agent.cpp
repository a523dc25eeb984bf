// edgedr agent serve --config FILE [--check]: the on-site agent (docs/agent.md). Serves until
// SIGTERM or SIGINT (graceful: running actions get the grace period); SIGHUP re-reads the token
// files. --check only reads and checks the configuration.
#include <signal.h>

#include <fstream>
#include <iostream>
#include <memory>

#include "cli.h"
#include "dr/agent_server.h"
#include "dr/exit_code.h"

namespace edgedr {
namespace {

struct AgentServeOptions {
  std::string config;
  bool check_only = false;
};

int run_agent_serve(const AgentServeOptions& opt, const Context& ctx) {
  auto config = dr::agent::load_config(opt.config);
  if (!config) {
    print_diagnostics(config.error(), ctx);
    return dr::exit_code::invalid_runbook;  // 78: a configuration error, as for runbooks
  }
  if (opt.check_only) {
    std::cout << opt.config << ": valid (" << config->actions.size() << " actions, " << config->checks.size()
              << " checks)\n";
    return dr::exit_code::ok;
  }
  std::ofstream log_file;
  if (!config->access_log.empty()) {
    log_file.open(config->access_log, std::ios::app);
    if (!log_file) {
      std::cerr << "edgedr agent serve: cannot open the access log " << config->access_log << " (" << opt.config
                << ")\n";
      return dr::exit_code::invalid_runbook;
    }
  }
  std::ostream& access_log = config->access_log.empty() ? std::cerr : log_file;

  // Blocked before any thread starts, so every thread inherits the mask and sigwait below is the
  // only place these arrive (style.md: no work in signal handlers).
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  // A client that hangs up mid-answer must not end the agent.
  signal(SIGPIPE, SIG_IGN);

  dr::SystemClock clock;
  dr::agent::AgentServer server(std::move(*config), clock, access_log);
  auto base = server.start();
  if (!base) {
    std::cerr << "edgedr agent serve: " << base.error() << " (" << opt.config << ")\n";
    return dr::exit_code::invalid_runbook;
  }
  std::cout << *base << "\n" << std::flush;
  if (!ctx.global.quiet) std::cerr << "edgedr agent serve: serving on " << *base << " (" << opt.config << ")\n";
  for (;;) {
    int sig = 0;
    sigwait(&set, &sig);
    if (sig == SIGHUP) {
      const auto problems = server.reload_tokens();
      for (const auto& p : problems) std::cerr << "edgedr agent serve: " << p << "\n";
      if (!ctx.global.quiet) std::cerr << "edgedr agent serve: token files re-read\n";
      continue;
    }
    break;
  }
  if (!ctx.global.quiet) std::cerr << "edgedr agent serve: stopping\n";
  const auto interrupted = server.shutdown();
  if (!ctx.global.quiet)
    std::cerr << "edgedr agent serve: stopped"
              << (interrupted ? " (" + std::to_string(interrupted) + " runs interrupted)" : "") << "\n";
  return dr::exit_code::ok;
}

}  // namespace

void add_agent_commands(CLI::App& app, Context& ctx, CommandRunner& run) {
  auto* agent = app.add_subcommand("agent", "The on-site agent (docs/agent.md)");
  agent->require_subcommand(1);
  auto opt = std::make_shared<AgentServeOptions>();
  auto* serve = agent->add_subcommand("serve", "Serve the allow-listed actions of a site over HTTPS until SIGTERM");
  serve->add_option("--config", opt->config, "The agent configuration file (YAML)")->required();
  serve->add_flag("--check", opt->check_only, "Only check the configuration, then exit (0 valid, 78 invalid)");
  serve->callback([opt, &ctx, &run] { run = [opt, &ctx] { return run_agent_serve(*opt, ctx); }; });
}

}  // namespace edgedr
