// edgedr: disaster-recovery runbooks for edge sites. See docs/cli.md.
#include <cstdlib>
#include <iostream>

#include "cli.h"
#include "dr/exit_code.h"
#include "dr/journal.h"

int main(int argc, char** argv) {
  CLI::App app{"edgedr: run disaster-recovery runbooks for edge sites", "edgedr"};
  edgedr::Context ctx;
  edgedr::CommandRunner run;
  edgedr::define_cli(app, ctx, run);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // CLI11's own codes are not ours: every parse problem is a usage error (exit 2).
    app.exit(e);
    return dr::exit_code::usage;
  }
  if (!run) {
    std::cerr << app.help();
    return dr::exit_code::usage;
  }
  try {
    return run();
  } catch (const CLI::ValidationError& e) {
    std::cerr << "edgedr: " << e.what() << "\n";
    return dr::exit_code::usage;
  } catch (const dr::StorageError& e) {
    std::cerr << "edgedr: " << e.what() << "\n";
    return dr::exit_code::operator_needed;
  } catch (const dr::JournalError& e) {
    std::cerr << "edgedr: " << e.what() << "\n";
    return dr::exit_code::operator_needed;
  } catch (const std::exception& e) {
    std::cerr << "edgedr: internal error: " << e.what() << "\n";
    return EXIT_FAILURE;
  }
}
