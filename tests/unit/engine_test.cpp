#include <doctest/doctest.h>

#include <algorithm>
#include <random>

#include "actions/action_support.h"
#include "dr/engine.h"
#include "dr/graph.h"
#include "engine_fakes.h"

using namespace dr;
using namespace std::chrono_literals;
using dr::test::MemoryJournal;
using dr::test::Script;
using dr::test::ScriptedAction;

namespace {

// A runbook whose steps all use scripted actions; `body` holds the services.
Runbook make_runbook(const std::string& body, const std::string& head = "") {
  auto r =
      load_runbook_text("rb.yaml", "edgedr: 1\nname: test\n" + head +
                                       "targets:\n  tm: { traffic-manager: { resource-group: rg, profile: p } }\n" +
                                       "services:\n" + body);
  std::string errors;
  for (const auto& d : r.diagnostics.all()) errors += d.str() + "\n";
  INFO(errors);
  REQUIRE(r.runbook);
  return std::move(*r.runbook);
}

// A disable-endpoint step: has a built-in undo, so rollback can be observed.
std::string tm_step(const std::string& name, const std::string& extra = "") {
  return "      - name: " + name + "\n        action: traffic-manager.disable-endpoint\n" +
         "        with: { target: tm, endpoint: " + name + " }\n" + extra;
}

struct Harness {
  FakeClock clock;
  ScriptedAction action{&clock};
  ActionRegistry registry;
  InlineExecutor executor;
  dr::test::NoApprovals approvals;
  std::unique_ptr<MemoryJournal> journal = std::make_unique<MemoryJournal>(clock);
  std::shared_ptr<ScriptedAction> shared{&action, [](ScriptedAction*) {}};
  Runbook rb;
  std::optional<StepGraph> graph;
  EngineOptions opt;

  explicit Harness(Runbook runbook, Operation op = Operation::failover) : rb(std::move(runbook)) {
    for (const auto& name : Catalogue::v1().names()) registry.add(name, shared);
    Diagnostics d;
    graph = build_graph(rb, op, {}, d);
    REQUIRE(graph);
    opt.run_id = "run-1";
    opt.jitter_seed = 7;
    opt.on_failure = rb.on_failure;
    opt.concurrency = rb.concurrency;
  }
  EngineDeps deps() { return {&registry, &clock, &executor, nullptr, &approvals, nullptr}; }
  RunReport run() {
    Engine e(rb, *graph, *journal, deps(), opt);
    return e.run();
  }
  const StepReport& step(const RunReport& r, const std::string& id) {
    auto it = std::find_if(r.steps.begin(), r.steps.end(), [&](const StepReport& s) { return s.id == id; });
    REQUIRE(it != r.steps.end());
    return *it;
  }
  // Index of an event in the journal, or -1.
  int index_of(const std::string& type, const std::string& step) {
    const auto& ev = journal->events();
    for (std::size_t i = 0; i < ev.size(); ++i)
      if (ev[i].type == type && ev[i].fields.find("step") && ev[i].fields.find("step")->as_string() == step)
        return static_cast<int>(i);
    return -1;
  }
};

}  // namespace

TEST_CASE("steps run in dependency order and each intent is journaled before its outcome") {
  Harness h(make_runbook("  a:\n    failover:\n" + tm_step("a1") + tm_step("a2") +
                         "  b:\n    depends-on: [a]\n    failover:\n" + tm_step("b1")));
  auto r = h.run();
  CHECK(r.status == RunStatus::succeeded);
  CHECK(r.exit_code() == 0);
  CHECK(h.action.log ==
        std::vector<std::string>{"submit a/failover/a1", "submit a/failover/a2", "submit b/failover/b1"});
  for (const char* id : {"a/failover/a1", "a/failover/a2", "b/failover/b1"}) {
    CHECK(h.index_of("step.intent", id) >= 0);
    CHECK(h.index_of("step.intent", id) < h.index_of("step.succeeded", id));
  }
  CHECK(h.journal->types().front() == "run.started");
  CHECK(h.journal->types().back() == "run.finished");
}

TEST_CASE("no more steps are in flight than the concurrency allows") {
  std::string body;
  for (int i = 0; i < 20; ++i) body += "  s" + std::to_string(i) + ":\n    failover:\n" + tm_step("x");
  Harness h(make_runbook(body, "concurrency: 3\n"));
  for (int i = 0; i < 20; ++i) h.action.scripts["s" + std::to_string(i) + "/failover/x"].pending_polls = 3;
  auto r = h.run();
  CHECK(r.status == RunStatus::succeeded);
  CHECK(h.action.max_in_flight == 3);
}

TEST_CASE("among ready steps the one with the longest remaining critical path starts first") {
  Harness h(
      make_runbook("  short:\n    failover:\n      - action: wait\n        with: { duration: 1m }\n"
                   "  long:\n    failover:\n      - action: wait\n        with: { duration: 1m }\n"
                   "      - action: wait\n        with: { duration: 10m }\n",
                   "concurrency: 1\n"));
  h.run();
  REQUIRE(!h.action.log.empty());
  CHECK(h.action.log.front() == "submit long/failover/wait");
}

TEST_CASE("a failing step is retried with fixed backoff and succeeds") {
  Harness h(make_runbook("  a:\n    failover:\n" + tm_step("a1", "        retry: { attempts: 3, interval: 20s }\n")));
  h.action.scripts["a/failover/a1"].fail_attempts = 2;
  const auto start = h.clock.now();
  auto r = h.run();
  CHECK(r.status == RunStatus::succeeded);
  CHECK(h.action.submits["a/failover/a1"] == 3);
  CHECK(h.step(r, "a/failover/a1").attempts == 3);
  const auto took = h.clock.now() - start;
  CHECK(took >= 32s);  // two waits of 20 s with jitter in [0.8, 1.2]
  CHECK(took <= 48s);
  // Each attempt has its own intent, before its submit.
  int intents = 0;
  for (const auto& e : h.journal->events()) intents += e.type == "step.intent";
  CHECK(intents == 3);
}

TEST_CASE("exponential backoff doubles the wait, capped by max-interval") {
  Harness h(make_runbook("  a:\n    failover:\n" +
                         tm_step("a1",
                                 "        retry: { attempts: 5, interval: 10s, backoff: exponential, "
                                 "max-interval: 30s }\n        timeout: 1h\n")));
  h.action.scripts["a/failover/a1"].fail_attempts = 4;
  h.run();
  std::vector<std::int64_t> waits;
  for (const auto& e : h.journal->events())
    if (e.type == "step.retry") waits.push_back(e.fields.find("after_ms")->as_int());
  REQUIRE(waits.size() == 4);
  const double expect[] = {10000, 20000, 30000, 30000};
  for (int i = 0; i < 4; ++i) {
    CHECK(waits[i] >= expect[i] * 0.8);
    CHECK(waits[i] <= expect[i] * 1.2);
  }
}

TEST_CASE("a step's timeout holds across its retries") {
  Harness h(make_runbook("  a:\n    failover:\n" +
                         tm_step("a1", "        retry: { attempts: 100, interval: 20s }\n        timeout: 1m\n")));
  h.action.scripts["a/failover/a1"].fail_forever = true;
  const auto start = h.clock.now();
  auto r = h.run();
  CHECK(r.status == RunStatus::rolled_back);
  CHECK(h.action.submits["a/failover/a1"] <= 4);
  CHECK(h.clock.now() - start <= 1min);
}

TEST_CASE("an error that a retry cannot help is tried once") {
  Harness h(make_runbook("  a:\n    failover:\n" + tm_step("a1", "        retry: { attempts: 5, interval: 1s }\n")));
  h.action.scripts["a/failover/a1"].fail_forever = true;
  h.action.scripts["a/failover/a1"].retryable = false;
  h.run();
  CHECK(h.action.submits["a/failover/a1"] == 1);
}

TEST_CASE("a pending step is polled on its handle at the interval it asks for, its handle journaled once") {
  Harness h(make_runbook("  a:\n    failover:\n" + tm_step("a1")));
  h.action.scripts["a/failover/a1"].pending_polls = 4;
  h.action.scripts["a/failover/a1"].poll_after = 30s;
  const auto start = h.clock.now();
  auto r = h.run();
  CHECK(r.status == RunStatus::succeeded);
  CHECK(h.action.submits["a/failover/a1"] == 1);
  CHECK(h.action.polls["a/failover/a1"] == 4);
  CHECK(h.clock.now() - start == 120s);
  int accepted = 0;
  for (const auto& e : h.journal->events()) accepted += e.type == "step.accepted";
  CHECK(accepted == 1);
  CHECK(h.index_of("step.accepted", "a/failover/a1") < h.index_of("step.succeeded", "a/failover/a1"));
}

TEST_CASE("a pending step that outlives its timeout is cancelled and fails") {
  Harness h(make_runbook("  a:\n    failover:\n" + tm_step("a1", "        timeout: 5m\n")));
  h.action.scripts["a/failover/a1"].never_finishes = true;
  h.action.scripts["a/failover/a1"].poll_after = 1min;
  auto r = h.run();
  CHECK(h.step(r, "a/failover/a1").status == "failed");
  CHECK(h.step(r, "a/failover/a1").error == "timed out after 5m");
  CHECK(h.action.cancels["a/failover/a1"] == 1);
}

TEST_CASE("rollback undoes the completed steps in reverse completion order with their captured state") {
  Harness h(make_runbook("  a:\n    failover:\n" + tm_step("a1") + tm_step("a2") + tm_step("a3") + tm_step("a4")));
  h.action.scripts["a/failover/a1"].capture = Value::map({{"endpointStatus", Value::string("Enabled")}});
  h.action.scripts["a/failover/a2"].capture = Value::map({{"priority", Value::integer(3)}});
  h.action.scripts["a/failover/a3"].capture = Value::map({{"priority", Value::integer(7)}});
  h.action.scripts["a/failover/a4"].fail_forever = true;
  auto r = h.run();
  CHECK(r.status == RunStatus::rolled_back);
  CHECK(r.exit_code() == 1);
  const std::vector<std::string> undos(h.action.log.end() - 3, h.action.log.end());
  CHECK(undos == std::vector<std::string>{"submit undo:a/failover/a3", "submit undo:a/failover/a2",
                                          "submit undo:a/failover/a1"});
  CHECK(h.action.undo_captured["a/failover/a2"] == "{priority: 3}");
  CHECK(h.action.undo_captured["a/failover/a1"] == "{endpointStatus: Enabled}");
  CHECK(h.step(r, "a/failover/a1").status == "undone");
  CHECK(h.step(r, "a/failover/a4").status == "failed");
  // The captured state was journaled with the intent, before the step ran.
  const auto& intent = h.journal->events()[static_cast<std::size_t>(h.index_of("step.intent", "a/failover/a2"))];
  CHECK(intent.fields.find("undo")->find("captured")->to_text() == "{priority: 3}");
  CHECK(intent.fields.find("undo")->find("action")->as_string() == "traffic-manager.enable-endpoint");
  for (const char* id : {"a/failover/a1", "a/failover/a2", "a/failover/a3"})
    CHECK(h.index_of("undo.intent", id) < h.index_of("undo.succeeded", id));
}

TEST_CASE("on-failure pause stops without undoing and exits 4") {
  Harness h(make_runbook("  a:\n    failover:\n" + tm_step("a1") + tm_step("a2"), "on-failure: pause\n"));
  h.action.scripts["a/failover/a2"].fail_forever = true;
  auto r = h.run();
  CHECK(r.status == RunStatus::paused);
  CHECK(r.exit_code() == 4);
  CHECK(h.action.submits.count("undo:a/failover/a1") == 0);
  CHECK(h.journal->types().back() == "run.paused");
}

TEST_CASE("in-flight steps finish before the rollback starts, and are undone too") {
  Harness h(make_runbook("  a:\n    failover:\n" + tm_step("a1") + "  b:\n    failover:\n" + tm_step("b1")));
  h.action.scripts["a/failover/a1"].fail_forever = true;
  h.action.scripts["b/failover/b1"].pending_polls = 3;
  auto r = h.run();
  CHECK(r.status == RunStatus::rolled_back);
  CHECK(h.step(r, "b/failover/b1").status == "undone");
  CHECK(h.index_of("step.succeeded", "b/failover/b1") < h.index_of("undo.intent", "b/failover/b1"));
}

TEST_CASE("continue-on-error lets the run go on; a when condition skips a step") {
  Harness h(make_runbook("  a:\n    failover:\n" + tm_step("a1", "        continue-on-error: true\n") +
                             tm_step("a2", "        when: { inputs.mode: planned }\n") + tm_step("a3"),
                         "inputs:\n  mode: { default: unplanned }\n"));
  h.opt.inputs = {{"mode", "unplanned"}};
  h.action.scripts["a/failover/a1"].fail_forever = true;
  auto r = h.run();
  CHECK(r.status == RunStatus::succeeded);
  CHECK(h.step(r, "a/failover/a1").status == "failed");
  CHECK(h.step(r, "a/failover/a2").status == "skipped");
  CHECK(h.step(r, "a/failover/a3").status == "succeeded");
  CHECK(h.action.submits.count("a/failover/a2") == 0);
}

TEST_CASE("a first interrupt stops new starts and rolls back after in-flight steps finish") {
  Harness h(make_runbook("  a:\n    failover:\n" + tm_step("a1") + tm_step("a2")));
  h.action.scripts["a/failover/a1"].pending_polls = 2;
  Engine e(h.rb, *h.graph, *h.journal, h.deps(), h.opt);
  e.interrupt();
  // The interrupt lands before the loop runs: nothing has started, so nothing is undone.
  auto r = e.run();
  CHECK(r.status == RunStatus::rolled_back);
  CHECK(h.action.submits.empty());
}

TEST_CASE("a second interrupt stops at once, journaled, exit 130, with the handle kept for resume") {
  Harness h(make_runbook("  a:\n    failover:\n" + tm_step("a1") + tm_step("a2")));
  h.action.scripts["a/failover/a1"].never_finishes = true;
  h.action.scripts["a/failover/a1"].poll_after = 10s;
  struct Interrupter : EngineObserver {
    Engine* e = nullptr;
    void on_event(const JournalEvent& ev) override {
      if (ev.type == "step.accepted") e->interrupt(), e->interrupt();
    }
  } obs;
  auto deps = h.deps();
  deps.observer = &obs;
  Engine e(h.rb, *h.graph, *h.journal, deps, h.opt);
  obs.e = &e;
  auto r = e.run();
  CHECK(r.status == RunStatus::interrupted);
  CHECK(r.exit_code() == 130);
  CHECK(h.journal->types().back() == "run.interrupted");
}

TEST_CASE("resume polls a journaled handle and never submits that step again") {
  Harness h(make_runbook("  a:\n    failover:\n" + tm_step("a1") + tm_step("a2")));
  h.action.scripts["a/failover/a1"].never_finishes = true;
  struct Interrupter : EngineObserver {
    Engine* e = nullptr;
    void on_event(const JournalEvent& ev) override {
      if (ev.type == "step.accepted") e->interrupt(), e->interrupt();
    }
  } obs;
  auto deps = h.deps();
  deps.observer = &obs;
  {
    Engine e(h.rb, *h.graph, *h.journal, deps, h.opt);
    obs.e = &e;
    CHECK(e.run().status == RunStatus::interrupted);
  }
  h.action.scripts["a/failover/a1"].never_finishes = false;
  h.action.scripts["a/failover/a1"].pending_polls = 1;
  Engine resumed(h.rb, *h.graph, *h.journal, h.deps(), h.opt);
  auto r = resumed.resume();
  CHECK(r.status == RunStatus::succeeded);
  CHECK(h.action.submits["a/failover/a1"] == 1);
  CHECK(h.action.polled_handles["a/failover/a1"] == "{job: a/failover/a1}");
  CHECK(h.action.submits["a/failover/a2"] == 1);
}

TEST_CASE("resume reconciles a step that has only an intent: adopted, not started, or ask an operator") {
  for (auto verdict : {Reconciliation::Verdict::adopted, Reconciliation::Verdict::not_started,
                       Reconciliation::Verdict::operator_needed}) {
    Harness h(make_runbook("  a:\n    failover:\n" + tm_step("a1") + tm_step("a2")));
    // A journal as a crash after a1 succeeded and a2's intent was written would leave it.
    auto& j = *h.journal;
    j.append("run.started", Value::map({{"run_id", Value::string("run-1")}}), true);
    j.append("step.intent", Value::map({{"step", Value::string("a/failover/a1")}, {"attempt", Value::integer(1)}}),
             true);
    j.append("step.succeeded", Value::map({{"step", Value::string("a/failover/a1")}, {"attempt", Value::integer(1)}}),
             true);
    j.append("step.intent", Value::map({{"step", Value::string("a/failover/a2")}, {"attempt", Value::integer(1)}}),
             true);
    h.action.scripts["a/failover/a2"].reconcile = verdict;
    Engine e(h.rb, *h.graph, j, h.deps(), h.opt);
    auto r = e.resume();
    CHECK(h.action.reconciles["a/failover/a2"] == 1);
    CHECK(h.action.submits.count("a/failover/a1") == 0);
    if (verdict == Reconciliation::Verdict::adopted) {
      CHECK(r.status == RunStatus::succeeded);
      CHECK(h.action.submits.count("a/failover/a2") == 0);
      CHECK(h.action.polled_handles["a/failover/a2"] == "{job: adopted}");
    } else if (verdict == Reconciliation::Verdict::not_started) {
      CHECK(r.status == RunStatus::succeeded);
      CHECK(h.action.submits["a/failover/a2"] == 1);
      // The resend has an intent of its own (same attempt), on disk before it is sent.
      std::size_t resend = 0;
      for (std::size_t i = 0; i < j.events().size(); ++i)
        if (j.events()[i].type == "step.intent" && j.events()[i].fields.find("step")->as_string() == "a/failover/a2")
          resend = i;
      REQUIRE(resend > 3);  // not the intent the crash left (event 4)
      CHECK(j.events()[resend].fields.find("resend")->as_bool());
      CHECK(j.events()[resend].fields.find("attempt")->as_int() == 1);
    } else {
      CHECK(r.status == RunStatus::paused);
      CHECK(r.message.find("cannot tell") != std::string::npos);
      CHECK(h.action.submits.count("a/failover/a2") == 0);
    }
  }
}

TEST_CASE("resuming a step that stopped for an operator reconciles it first: adopt its job, else a new attempt") {
  for (auto second : {Reconciliation::Verdict::adopted, Reconciliation::Verdict::operator_needed}) {
    Harness h(make_runbook("  a:\n    failover:\n" + tm_step("a1") + tm_step("a2")));
    auto& j = *h.journal;
    j.append("run.started", Value::map({{"run_id", Value::string("run-1")}}), true);
    j.append("step.intent", Value::map({{"step", Value::string("a/failover/a1")}, {"attempt", Value::integer(1)}}),
             true);
    // A lost answer: nobody can tell whether a1's request arrived, so the run stops (exit 4).
    h.action.scripts["a/failover/a1"].reconcile = Reconciliation::Verdict::operator_needed;
    {
      Engine e(h.rb, *h.graph, j, h.deps(), h.opt);
      CHECK(e.resume().status == RunStatus::paused);
    }
    CHECK(h.action.reconciles["a/failover/a1"] == 1);
    // The operator resumes: the action is asked again before anything is sent.
    h.action.scripts["a/failover/a1"].reconcile = second;
    Engine e(h.rb, *h.graph, j, h.deps(), h.opt);
    auto r = e.resume();
    CHECK(r.status == RunStatus::succeeded);
    CHECK(h.action.reconciles["a/failover/a1"] == 2);
    if (second == Reconciliation::Verdict::adopted) {
      CHECK(h.action.submits.count("a/failover/a1") == 0);  // its job was found: not sent again
      CHECK(h.action.polled_handles["a/failover/a1"] == "{job: adopted}");
    } else {
      CHECK(h.action.submits["a/failover/a1"] == 1);  // told and resumed anyway: a new attempt
      int last_attempt = 0;
      for (const auto& ev : j.events())
        if (ev.type == "step.intent" && ev.fields.find("step")->as_string() == "a/failover/a1")
          last_attempt = static_cast<int>(ev.fields.find("attempt")->as_int());
      CHECK(last_attempt == 2);
    }
    CHECK(h.action.submits["a/failover/a2"] == 1);
  }
}

TEST_CASE("rollback of a paused run undoes what succeeded, and a failed undo stops the rollback") {
  Harness h(
      make_runbook("  a:\n    failover:\n" + tm_step("a1") + tm_step("a2") + tm_step("a3"), "on-failure: pause\n"));
  h.action.scripts["a/failover/a3"].fail_forever = true;
  CHECK(h.run().status == RunStatus::paused);
  h.action.scripts["a/failover/a2"].undo_fails = true;
  Engine e(h.rb, *h.graph, *h.journal, h.deps(), h.opt);
  auto r = e.rollback();
  CHECK(r.status == RunStatus::rollback_incomplete);
  CHECK(r.exit_code() == 4);
  CHECK(h.action.submits["undo:a/failover/a2"] == 1);
  CHECK(h.action.submits.count("undo:a/failover/a1") == 0);  // stopped at the failed undo
  // Fixed by an operator; the rollback continues where it stopped.
  h.action.scripts["a/failover/a2"].undo_fails = false;
  Engine again(h.rb, *h.graph, *h.journal, h.deps(), h.opt);
  auto r2 = again.rollback();
  CHECK(r2.status == RunStatus::rolled_back);
  CHECK(h.action.submits["undo:a/failover/a1"] == 1);
  CHECK(h.action.submits["undo:a/failover/a2"] == 2);
}

TEST_CASE("a journal write error stops the run before its next side effect") {
  Harness h(make_runbook("  a:\n    failover:\n" + tm_step("a1") + tm_step("a2") + tm_step("a3")));
  h.journal->fail_from_ = 4;  // run.started, a1 intent, a1 succeeded; a2's intent fails
  auto r = h.run();
  CHECK(r.status == RunStatus::storage_failed);
  CHECK(r.exit_code() == 4);
  CHECK(h.action.log == std::vector<std::string>{"submit a/failover/a1"});
}

TEST_CASE("thousands of steps run on a fake clock, in the time of the critical path") {
  std::mt19937 rng(1);
  std::string body;
  const int services = 2000;
  for (int i = 0; i < services; ++i) {
    body += "  s" + std::to_string(i) + ":\n";
    if (i > 0) body += "    depends-on: [s" + std::to_string(rng() % i) + "]\n";
    body += "    failover:\n";
    for (int k = 0; k < 3; ++k)
      body += "      - action: wait\n        with: { duration: " + std::to_string(10 + rng() % 190) + "ms }\n";
  }
  Harness h(make_runbook(body, "concurrency: 100000\n"));
  for (int i = 0; i < services; ++i)
    for (const char* n : {"wait", "wait-2", "wait-3"}) {
      auto& s = h.action.scripts["s" + std::to_string(i) + "/failover/" + n];
      s.pending_polls = 1;
      s.poll_after = h.graph->node(h.graph->find("s" + std::to_string(i) + "/failover/" + n)).expected;
    }
  const auto start = h.clock.now();
  auto r = h.run();
  CHECK(r.status == RunStatus::succeeded);
  CHECK(r.steps.size() == 6000);
  // Unbounded concurrency: the makespan is the critical path (each wait polled once, on time).
  CHECK(h.clock.now() - start == h.graph->critical_duration());
}

TEST_CASE("a step that times out carries its action's advice (an approval nobody gave)") {
  Harness h(
      make_runbook("  a:\n    failover:\n      - name: gate\n        action: manual.approve\n"
                   "        with: { message: \"go on\" }\n        timeout: 30s\n"));
  h.registry = ActionRegistry();  // the scripted action for everything but the real manual.approve
  for (const auto& name : Catalogue::v1().names())
    if (name != "manual.approve") h.registry.add(name, h.shared);
  h.registry.add("manual.approve", actions::make_manual_approve_action());
  auto r = h.run();
  CHECK(r.status == RunStatus::rolled_back);
  CHECK(h.step(r, "a/failover/gate").error == "timed out after 30s; nobody approved it; --approve");
}

TEST_CASE("group commit: intents of steps started together share one fsync, which precedes their requests (P1)") {
  std::string body;
  for (int i = 0; i < 6; ++i) body += "  s" + std::to_string(i) + ":\n    failover:\n" + tm_step("x");
  Harness h(make_runbook(body, "concurrency: 6\n"));
  h.action.journal = h.journal.get();
  for (int i = 0; i < 6; ++i) h.action.scripts["s" + std::to_string(i) + "/failover/x"].pending_polls = 2;
  auto r = h.run();
  CHECK(r.status == RunStatus::succeeded);
  CHECK(h.action.submits.size() == 6);
  CHECK(h.action.unsynced_submits.empty());
  // Six intents, six outcomes: far fewer fsyncs than records, and everything on disk at the end.
  CHECK(h.journal->sync_count >= 1);
  CHECK(h.journal->sync_count <= 4);
  CHECK(h.journal->synced() == h.journal->events().size());
}

TEST_CASE("a read-only action is not held back for the journal's fsync; a side effect is") {
  Harness h(make_runbook("  a:\n    failover:\n" + tm_step("a1") + tm_step("a2")));
  h.action.journal = h.journal.get();
  h.action.read_only_calls = true;
  auto r = h.run();
  CHECK(r.status == RunStatus::succeeded);
  CHECK(h.action.submits.size() == 2);
  CHECK(h.action.unsynced_submits.size() == 2);  // sent at once, before any fsync
  Harness fx(make_runbook("  a:\n    failover:\n" + tm_step("a1") + tm_step("a2")));
  fx.action.journal = fx.journal.get();
  fx.run();
  CHECK(fx.action.unsynced_submits.empty());
  CHECK(fx.journal->sync_count >= 2);  // one before each side effect (they are in sequence)
}

TEST_CASE("a storage error at the group fsync sends none of the waiting side effects (P6)") {
  std::string body;
  for (int i = 0; i < 4; ++i) body += "  s" + std::to_string(i) + ":\n    failover:\n" + tm_step("x");
  Harness h(make_runbook(body, "concurrency: 4\n"));
  h.journal->fail_from_ = 3;  // run.started, one intent; the second intent's append fails
  auto r = h.run();
  CHECK(r.status == RunStatus::storage_failed);
  CHECK(h.action.submits.empty());
}

// Drills (runbook-format.md §10): the cleanup is a rollback that always runs.
namespace {
Harness drill_harness(const std::string& head = "") {
  return Harness(make_runbook("  a:\n    drill:\n" + tm_step("a1") + tm_step("a2") + tm_step("a3"),
                              "objectives: { rto: 15m, rpo: 5m }\n" + head),
                 Operation::drill);
}
}  // namespace

TEST_CASE("a drill that passes undoes every step in reverse order and succeeds") {
  Harness h = drill_harness();
  auto r = h.run();
  CHECK(r.status == RunStatus::succeeded);
  CHECK(r.exit_code() == 0);
  const std::vector<std::string> undos(h.action.log.end() - 3, h.action.log.end());
  CHECK(undos ==
        std::vector<std::string>{"submit undo:a/drill/a3", "submit undo:a/drill/a2", "submit undo:a/drill/a1"});
  for (const char* id : {"a/drill/a1", "a/drill/a2", "a/drill/a3"}) CHECK(h.step(r, id).status == "undone");
  const auto& ev = h.journal->events();
  const auto started =
      std::find_if(ev.begin(), ev.end(), [](const JournalEvent& e) { return e.type == "rollback.started"; });
  REQUIRE(started != ev.end());
  CHECK(started->fields.find("cleanup")->as_bool());
  CHECK(started->fields.find("drill_passed")->as_bool());
  CHECK(h.journal->types().back() == "run.finished");
  CHECK(ev.back().fields.find("status")->as_string() == "succeeded");
  // The objectives the drill is scored against are journaled with the run.
  CHECK(ev.front().fields.find("objectives")->to_text() == "{rto_seconds: 900, rpo_seconds: 300}");
}

TEST_CASE("a failed drill cleans up even when the runbook says on-failure: pause") {
  Harness h = drill_harness("on-failure: pause\n");
  h.action.scripts["a/drill/a3"].fail_forever = true;
  auto r = h.run();
  CHECK(r.status == RunStatus::rolled_back);
  CHECK(r.exit_code() == 1);
  CHECK(h.action.submits["undo:a/drill/a1"] == 1);
  CHECK(h.action.submits["undo:a/drill/a2"] == 1);
  CHECK(h.step(r, "a/drill/a3").status == "failed");
  const auto& ev = h.journal->events();
  const auto started =
      std::find_if(ev.begin(), ev.end(), [](const JournalEvent& e) { return e.type == "rollback.started"; });
  REQUIRE(started != ev.end());
  CHECK(started->fields.find("cleanup")->as_bool());
  CHECK_FALSE(started->fields.find("drill_passed")->as_bool());
}

TEST_CASE("a drill stopped at once in the middle of its cleanup finishes the cleanup on resume, each undo once") {
  Harness h = drill_harness();
  h.action.scripts["a/drill/a2"].undo_pending_polls = 3;
  struct Interrupter : EngineObserver {
    Engine* e = nullptr;
    void on_event(const JournalEvent& ev) override {
      if (ev.type == "undo.accepted") e->interrupt(), e->interrupt();
    }
  } obs;
  auto deps = h.deps();
  deps.observer = &obs;
  {
    Engine e(h.rb, *h.graph, *h.journal, deps, h.opt);
    obs.e = &e;
    auto r = e.run();
    CHECK(r.status == RunStatus::interrupted);
  }
  CHECK(h.action.submits.count("undo:a/drill/a1") == 0);
  Engine again(h.rb, *h.graph, *h.journal, h.deps(), h.opt);
  auto r = again.resume();
  CHECK(r.status == RunStatus::succeeded);
  CHECK(h.action.submits["undo:a/drill/a3"] == 1);
  CHECK(h.action.submits["undo:a/drill/a2"] == 1);  // polled on resume, not sent again
  CHECK(h.action.submits["undo:a/drill/a1"] == 1);
  CHECK(h.journal->events().back().fields.find("status")->as_string() == "succeeded");
}

TEST_CASE("a run rolled back because a credential was refused exits 77, because a resource is missing 3") {
  for (auto [cause, code, word] :
       {std::tuple{StepResult::Cause::auth, 77, "auth"}, std::tuple{StepResult::Cause::not_found, 3, "not-found"},
        std::tuple{StepResult::Cause::other, 1, ""}}) {
    Harness h(make_runbook("  a:\n    failover:\n" + tm_step("a1") + tm_step("a2")));
    h.action.scripts["a/failover/a2"].fail_forever = true;
    h.action.scripts["a/failover/a2"].fail_cause = cause;
    auto r = h.run();
    CHECK(r.status == RunStatus::rolled_back);
    CHECK(r.exit_code() == code);
    const auto& failed = h.journal->events()[static_cast<std::size_t>(h.index_of("step.failed", "a/failover/a2"))];
    if (*word)
      CHECK(failed.fields.find("cause")->as_string() == word);
    else
      CHECK(failed.fields.find("cause") == nullptr);
  }
  // Paused or incomplete stays 4: an operator must act first, whatever the cause.
  Harness h(make_runbook("  a:\n    failover:\n" + tm_step("a1"), "on-failure: pause\n"));
  h.action.scripts["a/failover/a1"].fail_forever = true;
  h.action.scripts["a/failover/a1"].fail_cause = StepResult::Cause::auth;
  CHECK(h.run().exit_code() == 4);
}
