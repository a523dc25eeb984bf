#include <doctest/doctest.h>

#include <chrono>
#include <string>

#include "dr/runbook.h"
#include "dr/sha256.h"
#include "test_support.h"

using namespace dr;
using dr::test::TempDir;

namespace {

const char* no_env(const char*) {
  return nullptr;
}
const char* some_env(const char* name) {
  return std::string(name) == "AGENT_TOKEN" ? "s3cr3t-value" : nullptr;
}

LoadResult load(const std::string& text, LoadOptions opt = {}) {
  if (!opt.getenv) opt.getenv = some_env;
  return load_runbook_text("rb.yaml", text, opt);
}

// All diagnostics as one text, for CHECKs that read like the operator's screen.
std::string messages(const LoadResult& r) {
  std::string out;
  for (const auto& d : r.diagnostics.all()) out += d.str() + "\n";
  return out;
}

bool has(const LoadResult& r, const std::string& needle) {
  return messages(r).find(needle) != std::string::npos;
}

const std::string kHeader = R"(edgedr: 1
name: plant
targets:
  traffic: { traffic-manager: { resource-group: rg-dr, profile: tm-line3 } }
  plant: { agent: { url: "https://gw.contoso.example:8443", token: "${env.AGENT_TOKEN}" } }
  recovery: { site-recovery: { resource-group: rg-dr, vault: rsv-dr } }
)";

}  // namespace

TEST_CASE("a valid runbook loads with step ids and default names made unique") {
  auto r = load(kHeader + R"(services:
  historian:
    failover:
      - action: http.probe
        with: { url: "https://historian.example/health" }
      - action: http.probe
        with: { url: "https://historian.example/ready" }
      - name: stop-ingest
        action: agent.run
        with: { target: plant, action: stop-ingest }
        undo: { action: agent.run, with: { target: plant, action: start-ingest } }
)");
  INFO(messages(r));
  REQUIRE(r.runbook);
  const auto& steps = r.runbook->service("historian")->steps(Operation::failover);
  REQUIRE(steps.size() == 3);
  CHECK(steps[0].id == "historian/failover/probe");
  CHECK(steps[1].id == "historian/failover/probe-2");
  CHECK(steps[2].id == "historian/failover/stop-ingest");
  CHECK(steps[2].undo.kind == UndoSpec::Kind::explicit_step);
  CHECK(steps[2].undo.step->action == "agent.run");
  CHECK(steps[0].timeout == std::chrono::minutes(10));
}

TEST_CASE("an unknown key is located and a near key is suggested") {
  auto r = load(kHeader + R"(services:
  historian: {}
  mes:
    depend-on: [historian]
)");
  CHECK_FALSE(r.runbook);
  CHECK(has(r, "rb.yaml:10:5: error: unknown key 'depend-on' in service 'mes' (did you mean 'depends-on'?)"));
}

TEST_CASE("every error in the file is reported in one pass") {
  auto r = load(kHeader + R"(on-failur: rollback
services:
  mes:
    failover:
      - action: wait
        with: { duration: 10 minutes }
      - action: traffic-manager.disable-endpont
        with: { target: traffic, endpoint: plant }
      - action: wait
        timout: 5m
        with: { duration: 5s }
)");
  CHECK_FALSE(r.runbook);
  CHECK(has(r, "unknown key 'on-failur' in the runbook (did you mean 'on-failure'?)"));
  CHECK(has(r,
            "parameter 'duration' of step 'mes/failover/wait': expected a duration such as 90s, 15m or 1h30m, got '10 "
            "minutes'"));
  CHECK(has(r, "unknown action 'traffic-manager.disable-endpont'"));
  CHECK(has(r, "(did you mean 'traffic-manager.disable-endpoint'?)"));
  CHECK(has(r, "unknown key 'timout'"));
  CHECK(r.diagnostics.error_count() == 4);
}

TEST_CASE("schema errors name what was expected") {
  auto r = load(R"(edgedr: 2
name: Detroit_Plant
concurrency: lots
objectives: { rto: 15 }
services:
  mes:
    failover:
      - action: wait
        with: { duration: 1s }
        timeout: 10
        retry: { attempts: 0 }
)");
  INFO(messages(r));
  CHECK(has(r, "rb.yaml:1:9: error: 'edgedr' of the runbook: expected the format version 1"));
  CHECK(has(r, "rb.yaml:2:7: error: 'name' of the runbook: expected a name of lowercase letters"));
  CHECK(has(r, "'concurrency' of the runbook: expected a whole number of steps from 1 to 100000, got 'lots'"));
  CHECK(has(r, "'objectives.rto' of the runbook: expected a duration with a unit"));
  CHECK(has(r, "'timeout' of step 1 of mes/failover: expected a duration"));
  CHECK(has(r, "'retry.attempts' of step 1 of mes/failover: expected a whole number of attempts"));
}

TEST_CASE("a missing required key and a bad service name are reported at their place") {
  auto r = load(R"(edgedr: 1
services:
  MES:
    failover:
      - with: { duration: 1s }
)");
  INFO(messages(r));
  CHECK(has(r, "missing required key 'name' in the runbook"));
  CHECK(has(r, "rb.yaml:3:3: error: bad name 'MES' in 'services' of the runbook"));
  CHECK(has(r, "missing required key 'action' in step 1 of MES/failover"));
}

TEST_CASE("action parameters are checked against the catalogue") {
  auto r = load(kHeader + R"(services:
  mes:
    failover:
      - action: traffic-manager.disable-endpoint
        with: { target: trafic, endpont: plant }
      - action: traffic-manager.set-priority
        with: { target: plant, endpoint: a, priority: 5000 }
      - action: site-recovery.failover
        with: { target: recovery, mode: sideways }
      - action: site-recovery.commit
        with: { target: recovery, plan: rp1, item: x }
)");
  INFO(messages(r));
  CHECK(has(r, "unknown target 'trafic' in step 'mes/failover/disable-endpoint'"));
  CHECK(has(r, "(did you mean 'traffic'?)"));
  CHECK(has(r, "unknown parameter 'endpont' for traffic-manager.disable-endpoint"));
  CHECK(has(r, "missing parameter 'endpoint' for traffic-manager.disable-endpoint"));
  CHECK(has(r, "needs a traffic-manager target, but 'plant' is an agent target"));
  CHECK(has(r, "parameter 'priority' of step 'mes/failover/set-priority': expected a whole number from 1 to 1000"));
  CHECK(has(r, "parameter 'mode' of step 'mes/failover/failover': expected one of planned, unplanned, got 'sideways'"));
  CHECK(has(r, "needs exactly one of 'plan' or 'item', none given"));
  CHECK(has(r, "needs exactly one of 'plan' or 'item', not both"));
}

TEST_CASE("literal secrets are refused without printing them") {
  auto r = load(R"(edgedr: 1
name: plant
targets:
  plant: { agent: { url: "https://gw.example", token: hunter2-literal } }
services:
  mes:
    failover:
      - action: http.probe
        with: { url: "https://x.example", headers: { password: "${inputs.pw}" } }
inputs:
  pw: {}
)");
  INFO(messages(r));
  CHECK(has(r,
            "rb.yaml:4:55: error: 'token' in target 'plant' holds a literal value; secrets must come from ${env.NAME} "
            "or ${file.PATH}"));
  CHECK(has(r, "'password' in step 'mes/failover/probe' holds a literal value"));
  CHECK_FALSE(has(r, "hunter2"));
}

TEST_CASE("interpolation references are checked") {
  auto r = load(kHeader + R"(inputs:
  recovery-point: { default: latest }
services:
  mes:
    failover:
      - action: http.probe
        with: { url: "https://${envs.HOST}/x" }
      - action: http.probe
        with: { url: "https://x.example/${inputs.recovery-pont}" }
      - action: http.probe
        with: { url: "https://x.example/${inputs.recovery-point" }
      - action: http.probe
        with: { url: "https://x.example/$${literal}/${inputs.recovery-point}" }
)");
  INFO(messages(r));
  CHECK(has(r, "unknown reference kind 'envs'"));
  CHECK(has(r, "(did you mean 'env'?)"));
  CHECK(has(r, "uses undeclared input 'recovery-pont'"));
  CHECK(has(r, "(did you mean 'recovery-point'?)"));
  CHECK(has(r, "unclosed '${'"));
  CHECK(r.diagnostics.error_count() == 3);
}

TEST_CASE("an unset environment variable warns for validate and fails at run time") {
  const std::string text = R"(edgedr: 1
name: plant
targets:
  plant: { agent: { url: "https://gw.example", token: "${env.NOT_SET_TOKEN}" } }
services: { mes: {} }
)";
  LoadOptions opt;
  opt.getenv = no_env;
  auto lenient = load(text, opt);
  CHECK(lenient.runbook);
  CHECK(has(lenient, "warning: environment variable NOT_SET_TOKEN is not set"));
  opt.require_secrets = true;
  auto strict = load(text, opt);
  CHECK_FALSE(strict.runbook);
  CHECK(has(strict, "error: environment variable NOT_SET_TOKEN is not set"));
}

TEST_CASE("step outputs must exist, be declared by the action and come from an earlier step") {
  auto r = load(kHeader + R"(services:
  historian:
    failover:
      - name: fo
        action: site-recovery.failover
        with: { target: recovery, plan: rp1 }
  mes:
    failover:
      - action: http.probe
        with: { url: "https://x.example/${steps.historian.fo.job-id}" }
      - action: http.probe
        with: { url: "https://x.example/${steps.historian.fo.jobid}" }
      - action: http.probe
        with: { url: "https://x.example/${steps.mes.later.status}" }
      - name: later
        action: http.probe
        with: { url: "https://x.example/" }
      - action: http.probe
        with: { url: "https://x.example/${steps.histrian.fo.job-id}" }
)");
  INFO(messages(r));
  CHECK(has(r, "site-recovery.failover has no output 'jobid'"));
  CHECK(has(r, "(did you mean 'job-id'?)"));
  CHECK(has(r, "${steps.mes.later.status} in step 'mes/failover/probe-3' refers to a step that has not run yet"));
  CHECK(has(r, "names unknown service 'histrian'"));
  CHECK(r.diagnostics.error_count() == 3);
  auto ok = load(kHeader + R"(services:
  historian:
    failover:
      - name: fo
        action: site-recovery.failover
        with: { target: recovery, plan: rp1 }
  mes:
    failover:
      - action: http.probe
        with: { url: "https://x.example/${steps.historian.fo.job-id}" }
)");
  REQUIRE(ok.runbook);
  const auto& refs = ok.runbook->service("mes")->steps(Operation::failover)[0].step_refs;
  REQUIRE(refs.size() == 1);
  CHECK(refs[0].service == "historian");
  CHECK(refs[0].output == "job-id");
}

TEST_CASE("unknown and self dependencies are errors with suggestions") {
  auto r = load(kHeader + R"(services:
  historian: {}
  mes: { depends-on: [histrian, mes] }
)");
  INFO(messages(r));
  CHECK(has(r, "service 'mes' depends on unknown service 'histrian' (did you mean 'historian'?)"));
  CHECK(has(r, "service 'mes' depends on itself"));
}

TEST_CASE("preflight steps must be read-only") {
  auto r = load(kHeader + R"(preflight:
  - action: traffic-manager.disable-endpoint
    with: { target: traffic, endpoint: plant }
  - action: site-recovery.check-health
    with: { target: recovery, plan: rp1, max-rpo: 5m }
services: { mes: {} }
)");
  CHECK(has(r, "preflight steps must be read-only, but 'traffic-manager.disable-endpoint' changes things"));
  CHECK(r.diagnostics.error_count() == 1);
}

TEST_CASE("inputs given on the command line must be declared and allowed") {
  const std::string text = kHeader + R"(inputs:
  mode: { default: planned, allowed: [planned, unplanned] }
services: { mes: {} }
)";
  LoadOptions opt;
  opt.inputs = {{"mdoe", "planned"}};
  CHECK(has(load(text, opt), "unknown input 'mdoe' (the runbook declares: mode) (did you mean 'mode'?)"));
  opt.inputs = {{"mode", "unplaned"}};
  CHECK(has(load(text, opt), "input 'mode' = 'unplaned' is not allowed (expected one of planned, unplanned)"));
  opt.inputs = {{"mode", "unplanned"}};
  CHECK(load(text, opt).runbook);
}

TEST_CASE("includes share targets; cycles, missing files and double definitions are errors") {
  TempDir dir;
  dir.write("common/targets.yaml", R"(targets:
  traffic: { traffic-manager: { resource-group: rg, profile: tm } }
)");
  const auto main = dir.write("rb.yaml", R"(edgedr: 1
name: plant
include: [common/targets.yaml]
services:
  mes:
    failover:
      - action: traffic-manager.disable-endpoint
        with: { target: traffic, endpoint: plant }
)");
  auto ok = load_runbook(main);
  INFO(messages(ok));
  REQUIRE(ok.runbook);
  CHECK(ok.runbook->target("traffic"));
  CHECK(ok.runbook->content_hash.size() == 64);

  dir.write("a.yaml", "include: [b.yaml]\n");
  dir.write("b.yaml", "include: [a.yaml]\n");
  const auto cyc = dir.write("cyc.yaml", "edgedr: 1\nname: x\ninclude: [a.yaml]\nservices: { s: {} }\n");
  CHECK(has(load_runbook(cyc), "include cycle: a.yaml -> b.yaml -> a.yaml"));

  const auto missing = dir.write("missing.yaml", "edgedr: 1\nname: x\ninclude: [nope.yaml]\nservices: { s: {} }\n");
  CHECK(has(load_runbook(missing), "missing.yaml:3:11: error: cannot read"));

  const auto twice = dir.write("twice.yaml", R"(edgedr: 1
name: x
include: [common/targets.yaml]
targets:
  traffic: { traffic-manager: { resource-group: rg, profile: tm } }
services: { s: {} }
)");
  CHECK(has(load_runbook(twice), "target 'traffic' is defined twice (first at"));

  const auto bad_frag = dir.write("frag-bad.yaml", "services: { s: {} }\n");
  const auto uses_bad =
      dir.write("uses-bad.yaml", "edgedr: 1\nname: x\ninclude: [frag-bad.yaml]\nservices: { s: {} }\n");
  CHECK(has(load_runbook(uses_bad), "frag-bad.yaml:1:1: error: unknown key 'services' in the runbook"));
  (void)bad_frag;
}

TEST_CASE("the content hash of a single file is the SHA-256 of its bytes") {
  TempDir dir;
  const std::string text = kHeader + "services: { mes: {} }\n";
  auto r = load_runbook(dir.write("rb.yaml", text));
  REQUIRE(r.runbook);
  CHECK(r.runbook->content_hash == sha256_hex(text));
}

TEST_CASE("YAML problems are located: syntax, duplicate keys, several documents, empty files") {
  CHECK(has(load("edgedr: 1\nname: [unclosed\n"), "rb.yaml:3:1: error: YAML syntax error"));
  CHECK(has(load("edgedr: 1\nname: a\nname: b\nservices: { s: {} }\n"), "rb.yaml:3:1: error: duplicate key 'name'"));
  CHECK(has(load("edgedr: 1\nname: a\nservices: { s: {} }\n---\nedgedr: 1\n"), "a second YAML document"));
  CHECK(has(load(""), "the file is empty"));
  CHECK(has(load("just text"), "rb.yaml:1:1: error: the runbook: expected a map, got 'just text'"));
  CHECK(has(load("edgedr: 1\nname: a\n? [a, b]\n: c\nservices: { s: {} }\n"), "a map key must be plain text"));
}

TEST_CASE("hostile input gets a clear located error, fast") {
  const auto start = std::chrono::steady_clock::now();
  SUBCASE("NUL byte") {
    CHECK(has(load(std::string("edgedr: 1\nna\0me: x\n", 20)), "rb.yaml:2:3: error: NUL byte"));
  }
  SUBCASE("invalid UTF-8") {
    CHECK(has(load("edgedr: 1\nname: caf\xC3\x28\n"), "rb.yaml:2:10: error: invalid UTF-8 (byte 0xC3)"));
  }
  SUBCASE("overlong UTF-8") {
    CHECK(has(load("name: \xC0\xAF\n"), "invalid UTF-8"));
  }
  SUBCASE("control character") {
    CHECK(has(load("name: a\x07\n"), "control character 0x07"));
  }
  SUBCASE("binary garbage") {
    std::string junk;
    std::mt19937 rng(42);
    for (int i = 0; i < 4096; ++i) junk.push_back(static_cast<char>(rng() & 0xFF));
    auto r = load(junk);
    CHECK_FALSE(r.runbook);
    CHECK(r.diagnostics.error_count() >= 1);
  }
  SUBCASE("alias bomb") {
    std::string bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
    for (char c = 'b'; c <= 'k'; ++c)
      bomb += std::string(1, c) + ": &" + c + " [*" + char(c - 1) + ", *" + char(c - 1) + ", *" + char(c - 1) + ", *" +
              char(c - 1) + ", *" + char(c - 1) + ", *" + char(c - 1) + ", *" + char(c - 1) + ", *" + char(c - 1) +
              ", *" + char(c - 1) + ", *" + char(c - 1) + "]\n";
    CHECK(has(load(bomb), "nodes through aliases (an alias bomb?)"));
  }
  SUBCASE("10,000-deep flow nesting") {
    auto r = load("edgedr: 1\nname: " + std::string(10000, '[') + std::string(10000, ']') + "\n");
    CHECK(has(r, "nesting is deeper than"));
  }
  SUBCASE("10,000-deep block nesting") {
    std::string deep;
    for (int i = 0; i < 10000; ++i) deep += std::string(static_cast<std::size_t>(i % 200), ' ') + "- \n";
    auto r = load(deep);
    CHECK_FALSE(r.runbook);
  }
  SUBCASE("a file over the size limit") {
    std::string big = "edgedr: 1\nname: x\ndescription: \"" + std::string(kMaxRunbookBytes, 'a') + "\"\n";
    CHECK(has(load(big), "a runbook file may be at most 16 MiB"));
  }
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(20));  // a hang guard, not a benchmark
}

TEST_CASE("undo: none drops the built-in inverse, which is otherwise kept") {
  auto r = load(kHeader + R"(services:
  mes:
    failover:
      - action: traffic-manager.disable-endpoint
        with: { target: traffic, endpoint: a }
      - action: traffic-manager.disable-endpoint
        with: { target: traffic, endpoint: b }
        undo: none
      - action: wait
        with: { duration: 1s }
)");
  REQUIRE(r.runbook);
  const auto& s = r.runbook->service("mes")->steps(Operation::failover);
  CHECK(s[0].undo.kind == UndoSpec::Kind::builtin);
  CHECK(s[1].undo.kind == UndoSpec::Kind::none);
  CHECK(s[2].undo.kind == UndoSpec::Kind::none);
}

TEST_CASE("a bad undo value names both accepted forms") {
  auto r = load(kHeader + R"(services:
  mes:
    failover:
      - action: wait
        with: { duration: 1s }
        undo: nothing
      - action: wait
        with: { duration: 1s }
        undo: { action: wait, with: { duration: 1s }, naem: x }
)");
  INFO(messages(r));
  CHECK(has(r, "rb.yaml:12:15: error: the undo of step 1 of mes/failover: expected `none` or an undo step"));
  CHECK(has(r, "unknown key 'naem' in the undo of step 2 of mes/failover"));
  CHECK(r.diagnostics.error_count() == 2);
}

TEST_CASE("integers with a leading zero are decimal, as YAML 1.2 says") {
  auto r = load(kHeader + R"(services:
  mes:
    failover:
      - action: traffic-manager.set-priority
        with: { target: traffic, endpoint: a, priority: 08 }
      - action: traffic-manager.set-priority
        with: { target: traffic, endpoint: b, priority: 0o17 }
)");
  INFO(messages(r));
  REQUIRE(r.runbook);
  const auto& s = r.runbook->service("mes")->steps(Operation::failover);
  CHECK(s[0].with.find("priority")->as_int() == 8);
  CHECK(s[1].with.find("priority")->as_int() == 15);
}

TEST_CASE("an unquoted reference inside a flow map gets a hint") {
  auto r = load("edgedr: 1\nname: x\ntargets:\n  plant: { agent: { url: \"https://x\", token: ${env.T} } }\n");
  CHECK(has(r, "YAML syntax error"));
  CHECK(has(r, "must be quoted, e.g. token: \"${env.TOKEN}\""));
}

TEST_CASE("a step without a timeout gets its action's default, which outlasts the action") {
  auto r = load(kHeader + R"(services:
  historian:
    failover:
      - action: site-recovery.failover
        with: { target: recovery, plan: rp1 }
      - action: wait
        with: { duration: 45m }
      - action: http.probe
        with: { url: "https://x.example" }
      - action: site-recovery.failover
        with: { target: recovery, plan: rp2 }
        timeout: 5m
)");
  INFO(messages(r));
  REQUIRE(r.runbook);
  const auto& s = r.runbook->service("historian")->steps(Operation::failover);
  CHECK(s[0].timeout == std::chrono::hours(1));
  CHECK(s[1].timeout == std::chrono::minutes(55));
  CHECK(s[2].timeout == std::chrono::minutes(10));
  CHECK(s[3].timeout == std::chrono::minutes(5));
  CHECK(
      has(r, "warning: timeout 5m of step 'historian/failover/failover-2' is shorter than its expected duration 15m"));
}

TEST_CASE("preflight steps can be limited to some operations, and only preflight steps") {
  auto r = load(kHeader + R"(preflight:
  - action: site-recovery.check-health
    with: { target: recovery, plan: rp1, max-rpo: 5m }
    operations: [drill, failback]
services:
  mes:
    failover:
      - action: wait
        with: { duration: 1s }
        operations: [drill]
)");
  CHECK(has(r, "'operations' is only for preflight steps (step 'mes/failover/wait')"));
  auto ok = load(kHeader + R"(preflight:
  - action: site-recovery.check-health
    with: { target: recovery, plan: rp1, max-rpo: 5m }
    operations: [drill, failback]
services: { mes: {} }
)");
  REQUIRE(ok.runbook);
  const auto& p = ok.runbook->preflight[0];
  CHECK(p.preflight_applies(Operation::drill));
  CHECK(p.preflight_applies(Operation::failback));
  CHECK_FALSE(p.preflight_applies(Operation::failover));
}

TEST_CASE("the content hash of a runbook with includes does not depend on the working directory") {
  TempDir dir;
  const std::string fragment = "targets:\n  traffic: { traffic-manager: { resource-group: rg, profile: tm } }\n";
  const std::string text = "edgedr: 1\nname: x\ninclude: [common/t.yaml]\nservices: { s: {} }\n";
  dir.write("common/t.yaml", fragment);
  const auto main = dir.write("rb.yaml", text);
  auto absolute = load_runbook(main);
  REQUIRE(absolute.runbook);
  const auto cwd = std::filesystem::current_path();
  std::filesystem::current_path(dir.path());
  auto relative = load_runbook("rb.yaml");
  std::filesystem::current_path(cwd);
  REQUIRE(relative.runbook);
  CHECK(absolute.runbook->content_hash == relative.runbook->content_hash);
  // A sha256sum-style manifest, includes first, paths relative to the runbook.
  CHECK(absolute.runbook->content_hash ==
        sha256_hex(sha256_hex(fragment) + "  common/t.yaml\n" + sha256_hex(text) + "  rb.yaml\n"));
}

TEST_CASE("a large runbook is checked as a small one is: same errors, same order at one place") {
  // The schema says the undo lacks its action and the model builder that a preflight step has
  // nothing to undo: two errors at one place, schema first. Past 256 KiB the schema check runs
  // on a second thread; its errors must still come first.
  const std::string head = kHeader + R"(preflight:
  - action: wait
    with: { duration: 1s }
    undo: { with: {} }
services:
  mes:
    depend-on: [historian]
    failover:
      - action: wait
        with: { duration: 10 minutes }
)";
  std::string padding;
  for (int i = 0; padding.size() < (300u << 10); ++i)
    padding +=
        "  svc-" + std::to_string(i) + ":\n    failover:\n      - action: wait\n        with: { duration: 5s }\n";
  const auto small = load(head);
  const auto large = load(head + padding);
  CHECK(messages(small) == messages(large));
  CHECK(small.diagnostics.error_count() == 4);
  const std::string m = messages(large);
  const auto schema_error = m.find("rb.yaml:10:11: error: missing required key 'action'");
  const auto model_error = m.find("rb.yaml:10:11: error: preflight steps change nothing");
  CHECK(schema_error != std::string::npos);
  CHECK(model_error != std::string::npos);
  CHECK(schema_error < model_error);
}
