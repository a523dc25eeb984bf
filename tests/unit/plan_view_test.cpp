#include <doctest/doctest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>

#include "dr/plan_view.h"
#include "test_support.h"

using namespace dr;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

Value str(const std::string& s) {
  return Value::string(s);
}

StepSpec make_step(const std::string& service, const std::string& name, const std::string& action,
                   std::vector<Value::Entry> with) {
  StepSpec s;
  s.service = service;
  s.name = name;
  s.action = action;
  if (service.empty()) {
    s.id = "preflight/" + name;
  } else {
    s.operation = Operation::failover;
    s.id = service + "/failover/" + name;
  }
  s.with = Value::map(std::move(with));
  return s;
}

Service& add_service(Runbook& rb, const std::string& name, std::vector<std::string> depends_on = {}) {
  Service svc;
  svc.name = name;
  svc.depends_on = std::move(depends_on);
  svc.depends_on_pos.resize(svc.depends_on.size());
  rb.service_index[name] = rb.services.size();
  rb.services.push_back(std::move(svc));
  return rb.services.back();
}

// The runbook of runbook-format.md §1, cut down: a preflight check, then historian -> mes -> traffic.
Runbook line3() {
  Runbook rb;
  rb.name = "detroit-line3";
  rb.file = "runbooks/detroit-line3.yaml";
  rb.content_hash = std::string(64, 'a');
  rb.concurrency = 8;
  rb.objectives.rto = 15min;
  rb.objectives.rpo = 5min;
  rb.preflight.push_back(make_step("", "replication-healthy", "site-recovery.check-health",
                                   {{"target", str("recovery")}, {"plan", str("rp-historian")}}));

  auto& historian = add_service(rb, "historian").operations[Operation::failover];
  historian.push_back(
      make_step("historian", "stop-ingest", "agent.run", {{"target", str("plant")}, {"action", str("stop-ingest")}}));
  auto undo = std::make_shared<StepSpec>(make_step("historian", "stop-ingest-undo", "agent.run",
                                                   {{"target", str("plant")}, {"action", str("start-ingest")}}));
  historian.back().undo = {UndoSpec::Kind::explicit_step, undo};
  historian.push_back(make_step("historian", "failover-vms", "site-recovery.failover",
                                {{"target", str("recovery")}, {"plan", str("rp-historian")}}));
  historian.back().timeout = 30min;
  historian.push_back(
      make_step("historian", "healthy", "http.probe", {{"url", str("https://historian.dr.contoso.example/health")}}));
  historian.back().retry.attempts = 20;

  auto& mes = add_service(rb, "mes", {"historian"}).operations[Operation::failover];
  mes.push_back(make_step("mes", "settle", "wait", {{"duration", str("1m30s")}}));
  mes.push_back(make_step("mes", "promote", "exec",
                          {{"command", Value::list({str("/opt/plant/bin/promote"), str("--replica"), str("db2")})}}));
  mes.back().expect = 1500ms;
  mes.push_back(make_step("mes", "approve", "manual.approve", {}));
  mes.back().undo.kind = UndoSpec::Kind::none;

  auto& traffic = add_service(rb, "traffic", {"mes"}).operations[Operation::failover];
  traffic.push_back(make_step("traffic", "disable-endpoint", "traffic-manager.disable-endpoint",
                              {{"target", str("traffic")}, {"endpoint", str("plant-mec")}}));
  traffic.push_back(make_step("traffic", "wait-endpoint", "traffic-manager.wait-endpoint",
                              {{"target", str("traffic")}, {"endpoint", str("eastus2")}, {"status", str("Online")}}));

  // Independent of the chain above: a restore that runs alongside it.
  auto& files = add_service(rb, "files").operations[Operation::failover];
  files.push_back(make_step("files", "restore", "backup.restore",
                            {{"target", str("vault")}, {"item", str("VM;iaasvmcontainerv2;rg-plant;files01")}}));
  return rb;
}

StepGraph graph_of(const Runbook& rb) {
  Diagnostics diag;
  auto g = build_graph(rb, Operation::failover, {}, diag);
  REQUIRE(g);
  return std::move(*g);
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Every schema violation, one per line; empty when the document is valid.
std::string schema_errors(const json& doc) {
  const json schema_doc = json::parse(read_file(test::source_path("schemas/plan.schema.json")));
  valijson::Schema schema;
  valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
  valijson::adapters::NlohmannJsonAdapter schema_adapter(schema_doc);
  parser.populateSchema(schema_adapter, schema);
  valijson::Validator validator;
  valijson::ValidationResults results;
  valijson::adapters::NlohmannJsonAdapter doc_adapter(doc);
  if (validator.validate(schema, doc_adapter, &results)) return {};
  std::string out;
  valijson::ValidationResults::Error error;
  while (results.popError(error)) {
    for (const auto& c : error.context) out += c;
    out += ": " + error.description + "\n";
  }
  return out;
}

}  // namespace

TEST_CASE("the JSON plan parses and validates against schemas/plan.schema.json") {
  const Runbook rb = line3();
  const json doc = json::parse(render_plan_json(rb, graph_of(rb)));
  CHECK(schema_errors(doc) == "");

  // An empty operation and a runbook without objectives are valid documents too.
  Runbook empty = rb;
  empty.objectives = {};
  empty.preflight.clear();
  Diagnostics diag;
  auto g = build_graph(empty, Operation::drill, {}, diag);
  REQUIRE(g);
  const json empty_doc = json::parse(render_plan_json(empty, *g));
  CHECK(schema_errors(empty_doc) == "");
  CHECK(empty_doc["objectives"]["within_rto"].is_null());
  CHECK(empty_doc["critical_path"]["steps"].empty());

  // The schema is strict enough to catch a document that drifts from it.
  json broken = doc;
  broken["nodes"][0]["wave"] = 0;
  CHECK(schema_errors(broken) != "");
  broken = doc;
  broken["surprise"] = true;
  CHECK(schema_errors(broken) != "");
}

TEST_CASE("the JSON plan has the bytes nlohmann's dump(2) gives it, whole or streamed") {
  Runbook rb = line3();
  // Text that needs escaping, non-ASCII text, a control character and fractions of a second.
  auto& odd = add_service(rb, "odd").operations[Operation::failover];
  odd.push_back(make_step("odd", "quote", "exec",
                          {{"command", Value::list({str("say \"hi\"\tand\\bye"), str("café ✓"), str("bell\x07")})}}));
  odd.back().expect = 1250ms;
  odd.back().timeout = 90500ms;
  for (int concurrency : {0, 1}) {
    const std::string whole = render_plan_json(rb, graph_of(rb), {.concurrency = concurrency});
    CHECK(whole == nlohmann::ordered_json::parse(whole).dump(2) + "\n");
    std::ostringstream streamed;
    write_plan_json(streamed, rb, graph_of(rb), {.concurrency = concurrency});
    CHECK(streamed.str() == whole);
  }
  Runbook empty = rb;
  empty.objectives = {};
  empty.preflight.clear();
  Diagnostics diag;
  auto g = build_graph(empty, Operation::drill, {}, diag);
  REQUIRE(g);
  const std::string none = render_plan_json(empty, *g);
  CHECK(none == nlohmann::ordered_json::parse(none).dump(2) + "\n");
}

TEST_CASE("the JSON plan lists nodes so that each comes after everything it depends on") {
  const Runbook rb = line3();
  const StepGraph g = graph_of(rb);
  const json doc = json::parse(render_plan_json(rb, g));
  REQUIRE(doc["nodes"].size() == g.nodes().size());
  std::set<std::string> seen;
  for (const auto& node : doc["nodes"]) {
    for (const auto& dep : node["depends_on"])
      CHECK_MESSAGE(seen.count(dep.get<std::string>()), node["id"] << " before " << dep);
    seen.insert(node["id"].get<std::string>());
  }
  CHECK(doc["nodes"][0]["id"] == "preflight/replication-healthy");
}

TEST_CASE("the JSON plan describes each step, the waves, the critical path and the objectives") {
  const Runbook rb = line3();
  const StepGraph g = graph_of(rb);
  const json doc = json::parse(render_plan_json(rb, g));
  CHECK(doc["format"] == "edgedr.plan/v1");
  CHECK(doc["runbook"] == "detroit-line3");
  CHECK(doc["file"] == "runbooks/detroit-line3.yaml");
  CHECK(doc["operation"] == "failover");
  CHECK(doc["step_count"] == 10);
  CHECK(doc["concurrency"] == 8);

  std::map<std::string, json> by_id;
  for (const auto& node : doc["nodes"]) by_id[node["id"].get<std::string>()] = node;
  const json& stop = by_id["historian/failover/stop-ingest"];
  CHECK(stop["kind"] == "step");
  CHECK(stop["service"] == "historian");
  CHECK(stop["name"] == "stop-ingest");
  CHECK(stop["target"] == "plant: stop-ingest");
  CHECK(stop["wave"] == 2);
  CHECK(stop["undo"] == "explicit:agent.run");
  CHECK(stop["depends_on"] == json::array({"@preflight"}));
  CHECK(by_id["preflight/replication-healthy"]["service"].is_null());
  CHECK(by_id["preflight/replication-healthy"]["wave"] == 1);
  CHECK(by_id["historian/failover/failover-vms"]["timeout_seconds"] == 1800);
  CHECK(by_id["historian/failover/failover-vms"]["expected_seconds"] == 900);
  CHECK(by_id["historian/failover/failover-vms"]["undo"] == "none");
  CHECK(by_id["historian/failover/healthy"]["retry_attempts"] == 20);
  CHECK(by_id["mes/failover/promote"]["expected_seconds"] == 1.5);
  CHECK(by_id["mes/failover/approve"]["undo"] == "none");
  CHECK(by_id["traffic/failover/disable-endpoint"]["undo"] == "builtin:traffic-manager.enable-endpoint");
  CHECK(by_id["@service:historian"]["kind"] == "service-end");
  CHECK(by_id["@service:historian"].size() == 3);  // id, kind, depends_on
  CHECK(by_id["@preflight"]["kind"] == "preflight-end");

  CHECK(doc["waves"][0] == json::array({"preflight/replication-healthy"}));
  CHECK(doc["waves"][1] == json::array({"historian/failover/stop-ingest", "files/failover/restore"}));

  // The restore (45m) outweighs the whole historian -> mes -> traffic chain.
  CHECK(doc["critical_path"]["steps"] == json::array({"preflight/replication-healthy", "files/failover/restore"}));
  CHECK(doc["critical_path"]["expected_seconds"] == 5 + 45 * 60);
  CHECK(by_id["files/failover/restore"]["critical"] == true);
  CHECK(by_id["historian/failover/stop-ingest"]["critical"] == false);
  CHECK(doc["expected_seconds"] == doc["critical_path"]["expected_seconds"]);
  CHECK(doc["objectives"]["rto_seconds"] == 900);
  CHECK(doc["objectives"]["rpo_seconds"] == 300);
  CHECK(doc["objectives"]["within_rto"] == false);
}

TEST_CASE("the text plan shows waves, marks the critical path and says whether the RTO objective is met") {
  Runbook rb = line3();
  const StepGraph g = graph_of(rb);
  const std::string text = render_plan_text(rb, g, {});
  INFO(text);
  CHECK(contains(text, "Plan for detroit-line3: failover, 10 steps in 9 waves (concurrency 8)\n"));
  CHECK(contains(text, "\nWave 1\n  * preflight/replication-healthy "));
  CHECK(contains(text, "\nWave 9\n"));
  CHECK_FALSE(contains(text, "Wave 10"));
  CHECK(contains(text, "    historian/failover/stop-ingest "));  // not critical: no star
  CHECK(contains(text, "  * files/failover/restore "));
  CHECK(contains(text, "Critical path (*), 45m5s: preflight/replication-healthy -> files/failover/restore\n"));
  CHECK(contains(text, "Expected duration: 45m5s; RTO objective: 15m (EXCEEDS by 30m5s)\n"));
  CHECK_FALSE(contains(text, "\x1b["));
  for (const auto& line : {"stop-ingest", "agent.run", "plant: stop-ingest", "1m"}) CHECK(contains(text, line));

  rb.objectives.rto = 1h;
  CHECK(contains(render_plan_text(rb, g, {}), "Expected duration: 45m5s; RTO objective: 1h (within)\n"));
  rb.objectives.rto.reset();
  CHECK(contains(render_plan_text(rb, g, {}), "Expected duration: 45m5s; no RTO objective set\n"));
}

TEST_CASE("the text plan accounts for concurrency and can be coloured") {
  const Runbook rb = line3();
  const StepGraph g = graph_of(rb);
  // One step at a time: every expected duration adds up.
  const std::string serial = render_plan_text(rb, g, {.concurrency = 1});
  INFO(serial);
  CHECK(contains(serial, "(concurrency 1)"));
  CHECK(contains(serial,
                 "With at most 1 step at a time, steps queue and the run takes longer than its critical path.\n"));
  CHECK(contains(serial, "Expected duration: 1h9m43.5s;"));
  CHECK(json::parse(render_plan_json(rb, g, {.concurrency = 1}))["expected_seconds"] == 4183.5);

  const std::string coloured = render_plan_text(rb, g, {.colour = true});
  CHECK(contains(coloured, "\x1b[1mWave 1\x1b[0m"));
  CHECK(contains(coloured, "\x1b[1;31mEXCEEDS by 30m5s\x1b[0m"));
}

TEST_CASE("an operation without steps has a one-line text plan") {
  const Runbook rb = line3();
  Diagnostics diag;
  auto g = build_graph(rb, Operation::backup, {}, diag);
  REQUIRE(g);
  // The preflight step runs before every operation, so a backup plan still has one step.
  CHECK(g->step_count() == 1);

  Runbook bare = rb;
  bare.preflight.clear();
  auto empty = build_graph(bare, Operation::backup, {}, diag);
  REQUIRE(empty);
  CHECK(render_plan_text(bare, *empty, {}) == "Plan for detroit-line3: backup, no steps\n");
}

TEST_CASE("a step's target is described in a few words, per action") {
  const Runbook rb = line3();
  auto target_of = [&](const std::string& id) -> std::string {
    for (const auto& svc : rb.services)
      for (const auto& s : svc.steps(Operation::failover))
        if (s.id == id) return describe_target(s);
    return describe_target(rb.preflight.at(0));
  };
  CHECK(target_of("preflight/replication-healthy") == "recovery: plan rp-historian");
  CHECK(target_of("historian/failover/stop-ingest") == "plant: stop-ingest");
  CHECK(target_of("historian/failover/healthy") == "https://historian.dr.contoso.example/health");
  CHECK(target_of("mes/failover/settle") == "1m30s");
  CHECK(target_of("mes/failover/promote") == "/opt/plant/bin/promote --replica db2");
  CHECK(target_of("mes/failover/approve") == "operator");
  CHECK(target_of("traffic/failover/disable-endpoint") == "traffic/plant-mec");
  CHECK(target_of("files/failover/restore") == "vault: VM;iaasvmcontainerv2;rg-plant;files01");

  CHECK(describe_target(make_step("a", "b", "site-recovery.failover",
                                  {{"target", str("r")}, {"item", str("x/y/z")}})) == "r: item x/y/z");
  CHECK(describe_target(make_step("a", "b", "agent.check", {{"target", str("plant")}})) == "plant: health");
  CHECK(describe_target(make_step("a", "b", "http.probe", {{"url", str("https://x")}, {"method", str("POST")}})) ==
        "POST https://x");
  // A secret is shown as the reference written in the runbook, never resolved.
  CHECK(describe_target(make_step("a", "b", "agent.run", {{"target", str("plant")}, {"action", str("${env.X}")}})) ==
        "plant: ${env.X}");
}

TEST_CASE("the DOT and Mermaid pictures contain every step and mark the critical path") {
  const Runbook rb = line3();
  const StepGraph g = graph_of(rb);
  const std::string dot = render_plan_dot(rb, g);
  const std::string mermaid = render_plan_mermaid(rb, g);
  INFO(dot);
  INFO(mermaid);
  CHECK(dot.rfind("digraph edgedr_plan {\n", 0) == 0);
  CHECK(mermaid.rfind("flowchart TD\n", 0) == 0);
  for (const auto& node : g.nodes()) {
    if (!node.is_step()) continue;
    CHECK(contains(dot, "\"" + node.label + "\" [label=\"" + node.label + "\\n" + node.step->action));
    CHECK(contains(mermaid, "[\"" + node.label + "<br/>" + node.step->action));
  }
  CHECK(contains(dot,
                 "\"files/failover/restore\" [label=\"files/failover/restore\\nbackup.restore  vault: "
                 "VM;iaasvmcontainerv2;rg-plant;files01  45m\", style=\"rounded,bold\""));
  CHECK(contains(dot, "\"@service:historian\" [shape=point"));
  CHECK(contains(dot, "\"historian/failover/healthy\" -> \"@service:historian\";"));

  // Mermaid ids are plain, unique, and the critical path and join nodes get their classes.
  CHECK(contains(mermaid, "n2_historian_failover_stop_ingest[\"historian/failover/stop-ingest<br/>"));
  CHECK(contains(mermaid, "  n0_preflight_replication_healthy --> n1__preflight\n"));
  CHECK(contains(mermaid, "n1__preflight((\" \"))"));
  CHECK(contains(mermaid, "class n0_preflight_replication_healthy,n13_files_failover_restore critical\n"));
}
