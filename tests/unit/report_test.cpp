#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>

#include "dr/clock.h"
#include "dr/report.h"
#include "test_support.h"

using namespace dr;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

Value str(const std::string& s) {
  return Value::string(s);
}
Value fields(std::vector<Value::Entry> entries) {
  return Value::map(std::move(entries));
}

// Writes a journal through the library's own journal API, with times set by a fake clock in
// seconds from the run's start.
class JournalBuilder {
 public:
  explicit JournalBuilder(std::string runbook = "plant", std::string operation = "drill",
                          std::optional<Value> objectives = std::nullopt)
      : store_(make_local_run_store(dir_.path().string(), clock_)),
        journal_(store_->create(run_id_, std::string(64, 'a'))) {
    std::vector<Value::Entry> f = {{"run_id", str(run_id_)},        {"runbook", str(runbook)},
                                   {"file", str("/rb/plant.yaml")}, {"content_hash", str(std::string(64, 'a'))},
                                   {"operation", str(operation)},   {"user", str("alice")},
                                   {"host", str("gw-01")},          {"simulated", Value::boolean(true)}};
    if (objectives) f.emplace_back("objectives", *objectives);
    journal_->append("run.started", fields(std::move(f)), true);
  }
  JournalBuilder& at(double seconds) {
    const auto target = std::chrono::milliseconds(static_cast<long long>(seconds * 1000));
    clock_.advance(target - elapsed_);
    elapsed_ = target;
    return *this;
  }
  JournalBuilder& event(const std::string& type, std::vector<Value::Entry> f) {
    journal_->append(type, fields(std::move(f)), true);
    return *this;
  }
  // A whole step: intent at `start`, success (with outputs) or final failure at `end`.
  JournalBuilder& step(const std::string& id, const std::string& action, double start, double end, bool ok = true,
                       std::vector<Value::Entry> outputs = {}) {
    at(start).event("step.intent", {{"step", str(id)}, {"action", str(action)}, {"attempt", Value::integer(1)}});
    at(end);
    if (ok)
      return event("step.succeeded", {{"step", str(id)}, {"attempt", Value::integer(1)}, {"outputs", fields(outputs)}});
    return event("step.failed", {{"step", str(id)},
                                 {"attempt", Value::integer(1)},
                                 {"error", str("probe got 503 <Service Unavailable> & gave up")},
                                 {"final", Value::boolean(true)}});
  }
  JournalBuilder& undo(const std::string& id, double start, double end, bool ok = true) {
    at(start).event("undo.intent", {{"step", str(id)}, {"action", str("exec")}, {"attempt", Value::integer(1)}});
    at(end);
    if (ok) return event("undo.succeeded", {{"step", str(id)}, {"attempt", Value::integer(1)}});
    return event("undo.failed", {{"step", str(id)}, {"error", str("no")}, {"final", Value::boolean(true)}});
  }
  JournalBuilder& finish(double at_seconds, const std::string& status) {
    return at(at_seconds).event("run.finished", {{"status", str(status)}, {"seconds", Value::number(at_seconds)}});
  }
  std::string path() const { return store_->journal_path(run_id_); }
  report::RunRecord read() const {
    auto r = report::read_run(path());
    REQUIRE_MESSAGE(r.has_value(), (r ? "" : r.error()));
    return *r;
  }

 private:
  test::TempDir dir_;
  FakeClock clock_;
  std::string run_id_ = "20260101T000000Z-abc123";
  std::unique_ptr<RunStore> store_;
  std::unique_ptr<RunJournal> journal_;
  std::chrono::milliseconds elapsed_{0};
};

Value objectives(std::optional<int> rto, std::optional<int> rpo) {
  std::vector<Value::Entry> e;
  if (rto) e.emplace_back("rto_seconds", Value::integer(*rto));
  if (rpo) e.emplace_back("rpo_seconds", Value::integer(*rpo));
  return fields(std::move(e));
}

// The contract's drill: a test failover that reports its RPO, two services verified, an exec
// step after the last verification, then the guaranteed cleanup.
JournalBuilder& standard_drill(JournalBuilder& j) {
  j.step("historian/drill/test-failover", "site-recovery.test-failover", 0, 300, true, {{"rpo", str("4m10s")}})
      .step("historian/drill/probe", "http.probe", 300, 600)
      .step("mes/drill/check", "agent.check", 310, 720)
      .step("mes/drill/note", "exec", 720, 800)
      .at(800)
      .event("rollback.started", {{"reason", str("drill cleanup")}, {"cleanup", Value::boolean(true)}})
      .undo("historian/drill/test-failover", 801, 980)
      .at(981)
      .event("rollback.finished", {{"status", str("complete")}});
  return j.finish(982, "succeeded");
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

std::string schema_errors(const json& doc) {
  const json schema_doc = json::parse(read_file(test::source_path("schemas/report.schema.json")));
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

TEST_CASE("a drill is scored from run start to its last verification step passing, undos never count") {
  JournalBuilder j("plant", "drill", objectives(900, 300));
  const auto r = standard_drill(j).read();
  CHECK(r.run_id == "20260101T000000Z-abc123");
  CHECK(r.user == "alice");
  CHECK(r.status == "succeeded");
  CHECK(r.chain.ok);
  CHECK(r.chain.lines == 14);
  CHECK(r.chain.head_hash.size() == 64);
  REQUIRE(r.score.rto_seconds);
  CHECK(*r.score.rto_seconds == doctest::Approx(720));  // mes/drill/check; the exec after it and the undo do not count
  CHECK(r.score.rto_basis.find("last verification step") != std::string::npos);
  REQUIRE(r.score.rpo_seconds);
  CHECK(*r.score.rpo_seconds == doctest::Approx(250));
  CHECK(r.score.rpo_step == "historian/drill/test-failover");
  CHECK_FALSE(r.score.missed());
  CHECK(r.succeeded());
  CHECK(r.score.verification_steps == 2);
  REQUIRE(r.score.services.size() == 2);
  CHECK(r.score.services[0].service == "historian");
  CHECK(*r.score.services[0].seconds == doctest::Approx(600));
  CHECK(*r.score.services[1].seconds == doctest::Approx(720));
  REQUIRE(r.steps.size() == 4);
  CHECK(r.steps[0].undone);
  CHECK_FALSE(r.steps[1].undone);
  CHECK(r.steps[1].verification);
  CHECK(r.steps[1].seconds == doctest::Approx(300));
  REQUIRE(r.undos.size() == 1);
  CHECK(r.undos[0].outcome == "succeeded");
  CHECK(r.undos[0].seconds == doctest::Approx(179));
  REQUIRE(r.rollbacks.size() == 1);
  CHECK(r.rollbacks[0].cleanup);
  CHECK(r.rollbacks[0].outcome == "complete");
  CHECK(*r.seconds == doctest::Approx(982));
}

TEST_CASE("an RTO or RPO over its objective is missed, and the run does not count as a success") {
  JournalBuilder j("plant", "drill", objectives(719, 249));
  const auto r = standard_drill(j).read();
  CHECK(r.score.rto_missed);
  CHECK(r.score.rpo_missed);
  CHECK_FALSE(r.succeeded());
  JournalBuilder exact("plant", "drill", objectives(720, 250));
  CHECK_FALSE(standard_drill(exact).read().score.missed());  // equal to the objective is met
}

TEST_CASE(
    "a verification step that fails leaves no RTO, which misses an RTO objective; an unmeasured RPO is not missed") {
  JournalBuilder j("plant", "drill", objectives(900, 300));
  j.step("historian/drill/probe", "http.probe", 0, 100)
      .step("mes/drill/check", "agent.check", 0, 200, false)
      .at(201)
      .event("rollback.started", {{"reason", str("drill cleanup")}, {"cleanup", Value::boolean(true)}})
      .at(202)
      .event("rollback.finished", {{"status", str("complete")}})
      .finish(203, "rolled-back");
  const auto r = j.read();
  CHECK_FALSE(r.score.rto_seconds);
  CHECK(r.score.rto_missed);
  CHECK(r.score.rto_basis.find("1 of 2 verification steps did not pass") != std::string::npos);
  CHECK_FALSE(r.score.rpo_seconds);
  CHECK_FALSE(r.score.rpo_missed);
  CHECK(r.status == "rolled-back");
  REQUIRE(r.score.services.size() == 2);
  CHECK(r.score.services[0].seconds);
  CHECK_FALSE(r.score.services[1].seconds);
  CHECK(r.steps[1].outcome == "failed");
  CHECK(r.steps[1].error.find("503") != std::string::npos);
}

TEST_CASE("without a verification step the RTO is the last forward step that succeeded, and says so") {
  JournalBuilder j("plant", "failover");
  j.step("a/failover/one", "exec", 0, 10)
      .step("b/failover/two", "wait", 10, 42)
      .at(43)
      .event("rollback.started", {{"reason", str("asked")}})
      .undo("a/failover/one", 44, 90)
      .finish(91, "succeeded");
  const auto r = j.read();
  REQUIRE(r.score.rto_seconds);
  CHECK(*r.score.rto_seconds == doctest::Approx(42));
  CHECK(r.score.rto_basis.find("no verification step") != std::string::npos);
  CHECK_FALSE(r.score.objectives.rto_seconds);  // an old journal: no objectives, nothing missed
  CHECK_FALSE(r.score.missed());
  CHECK_FALSE(r.rollbacks[0].cleanup);
  CHECK(r.rollbacks[0].outcome == "unfinished");
}

TEST_CASE("a retried step keeps its attempts and last error; skipped steps and approvals are recorded") {
  JournalBuilder j("plant", "failover");
  j.at(0)
      .event("step.intent", {{"step", str("a/failover/x")}, {"action", str("exec")}, {"attempt", Value::integer(1)}})
      .at(5)
      .event("step.failed", {{"step", str("a/failover/x")}, {"error", str("busy")}, {"final", Value::boolean(false)}})
      .event("step.intent", {{"step", str("a/failover/x")}, {"action", str("exec")}, {"attempt", Value::integer(2)}})
      .at(9)
      .event("step.succeeded", {{"step", str("a/failover/x")}, {"outputs", fields({})}})
      .event("step.skipped", {{"step", str("b/failover/y")}, {"reason", str("when: false")}})
      .event("approval.requested", {{"step", str("c/failover/ok")}, {"message", str("go?")}})
      .at(12)
      .event("approval.granted", {{"step", str("c/failover/ok")}, {"by", str("bob@gw")}})
      .finish(13, "succeeded");
  const auto r = j.read();
  REQUIRE(r.steps.size() == 2);
  CHECK(r.steps[0].outcome == "succeeded");
  CHECK(r.steps[0].attempts == 2);
  CHECK(r.steps[0].error == "busy");
  CHECK(r.steps[0].seconds == doctest::Approx(9));
  CHECK(r.steps[1].outcome == "skipped");
  CHECK(r.steps[1].skip_reason == "when: false");
  REQUIRE(r.approvals.size() == 1);
  CHECK(r.approvals[0].by == "bob@gw");
  CHECK(r.approvals[0].message == "go?");
  CHECK(r.approvals[0].granted.substr(17, 2) == "12");
}

TEST_CASE("the critical path walks back from the last step to finish through the latest finisher before each start") {
  JournalBuilder j("plant", "failover");
  j.at(0)
      .event("step.intent", {{"step", str("a/failover/long")}, {"action", str("exec")}})
      .event("step.intent", {{"step", str("b/failover/short")}, {"action", str("exec")}})
      .at(5)
      .event("step.succeeded", {{"step", str("b/failover/short")}})
      .at(6)
      .event("step.intent", {{"step", str("b/failover/side")}, {"action", str("exec")}})
      .at(10)
      .event("step.succeeded", {{"step", str("a/failover/long")}})
      .event("step.intent", {{"step", str("c/failover/last")}, {"action", str("exec")}})
      .at(12)
      .event("step.succeeded", {{"step", str("b/failover/side")}})
      .at(20)
      .event("step.succeeded", {{"step", str("c/failover/last")}})
      .finish(20, "succeeded");
  const auto r = j.read();
  CHECK(report::critical_path(r) == std::vector<std::string>{"a/failover/long", "c/failover/last"});
  CHECK(r.steps[0].critical);
  CHECK_FALSE(r.steps[1].critical);
}

TEST_CASE("a journal edited in a middle line is refused, naming the file and the line") {
  JournalBuilder j("plant", "drill", objectives(900, 300));
  standard_drill(j);
  std::string text = read_file(j.path());
  // Line 3: change one byte of its step id.
  std::size_t pos = 0;
  for (int line = 1; line < 3; ++line) pos = text.find('\n', pos) + 1;
  const std::size_t at = text.find("historian", pos);
  REQUIRE(at < text.find('\n', pos));
  text[at] = 'H';
  std::ofstream(j.path(), std::ios::binary | std::ios::trunc) << text;
  auto r = report::read_run(j.path());
  REQUIRE_FALSE(r.has_value());
  CHECK(contains(r.error(), j.path() + ":3: line 3: "));
  CHECK(contains(r.error(), "changed"));
  CHECK_FALSE(report::read_run(j.path() + ".missing").has_value());
}

TEST_CASE("JUnit: a suite per run, a case per forward step, the objectives case, properties, escaped text") {
  JournalBuilder ok("plant", "drill", objectives(900, 300));
  JournalBuilder bad("plant", "drill", objectives(900, 300));
  bad.step("historian/drill/probe", "http.probe", 0, 100, false).finish(101, "rolled-back");
  const auto a = standard_drill(ok).read();
  const auto b = bad.read();
  const std::string x = report::junit_xml({a, b});
  CHECK(x.rfind("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"edgedr\" tests=\"8\" failures=\"2\"",
                0) == 0);
  CHECK(contains(x, "<testcase classname=\"edgedr.plant.drill\" name=\"historian/drill/probe\" time=\"300\"/>"));
  CHECK(contains(x, "<property name=\"head_hash\" value=\"" + a.chain.head_hash + "\"/>"));
  CHECK(contains(x, "<property name=\"content_hash\" value=\"" + std::string(64, 'a') + "\"/>"));
  CHECK(contains(x, "<property name=\"run_id\" value=\"20260101T000000Z-abc123\"/>"));
  CHECK(contains(x, "message=\"probe got 503 &lt;Service Unavailable&gt; &amp; gave up\""));
  CHECK(contains(x, "name=\"objectives\""));
  CHECK(contains(x, "type=\"objective-missed\" message=\"RTO objective missed\""));
  CHECK(contains(x, "<testcase classname=\"edgedr.plant.drill\" name=\"rollback\""));
  CHECK_FALSE(contains(x, "<failure type=\"step-failed\" message=\"probe got 503 <"));
}

TEST_CASE("Prometheus metrics: every family with HELP and TYPE, labels escaped, last success from history") {
  JournalBuilder j("plant", "drill", objectives(900, 300));
  auto run = standard_drill(j).read();
  const std::string m = report::prometheus_metrics(run, {});
  CHECK(contains(m, "# HELP edgedr_drill_rto_seconds "));
  CHECK(contains(m, "# TYPE edgedr_drill_rto_seconds gauge\n"));
  CHECK(contains(m, "edgedr_drill_rto_seconds{runbook=\"plant\"} 720\n"));
  CHECK(contains(m, "edgedr_drill_rto_objective_seconds{runbook=\"plant\"} 900\n"));
  CHECK(contains(m, "edgedr_drill_rpo_seconds{runbook=\"plant\"} 250\n"));
  CHECK(contains(m, "edgedr_drill_success{runbook=\"plant\"} 1\n"));
  // FakeClock starts at 2026-01-01T00:00:00Z = 1767225600; the run finished 982 s later.
  CHECK(contains(m, "edgedr_drill_last_run_timestamp_seconds{runbook=\"plant\"} 1767226582\n"));
  CHECK(contains(m, "edgedr_drill_last_success_timestamp_seconds{runbook=\"plant\"} 1767226582\n"));
  CHECK(contains(m, "edgedr_step_duration_seconds{runbook=\"plant\",step=\"historian/drill/probe\"} 300\n"));

  // A failed run: success 0, no RTO sample, the last success from an earlier run of the runbook.
  auto failed = run;
  failed.status = "rolled-back";
  failed.finished = "2026-02-01T00:00:00.000Z";
  failed.score.rto_seconds.reset();
  failed.runbook = "we\"ird\\run\nbook";
  auto earlier = run;
  earlier.runbook = failed.runbook;
  earlier.finished = "2026-01-15T00:00:00.500Z";
  auto other_runbook = run;
  other_runbook.finished = "2026-01-20T00:00:00.000Z";
  const std::string f = report::prometheus_metrics(failed, {earlier, other_runbook});
  CHECK(contains(f, "edgedr_drill_success{runbook=\"we\\\"ird\\\\run\\nbook\"} 0\n"));
  CHECK(contains(f, "edgedr_drill_last_success_timestamp_seconds{runbook=\"we\\\"ird\\\\run\\nbook\"} 1768435200.5\n"));
  CHECK_FALSE(contains(f, "edgedr_drill_rto_seconds{"));
  CHECK(report::prometheus_metrics(failed, {})
            .find("last_success_timestamp_seconds{runbook=\"we\\\"ird\\\\run\\nbook\"} 0\n") != std::string::npos);
}

TEST_CASE("the JSON report validates against schemas/report.schema.json and keeps unmeasured values null") {
  JournalBuilder ok("plant", "drill", objectives(900, 300));
  JournalBuilder bad("plant", "drill");
  bad.step("historian/drill/probe", "http.probe", 0, 100, false).finish(101, "rolled-back");
  const json doc = json::parse(report::json({standard_drill(ok).read(), bad.read()}));
  CHECK(schema_errors(doc) == "");
  CHECK(doc["format"] == "edgedr.report/v1");
  CHECK(doc["runs"][0]["score"]["rto_seconds"] == 720);
  CHECK(doc["runs"][1]["score"]["rto_seconds"].is_null());
  CHECK(doc["runs"][1]["objectives"]["rto_seconds"].is_null());
  CHECK(doc["trends"].size() == 1);
  CHECK(doc["trends"][0]["points"].size() == 2);
  json broken = doc;
  broken["runs"][0]["surprise"] = 1;
  CHECK(schema_errors(broken) != "");
  CHECK(schema_errors(json::parse(report::json({}))) == "");
}

TEST_CASE("Markdown and HTML show who ran what with which runbook, every step, and escape all text") {
  JournalBuilder ok("plant", "drill", objectives(900, 300));
  JournalBuilder bad("plant", "drill", objectives(900, 300));
  bad.step("historian/drill/probe", "http.probe", 0, 100, false).finish(101, "rolled-back");
  const std::vector<report::RunRecord> runs = {standard_drill(ok).read(), bad.read()};
  const std::string md = report::markdown(runs);
  CHECK(contains(md, "alice on gw-01"));
  CHECK(contains(md, std::string(64, 'a')));
  CHECK(contains(md, runs[0].chain.head_hash));
  CHECK(contains(md, "historian/drill/test-failover"));
  CHECK(contains(md, "RTO: 12m, met (objective 15m)"));
  CHECK(contains(md, "**missed**"));
  CHECK(contains(md, "## RTO trend"));
  CHECK(contains(md, "\\<Service Unavailable\\>"));

  const std::string h = report::html(runs);
  CHECK(h.rfind("<!DOCTYPE html>", 0) == 0);
  CHECK(contains(h, "@media print"));
  CHECK(contains(h, "<svg class=\"timeline\" id=\"timeline-0\""));
  CHECK(contains(h, "<svg class=\"trend\" id=\"trend-0\""));
  CHECK(contains(h, "class=\"bar undo\""));
  CHECK(contains(h, "bar ok critical"));
  CHECK(contains(h, "class=\"objective\""));
  CHECK(contains(h, "&lt;Service Unavailable&gt; &amp; gave up"));
  CHECK_FALSE(contains(h, "<Service"));
  CHECK_FALSE(contains(h, "<script"));
  CHECK_FALSE(contains(h, "<link"));  // self-contained: no external stylesheet, image or script
  CHECK_FALSE(contains(h, " src="));
  CHECK(report::render(report::Format::html, runs) == h);
}

TEST_CASE("selection by runbook, operation and start time; format names") {
  const std::vector<RunSummary> all = {{"1", "plant", "drill", "2026-01-01T00:00:00.000Z", "succeeded", "/a"},
                                       {"2", "plant", "failover", "2026-02-01T00:00:00.000Z", "succeeded", "/b"},
                                       {"3", "store", "drill", "2026-03-01T00:00:00.000Z", "succeeded", "/c"}};
  CHECK(report::select_runs(all, {}).size() == 3);
  CHECK(report::select_runs(all, {"", "plant", ""}).size() == 2);
  CHECK(report::select_runs(all, {"", "", "drill"}).size() == 2);
  const auto since = report::select_runs(all, {"2026-02-01T00:00:00.000Z", "", ""});
  REQUIRE(since.size() == 2);
  CHECK(since[0].run_id == "2");
  CHECK(report::parse_format("md") == report::Format::markdown);
  CHECK(report::parse_format("junit") == report::Format::junit);
  CHECK_FALSE(report::parse_format("pdf"));
}

TEST_CASE("write_file_atomically replaces the file whole and names the path when it cannot") {
  test::TempDir dir;
  const std::string path = dir.file("metrics.prom");
  report::write_file_atomically(path, "one\n");
  report::write_file_atomically(path, "two\n");
  CHECK(read_file(path) == "two\n");
  CHECK((std::filesystem::status(path).permissions() & std::filesystem::perms::others_read) !=
        std::filesystem::perms::none);
  std::size_t files = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path())) ++files;
  CHECK(files == 1);  // no temporary file left behind
  const std::string missing = dir.file("no-such-dir/metrics.prom");
  try {
    report::write_file_atomically(missing, "x");
    FAIL("expected an error");
  } catch (const std::runtime_error& e) {
    CHECK(contains(e.what(), missing));
  }
}

TEST_CASE("read_history reads the earlier runs of one runbook and operation and reports the unreadable ones") {
  JournalBuilder a("plant", "drill", objectives(900, 300));
  JournalBuilder b("plant", "failover");
  standard_drill(a);
  b.finish(1, "succeeded");
  const std::vector<RunSummary> listing = {
      {"r1", "plant", "drill", "2026-01-01T00:00:00.000Z", "succeeded", a.path()},
      {"r2", "plant", "failover", "2026-01-01T00:00:00.000Z", "succeeded", b.path()},
      {"r3", "plant", "drill", "2026-01-02T00:00:00.000Z", "succeeded", a.path() + ".gone"},
      {"r4", "plant", "drill", "2026-01-03T00:00:00.000Z", "running", a.path()},
  };
  std::vector<std::string> problems;
  const auto history = report::read_history(listing, "plant", "drill", "r4", &problems);
  REQUIRE(history.size() == 1);
  CHECK(history[0].score.rto_seconds == 720);
  REQUIRE(problems.size() == 1);
  CHECK(contains(problems[0], ".gone"));
  CHECK(report::prometheus_metrics(history[0], history).find("edgedr_drill_success{runbook=\"plant\"} 1") !=
        std::string::npos);
}

TEST_CASE("a drill whose cleanup did not complete reads rollback-incomplete, and JUnit fails its rollback case") {
  JournalBuilder j("plant", "drill", objectives(900, std::nullopt));
  j.step("historian/drill/test-failover", "site-recovery.test-failover", 0, 300)
      .step("historian/drill/probe", "http.probe", 300, 400)
      .at(401)
      .event("rollback.started", {{"reason", str("drill cleanup")}, {"cleanup", Value::boolean(true)}})
      .undo("historian/drill/test-failover", 402, 500, false)
      .at(501)
      .event("rollback.finished", {{"status", str("incomplete")}})
      .event("run.paused", {{"reason", str("the cleanup of historian/drill/test-failover failed")}});
  const auto r = j.read();
  CHECK(r.status == "rollback-incomplete");             // as `runs show` says it
  CHECK_FALSE(r.seconds);                               // never finished
  CHECK(*r.score.rto_seconds == doctest::Approx(400));  // the drill itself recovered in time
  CHECK_FALSE(r.score.missed());
  CHECK_FALSE(r.succeeded());
  CHECK_FALSE(r.steps[0].undone);
  REQUIRE(r.undos.size() == 1);
  CHECK(r.undos[0].outcome == "failed");
  CHECK(r.rollbacks[0].outcome == "incomplete");
  const std::string x = report::junit_xml({r});
  CHECK(contains(x, "<failure type=\"rollback-incomplete\""));
  CHECK(contains(x, "failures=\"1\""));
  const std::string m = report::prometheus_metrics(r, {});
  CHECK(contains(m, "edgedr_drill_success{runbook=\"plant\"} 0\n"));
  CHECK(contains(m, "edgedr_drill_last_success_timestamp_seconds{runbook=\"plant\"} 0\n"));
  CHECK_FALSE(contains(m, "edgedr_drill_rpo_objective_seconds{"));
}

TEST_CASE("who resumed or rolled back a run later is part of its record") {
  JournalBuilder j("plant", "failover");
  j.step("a/failover/one", "exec", 0, 10)
      .at(11)
      .event("run.interrupted", {})
      .at(100)
      .event("run.resumed", {{"user", str("bob")}, {"host", str("gw-02")}})
      .at(200)
      .event("run.resumed", {{"user", str("carol")}, {"host", str("gw-03")}, {"for", str("rollback")}})
      .undo("a/failover/one", 201, 210)
      .finish(211, "rolled-back");
  const auto r = j.read();
  REQUIRE(r.resumes.size() == 2);
  CHECK(r.resumes[0].user == "bob");
  CHECK_FALSE(r.resumes[0].rollback);
  CHECK(r.resumes[1].host == "gw-03");
  CHECK(r.resumes[1].rollback);
  CHECK(contains(report::markdown({r}), "| Rolled back | 2026-01-01T00:03:20.000Z by carol on gw-03 |"));
  const json doc = json::parse(report::json({r}));
  CHECK(schema_errors(doc) == "");
  CHECK(doc["runs"][0]["resumes"][1]["rollback"] == true);
}
