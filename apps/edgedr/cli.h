// What every command file shares: global options, the terminal, and how a command registers.
// Commands only parse flags, call the library and render (style.md): no business logic here.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdio>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "dr/diagnostic.h"

namespace edgedr {

struct GlobalOptions {
  bool verbose = false;
  bool debug = false;
  bool quiet = false;
  bool no_color = false;
  std::string log_format = "text";
};

// The terminal facts that decide colour and live views.
struct Terminal {
  bool stdout_tty = false;
  bool stderr_tty = false;
  bool color = false;  // on a TTY, without NO_COLOR, --no-color or TERM=dumb
  static Terminal detect(const GlobalOptions& g);
};

// Each command adds its subcommand and returns the action that runs it (returning an exit code).
using CommandRunner = std::function<int()>;
struct Context {
  GlobalOptions global;
  Terminal terminal() const { return Terminal::detect(global); }
};

void add_validate(CLI::App& app, Context& ctx, CommandRunner& run);
void add_plan(CLI::App& app, Context& ctx, CommandRunner& run);
void add_completion(CLI::App& app, Context& ctx, CommandRunner& run);
void add_version(CLI::App& app, Context& ctx, CommandRunner& run);
void add_run_commands(CLI::App& app, Context& ctx, CommandRunner& run);
void add_continue_commands(CLI::App& app, Context& ctx, CommandRunner& run);
void add_runs_commands(CLI::App& app, Context& ctx, CommandRunner& run);
void add_sim_commands(CLI::App& app, Context& ctx, CommandRunner& run);
void add_agent_commands(CLI::App& app, Context& ctx, CommandRunner& run);
void add_report(CLI::App& app, Context& ctx, CommandRunner& run);

// The whole command-line definition (used by main and by `completion`).
void define_cli(CLI::App& app, Context& ctx, CommandRunner& run);

// Prints diagnostics to stderr, errors in red on a colour terminal. Warnings are hidden by -q.
void print_diagnostics(const dr::Diagnostics& d, const Context& ctx);

// `--input k=v` pairs; a malformed pair is a usage error (throws CLI::ValidationError).
std::map<std::string, std::string> parse_inputs(const std::vector<std::string>& pairs);

}  // namespace edgedr
