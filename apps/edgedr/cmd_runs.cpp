// edgedr runs list|show RUN|verify RUN, edgedr unlock SCOPE --force, edgedr approve RUN STEP-ID.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "dr/exit_code.h"
#include "dr/journal.h"
#include "dr/runner.h"
#include "run_support.h"

namespace edgedr {
namespace {

struct RunsOptions {
  std::string state_dir, run_id, runbook, output = "text", scope, step, as;
  bool force = false;
};

std::string state_dir(const RunsOptions& o) { return o.state_dir.empty() ? dr::default_state_dir() : o.state_dir; }

int runs_list(const RunsOptions& o) {
  dr::SystemClock clock;
  auto store = dr::make_local_run_store(state_dir(o), clock);
  auto runs = store->list();
  if (o.output == "json") {
    auto arr = nlohmann::json::array();
    for (const auto& r : runs)
      if (o.runbook.empty() || r.runbook == o.runbook)
        arr.push_back({{"run_id", r.run_id}, {"runbook", r.runbook}, {"operation", r.operation},
                       {"started", r.started}, {"status", r.status}, {"journal", r.path}});
    std::cout << arr.dump(2) << "\n";
    return 0;
  }
  if (runs.empty()) std::cerr << "no runs in " << state_dir(o) << "\n";
  else std::printf("%-24s %-20s %-9s %-25s %s\n", "RUN", "RUNBOOK", "OPERATION", "STARTED", "STATUS");
  for (const auto& r : runs)
    if (o.runbook.empty() || r.runbook == o.runbook)
      std::printf("%-24s %-20s %-9s %-25s %s\n", r.run_id.c_str(), r.runbook.c_str(), r.operation.c_str(),
                  r.started.c_str(), r.status.c_str());
  return 0;
}

int runs_show(const RunsOptions& o) {
  dr::SystemClock clock;
  auto store = dr::make_local_run_store(state_dir(o), clock);
  const std::string path = store->journal_path(o.run_id);
  if (!std::filesystem::exists(path)) {
    std::cerr << "edgedr: no run " << o.run_id << " in " << state_dir(o) << " (see `edgedr runs list`)\n";
    return dr::exit_code::not_found;
  }
  // Read without repairing (resume repairs a torn tail, show must not change the file): show works
  // on a damaged journal too, up to the damage, and says where the damage is.
  auto verify = dr::verify_journal(path);
  const auto& events = verify.events;
  if (!verify.ok)
    std::cerr << "edgedr: warning: " << path << ":" << verify.bad_line << ": " << verify.problem << "; showing the "
              << events.size() << " whole records before it (see `edgedr runs verify`)\n";
  auto d = dr::describe_journal(events, dr::run_reference(o.run_id, state_dir(o)));
  if (o.output == "json") {
    auto steps = nlohmann::json::array();
    for (const auto& s : d.steps)
      steps.push_back({{"id", s.id}, {"action", s.action}, {"state", s.state}, {"attempts", s.attempts},
                       {"error", s.error}});
    std::cout << nlohmann::json{{"run_id", o.run_id}, {"status", d.status}, {"reason", d.reason}, {"next", d.next},
                                {"chain_ok", verify.ok}, {"head_hash", verify.head_hash}, {"steps", steps}}
                     .dump(2)
              << "\n";
    return 0;
  }
  if (d.started)
    std::printf("run %s: %s of '%s' (%s), started %s by %s on %s\n", o.run_id.c_str(),
                dr::operation_name(d.started->operation), d.started->runbook.c_str(), d.started->file.c_str(),
                d.started->started.c_str(), d.started->user.c_str(), d.started->host.c_str());
  std::printf("status: %s\n", d.status.c_str());
  if (!d.reason.empty()) std::printf("reason: %s\n", d.reason.c_str());
  for (const auto& s : d.steps) {
    std::printf("  %-12s %s [%s]", s.state.c_str(), s.id.c_str(), s.action.c_str());
    if (s.attempts > 1) std::printf(" attempts %d", s.attempts);
    if (!s.error.empty() && s.state != "succeeded") std::printf(": %s", s.error.c_str());
    if (s.state == "in-flight" && !s.handle.empty()) std::printf(" handle %s", s.handle.c_str());
    std::printf("\n");
  }
  for (const auto& a : d.approvals) std::printf("approved: %s\n", a.c_str());
  std::printf("journal: %s (%s, head %s)\n", path.c_str(), verify.ok ? "chain intact" : verify.problem.c_str(),
              verify.head_hash.c_str());
  std::printf("next: %s\n", d.next.c_str());
  return 0;
}

int runs_verify(const RunsOptions& o) {
  dr::SystemClock clock;
  auto store = dr::make_local_run_store(state_dir(o), clock);
  const std::string path = std::filesystem::exists(o.run_id) ? o.run_id : store->journal_path(o.run_id);
  if (!std::filesystem::exists(path)) {
    std::cerr << "edgedr: no run " << o.run_id << " in " << state_dir(o) << "\n";
    return dr::exit_code::not_found;
  }
  auto r = dr::verify_journal(path);
  if (o.output == "json") {
    std::cout << nlohmann::json{{"journal", path}, {"ok", r.ok}, {"lines", r.lines}, {"head_hash", r.head_hash},
                                {"bad_line", r.bad_line}, {"problem", r.problem}}
                     .dump(2)
              << "\n";
  } else if (r.ok) {
    std::printf("%s: %zu lines, hash chain intact\nhead %s\n", path.c_str(), r.lines, r.head_hash.c_str());
  } else {
    std::fprintf(stderr, "%s:%d: %s\n", path.c_str(), r.bad_line, r.problem.c_str());
  }
  // A broken chain is evidence of tampering or damage: a failed check, not a usage error.
  return r.ok ? 0 : 1;
}

int unlock(const RunsOptions& o) {
  dr::SystemClock clock;
  auto locks = dr::make_local_lock_service(state_dir(o), clock);
  auto holder = locks->holder(o.scope);
  if (!o.force) {
    if (holder) std::cerr << "runbook '" << o.scope << "' is locked by " << holder->str() << "\n";
    else std::cerr << "runbook '" << o.scope << "' is not locked\n";
    std::cerr << "edgedr: unlock needs --force (it breaks the lock of a run that may still be going)\n";
    return dr::exit_code::usage;
  }
  auto was = locks->force_unlock(o.scope);
  if (was) std::printf("removed the lock of '%s' held by %s\n", o.scope.c_str(), was->str().c_str());
  else std::printf("runbook '%s' was not locked\n", o.scope.c_str());
  return 0;
}

int approve(const RunsOptions& o) {
  dr::SystemClock clock;
  auto store = dr::make_local_run_store(state_dir(o), clock);
  const std::string dir = store->run_dir(o.run_id);
  if (!std::filesystem::exists(dir)) {
    std::cerr << "edgedr: no run " << o.run_id << " in " << state_dir(o) << "\n";
    return dr::exit_code::not_found;
  }
  const std::string file = approval_file(dir, o.step);
  std::filesystem::create_directories(std::filesystem::path(file).parent_path());
  const std::string tmp = file + ".tmp";
  std::ofstream(tmp) << (o.as.empty() ? current_user() + "@" + current_host() : o.as) << "\n";
  std::filesystem::rename(tmp, file);  // atomic: the run never reads half an approval
  std::printf("approved %s of run %s\n", o.step.c_str(), o.run_id.c_str());
  return 0;
}

}  // namespace

void add_runs_commands(CLI::App& app, Context&, CommandRunner& run) {
  auto opt = std::make_shared<RunsOptions>();
  auto* runs = app.add_subcommand("runs", "The run history in the state directory");
  runs->require_subcommand(1);
  auto state = [&](CLI::App* c) {
    c->add_option("--state-dir", opt->state_dir, "Runs, journals and locks")->envname("EDGEDR_STATE_DIR");
    c->add_option("-o,--output", opt->output, "text or json")->check(CLI::IsMember({"text", "json"}));
  };
  auto* list = runs->add_subcommand("list", "List runs, newest last");
  list->add_option("--runbook", opt->runbook, "Only runs of this runbook");
  state(list);
  list->callback([opt, &run] { run = [opt] { return runs_list(*opt); }; });
  auto* show = runs->add_subcommand("show", "A run's steps, status and what to do next");
  show->add_option("run", opt->run_id, "Run id")->required();
  state(show);
  show->callback([opt, &run] { run = [opt] { return runs_show(*opt); }; });
  auto* verify = runs->add_subcommand("verify", "Check a run journal's hash chain and print its head hash");
  verify->add_option("run", opt->run_id, "Run id or journal file")->required();
  state(verify);
  verify->callback([opt, &run] { run = [opt] { return runs_verify(*opt); }; });

  auto* un = app.add_subcommand("unlock", "Break a runbook's run lock (prints who held it)");
  un->add_option("scope", opt->scope, "Runbook name")->required();
  un->add_flag("--force", opt->force, "Really break it");
  un->add_option("--state-dir", opt->state_dir, "Runs, journals and locks")->envname("EDGEDR_STATE_DIR");
  un->callback([opt, &run] { run = [opt] { return unlock(*opt); }; });

  auto* ap = app.add_subcommand("approve", "Approve a manual.approve step of a running run");
  ap->add_option("run", opt->run_id, "Run id")->required();
  ap->add_option("step", opt->step, "Step id")->required();
  ap->add_option("--as", opt->as, "Who approves (default user@host)");
  ap->add_option("--state-dir", opt->state_dir, "Runs, journals and locks")->envname("EDGEDR_STATE_DIR");
  ap->callback([opt, &run] { run = [opt] { return approve(*opt); }; });
}

}  // namespace edgedr
