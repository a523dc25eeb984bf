#include <doctest/doctest.h>

#include <cstdlib>

#include "dr/runner.h"

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
