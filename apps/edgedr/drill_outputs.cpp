#include "drill_outputs.h"

#include <filesystem>
#include <iostream>

#include "dr/duration.h"
#include "dr/exit_code.h"
#include "dr/report.h"

namespace edgedr {
namespace {

std::string seconds_text(double s) {
  return dr::format_duration(std::chrono::duration_cast<dr::Duration>(std::chrono::duration<double>(s)) / 1000 * 1000);
}

nlohmann::json optional_number(const std::optional<double>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json();
}

// "RTO 12m30s, objective 15m: met; <how it was measured>"
std::string objective_line(const char* name, const std::optional<double>& measured,
                           const std::optional<double>& objective, bool missed, const std::string& how) {
  std::string line = std::string(name) + " " + (measured ? seconds_text(*measured) : std::string("not measured"));
  if (objective)
    line += ", objective " + seconds_text(*objective) + (missed ? ": MISSED" : ": met");
  else
    line += ", no objective";
  if (!how.empty()) line += "; " + how;
  return line;
}

std::string rto_line(const dr::report::Score& s) {
  return objective_line("RTO", s.rto_seconds, s.objectives.rto_seconds, s.rto_missed, s.rto_basis);
}

std::string rpo_line(const dr::report::Score& s) {
  return objective_line("RPO", s.rpo_seconds, s.objectives.rpo_seconds, s.rpo_missed,
                        s.rpo_step.empty() ? std::string() : "reported by " + s.rpo_step);
}

}  // namespace

dr::report::Format report_format(const std::string& path) {
  const std::string ext = std::filesystem::path(path).extension().string();
  if (ext == ".md" || ext == ".markdown") return dr::report::Format::markdown;
  if (ext == ".json") return dr::report::Format::json;
  if (ext == ".xml") return dr::report::Format::junit;
  return dr::report::Format::html;
}

RunEpilogue drill_epilogue(const dr::RunReport& report, const std::string& state_dir, const DrillOutputs& outputs) {
  RunEpilogue e;
  if (report.operation != dr::Operation::drill || report.run_id.empty()) return e;
  dr::SystemClock clock;  // the store only stamps lock files with it; nothing here takes a lock
  auto store = dr::make_local_run_store(state_dir.empty() ? dr::default_state_dir() : state_dir, clock);
  auto record = dr::report::read_run(store->journal_path(report.run_id));
  if (!record) {
    // The run is over either way; without its journal there is no score to give.
    e.lines.push_back("cannot score the drill: " + record.error());
    e.ci_errors.push_back("cannot score the drill: " + record.error());
    if (report.exit_code() == 0) e.exit_code = dr::exit_code::operator_needed;
    return e;
  }
  const dr::report::Score& s = record->score;
  e.lines.push_back(rto_line(s));
  for (const auto& svc : s.services)
    e.lines.push_back("  " + svc.service + ": " +
                      (svc.seconds ? seconds_text(*svc.seconds) : std::string("not measured (a check did not pass)")));
  e.lines.push_back(rpo_line(s));
  if (s.rto_missed) e.ci_errors.push_back(rto_line(s));
  if (s.rpo_missed) e.ci_errors.push_back(rpo_line(s));
  // A failed or incomplete drill keeps its own code (1, 4, 130); a clean one that was too slow,
  // or restored too old a point, is 5.
  if (report.exit_code() == 0 && s.missed()) e.exit_code = dr::exit_code::objective_missed;

  nlohmann::json services = nlohmann::json::array();
  for (const auto& svc : s.services)
    services.push_back({{"service", svc.service}, {"rto_seconds", optional_number(svc.seconds)}});
  e.json["score"] = {{"rto_seconds", optional_number(s.rto_seconds)},
                     {"rto_objective_seconds", optional_number(s.objectives.rto_seconds)},
                     {"rto_missed", s.rto_missed},
                     {"rto_basis", s.rto_basis},
                     {"rpo_seconds", optional_number(s.rpo_seconds)},
                     {"rpo_objective_seconds", optional_number(s.objectives.rpo_seconds)},
                     {"rpo_missed", s.rpo_missed},
                     {"rpo_step", s.rpo_step},
                     {"services", services}};
  e.json["head_hash"] = record->chain.head_hash;

  auto write = [&](const std::string& path, const std::string& content, const char* what) {
    try {
      dr::report::write_file_atomically(path, content);
      e.lines.push_back(std::string(what) + " written to " + path);
    } catch (const std::exception& x) {
      // The drill itself is over and journaled; a CI file that could not be written must still
      // fail the job, or a pipeline would read an old file as this drill's result.
      e.lines.push_back(std::string("cannot write the ") + what + ": " + x.what());
      e.ci_errors.push_back(std::string("cannot write the ") + what + ": " + x.what());
      if (!e.exit_code && report.exit_code() == 0) e.exit_code = dr::exit_code::operator_needed;
    }
  };
  if (!outputs.junit.empty()) write(outputs.junit, dr::report::junit_xml({*record}), "JUnit report");
  if (!outputs.report.empty())
    write(outputs.report, dr::report::render(report_format(outputs.report), {*record}), "report");
  if (!outputs.metrics_file.empty()) {
    const auto history = dr::report::read_history(store->list(), record->runbook, record->operation, record->run_id);
    write(outputs.metrics_file, dr::report::prometheus_metrics(*record, history), "metrics");
  }
  return e;
}

}  // namespace edgedr
