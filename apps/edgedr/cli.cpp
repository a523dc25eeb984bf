#include "cli.h"

#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <iostream>

#include "dr/version.h"

namespace edgedr {

Terminal Terminal::detect(const GlobalOptions& g) {
  Terminal t;
  t.stdout_tty = ::isatty(STDOUT_FILENO) == 1;
  t.stderr_tty = ::isatty(STDERR_FILENO) == 1;
  const char* term = std::getenv("TERM");
  const char* no_color = std::getenv("NO_COLOR");
  t.color = t.stderr_tty && !g.no_color && !(no_color && *no_color) && !(term && std::strcmp(term, "dumb") == 0);
  return t;
}

void define_cli(CLI::App& app, Context& ctx, CommandRunner& run) {
  app.set_version_flag("--version", dr::version_line());
  app.require_subcommand(0, 1);
  app.fallthrough();
  auto& g = ctx.global;
  app.add_flag("-v,--verbose", g.verbose, "More detail on stderr")->envname("EDGEDR_VERBOSE");
  app.add_flag("--debug", g.debug, "Everything, including HTTP requests (never secrets)")->envname("EDGEDR_DEBUG");
  app.add_flag("-q,--only-show-errors", g.quiet, "Only errors on stderr")->envname("EDGEDR_ONLY_SHOW_ERRORS");
  app.add_flag("--no-color", g.no_color, "No colour (also NO_COLOR=1 or TERM=dumb)")->envname("EDGEDR_NO_COLOR");
  app.add_option("--log-format", g.log_format, "Log lines on stderr as text or json")
      ->check(CLI::IsMember({"text", "json"}))
      ->envname("EDGEDR_LOG_FORMAT");
  add_validate(app, ctx, run);
  add_plan(app, ctx, run);
  add_run_commands(app, ctx, run);
  add_continue_commands(app, ctx, run);
  add_runs_commands(app, ctx, run);
  add_report(app, ctx, run);
  add_sim_commands(app, ctx, run);
  add_agent_commands(app, ctx, run);
  add_completion(app, ctx, run);
  add_version(app, ctx, run);
}

void print_diagnostics(const dr::Diagnostics& d, const Context& ctx) {
  const bool color = ctx.terminal().color;
  for (const auto& item : d.all()) {
    if (item.severity == dr::Severity::warning && ctx.global.quiet) continue;
    std::string line = item.str();
    if (color) {
      const char* code = item.severity == dr::Severity::error ? "\033[31m" : "\033[33m";
      line = code + line + "\033[0m";
    }
    std::cerr << line << "\n";
  }
}

std::map<std::string, std::string> parse_inputs(const std::vector<std::string>& pairs) {
  std::map<std::string, std::string> out;
  for (const auto& p : pairs) {
    const auto eq = p.find('=');
    if (eq == std::string::npos || eq == 0)
      throw CLI::ValidationError("--input", "expected KEY=VALUE, got '" + p + "'");
    out[p.substr(0, eq)] = p.substr(eq + 1);
  }
  return out;
}

void add_version(CLI::App& app, Context&, CommandRunner& run) {
  auto* cmd = app.add_subcommand("version", "Print the version: edgedr X.Y.Z (git SHA)");
  cmd->callback([&run] {
    run = [] {
      std::cout << dr::version_line() << "\n";
      return 0;
    };
  });
}

}  // namespace edgedr
