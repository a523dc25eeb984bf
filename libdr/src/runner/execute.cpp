// A new run, and the continuation (resume or rollback) of an existing one.
#include <unistd.h>

#include <filesystem>

#include "dr/exit_code.h"
#include "dr/runner.h"

namespace dr {
namespace {

std::string text(const Value& f, std::string_view key) {
  const Value* v = f.find(key);
  return v && v->is_string() ? v->as_string() : std::string{};
}

LockHolder me(const RunContext& ctx, const std::string& run_id) {
  return {ctx.user, ctx.host, static_cast<long>(::getpid()), run_id, format_rfc3339(ctx.clock->wall())};
}

// The runbook's run lock, or null with `result` saying why not: held by another run (75), or a
// state directory that cannot be written (4). `what` says what did not happen ("nothing was
// started").
std::unique_ptr<RunLock> take_lock(const std::string& state_dir, const std::string& runbook, const LockHolder& me,
                                   Duration timeout, const RunContext& ctx, const char* what, RunResult& result) {
  try {
    return make_local_lock_service(state_dir, *ctx.clock)->acquire(runbook, me, timeout);
  } catch (const LockHeld& held) {
    result.exit_code = exit_code::lock_held;
    result.error = held.what();
    result.lock_holder = held.holder;
  } catch (const StorageError& e) {
    result.exit_code = exit_code::operator_needed;
    result.error = "cannot take the run lock under " + state_dir + ": " + e.what() + "; " + what +
                   " (free space or fix the state directory, then try again)";
  }
  return nullptr;
}

// Lets the caller set up what the actions need from the runbook, before any lock or journal
// exists, so a set-up failure leaves nothing behind. False with `result` filled when it failed.
bool set_up(const Runbook& rb, Operation op, const RunContext& ctx, RunResult& result) {
  if (!ctx.on_runbook) return true;
  if (auto error = ctx.on_runbook(rb, op)) {
    result.exit_code = exit_code::invalid_runbook;
    result.error = *error;
    return false;
  }
  return true;
}

// Holds the lock and the journal for as long as the engine runs.
RunResult drive(const Runbook& rb, const StepGraph& graph, RunJournal& journal, EngineOptions options,
                const RunContext& ctx, Continuation* how) {
  EngineDeps deps{ctx.actions, ctx.clock, ctx.executor, ctx.secrets, ctx.approvals, ctx.observer};
  Engine engine(rb, graph, journal, deps, std::move(options));
  if (ctx.on_engine) ctx.on_engine(engine);
  RunResult result;
  result.report = !how ? engine.run() : *how == Continuation::resume ? engine.resume() : engine.rollback();
  result.exit_code = result.report->exit_code();
  return result;
}

}  // namespace

std::optional<StartedRun> read_started(const std::vector<JournalEvent>& events) {
  if (events.empty() || events.front().type != "run.started") return std::nullopt;
  const Value& f = events.front().fields;
  StartedRun s;
  s.run_id = text(f, "run_id");
  s.runbook = text(f, "runbook");
  s.file = text(f, "file");
  s.content_hash = text(f, "content_hash");
  s.user = text(f, "user");
  s.host = text(f, "host");
  s.started = events.front().ts;
  if (const Value* sim = f.find("simulated"); sim && sim->kind() == Value::Kind::boolean) s.simulated = sim->as_bool();
  auto op = parse_operation(text(f, "operation"));
  if (!op) return std::nullopt;
  s.operation = *op;
  if (const Value* in = f.find("inputs"))
    for (const auto& [k, v] : in->entries()) s.inputs[k] = v.to_text();
  if (const Value* o = f.find("options")) {
    if (const Value* c = o->find("concurrency")) s.concurrency = static_cast<int>(c->as_int());
    s.on_failure = text(*o, "on_failure") == "pause" ? OnFailure::pause : OnFailure::rollback;
    if (const Value* only = o->find("only"))
      for (const auto& v : only->items()) s.filter.only.push_back(v.as_string());
    if (const Value* skip = o->find("skip"))
      for (const auto& v : skip->items()) s.filter.skip.push_back(v.as_string());
  }
  return s;
}

RunResult execute_run(const RunRequest& request, const Prepared& prepared, const RunContext& ctx) {
  RunResult result;
  const Runbook& rb = *prepared.runbook;
  const std::string state_dir = request.state_dir.empty() ? default_state_dir() : request.state_dir;
  const std::string run_id = new_run_id(ctx.clock->wall());
  if (!set_up(rb, request.operation, ctx, result)) return result;

  auto lock = take_lock(state_dir, rb.name, me(ctx, run_id), request.lock_timeout, ctx, "nothing was started", result);
  if (!lock) return result;
  auto store = make_local_run_store(state_dir, *ctx.clock);
  std::unique_ptr<RunJournal> journal;
  try {
    journal = store->create(run_id, rb.content_hash);
  } catch (const JournalError& e) {
    result.exit_code = exit_code::operator_needed;
    result.error = std::string("cannot create the run's journal under ") + state_dir + ": " + e.what() +
                   "; nothing was started (free space or fix the state directory, then run again)";
    return result;
  }
  if (ctx.on_run) ctx.on_run(run_id, store->run_dir(run_id));

  EngineOptions opt;
  opt.run_id = run_id;
  opt.run_ref = run_reference(run_id, state_dir);
  opt.concurrency = request.concurrency.value_or(rb.concurrency);
  opt.on_failure = request.on_failure.value_or(rb.on_failure);
  opt.filter = request.filter;
  for (const auto& [name, input] : rb.inputs)
    if (input.default_value) opt.inputs[name] = *input.default_value;
  for (const auto& [k, v] : request.inputs) opt.inputs[k] = v;
  opt.user = ctx.user;
  opt.host = ctx.host;
  opt.simulated = ctx.simulated;
  opt.time_scale = ctx.time_scale;
  opt.scheduling = request.scheduling;
  return drive(rb, *prepared.graph, *journal, std::move(opt), ctx, nullptr);
}

RunResult continue_run(const std::string& state_dir_in, const std::string& run_id, Continuation how,
                       const RunContext& ctx, Duration lock_timeout) {
  RunResult result;
  const std::string state_dir = state_dir_in.empty() ? default_state_dir() : state_dir_in;
  auto store = make_local_run_store(state_dir, *ctx.clock);
  std::unique_ptr<RunJournal> journal;
  try {
    journal = store->open(run_id);
  } catch (const JournalError& e) {
    result.exit_code = 78;
    result.error = e.what();
    return result;
  }
  auto started = read_started(journal->events());
  if (!started) {
    result.exit_code = 78;
    result.error = "run " + run_id + " has no readable run.started event";
    return result;
  }
  // A simulated run's handles name simulated jobs; real Azure has never heard of them, and the
  // other way round. Continue a run against what it ran against.
  if (started->simulated != ctx.simulated) {
    result.exit_code = exit_code::usage;
    result.error =
        started->simulated
            ? "run " + run_id +
                  " ran against the simulator; continue it with --simulator URL (the `edgedr sim serve` it used) or "
                  "--simulate (a fresh simulated world: operations in flight are unknown there)"
            : "run " + run_id + " ran against the real services; continue it without --simulate or --simulator";
    return result;
  }
  RunRequest request;
  request.runbook_file = started->file;
  request.operation = started->operation;
  request.inputs = started->inputs;
  request.filter = started->filter;
  Prepared prepared = prepare_run(request, !ctx.simulated);  // a rehearsal needs no secrets
  if (!prepared.ok()) {
    result.exit_code = 78;
    result.error = "cannot load the runbook of run " + run_id + " (" + started->file + ")";
    for (const auto& d : prepared.diagnostics.all()) result.error += "\n" + d.str();
    return result;
  }
  if (prepared.runbook->content_hash != started->content_hash) {
    result.exit_code = 78;
    result.error = "the runbook " + started->file + " changed since run " + run_id + " started (content hash " +
                   prepared.runbook->content_hash.substr(0, 12) + ", the run has " +
                   started->content_hash.substr(0, 12) + "); resume and rollback need the runbook the run started with";
    return result;
  }
  if (!set_up(*prepared.runbook, started->operation, ctx, result)) return result;
  auto lock = take_lock(state_dir, prepared.runbook->name, me(ctx, run_id), lock_timeout, ctx,
                        "the run was not continued", result);
  if (!lock) return result;
  if (ctx.on_run) ctx.on_run(run_id, store->run_dir(run_id));
  EngineOptions opt;
  opt.run_id = run_id;
  opt.run_ref = run_reference(run_id, state_dir);
  opt.concurrency = started->concurrency > 0 ? started->concurrency : prepared.runbook->concurrency;
  opt.on_failure = started->on_failure;
  opt.filter = started->filter;
  opt.inputs = started->inputs;
  opt.user = ctx.user;
  opt.host = ctx.host;
  opt.simulated = ctx.simulated;
  opt.time_scale = ctx.time_scale;
  return drive(*prepared.runbook, *prepared.graph, *journal, std::move(opt), ctx, &how);
}

}  // namespace dr
