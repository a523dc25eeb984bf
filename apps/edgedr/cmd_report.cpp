// edgedr report [RUN...] [--since 90d] [--runbook NAME] [--operation OP] [--format md|html|json|junit]
// [--output FILE] [--metrics-file FILE]: an audit report from run journals (docs/report.md).
#include <filesystem>
#include <iostream>

#include "cli.h"
#include "dr/clock.h"
#include "dr/exit_code.h"
#include "dr/journal.h"
#include "dr/report.h"

namespace edgedr {
namespace {

struct ReportOptions {
  std::vector<std::string> runs;
  std::string since, runbook, operation, format = "md", output, metrics_file, state_dir;
};

// "90d" (a duration back from now) or an RFC 3339 time; nullopt when it is neither.
std::optional<std::string> since_time(const std::string& since, dr::Clock& clock) {
  if (since.empty()) return std::string{};
  if (auto t = dr::parse_rfc3339(since)) return dr::format_rfc3339(*t);
  if (auto d = dr::parse_duration(since)) return dr::format_rfc3339(clock.wall() - *d);
  return std::nullopt;
}

int report(const ReportOptions& o, const Context& ctx) {
  dr::SystemClock clock;
  const std::string state_dir = o.state_dir.empty() ? dr::default_state_dir() : o.state_dir;
  auto store = dr::make_local_run_store(state_dir, clock);
  const auto format = dr::report::parse_format(o.format);
  const auto since = since_time(o.since, clock);
  if (!format || !since) {
    std::cerr << "edgedr: "
              << (!format ? "--format must be md, html, json or junit"
                          : "--since takes a duration back from now (90d, 12h) or an RFC 3339 time "
                            "(2026-11-01T00:00:00Z), not '" +
                                o.since + "'")
              << "\n";
    return dr::exit_code::usage;
  }

  const dr::report::Selection selection{*since, o.runbook, o.operation};
  std::vector<std::string> paths;
  if (o.runs.empty()) {
    for (const auto& r : dr::report::select_runs(store->list(), selection)) paths.push_back(r.path);
  } else {
    for (const auto& ref : o.runs) {
      std::error_code ec;
      const std::string path = std::filesystem::is_regular_file(ref, ec) ? ref : store->journal_path(ref);
      if (!std::filesystem::is_regular_file(path, ec)) {
        std::cerr << "edgedr: no run " << ref << " in " << state_dir
                  << " and no journal file of that name (see `edgedr runs list`)\n";
        return dr::exit_code::not_found;
      }
      paths.push_back(path);
    }
  }

  // Every journal is verified; a broken one fails the whole report, naming each bad file and
  // line: an audit report never stands on evidence that was changed.
  std::vector<dr::report::RunRecord> records;
  int broken = 0;
  for (const auto& path : paths) {
    auto record = dr::report::read_run(path);
    if (!record) {
      std::cerr << "edgedr: " << record.error() << "\n";
      ++broken;
      continue;
    }
    // Runs named on the command line pass through the same filters as the listed ones.
    const dr::RunSummary summary{record->run_id,  record->runbook, record->operation,
                                 record->started, record->status,  path};
    if (dr::report::select_runs({summary}, selection).empty()) continue;
    if (!ctx.global.quiet)
      std::cerr << "verified " << path << ": " << record->chain.lines << " lines, head " << record->chain.head_hash
                << "\n";
    records.push_back(std::move(*record));
  }
  if (broken) {
    std::cerr << "edgedr: " << broken << " of " << paths.size() << (paths.size() == 1 ? " journal" : " journals")
              << " failed verification; no report written\n";
    return dr::exit_code::invalid_runbook;
  }
  if (records.empty() && !ctx.global.quiet) std::cerr << "edgedr: no runs match in " << state_dir << "\n";

  if (!o.metrics_file.empty() && !records.empty()) {
    // The newest run is the one reported; the others are its history (for the last success).
    // Newest by run id, which is the real start time: a simulated run's events carry simulated
    // time, which runs ahead of the real clock.
    std::size_t newest = 0;
    for (std::size_t i = 1; i < records.size(); ++i)
      if (records[i].run_id > records[newest].run_id) newest = i;
    std::vector<dr::report::RunRecord> history = records;
    history.erase(history.begin() + static_cast<std::ptrdiff_t>(newest));
    try {
      dr::report::write_file_atomically(o.metrics_file, dr::report::prometheus_metrics(records[newest], history));
    } catch (const std::exception& e) {
      std::cerr << "edgedr: " << e.what() << "\n";
      return dr::exit_code::invalid_runbook;
    }
  }

  const std::string text = dr::report::render(*format, records);
  if (o.output.empty() || o.output == "-") {
    std::cout << text;
    return 0;
  }
  try {
    dr::report::write_file_atomically(o.output, text);
  } catch (const std::exception& e) {
    std::cerr << "edgedr: " << e.what() << "\n";
    return dr::exit_code::invalid_runbook;
  }
  if (!ctx.global.quiet) std::cerr << "wrote " << o.output << "\n";
  return 0;
}

}  // namespace

void add_report(CLI::App& app, Context& ctx, CommandRunner& run) {
  auto o = std::make_shared<ReportOptions>();
  auto* cmd = app.add_subcommand("report", "Audit report from run journals; verifies each journal's hash chain");
  cmd->add_option("run", o->runs, "Run ids or journal files (default: every run in the state directory)");
  cmd->add_option("--since", o->since, "Only runs started since: a duration back from now (90d) or an RFC 3339 time");
  cmd->add_option("--runbook", o->runbook, "Only runs of this runbook (name)");
  cmd->add_option("--operation", o->operation, "Only runs of this operation")
      ->check(CLI::IsMember({"failover", "failback", "drill", "backup", "restore"}));
  cmd->add_option("--format", o->format, "md, html, json or junit")
      ->check(CLI::IsMember({"md", "markdown", "html", "json", "junit"}));
  cmd->add_option("--output", o->output, "Write the report to FILE (atomically) instead of stdout");
  cmd->add_option("--metrics-file", o->metrics_file,
                  "Also write Prometheus metrics of the newest run (the others as its history), atomically");
  cmd->add_option("--state-dir", o->state_dir, "Runs, journals and locks")->envname("EDGEDR_STATE_DIR");
  cmd->callback([o, &ctx, &run] { run = [o, &ctx] { return report(*o, ctx); }; });
}

}  // namespace edgedr
