#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <string>
#include <vector>

#include "dr/graph.h"

using namespace dr;
using namespace std::chrono_literals;

namespace {

// Runbooks built in code, so each test shows exactly the shape it is about. Steps are
// "name" (an http.probe, typically 2s) or "name:action"; every step is a failover step.
class Book {
 public:
  Book() {
    rb.name = "plant";
    rb.file = "rb.yaml";
  }

  Book& service(const std::string& name, const std::vector<std::string>& steps,
                const std::vector<std::string>& depends_on = {}, std::optional<int> tier = {}) {
    Service svc;
    svc.name = name;
    svc.tier = tier;
    svc.pos = next_pos();
    for (const auto& dep : depends_on) svc.depends_on.push_back(dep), svc.depends_on_pos.push_back(next_pos());
    auto& ops = svc.operations[Operation::failover];
    for (const auto& s : steps) ops.push_back(make_step(name, s, Operation::failover));
    rb.service_index[name] = rb.services.size();
    rb.services.push_back(std::move(svc));
    return *this;
  }

  Book& preflight(const std::string& name) {
    StepSpec s = make_step("", name + ":agent.check", std::nullopt);
    rb.preflight.push_back(std::move(s));
    return *this;
  }

  // The step with this id, to adjust before building.
  StepSpec& step(const std::string& id) {
    for (auto& s : rb.preflight)
      if (s.id == id) return s;
    for (auto& svc : rb.services)
      for (auto& [op, steps] : svc.operations)
        for (auto& s : steps)
          if (s.id == id) return s;
    FAIL("no step " << id);
    throw 0;
  }

  Book& expect(const std::string& id, Duration d) {
    step(id).expect = d;
    return *this;
  }

  // `user` uses an output of `service`'s step `name`, as ${steps.service.name.status}.
  Book& uses(const std::string& user, const std::string& service, const std::string& name) {
    Reference ref;
    ref.kind = Reference::Kind::step_output;
    ref.service = service, ref.step = name, ref.output = "status";
    ref.name = service + "." + name + ".status";
    ref.pos = next_pos();
    step(user).step_refs.push_back(ref);
    return *this;
  }

  Runbook rb;

 private:
  SourcePos next_pos() { return {"rb.yaml", ++line_, 5}; }

  StepSpec make_step(const std::string& service, const std::string& spec, std::optional<Operation> op) {
    StepSpec s;
    const auto colon = spec.find(':');
    s.name = spec.substr(0, colon);
    s.action = colon == std::string::npos ? "http.probe" : spec.substr(colon + 1);
    s.service = service;
    s.operation = op;
    s.id = op ? service + "/" + operation_name(*op) + "/" + s.name : "preflight/" + s.name;
    s.with = Value::map({});
    s.pos = next_pos();
    return s;
  }

  int line_ = 0;
};

std::optional<StepGraph> build(const Runbook& rb, Diagnostics& diag, GraphOptions options = {}) {
  return build_graph(rb, Operation::failover, options, diag);
}

std::string messages(const Diagnostics& diag) {
  std::string out;
  for (const auto& d : diag.all()) out += d.str() + "\n";
  return out;
}

StepGraph build_ok(const Runbook& rb, GraphOptions options = {}) {
  Diagnostics diag;
  auto g = build(rb, diag, std::move(options));
  INFO(messages(diag));
  REQUIRE(g);
  return std::move(*g);
}

int index_of(const StepGraph& g, const std::string& id) {
  const int i = g.find(id);
  REQUIRE_MESSAGE(i >= 0, "no node " << id);
  return i;
}

// Whether `a` waits, directly or through others, for `b`.
bool waits_for(const StepGraph& g, const std::string& a, const std::string& b) {
  const int target = index_of(g, b);
  std::vector<bool> seen(g.nodes().size());
  std::vector<int> todo{index_of(g, a)};
  while (!todo.empty()) {
    const int n = todo.back();
    todo.pop_back();
    for (int d : g.node(n).deps) {
      if (d == target) return true;
      if (!seen[static_cast<std::size_t>(d)]) seen[static_cast<std::size_t>(d)] = true, todo.push_back(d);
    }
  }
  return false;
}

int wave(const StepGraph& g, const std::string& id) {
  return g.node(index_of(g, id)).wave;
}

std::vector<std::string> labels(const StepGraph& g, const std::vector<int>& nodes) {
  std::vector<std::string> out;
  for (int n : nodes) out.push_back(g.node(n).label);
  return out;
}

}  // namespace

TEST_CASE("steps of one service run in the order written") {
  Book b;
  b.service("historian", {"stop-ingest:agent.run", "failover-vms:site-recovery.failover", "healthy"});
  const auto g = build_ok(b.rb);
  CHECK(g.step_count() == 3);
  CHECK(g.node(index_of(g, "historian/failover/failover-vms")).deps ==
        std::vector<int>{index_of(g, "historian/failover/stop-ingest")});
  CHECK(waits_for(g, "historian/failover/healthy", "historian/failover/stop-ingest"));
  CHECK(wave(g, "historian/failover/stop-ingest") == 0);
  CHECK(wave(g, "historian/failover/healthy") == 2);
  CHECK(waits_for(g, "@service:historian", "historian/failover/healthy"));
}

TEST_CASE("a service's first step waits for the last step of every service it depends on") {
  Book b;
  b.service("historian", {"a", "b"}).service("db", {"c"}).service("mes", {"d", "e"}, {"historian", "db"});
  const auto g = build_ok(b.rb);
  CHECK(waits_for(g, "mes/failover/d", "historian/failover/b"));
  CHECK(waits_for(g, "mes/failover/d", "db/failover/c"));
  CHECK_FALSE(waits_for(g, "historian/failover/a", "db/failover/c"));
  CHECK(wave(g, "mes/failover/d") == 2);
  CHECK(wave(g, "db/failover/c") == 0);
}

TEST_CASE("a tier barrier keeps every tier-2 step after every tier-1 step, and untiered services are free") {
  Book b;
  b.service("a", {"x", "y"}, {}, 1)
      .service("b", {"x"}, {}, 1)
      .service("c", {"x"}, {}, 2)
      .service("d", {"x"}, {}, 5)
      .service("loose", {"x"});
  const auto g = build_ok(b.rb);
  CHECK(waits_for(g, "c/failover/x", "a/failover/y"));
  CHECK(waits_for(g, "c/failover/x", "b/failover/x"));
  CHECK(waits_for(g, "d/failover/x", "c/failover/x"));
  CHECK(waits_for(g, "d/failover/x", "a/failover/y"));
  CHECK_FALSE(waits_for(g, "a/failover/x", "b/failover/x"));
  CHECK(g.node(index_of(g, "loose/failover/x")).deps.empty());
  CHECK(wave(g, "loose/failover/x") == 0);
  CHECK(wave(g, "c/failover/x") == 2);
  CHECK(wave(g, "d/failover/x") == 3);

  // One barrier per tier above the lowest, each waiting on one tier only (linear edge count).
  CHECK(g.find("@tier:1") == -1);
  CHECK(g.node(index_of(g, "@tier:2")).deps.size() == 2);  // @service:a, @service:b
  CHECK(labels(g, g.node(index_of(g, "@tier:5")).deps) == std::vector<std::string>{"@tier:2", "@service:c"});
}

TEST_CASE("preflight steps run in parallel with each other, before every service") {
  Book b;
  b.preflight("replication-healthy").preflight("agent-up");
  b.service("historian", {"a"}).service("mes", {"b"}, {"historian"}).service("empty", {});
  const auto g = build_ok(b.rb);
  CHECK(wave(g, "preflight/replication-healthy") == 0);
  CHECK(wave(g, "preflight/agent-up") == 0);
  CHECK_FALSE(waits_for(g, "preflight/agent-up", "preflight/replication-healthy"));
  CHECK(labels(g, g.node(index_of(g, "@preflight")).deps) ==
        std::vector<std::string>{"preflight/replication-healthy", "preflight/agent-up"});
  CHECK(waits_for(g, "historian/failover/a", "@preflight"));
  CHECK(waits_for(g, "@service:empty", "@preflight"));
  CHECK(wave(g, "historian/failover/a") == 1);
  CHECK(g.topological_order().front() == index_of(g, "preflight/replication-healthy"));

  Book none;
  none.service("historian", {"a"});
  CHECK(build_ok(none.rb).find("@preflight") == -1);
}

TEST_CASE("a preflight step limited to other operations is not part of this one") {
  Book b;
  b.preflight("drill-only").preflight("always");
  b.step("preflight/drill-only").preflight_for = {Operation::drill};
  b.service("historian", {"a"});
  const auto g = build_ok(b.rb);
  CHECK(g.find("preflight/drill-only") == -1);
  CHECK(labels(g, g.node(index_of(g, "@preflight")).deps) == std::vector<std::string>{"preflight/always"});

  Book only_drill;
  only_drill.preflight("drill-only").service("historian", {"a"});
  only_drill.step("preflight/drill-only").preflight_for = {Operation::drill};
  const auto g2 = build_ok(only_drill.rb);
  CHECK(g2.find("@preflight") == -1);
  CHECK(g2.node(index_of(g2, "historian/failover/a")).deps.empty());
}

TEST_CASE("a service with no steps for the operation passes its dependencies through") {
  Book b;
  b.service("a", {"x"}).service("b", {}, {"a"}).service("c", {"y"}, {"b"});
  b.rb.services[1].operations[Operation::failback].push_back(b.rb.services[0].operations[Operation::failover][0]);
  const auto g = build_ok(b.rb);
  CHECK(g.step_count() == 2);
  CHECK(waits_for(g, "c/failover/y", "a/failover/x"));
  CHECK(labels(g, g.node(index_of(g, "@service:b")).deps) == std::vector<std::string>{"@service:a"});
  CHECK(wave(g, "c/failover/y") == 1);  // join nodes add no wave
}

TEST_CASE("--skip of a service removes its steps but keeps the order through it") {
  Book b;
  b.service("a", {"x"}).service("b", {"p", "q"}, {"a"}).service("c", {"y"}, {"b"});
  const auto g = build_ok(b.rb, {.skip = {"b"}});
  CHECK(g.step_count() == 2);
  CHECK(g.find("b/failover/p") == -1);
  CHECK(g.find("@service:b") >= 0);
  CHECK(waits_for(g, "c/failover/y", "a/failover/x"));
}

TEST_CASE("--skip of a step id removes only that step") {
  Book b;
  b.service("a", {"x", "y", "z"});
  const auto g = build_ok(b.rb, {.skip = {"a/failover/y"}});
  CHECK(g.step_count() == 2);
  CHECK(g.node(index_of(g, "a/failover/z")).deps == std::vector<int>{index_of(g, "a/failover/x")});
}

TEST_CASE("--only keeps the named services and steps, and warns about dependencies it leaves out") {
  Book b;
  b.preflight("check");
  b.service("historian", {"a"}).service("empty", {}).service("mes", {"b", "c"}, {"historian", "empty"});
  b.service("traffic", {"d", "e"});
  Diagnostics diag;
  auto g = build(b.rb, diag, {.only = {"mes", "traffic/failover/e"}});
  REQUIRE(g);
  CHECK(g->find("historian/failover/a") == -1);
  CHECK(g->find("mes/failover/b") >= 0);
  CHECK(g->find("traffic/failover/d") == -1);
  CHECK(g->find("traffic/failover/e") >= 0);
  CHECK(g->find("preflight/check") >= 0);  // preflight guards every run; only --skip drops it
  CHECK_FALSE(diag.has_errors());
  // `empty` has no failover steps, so leaving it out changes nothing and is not worth a warning.
  REQUIRE(diag.all().size() == 1);
  const auto& w = diag.all()[0];
  CHECK(w.severity == Severity::warning);
  CHECK(w.message == "service 'mes' depends on 'historian', which --only leaves out; its steps will not run");
  CHECK(w.pos == b.rb.services[2].depends_on_pos[0]);
}

TEST_CASE("an unknown --only or --skip name is an error that suggests the nearest name") {
  Book b;
  b.preflight("check").service("historian", {"stop-ingest"}).service("mes", {"a"});
  Diagnostics diag;
  CHECK_FALSE(build(b.rb, diag, {.only = {"histrian"}, .skip = {"mes/failover/b", "preflight/chek"}}));
  REQUIRE(diag.error_count() == 3);
  CHECK(diag.all()[0].str() ==
        "error: --only names 'histrian', which is neither a service nor a step of failover (did you mean "
        "'historian'?)");
  CHECK(diag.all()[1].suggestion == "mes/failover/a");
  CHECK(diag.all()[2].suggestion == "preflight/check");

  Diagnostics far;
  CHECK_FALSE(build(b.rb, far, {.skip = {"zzzzzzzz"}}));
  REQUIRE(far.all().size() == 1);
  CHECK(far.all()[0].suggestion.empty());
}

TEST_CASE("a step that uses another step's output waits for that step") {
  Book b;
  b.service("historian", {"failover-vms:site-recovery.failover"}).service("mes", {"a", "b"});
  b.uses("mes/failover/b", "historian", "failover-vms");
  const auto g = build_ok(b.rb);
  CHECK(waits_for(g, "mes/failover/b", "historian/failover/failover-vms"));
  CHECK_FALSE(waits_for(g, "mes/failover/a", "historian/failover/failover-vms"));
  CHECK(wave(g, "mes/failover/b") == 1);
}

TEST_CASE("a reference to a step left out by --skip is a warning, not an error") {
  Book b;
  b.service("historian", {"failover-vms:site-recovery.failover"}).service("mes", {"a"});
  b.uses("mes/failover/a", "historian", "failover-vms");
  b.uses("mes/failover/a", "historian", "no-such-step");  // the loader's to report
  Diagnostics diag;
  auto g = build(b.rb, diag, {.skip = {"historian/failover/failover-vms"}});
  REQUIRE(g);
  REQUIRE(diag.all().size() == 1);
  CHECK(diag.all()[0].severity == Severity::warning);
  CHECK(diag.all()[0].message.find("'historian/failover/failover-vms'") != std::string::npos);
}

TEST_CASE("a dependency cycle between services is reported as a path of service names at the depends-on entry") {
  Book b;
  b.service("historian", {"a"}).service("mes", {"b"}, {"historian", "traffic"}).service("traffic", {"c"}, {"mes"});
  Diagnostics diag;
  CHECK_FALSE(build(b.rb, diag));
  REQUIRE(diag.all().size() == 1);
  CHECK(diag.all()[0].message == "dependency cycle: mes -> traffic -> mes");
  CHECK(diag.all()[0].pos == b.rb.services[1].depends_on_pos[1]);

  // Longer, and through services without steps: still named by service, first-written first.
  Book c;
  c.service("x", {}, {"z"}).service("y", {"s"}, {"x"}).service("z", {}, {"y"});
  Diagnostics diag2;
  CHECK_FALSE(build(c.rb, diag2));
  REQUIRE(diag2.all().size() == 1);
  CHECK(diag2.all()[0].message == "dependency cycle: x -> z -> y -> x");
  CHECK(diag2.all()[0].pos == c.rb.services[0].depends_on_pos[0]);
}

TEST_CASE("a service of a low tier that depends on a higher tier is a cycle through the barrier") {
  Book b;
  b.service("db", {"a"}, {"app"}, 1).service("app", {"b"}, {}, 2);
  Diagnostics diag;
  CHECK_FALSE(build(b.rb, diag));
  REQUIRE(diag.all().size() == 1);
  CHECK(diag.all()[0].message.find("dependency cycle: db -> app -> tier 2 barrier -> db") == 0);
}

TEST_CASE("a cycle through step output references is reported with step ids") {
  Book b;
  b.service("a", {"x"}).service("b", {"y"}, {"a"});
  b.uses("a/failover/x", "b", "y");
  Diagnostics diag;
  CHECK_FALSE(build(b.rb, diag));
  REQUIRE(diag.all().size() == 1);
  CHECK(diag.all()[0].message == "dependency cycle through step outputs: a/failover/x -> b/failover/y -> a/failover/x");
  CHECK(diag.all()[0].pos == b.rb.services[0].operations[Operation::failover][0].step_refs[0].pos);
}

TEST_CASE("unknown depends-on names are left to the loader and ignored here") {
  Book b;
  b.service("mes", {"a"}, {"ghost"});
  Diagnostics diag;
  CHECK(build(b.rb, diag));
  CHECK(diag.all().empty());
}

TEST_CASE("waves count real steps only, carried through join nodes") {
  Book b;
  b.service("a", {"one", "two"}).service("b", {"three"}, {"a"}).service("c", {}, {"b"});
  b.service("d", {"four"}, {"c"}).service("e", {"solo"});
  const auto g = build_ok(b.rb);
  REQUIRE(g.waves().size() == 4);
  CHECK(labels(g, g.waves()[0]) == std::vector<std::string>{"a/failover/one", "e/failover/solo"});
  CHECK(labels(g, g.waves()[1]) == std::vector<std::string>{"a/failover/two"});
  CHECK(labels(g, g.waves()[2]) == std::vector<std::string>{"b/failover/three"});
  CHECK(labels(g, g.waves()[3]) == std::vector<std::string>{"d/failover/four"});
}

TEST_CASE("the critical path follows the longest expected durations and sums them") {
  Book b;
  b.service("a", {"x", "y"}).service("b", {"z"}).service("c", {"w"}, {"a", "b"});
  b.expect("a/failover/x", 1min).expect("a/failover/y", 1min).expect("b/failover/z", 10min);
  b.expect("c/failover/w", 30s);
  const auto g = build_ok(b.rb);
  CHECK(labels(g, g.critical_path()) == std::vector<std::string>{"b/failover/z", "c/failover/w"});
  CHECK(g.critical_duration() == 10min + 30s);
  CHECK(g.node(index_of(g, "a/failover/x")).remaining == 2min + 30s);
  CHECK(g.node(index_of(g, "@service:a")).expected == 0s);

  b.expect("a/failover/x", 9min + 30s);
  const auto g2 = build_ok(b.rb);
  CHECK(labels(g2, g2.critical_path()) == std::vector<std::string>{"a/failover/x", "a/failover/y", "c/failover/w"});
  CHECK(g2.critical_duration() == 11min);
}

TEST_CASE("an empty operation has an empty plan") {
  Book b;
  b.service("a", {});
  const auto g = build_ok(b.rb);
  CHECK(g.step_count() == 0);
  CHECK(g.waves().empty());
  CHECK(g.critical_path().empty());
  CHECK(g.critical_duration() == 0s);
}

TEST_CASE("a step's expected duration is its expect, else a wait's duration, else the action's typical") {
  const Catalogue& cat = Catalogue::v1();
  StepSpec s;
  s.action = "agent.run";
  CHECK(expected_duration(s, cat) == 1min);
  s.expect = 4min;
  CHECK(expected_duration(s, cat) == 4min);

  StepSpec w;
  w.action = "wait";
  w.with = Value::map({{"duration", Value::string("90s")}});
  CHECK(expected_duration(w, cat) == 90s);
  w.with = Value::map({{"duration", Value::string("${inputs.pause}")}});
  CHECK(expected_duration(w, cat) == cat.find("wait")->typical);
  w.expect = 3s;
  CHECK(expected_duration(w, cat) == 3s);

  StepSpec unknown;
  unknown.action = "no.such-action";
  CHECK(expected_duration(unknown, cat) == 0s);
}

TEST_CASE("the expected run duration accounts for concurrency") {
  Book b;
  for (const char* name : {"a", "b", "c", "d"}) b.service(name, {"x"}).expect(std::string(name) + "/failover/x", 1min);
  b.service("e", {"long"}).expect("e/failover/long", 2min);
  const auto g = build_ok(b.rb);
  CHECK(g.critical_duration() == 2min);
  CHECK(expected_run_duration(g, 0) == 2min);  // 0: no limit
  CHECK(expected_run_duration(g, 16) == 2min);
  // The longest step starts first, the four short ones share the other slot.
  CHECK(expected_run_duration(g, 2) == 3min);
  CHECK(expected_run_duration(g, 1) == 6min);
}

TEST_CASE("find returns -1 for a name that is not in the graph") {
  Book b;
  b.service("a", {"x"});
  const auto g = build_ok(b.rb);
  CHECK(g.find("a/failover/x") == 0);
  CHECK(g.find("a/failover/nope") == -1);
  CHECK(g.find("") == -1);
  const StepGraph copy = g;
  CHECK(copy.find("@service:a") == 1);
}

TEST_CASE("a 10,000-service graph with random dependencies builds fast and its order respects every edge") {
  std::mt19937 rng(20240611);
  Book b;
  constexpr int kServices = 10'000;
  for (int i = 0; i < kServices; ++i) {
    std::vector<std::string> deps;
    // Dependencies only on earlier services, so the graph is acyclic; tiers grow with the index.
    const int n = i == 0 ? 0 : static_cast<int>(rng() % 4);
    for (int k = 0; k < n; ++k) deps.push_back("svc" + std::to_string(rng() % static_cast<unsigned>(i)));
    std::optional<int> tier;
    if (rng() % 3 == 0) tier = 1 + i / 1000;
    b.service("svc" + std::to_string(i), {"stop", "move", "check"}, deps, tier);
    if (i > 0 && rng() % 10 == 0) {
      const std::string from = "svc" + std::to_string(rng() % static_cast<unsigned>(i));
      b.uses("svc" + std::to_string(i) + "/failover/check", from, "move");
    }
  }
  b.preflight("check");

  const auto start = std::chrono::steady_clock::now();
  const auto g = build_ok(b.rb);
  const auto took = std::chrono::steady_clock::now() - start;
  MESSAGE("built " << g.nodes().size() << " nodes in "
                   << std::chrono::duration_cast<std::chrono::microseconds>(took).count() << " us");
  CHECK(took < 2s);  // a few milliseconds in a release build; generous for sanitizers

  CHECK(g.step_count() == 3 * kServices + 1);
  const auto& order = g.topological_order();
  REQUIRE(order.size() == g.nodes().size());
  std::vector<int> position(order.size(), -1);
  for (std::size_t i = 0; i < order.size(); ++i) position[static_cast<std::size_t>(order[i])] = static_cast<int>(i);
  std::size_t edges = 0, bad_order = 0, bad_wave = 0;
  for (std::size_t n = 0; n < g.nodes().size(); ++n) {
    for (int d : g.nodes()[n].deps) {
      ++edges;
      if (position[static_cast<std::size_t>(d)] >= position[n]) ++bad_order;
      const auto& dep = g.node(d);
      if (g.nodes()[n].is_step() && dep.is_step() && dep.wave >= g.nodes()[n].wave) ++bad_wave;
    }
  }
  CHECK(bad_order == 0);
  CHECK(bad_wave == 0);
  CHECK(edges < 10 * g.nodes().size());  // join nodes keep the edge count linear
  CHECK(g.critical_duration() == g.node(g.critical_path().front()).remaining);
}
