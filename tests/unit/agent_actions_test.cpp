// agent.run and agent.check: the requests they send (against a scripted loopback server), how
// they follow a run, what they make of refusals and failures, that the token never leaves the
// Authorization header, and the whole protocol against the real simulator.
#include <doctest/doctest.h>

#include <mutex>
#include <nlohmann/json.hpp>

#include "dr/agent_actions.h"
#include "dr/http.h"
#include "dr/runbook.h"
#include "dr/sim.h"
#include "unit/local_http_server.h"

using namespace dr;
using namespace std::chrono_literals;
using json = nlohmann::json;
using Status = StepResult::Status;
using Verdict = Reconciliation::Verdict;

namespace {

const std::string kToken = "tok-S3CRET-agent-4711";

Value fields(std::vector<std::pair<std::string, std::string>> kv) {
  std::vector<Value::Entry> entries;
  for (auto& [k, v] : kv) entries.push_back({k, Value::string(v)});
  return Value::map(std::move(entries));
}

Value params(std::vector<Value::Entry> entries) {
  return Value::map(std::move(entries));
}

Value args(std::vector<std::pair<std::string, std::string>> kv) {
  return fields(std::move(kv));
}

// The actions with one agent target "plant" at `url`, and a call ready to submit.
struct Bench {
  std::shared_ptr<azure::AzureContext> context = std::make_shared<azure::AzureContext>();
  ActionRegistry registry;
  FakeClock clock;
  StepSpec step;
  StepCall call;

  Bench(const std::string& action, const std::string& url, Value with, const std::string& token = kToken) {
    context->targets["plant"] = fields({{"url", url}, {"token", token}});
    register_agent_actions(registry, context);
    step.id = "historian/failover/" + action;
    step.action = action;
    call.run_id = "run-1";
    call.step = &step;
    call.action = action;
    call.params = std::move(with);
    call.attempt = 1;
    call.idempotency_key = "run-1/" + step.id + "/1";
    call.clock = &clock;
  }
  Action& action() { return *registry.find(call.action); }
  // submit, then poll (advancing the fake clock) until the result is final.
  StepResult run(int max_polls = 20) {
    StepResult r = action().submit(call);
    for (polls = 0; r.status == Status::pending && polls < max_polls; ++polls) {
      poll_afters.push_back(r.poll_after);
      clock.advance(r.poll_after);
      r = action().poll(call, r.handle);
    }
    return r;
  }
  int polls = 0;
  std::vector<Duration> poll_afters;
};

// A scripted agent: runs go `running` for `running_polls` reads, then end as `final_state`.
struct ScriptedAgent {
  test::LocalHttpServer<> http;
  std::mutex mu;
  std::vector<std::string> log;  // "METHOD path"
  std::vector<httplib::Headers> headers;
  std::vector<std::string> bodies;
  int running_polls = 1;
  int reads = 0;
  std::string final_state = "succeeded";
  int exit_code = 0;
  std::string output = "done";
  int post_status = 202;
  int check_status = 200;
  std::string check_body = R"({"name":"upstream","status":"pass","output":"connected"})";

  ScriptedAgent() {
    const auto record = [this](const httplib::Request& req) {
      std::lock_guard lock(mu);
      log.push_back(req.method + " " + req.path);
      headers.push_back(req.headers);
      bodies.push_back(req.body);
    };
    http.server.Post(
        R"(/v1/actions/([^/]+)/runs)", [this, record](const httplib::Request& req, httplib::Response& res) {
          record(req);
          std::lock_guard lock(mu);
          res.status = post_status;
          if (post_status == 401) {
            res.set_content(R"({"error":{"code":"Unauthorized","message":"A valid bearer token is required."}})",
                            "application/json");
            return;
          }
          if (post_status != 202) {
            res.set_content(R"({"error":{"code":"UnknownAction","message":"The agent has no action 'x'."}})",
                            "application/json");
            return;
          }
          res.set_content(json{{"id", "r-1"}, {"action", req.matches[1].str()}, {"state", "running"}}.dump(),
                          "application/json");
        });
    http.server.Get("/v1/runs/r-1", [this, record](const httplib::Request& req, httplib::Response& res) {
      record(req);
      std::lock_guard lock(mu);
      json run{{"id", "r-1"}, {"action", "stop-ingest"}, {"state", "running"}};
      if (++reads > running_polls) {
        run["state"] = final_state;
        run["exit-code"] = exit_code;
        run["output"] = output;
      } else {
        res.set_header("Retry-After", "7");
      }
      res.set_content(run.dump(), "application/json");
    });
    http.server.Post("/v1/runs/r-1/cancel", [record](const httplib::Request& req, httplib::Response& res) {
      record(req);
      res.status = 202;
      res.set_content(R"({"id":"r-1","state":"cancelled"})", "application/json");
    });
    http.server.Get("/v1/health", [this, record](const httplib::Request& req, httplib::Response& res) {
      record(req);
      std::lock_guard lock(mu);
      res.status = check_status;
      res.set_content(check_status == 200 ? R"({"status":"ok"})" : R"({"status":"unhealthy"})", "application/json");
    });
    http.server.Get(R"(/v1/checks/([^/]+))", [this, record](const httplib::Request& req, httplib::Response& res) {
      record(req);
      std::lock_guard lock(mu);
      res.status = check_status;
      res.set_content(check_body, "application/json");
    });
    http.start();
  }
  std::string url() const { return http.url(""); }
  // Changes the script while the server runs: its handlers read it under the same lock.
  template <typename F>
  void set(F change) {
    std::lock_guard lock(mu);
    change(*this);
  }
  std::vector<std::string> requests() {
    std::lock_guard lock(mu);
    return log;
  }
};

Value run_params(const std::string& action = "stop-ingest") {
  return params({{"target", Value::string("plant")},
                 {"action", Value::string(action)},
                 {"args", args({{"site", "detroit"}, {"line", "3"}})}});
}

bool mentions_token(const StepResult& r) {
  if (r.error.find(kToken) != std::string::npos || r.progress.find(kToken) != std::string::npos) return true;
  for (const auto& [k, v] : r.outputs)
    if (v.find(kToken) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_CASE("agent.run posts the args with the token and the Idempotency-Key, then polls the run to success") {
  ScriptedAgent agent;
  agent.running_polls = 2;
  // The agent's output echoes the token and is longer than the output cap.
  agent.output = "started " + kToken + "\n" + std::string(10000, 'x');
  Bench b("agent.run", agent.url() + "/", run_params());
  const StepResult r = b.run();
  REQUIRE(r.status == Status::succeeded);
  CHECK(r.outputs.at("run-id") == "r-1");
  CHECK(r.outputs.at("exit-code") == "0");
  CHECK(r.outputs.at("output").size() == 4096);
  CHECK(r.outputs.at("output").rfind("started [redacted]\nxxx", 0) == 0);
  CHECK_FALSE(mentions_token(r));
  // Retry-After of a running answer sets the next poll; without one, every 2 s.
  REQUIRE(b.poll_afters.size() == 3);
  CHECK(b.poll_afters[0] == 2s);
  CHECK(b.poll_afters[1] == 7s);

  const auto reqs = agent.requests();
  REQUIRE(reqs.size() == 4);
  CHECK(reqs[0] == "POST /v1/actions/stop-ingest/runs");
  CHECK(reqs[1] == "GET /v1/runs/r-1");
  std::lock_guard lock(agent.mu);
  CHECK(agent.headers[0].find("Authorization")->second == "Bearer " + kToken);
  CHECK(agent.headers[0].find("Idempotency-Key")->second == "run-1/historian/failover/agent.run/1");
  CHECK(json::parse(agent.bodies[0]) == json{{"args", {{"site", "detroit"}, {"line", "3"}}}});
  CHECK(agent.headers[1].find("Authorization")->second == "Bearer " + kToken);
}

TEST_CASE("agent.run: a failed run fails with its exit code and last output line, a cancelled one is final") {
  ScriptedAgent agent;
  agent.final_state = "failed";
  agent.exit_code = 3;
  agent.output = "stopping ingest\nhistorian01: no such service\n";
  Bench b("agent.run", agent.url(), run_params());
  StepResult r = b.run();
  REQUIRE(r.status == Status::failed);
  CHECK(r.retryable);
  CHECK(r.error.find("'stop-ingest' failed on the agent at " + agent.url()) != std::string::npos);
  CHECK(r.error.find("exit code 3") != std::string::npos);
  CHECK(r.error.find("historian01: no such service") != std::string::npos);
  CHECK(r.error.find("stopping ingest") == std::string::npos);

  ScriptedAgent cancelled;
  cancelled.final_state = "cancelled";
  Bench c("agent.run", cancelled.url(), run_params());
  r = c.run();
  REQUIRE(r.status == Status::failed);
  CHECK_FALSE(r.retryable);
  CHECK(r.error.find("cancelled") != std::string::npos);
}

TEST_CASE("agent.run: a refused token is final and the error never shows it") {
  ScriptedAgent agent;
  agent.post_status = 401;
  Bench b("agent.run", agent.url(), run_params());
  const StepResult r = b.action().submit(b.call);
  REQUIRE(r.status == Status::failed);
  CHECK_FALSE(r.retryable);
  CHECK(r.error == "agent.run: the agent at " + agent.url() + " refused the token (401); check the target's token");
  CHECK(r.cause == StepResult::Cause::auth);
  CHECK_FALSE(mentions_token(r));

  agent.set([](ScriptedAgent& a) { a.post_status = 404; });
  const StepResult unknown = b.action().submit(b.call);
  REQUIRE(unknown.status == Status::failed);
  CHECK_FALSE(unknown.retryable);
  CHECK(unknown.error.find("answered 404") != std::string::npos);
  CHECK(unknown.error.find("UnknownAction") != std::string::npos);

  agent.set([](ScriptedAgent& a) { a.post_status = 503; });
  CHECK(b.action().submit(b.call).retryable);
}

TEST_CASE("agent.run: an unreachable agent is retryable on submit and keeps polling on poll") {
  int port = 0;
  {
    test::LocalHttpServer<> gone;
    gone.start();
    port = gone.port();
  }  // nothing listens there any more
  const std::string url = "http://127.0.0.1:" + std::to_string(port);
  Bench b("agent.run", url, run_params());
  const StepResult r = b.action().submit(b.call);
  REQUIRE(r.status == Status::failed);
  CHECK(r.retryable);
  CHECK_FALSE(mentions_token(r));

  // A run already under way is not given up because one poll could not reach the agent: a
  // retry would start a second run under a new Idempotency-Key.
  const StepResult p = b.action().poll(b.call, Value::string("r-1"));
  REQUIRE(p.status == Status::pending);
  CHECK(p.handle.to_text() == "r-1");
  CHECK(p.progress.find("agent unreachable") != std::string::npos);
}

TEST_CASE("agent.run: target problems are final and name the target, never the token") {
  ScriptedAgent agent;
  Bench missing("agent.run", agent.url(),
                params({{"target", Value::string("nowhere")}, {"action", Value::string("stop-ingest")}}));
  StepResult r = missing.action().submit(missing.call);
  CHECK_FALSE(r.retryable);
  CHECK(r.error == "agent.run: target 'nowhere' is not among the runbook's targets");

  Bench unset("agent.run", agent.url(), run_params(), "${env.EDGEDR_AGENT_TOKEN}");
  r = unset.action().submit(unset.call);
  CHECK_FALSE(r.retryable);
  CHECK(r.error.find("${env.EDGEDR_AGENT_TOKEN}") != std::string::npos);
  CHECK(r.error.find("is not set") != std::string::npos);

  Bench no_token("agent.run", agent.url(), run_params(), "");
  r = no_token.action().submit(no_token.call);
  CHECK(r.error.find("has no token") != std::string::npos);
  CHECK(agent.requests().empty());  // nothing was sent
}

TEST_CASE("agent.run: reconcile re-posts with the same key and adopts the run; cancel posts the cancel") {
  ScriptedAgent agent;
  Bench b("agent.run", agent.url(), run_params());
  const Reconciliation rec = b.action().reconcile(b.call);
  REQUIRE(rec.verdict == Verdict::adopted);
  CHECK(rec.handle.to_text() == "r-1");
  b.action().cancel(b.call, rec.handle);
  const auto reqs = agent.requests();
  REQUIRE(reqs.size() == 2);
  CHECK(reqs[0] == "POST /v1/actions/stop-ingest/runs");
  CHECK(reqs[1] == "POST /v1/runs/r-1/cancel");
  std::lock_guard lock(agent.mu);
  CHECK(agent.headers[0].find("Idempotency-Key")->second == b.call.idempotency_key);
}

TEST_CASE("agent.run describes its POST without the token; it is not read-only") {
  Bench b("agent.run", "https://edge-gw-det.contoso.example:8443", run_params());
  const auto lines = b.action().describe(b.call);
  REQUIRE(lines.size() == 1);
  CHECK(
      lines[0] ==
      R"(POST https://edge-gw-det.contoso.example:8443/v1/actions/stop-ingest/runs {"args":{"line":"3","site":"detroit"}} (Idempotency-Key run-1/historian/failover/agent.run/1))");
  CHECK_FALSE(b.action().read_only());
  CHECK(b.action().blocking());
}

TEST_CASE("agent.check: health and named checks; a failing check fails with its output") {
  ScriptedAgent agent;
  Bench health("agent.check", agent.url(), params({{"target", Value::string("plant")}}));
  StepResult r = health.action().submit(health.call);
  REQUIRE(r.status == Status::succeeded);
  CHECK(r.outputs.at("status") == "ok");
  CHECK(health.action().read_only());
  CHECK(health.action().describe(health.call) == std::vector<std::string>{"GET " + agent.url() + "/v1/health"});
  CHECK(health.action().reconcile(health.call).verdict == Verdict::not_started);

  Bench named("agent.check", agent.url(),
              params({{"target", Value::string("plant")}, {"check", Value::string("upstream")}}));
  r = named.action().submit(named.call);
  REQUIRE(r.status == Status::succeeded);
  CHECK(r.outputs.at("status") == "pass");

  agent.set([](ScriptedAgent& a) {
    a.check_body = R"({"name":"upstream","status":"fail","output":"probing\nno upstream"})";
  });
  r = named.action().submit(named.call);
  REQUIRE(r.status == Status::failed);
  CHECK(r.retryable);
  CHECK(r.error == "agent.check: check 'upstream' on the agent at " + agent.url() + " is fail: no upstream");

  agent.set([](ScriptedAgent& a) { a.check_status = 503; });
  r = health.action().submit(health.call);
  REQUIRE(r.status == Status::failed);
  CHECK(r.error.find("unhealthy (503)") != std::string::npos);

  agent.set([](ScriptedAgent& a) { a.check_status = 403; });
  r = named.action().submit(named.call);
  CHECK_FALSE(r.retryable);
  CHECK(r.error.find("refused the token (403)") != std::string::npos);

  const auto reqs = agent.requests();
  CHECK(reqs[0] == "GET /v1/health");
  CHECK(reqs[1] == "GET /v1/checks/upstream");
}

TEST_CASE("agent.run and agent.check against the simulator: runs, replays, failures, checks, a wrong token") {
  const auto loaded = load_runbook_text("rb.yaml", R"(edgedr: 1
name: agents
targets:
  plant:
    agent: { url: "https://edge-gw.example.invalid:8443", token: "${env.EDGEDR_TEST_AGENT_TOKEN}" }
services:
  ingest:
    failover:
      - name: stop
        action: agent.run
        with: { target: plant, action: stop-ingest, args: { site: detroit } }
      - name: broken
        action: agent.run
        with: { target: plant, action: break-things }
      - name: upstream
        action: agent.check
        with: { target: plant, check: upstream-connected }
      - name: queue
        action: agent.check
        with: { target: plant, check: queue-drained }
)");
  std::string errors;
  for (const auto& d : loaded.diagnostics.all()) errors += d.str() + "\n";
  INFO(errors);
  REQUIRE(loaded.runbook);
  sim::World world = sim::derive_world(*loaded.runbook);
  REQUIRE(world.agents.size() == 1);
  sim::Agent& simulated = world.agents[0];
  simulated.token = kToken;
  for (auto& a : simulated.actions)
    if (a.name == "break-things") {
      a.exit_code = 2;
      a.output = "step 1\ndisk full";
    }
  for (auto& c : simulated.checks)
    if (c.name == "queue-drained") {
      c.ok = false;
      c.output = "42 messages queued";
    }

  FakeClock clock;
  sim::Simulator simulator(world, clock);
  const std::string base = simulator.start();
  const std::string url = base + "/agents/plant";

  Bench b("agent.run", url, run_params());
  // The simulator's clock is the one that moves: the runs progress with it.
  StepResult r = b.action().submit(b.call);
  REQUIRE(r.status == Status::pending);
  const std::string run_id = r.handle.to_text();
  CHECK(r.progress.find("running") != std::string::npos);

  // The same Idempotency-Key again (a crash before the handle was journaled): the same run.
  const Reconciliation rec = b.action().reconcile(b.call);
  REQUIRE(rec.verdict == Verdict::adopted);
  CHECK(rec.handle.to_text() == run_id);

  for (int i = 0; i < 10 && r.status == Status::pending; ++i) {
    clock.advance(r.poll_after);
    r = b.action().poll(b.call, r.handle);
  }
  REQUIRE(r.status == Status::succeeded);
  CHECK(r.outputs.at("run-id") == run_id);
  CHECK(r.outputs.at("exit-code") == "0");
  // Once finished, the replay reports the finished run.
  const Reconciliation done = b.action().reconcile(b.call);
  REQUIRE(done.verdict == Verdict::finished);
  CHECK(done.result.status == Status::succeeded);
  CHECK(done.result.outputs.at("run-id") == run_id);

  Bench broken("agent.run", url,
               params({{"target", Value::string("plant")}, {"action", Value::string("break-things")}}));
  broken.call.idempotency_key = "run-1/ingest/failover/broken/1";
  r = broken.action().submit(broken.call);
  for (int i = 0; i < 10 && r.status == Status::pending; ++i) {
    clock.advance(r.poll_after);
    r = broken.action().poll(broken.call, r.handle);
  }
  REQUIRE(r.status == Status::failed);
  CHECK(r.error.find("exit code 2") != std::string::npos);
  CHECK(r.error.find("disk full") != std::string::npos);

  Bench wrong("agent.run", url, run_params(), "not-the-token");
  r = wrong.action().submit(wrong.call);
  REQUIRE(r.status == Status::failed);
  CHECK_FALSE(r.retryable);
  CHECK(r.error.find("refused the token (401)") != std::string::npos);
  CHECK(r.error.find("not-the-token") == std::string::npos);

  Bench pass("agent.check", url,
             params({{"target", Value::string("plant")}, {"check", Value::string("upstream-connected")}}));
  r = pass.action().submit(pass.call);
  REQUIRE(r.status == Status::succeeded);
  CHECK(r.outputs.at("status") == "pass");
  Bench fail("agent.check", url,
             params({{"target", Value::string("plant")}, {"check", Value::string("queue-drained")}}));
  r = fail.action().submit(fail.call);
  REQUIRE(r.status == Status::failed);
  CHECK(r.error.find("42 messages queued") != std::string::npos);
  Bench health("agent.check", url, params({{"target", Value::string("plant")}}));
  CHECK(health.action().submit(health.call).status == Status::succeeded);

  // One POST started the run; the replays answered it without starting another.
  int stop_runs = 0;
  for (const auto& req : simulator.requests())
    if (req.operation == "agent.run" && req.path.find("stop-ingest") != std::string::npos && req.status == 202)
      ++stop_runs;
  CHECK(stop_runs == 3);
  const json state = json::parse(simulator.world_json());
  int runs = 0;
  for (const auto& a : state["agents"])
    for (const auto& run : a["runs"])
      if (run["action"] == "stop-ingest") ++runs;
  CHECK(runs == 1);
  // The simulator logs the Authorization header redacted, never the token.
  for (const auto& req : simulator.requests())
    for (const auto& [name, value] : req.headers) CHECK(value.find(kToken) == std::string::npos);
}

TEST_CASE("agent.run reaches the agent by its real URL through the simulation route") {
  const auto loaded = load_runbook_text("rb.yaml", R"(edgedr: 1
name: routed
targets:
  plant:
    agent: { url: "https://edge-gw.example.invalid:8443", token: "${env.EDGEDR_TEST_AGENT_TOKEN}" }
services:
  ingest:
    failover:
      - name: stop
        action: agent.run
        with: { target: plant, action: stop-ingest }
)");
  REQUIRE(loaded.runbook);
  FakeClock clock;
  sim::Simulator simulator(sim::derive_world(*loaded.runbook), clock);
  set_simulation_route(simulator.start());
  Bench b("agent.run", "https://edge-gw.example.invalid:8443", run_params());
  StepResult r = b.action().submit(b.call);
  for (int i = 0; i < 10 && r.status == Status::pending; ++i) {
    clock.advance(r.poll_after);
    r = b.action().poll(b.call, r.handle);
  }
  set_simulation_route({});
  CHECK(r.status == Status::succeeded);
  bool routed = false;
  for (const auto& req : simulator.requests())
    routed = routed || req.original_url == "https://edge-gw.example.invalid:8443/v1/actions/stop-ingest/runs";
  CHECK(routed);
}

TEST_CASE("agent.run keeps at most 4 KiB of output and does not cut a character in two") {
  ScriptedAgent agent;
  agent.running_polls = 0;
  agent.output = std::string(4095, 'a') + "\xc3\xa9 and more";  // U+00E9 straddles the cap
  Bench b("agent.run", agent.url(), run_params());
  const StepResult r = b.run();
  REQUIRE(r.status == Status::succeeded);
  CHECK(r.outputs.at("output") == std::string(4095, 'a'));
}

TEST_CASE("agent.run: a POST whose answer was lost is sent again with the same key, and the agent runs it once") {
  const auto loaded = load_runbook_text("rb.yaml", R"(edgedr: 1
name: lost
targets:
  plant:
    agent: { url: "https://edge-gw.example.invalid:8443", token: "${env.EDGEDR_TEST_AGENT_TOKEN}" }
services:
  ingest:
    failover:
      - name: stop
        action: agent.run
        with: { target: plant, action: stop-ingest }
)");
  REQUIRE(loaded.runbook);
  sim::World world = sim::derive_world(*loaded.runbook);
  // The agent starts the run, then the connection drops before the answer's body.
  sim::FaultRule lost;
  lost.operation = "agent.run";
  lost.effect = sim::FaultRule::Effect::reset;
  lost.count = 1;
  world.faults.push_back(lost);
  // The next answer is cut in half: unreadable JSON, the run id unknown.
  sim::FaultRule garbled = lost;
  garbled.effect = sim::FaultRule::Effect::invalid_json;
  world.faults.push_back(garbled);
  FakeClock clock;
  sim::Simulator simulator(world, clock);
  Bench b("agent.run", simulator.start() + "/agents/plant", run_params());

  StepResult r = b.action().submit(b.call);
  REQUIRE(r.status == Status::pending);
  CHECK(r.progress.find("sending it again with the same Idempotency-Key") != std::string::npos);
  for (int i = 0; i < 10 && r.status == Status::pending; ++i) {
    clock.advance(r.poll_after);
    r = b.action().poll(b.call, r.handle);
  }
  REQUIRE(r.status == Status::succeeded);

  // Three POSTs (the request log redacts the key header), one run, under the call's key.
  int posts = 0;
  for (const auto& req : simulator.requests()) posts += req.operation == "agent.run" ? 1 : 0;
  CHECK(posts == 3);
  const json state = json::parse(simulator.world_json());
  REQUIRE(state["agents"].size() == 1);
  REQUIRE(state["agents"][0]["runs"].size() == 1);
  CHECK(state["agents"][0]["runs"][0]["idempotency-key"] == b.call.idempotency_key);
  CHECK(state["agents"][0]["runs"][0]["id"] == r.outputs.at("run-id"));
}

TEST_CASE("agent.run: a run the agent records as interrupted is an ambiguous failure, like a forgotten run") {
  ScriptedAgent agent;
  agent.final_state = "interrupted";
  Bench b("agent.run", agent.url(), run_params());
  const StepResult r = b.run();
  REQUIRE(r.status == Status::failed);
  CHECK(r.ambiguous);  // the engine re-runs it only when the step is idempotent
  CHECK_FALSE(r.retryable);
  CHECK(r.error.find("stopped while 'stop-ingest' ran (run r-1)") != std::string::npos);
  CHECK(r.error.find("unknown") != std::string::npos);
}
