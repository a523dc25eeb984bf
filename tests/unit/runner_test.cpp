#include <doctest/doctest.h>

#include <cstdlib>

#include "dr/runner.h"
#include "engine_fakes.h"
#include "unit/test_support.h"

using namespace dr;

TEST_CASE("run_reference names the state directory only when it is not the default") {
  ::setenv("XDG_STATE_HOME", "/var/lib", 1);  // the default state directory: /var/lib/edgedr
  CHECK(run_reference("20261123T092638Z-3fa9c1", "/var/lib/edgedr") == "20261123T092638Z-3fa9c1");
  CHECK(run_reference("20261123T092638Z-3fa9c1", "") == "20261123T092638Z-3fa9c1");
  CHECK(run_reference("20261123T092638Z-3fa9c1", "/tmp/drill-state") ==
        "20261123T092638Z-3fa9c1 --state-dir /tmp/drill-state");
  // Quoted for a shell when it would not survive as one word.
  CHECK(run_reference("R", "/tmp/my state") == "R --state-dir '/tmp/my state'");
  CHECK(run_reference("R", "/tmp/it's") == "R --state-dir '/tmp/it'\\''s'");
  ::unsetenv("XDG_STATE_HOME");
}

TEST_CASE("describe_journal advises with the run reference it is given") {
  std::vector<JournalEvent> events(2);
  events[0].seq = 1;
  events[0].type = "run.started";
  events[0].fields = Value::map({{"run_id", Value::string("R")}, {"operation", Value::string("failover")}});
  events[1].seq = 2;
  events[1].type = "run.paused";
  events[1].fields = Value::map({{"reason", Value::string("step failed")}});
  auto d = describe_journal(events, "R --state-dir /tmp/s");
  CHECK(d.status == "paused");
  CHECK(d.next ==
        "fix the cause, then `edgedr resume R --state-dir /tmp/s` to continue, or `edgedr rollback R "
        "--state-dir /tmp/s` to undo");
  CHECK(describe_journal(events).next.find("`edgedr resume R`") != std::string::npos);
}

TEST_CASE("run_preflight runs the read-only checks before any change, reads changed endpoints, and changes nothing") {
  test::TempDir dir;
  const std::string file = dir.write("rb.yaml", R"(edgedr: 1
name: pf
inputs:
  mode: { default: full }
targets:
  traffic: { traffic-manager: { resource-group: rg, profile: tm } }
preflight:
  - name: gate
    action: http.probe
    with: { url: "https://gate.example/health" }
services:
  app:
    failover:
      - name: before
        action: http.probe
        with: { url: "https://a.example/health" }
      - name: quick-only
        action: http.probe
        with: { url: "https://q.example/health" }
        when: { inputs.mode: quick }
      - name: pause
        action: wait
        with: { duration: 1s }
      - name: switch
        action: traffic-manager.disable-endpoint
        with: { target: traffic, endpoint: plant }
      - name: after
        action: http.probe
        with: { url: "https://b.example/health" }
      - name: uses-output
        action: http.probe
        with: { url: "https://c.example/${steps.app.switch.previous-status}" }
)");
  RunRequest request;
  request.runbook_file = file;
  const Prepared prepared = prepare_run(request, false);
  REQUIRE(prepared.ok());

  FakeClock clock;
  test::ScriptedAction reader(&clock), changer(&clock);
  reader.scripts["app/failover/before"].fail_forever = true;  // a failing check
  reader.scripts["preflight/gate"].pending_polls = 2;         // a check that takes two polls
  ActionRegistry actions;
  const auto reader_ptr = std::shared_ptr<Action>(&reader, [](Action*) {});
  for (const char* name : {"http.probe", "wait", "traffic-manager.wait-endpoint"}) actions.add(name, reader_ptr);
  actions.add("traffic-manager.disable-endpoint", std::shared_ptr<Action>(&changer, [](Action*) {}));

  PreflightContext context;
  context.clock = &clock;
  context.actions = &actions;
  context.setup_checks = [] {
    return std::vector<PreflightCheck>{{"azure credentials", "", "setup", true, "a token"}};
  };
  const PreflightReport report = run_preflight(prepared, context);

  std::vector<std::string> names;
  for (const auto& c : report.checks) names.push_back(c.name + " " + c.kind + " " + (c.passed ? "pass" : "fail"));
  CHECK(names == std::vector<std::string>{"azure credentials setup pass", "preflight/gate check pass",
                                          "app/failover/before check fail", "app/failover/switch exists pass"});
  CHECK_FALSE(report.passed());
  CHECK(report.checks[2].reason == "scripted failure 1");
  CHECK(reader.polls["preflight/gate"] == 2);
  // The endpoint was read (through wait-endpoint) under the changing step's id; nothing changed.
  CHECK(reader.submits["app/failover/switch"] == 1);
  CHECK(changer.submits.empty());
  // Not run: `wait`, a step whose `when:` does not hold, checks after the change.
  CHECK(reader.submits.count("app/failover/pause") == 0);
  CHECK(reader.submits.count("app/failover/quick-only") == 0);
  CHECK(reader.submits.count("app/failover/after") == 0);
  CHECK(reader.submits.count("app/failover/uses-output") == 0);

  // A check at the start that needs another step's output cannot run first, and says so.
  context.inputs["mode"] = "quick";
  const PreflightReport quick = run_preflight(prepared, context);
  CHECK(quick.checks.size() == 5);
  CHECK(reader.submits["app/failover/quick-only"] == 1);
}
