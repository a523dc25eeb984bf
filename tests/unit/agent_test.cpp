// The on-site agent server (dr/agent_server.h): its configuration and the errors it reports,
// argument checks against injection, tokens, the run store across restarts, commands with
// timeouts and output caps, and the HTTP protocol end to end on loopback.
#include <doctest/doctest.h>
#include <httplib.h>
#include <sys/stat.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "agent/agent_internal.h"
#include "dr/agent_server.h"
#include "unit/test_support.h"

using namespace dr;
using namespace dr::agent;
using namespace std::chrono_literals;
using json = nlohmann::json;

namespace {

const std::string kToken = "agent-token-S3CRET-0123456789";

std::string messages(const Diagnostics& d) {
  std::string out;
  for (const auto& item : d.all()) out += item.str() + "\n";
  return out;
}

Config parse_ok(const std::string& yaml) {
  auto c = parse_config(yaml, "agent.yaml");
  if (!c) FAIL_CHECK(messages(c.error()));
  REQUIRE(c);
  return *c;
}

std::string parse_errors(const std::string& yaml) {
  auto c = parse_config(yaml, "agent.yaml");
  REQUIRE_FALSE(c);
  return messages(c.error());
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

int count_lines(const std::string& path) {
  const auto text = read_file(path);
  return static_cast<int>(std::count(text.begin(), text.end(), '\n'));
}

CommandSpec promote_spec() {
  return parse_ok(R"(listen: 127.0.0.1:0
tokens: [/t]
state-dir: /s
actions:
  promote:
    command: [/opt/promote, --replica, "{replica}", --lines, "{lines}", --mode, "{mode}"]
    args:
      replica: { pattern: "^[a-z0-9./-]{1,32}$" }
      lines: { type: integer, min: 1, max: 8, default: "1" }
      mode: { type: enum, values: [fast, safe] }
)")
      .actions.at("promote");
}

}  // namespace

// ---- configuration ------------------------------------------------------------------------------

TEST_CASE("a full agent configuration is read with its defaults") {
  const Config c = parse_ok(R"(listen: 0.0.0.0:8443
tls: { cert: /etc/edgedr/agent.crt, key: /etc/edgedr/agent.key, client-ca: /etc/edgedr/ca.crt }
tokens: [/etc/edgedr/agent.token, /etc/edgedr/agent.token.next]
state-dir: /var/lib/edgedr-agent
access-log: /var/log/edgedr-agent/access.log
limits: { max-body: 16KiB, max-arg-length: 256, concurrency: 4, grace: 1m, kill-after: 2s, retry-after: 3s }
actions:
  stop-ingest:
    command: [systemctl, stop, historian-ingest]
    timeout: 2m
  promote-replica:
    command: [/opt/plant/bin/promote, --replica, "{replica}"]
    args: { replica: { pattern: "^[a-z0-9-]{1,32}$", secret: true } }
    timeout: 10m
    concurrency: 1
    output-cap: 1KiB
checks:
  ingest-running: { command: [systemctl, is-active, historian-ingest], timeout: 10s }
)");
  CHECK(c.host == "0.0.0.0");
  CHECK(c.port == 8443);
  CHECK(c.tls_client_ca == "/etc/edgedr/ca.crt");
  CHECK(c.token_files.size() == 2);
  CHECK(c.limits.max_body == 16384);
  CHECK(c.limits.concurrency == 4);
  CHECK(c.limits.grace == 60s);
  const auto& stop = c.actions.at("stop-ingest");
  CHECK(stop.timeout == 120s);
  CHECK(stop.output_cap == 4096);
  CHECK(stop.concurrency == 0);
  const auto& promote = c.actions.at("promote-replica");
  CHECK(promote.concurrency == 1);
  CHECK(promote.output_cap == 1024);
  CHECK(promote.args.at("replica").secret);
  CHECK(c.checks.at("ingest-running").timeout == 10s);
}

TEST_CASE("configuration errors name the file, line and column and say what to do") {
  const auto e = parse_errors(R"(listen: 127.0.0.1:8443
tokens: [/t]
state-dir: /s
actions:
  a:
    command: [/bin/echo, "--name={name}"]
    args: { name: { pattern: "^[a-z]+$" } }
  b:
    command: [/bin/echo, "{who}"]
  c:
    command: [/bin/echo, "{x}"]
    args: { x: { type: string } }
  d:
    command: ["{x}"]
    args: { x: { pattern: "^(unclosed$" } }
  e:
    comand: [/bin/true]
)");
  CHECK(e.find("agent.yaml:6:26: error: '--name={name}' in action 'a': an argument fills a whole argv element") !=
        std::string::npos);
  CHECK(e.find("agent.yaml:9:26: error: action 'b' uses {who} but declares no such argument") != std::string::npos);
  CHECK(e.find("agent.yaml:12:16: error: argument 'x' of 'c' needs a pattern") != std::string::npos);
  CHECK(e.find("agent.yaml:14:15: error: the program of action 'd' must be a literal") != std::string::npos);
  CHECK(e.find("agent.yaml:15:27: error: the pattern of argument 'x' of 'd' is not a valid ECMAScript regex") !=
        std::string::npos);
  CHECK(e.find("agent.yaml:17:5: error: unknown key 'comand' in action 'e'") != std::string::npos);
  CHECK(e.find("agent.yaml:17:5: error: action 'e' needs a command") != std::string::npos);
}

TEST_CASE("plain HTTP is refused on an address that is not loopback, at the listen line") {
  const auto e =
      parse_errors("tokens: [/t]\nstate-dir: /s\nlisten: 0.0.0.0:8443\nactions: { a: { command: [/bin/true] } }\n");
  CHECK(e.find("agent.yaml:3:9: error: plain HTTP on '0.0.0.0' is refused") != std::string::npos);
  CHECK(e.find("add tls:") != std::string::npos);
  parse_ok("tokens: [/t]\nstate-dir: /s\nlisten: \"[::1]:8443\"\nactions: { a: { command: [/bin/true] } }\n");
  parse_ok("tokens: [/t]\nstate-dir: /s\nlisten: 127.0.0.2:8443\nactions: { a: { command: [/bin/true] } }\n");
}

TEST_CASE("a configuration without its required keys says which, and bad YAML gives its position") {
  const auto e = parse_errors("listen: nonsense\n");
  CHECK(e.find("listen 'nonsense' is not HOST:PORT") != std::string::npos);
  CHECK(e.find("state-dir: is required") != std::string::npos);
  CHECK(e.find("tokens: [FILE, ...] is required") != std::string::npos);
  CHECK(e.find("no actions: and no checks:") != std::string::npos);
  CHECK(parse_errors("listen: [\n").find("agent.yaml:2:1: error: not valid YAML") != std::string::npos);
  auto missing = load_config("/nonexistent/agent.yaml");
  REQUIRE_FALSE(missing);
  CHECK(messages(missing.error()).find("/nonexistent/agent.yaml: error: cannot read") != std::string::npos);
}

// ---- arguments ----------------------------------------------------------------------------------

TEST_CASE("arguments fill whole argv elements, integers are canonical, defaults apply") {
  const auto spec = promote_spec();
  auto argv = build_argv(spec, {{"replica", "db-2"}, {"lines", "007"}, {"mode", "safe"}}, 1024);
  REQUIRE(argv);
  CHECK(*argv == std::vector<std::string>{"/opt/promote", "--replica", "db-2", "--lines", "7", "--mode", "safe"});
  argv = build_argv(spec, {{"replica", "db-2"}, {"mode", "fast"}}, 1024);
  REQUIRE(argv);
  CHECK((*argv)[4] == "1");
}

TEST_CASE("every injection attempt is refused naming the argument, never repeating the value") {
  const auto spec = promote_spec();
  const std::vector<std::string> attacks = {"db; rm -rf /",
                                            "$(reboot)",
                                            "`id`",
                                            "db\nrm",
                                            std::string("db\0x", 4),
                                            "../etc",
                                            "a/../../b",
                                            "..",
                                            "-rf",
                                            "--help",
                                            "db|sh",
                                            "db&",
                                            "db\r",
                                            "\x7f",
                                            "db\xff",
                                            std::string(40, 'a'),
                                            "a b",
                                            "db>x"};
  for (const auto& attack : attacks) {
    CAPTURE(attack);
    const auto r = build_argv(spec, {{"replica", attack}, {"mode", "fast"}}, 1024);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == "InvalidArgument");
    CHECK(r.error().argument == "replica");
    CHECK(r.error().message.rfind("argument 'replica' ", 0) == 0);
    if (attack.size() > 2) CHECK(r.error().message.find(attack) == std::string::npos);
  }
  // The built-in refusals hold even where a pattern would let the value through.
  CHECK(build_argv(spec, {{"replica", "a/../b"}, {"mode", "fast"}}, 1024).error().message.find("'..'") !=
        std::string::npos);
  CHECK(build_argv(spec, {{"replica", "-x"}, {"mode", "fast"}}, 1024).error().message.find("'-'") != std::string::npos);
  CHECK(build_argv(spec, {{"replica", "abcdef"}, {"mode", "fast"}}, 4).error().message.find("longer than 4") !=
        std::string::npos);
}

TEST_CASE("integer and enum arguments take only their declared values; unknown and missing ones are refused") {
  const auto spec = promote_spec();
  for (const std::string& bad : std::vector<std::string>{"3; rm", "1e3", "0x10", "9", "0", "", " 3", "+3", "--1"}) {
    CAPTURE(bad);
    const auto r = build_argv(spec, {{"replica", "db"}, {"lines", bad}, {"mode", "fast"}}, 1024);
    REQUIRE_FALSE(r);
    CHECK(r.error().argument == "lines");
  }
  const auto mode = build_argv(spec, {{"replica", "db"}, {"mode", "FAST"}}, 1024);
  REQUIRE_FALSE(mode);
  CHECK(mode.error().argument == "mode");
  const auto unknown = build_argv(spec, {{"replica", "db"}, {"mode", "fast"}, {"shell", "/bin/sh"}}, 1024);
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().code == "UnknownArgument");
  CHECK(unknown.error().argument == "shell");
  const auto missing = build_argv(spec, {{"replica", "db"}}, 1024);
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code == "MissingArgument");
  CHECK(missing.error().argument == "mode");
}

// ---- tokens -------------------------------------------------------------------------------------

TEST_CASE("tokens compare by digest: equal only when equal, whatever the lengths") {
  CHECK(token_matches(kToken, kToken));
  CHECK_FALSE(token_matches(kToken + "x", kToken));
  CHECK_FALSE(token_matches(kToken.substr(0, 10), kToken));
  CHECK_FALSE(token_matches("", kToken));
  CHECK_FALSE(token_matches("", ""));  // an empty expected token never matches
}

TEST_CASE("token files: any one is accepted, a changed file is re-read, bad files accept nothing") {
  test::TempDir dir;
  const auto a = dir.write("a.token", kToken + "\n");
  const auto b = dir.write("b.token", "");
  const auto c = dir.write("c.token", "short\n");
  TokenSet set({a, b, c, dir.file("none.token")});
  const auto problems = set.reload();
  CHECK(problems.size() == 3);
  CHECK(set.size() == 1);
  CHECK(set.accepts(kToken));
  CHECK_FALSE(set.accepts("short"));
  // Rotation: the new token goes into b; both work; then a's content is replaced.
  dir.write("b.token", "next-token-0123456789abcdef\n");
  set.reload_if_changed();
  CHECK(set.accepts("next-token-0123456789abcdef"));
  CHECK(set.accepts(kToken));
  dir.write("a.token", "replaced-token-0123456789\n");
  set.reload_if_changed();
  CHECK_FALSE(set.accepts(kToken));
  CHECK(set.accepts("replaced-token-0123456789"));
}

// ---- the run store ------------------------------------------------------------------------------

TEST_CASE("the run store finds runs by key after a reopen, marks running ones interrupted, and is locked") {
  test::TempDir dir;
  SystemClock clock;
  const std::string state = dir.file("state");
  std::string digest;
  {
    auto store = RunStore::open(state, clock);
    REQUIRE(store);
    RunRecord done;
    done.id = new_run_id();
    done.action = "stop-ingest";
    done.idempotency_key = "run-1/svc/failover/stop/1";
    done.request_digest = digest = (*store)->digest("stop-ingest", {{"site", "a"}});
    done.state = "succeeded";
    done.exit_code = 0;
    done.output = "stopped";
    CHECK_FALSE((*store)->save(done));
    RunRecord running = done;
    running.id = new_run_id();
    running.idempotency_key = "run-1/svc/failover/other/1";
    running.state = "running";
    running.exit_code.reset();
    CHECK_FALSE((*store)->save(running));
    CHECK((*store)->digest("stop-ingest", {{"site", "b"}}) != digest);
    CHECK((*store)->digest("start-ingest", {{"site", "a"}}) != digest);

    auto second = RunStore::open(state, clock);
    REQUIRE_FALSE(second);
    CHECK(second.error().find("in use by another agent") != std::string::npos);
  }
  auto store = RunStore::open(state, clock);
  REQUIRE(store);
  CHECK((*store)->interrupted_on_open() == 1);
  const auto done = (*store)->find_by_key("run-1/svc/failover/stop/1");
  REQUIRE(done);
  CHECK(done->state == "succeeded");
  CHECK(done->output == "stopped");
  CHECK((*store)->digest("stop-ingest", {{"site", "a"}}) == digest);  // the salt persists
  const auto other = (*store)->find_by_key("run-1/svc/failover/other/1");
  REQUIRE(other);
  CHECK(other->state == "interrupted");
  CHECK_FALSE(other->finished.empty());
  // The interruption is on disk, not only in memory; no temp files are left behind.
  CHECK(read_file(state + "/runs/" + other->id + ".json").find("\"state\":\"interrupted\"") != std::string::npos);
  for (const auto& e : std::filesystem::directory_iterator(state + "/runs"))
    CHECK(e.path().filename().string().rfind(".", 0) != 0);
}

TEST_CASE("a damaged run file stops the agent from starting, naming the file") {
  test::TempDir dir;
  SystemClock clock;
  dir.write("state/runs/r-000000000000000000000000.json", "{\"id\":");
  auto store = RunStore::open(dir.file("state"), clock);
  REQUIRE_FALSE(store);
  CHECK(store.error().find("r-000000000000000000000000.json is damaged") != std::string::npos);
}

// ---- commands -----------------------------------------------------------------------------------

TEST_CASE("a command's output keeps its tail up to the cap; stdout and stderr share it") {
  SystemClock clock;
  auto cmd = RunningCommand::start({"/bin/sh", "-c", "seq 1 2000; echo last-line >&2; exit 3"});
  REQUIRE(cmd);
  const auto out = (*cmd)->wait(clock, clock.now() + 10s, 1s, 64);
  REQUIRE(out.exit_code);
  CHECK(*out.exit_code == 3);
  CHECK_FALSE(out.timed_out);
  CHECK(out.output.rfind("[", 0) == 0);
  CHECK(out.output.find("earlier bytes dropped]\n") != std::string::npos);
  CHECK(out.output.size() <= 64 + 40);
  CHECK(out.output.find("2000\nlast-line\n") != std::string::npos);
}

TEST_CASE("a command past its timeout is stopped with its whole process group") {
  test::TempDir dir;
  SystemClock clock;
  const auto marker = dir.file("child-survived");
  // The child in the background would write the marker if it outlived the group's SIGKILL.
  auto cmd = RunningCommand::start({"/bin/sh", "-c", "trap '' TERM; (sleep 2; touch " + marker + ") & sleep 30"});
  REQUIRE(cmd);
  const auto start = clock.now();
  const auto out = (*cmd)->wait(clock, clock.now() + 200ms, 200ms, 4096);
  CHECK(out.timed_out);
  CHECK(clock.now() - start < 5s);
  std::this_thread::sleep_for(2500ms);
  CHECK_FALSE(std::filesystem::exists(marker));

  auto missing = RunningCommand::start({"/nonexistent/program"});
  CHECK_FALSE(missing);
}

// ---- the server end to end ----------------------------------------------------------------------

namespace {

struct Agent {
  test::TempDir dir;
  SystemClock clock;
  std::ostringstream log;
  std::unique_ptr<AgentServer> server;
  std::string url;
  std::string marker, state;

  explicit Agent(const std::string& extra = "", const std::string& limits = "") {
    marker = dir.file("marker");
    state = dir.file("state");
    dir.write("token", kToken + "\n");
    // act.sh SITE CODE PASSWORD: one marker line per run, then exits CODE.
    dir.write("act.sh", "#!/bin/sh\necho \"$1\" >> " + marker +
                            "\necho \"ran $1\"\n"
                            "[ \"$3\" = none ] || echo \"pw $3\"\nexit \"$2\"\n");
    ::chmod(dir.file("act.sh").c_str(), 0755);
    dir.write(
        "agent.yaml",
        "listen: 127.0.0.1:0\ntokens: [" + dir.file("token") + "]\nstate-dir: " + state + "\n" + limits +
            "actions:\n  touch:\n    command: [" + dir.file("act.sh") +
            ", \"{site}\", \"{code}\", \"{password}\"]\n    args:\n      site: { pattern: \"^[a-z0-9-]{1,16}$\" }\n"
            "      code: { type: integer, min: 0, max: 9, default: \"0\" }\n"
            "      password: { pattern: \"^[a-z]+$\", secret: true, default: none }\n" +
            extra);
    restart();
  }
  void restart() {
    if (server) server->shutdown();
    server.reset();
    auto config = load_config(dir.file("agent.yaml"));
    if (!config) FAIL(messages(config.error()));
    server = std::make_unique<AgentServer>(std::move(*config), clock, log);
    auto started = server->start();
    if (!started) FAIL(started.error());
    url = *started;
  }
  httplib::Client client(const std::string& token = kToken) const {
    httplib::Client c(url);
    c.set_connection_timeout(5);
    c.set_read_timeout(20);
    if (!token.empty()) c.set_bearer_token_auth(token.c_str());
    return c;
  }
  httplib::Result post(const std::string& action, const json& body, const std::string& key,
                       const std::string& token = kToken) {
    auto c = client(token);
    httplib::Headers h;
    if (!key.empty()) h.emplace("Idempotency-Key", key);
    return c.Post(("/v1/actions/" + action + "/runs").c_str(), h, body.dump(), "application/json");
  }
  json wait_finished(const std::string& id) {
    auto c = client();
    for (int i = 0; i < 500; ++i) {
      auto r = c.Get(("/v1/runs/" + id).c_str());
      REQUIRE(r);
      const auto j = json::parse(r->body);
      if (j["state"] != "running") return j;
      std::this_thread::sleep_for(10ms);
    }
    FAIL("the run did not finish");
    return {};
  }
  int ran() const { return std::filesystem::exists(marker) ? count_lines(marker) : 0; }
};

json args(std::map<std::string, json> kv) {
  json a = json::object();
  for (auto& [k, v] : kv) a[k] = v;
  return json{{"args", a}};
}

}  // namespace

TEST_CASE("the agent runs an action once per Idempotency-Key, also after a restart") {
  Agent agent;
  auto r = agent.post("touch", args({{"site", "plant-a"}}), "run-1/svc/failover/touch/1");
  REQUIRE(r);
  CHECK(r->status == 202);
  const auto id = json::parse(r->body)["id"].get<std::string>();
  CHECK(r->get_header_value("Location") == "/v1/runs/" + id);
  const auto done = agent.wait_finished(id);
  CHECK(done["state"] == "succeeded");
  CHECK(done["exit-code"] == 0);
  CHECK(done["output"] == "ran plant-a\n");
  CHECK(done["action"] == "touch");
  CHECK_FALSE(done["finished"].get<std::string>().empty());

  r = agent.post("touch", args({{"site", "plant-a"}}), "run-1/svc/failover/touch/1");
  REQUIRE(r);
  CHECK(r->status == 202);
  CHECK(json::parse(r->body)["id"] == id);
  CHECK(json::parse(r->body)["state"] == "succeeded");
  agent.restart();
  r = agent.post("touch", args({{"site", "plant-a"}}), "run-1/svc/failover/touch/1");
  REQUIRE(r);
  CHECK(json::parse(r->body)["id"] == id);
  CHECK(agent.ran() == 1);

  // The same key for other arguments is the client's mistake: 422, nothing runs.
  r = agent.post("touch", args({{"site", "plant-b"}}), "run-1/svc/failover/touch/1");
  REQUIRE(r);
  CHECK(r->status == 422);
  CHECK(json::parse(r->body)["error"]["code"] == "IdempotencyKeyReused");
  // A new key is a new run; a failing command is a failed run with its exit code.
  r = agent.post("touch", args({{"site", "plant-b"}, {"code", 3}}), "run-1/svc/failover/touch/2");
  REQUIRE(r);
  const auto failed = agent.wait_finished(json::parse(r->body)["id"]);
  CHECK(failed["state"] == "failed");
  CHECK(failed["exit-code"] == 3);
  CHECK(agent.ran() == 2);
}

TEST_CASE("requests without the right token are refused before anything runs, and logged without it") {
  Agent agent;
  for (const std::string& token : std::vector<std::string>{"", "wrong-token-0123456789", kToken + "x"}) {
    auto r = agent.post("touch", args({{"site", "a"}}), "k-" + std::to_string(token.size()), token);
    REQUIRE(r);
    CHECK(r->status == 401);
    CHECK(r->get_header_value("WWW-Authenticate") == "Bearer");
    CHECK(json::parse(r->body)["error"]["code"] == "Unauthorized");
  }
  auto c = agent.client("");
  CHECK(c.Get("/v1/health")->status == 401);
  CHECK(c.Get("/v1/runs/r-000000000000000000000000")->status == 401);
  std::this_thread::sleep_for(200ms);
  CHECK(agent.ran() == 0);
  // One access-log line per request, none with the token.
  const auto log = agent.log.str();
  CHECK(std::count(log.begin(), log.end(), '\n') == 5);
  CHECK(log.find(" POST /v1/actions/touch/runs 401 ") != std::string::npos);
  CHECK(log.find(kToken) == std::string::npos);
}

TEST_CASE("injection attempts, unknown arguments and bad bodies get 400 naming the argument; nothing runs") {
  Agent agent;
  int n = 0;
  for (const std::string& attack :
       std::vector<std::string>{"a; rm -rf /", "$(touch /tmp/x)", "a\nb", "../etc", "a/../b", "-rf"}) {
    auto r = agent.post("touch", args({{"site", attack}}), "key-" + std::to_string(++n));
    REQUIRE(r);
    CHECK(r->status == 400);
    const auto e = json::parse(r->body)["error"];
    CHECK(e["code"] == "InvalidArgument");
    CHECK(e["argument"] == "site");
  }
  auto r = agent.post("touch", args({{"site", "a"}, {"shell", "sh"}}), "key-u");
  CHECK(r->status == 400);
  CHECK(json::parse(r->body)["error"]["code"] == "UnknownArgument");
  r = agent.post("touch", args({{"site", true}}), "key-b");
  CHECK(r->status == 400);
  r = agent.post("touch", json::array(), "key-c");
  CHECK(r->status == 400);
  r = agent.post("touch", args({{"site", "a"}}), "");
  CHECK(r->status == 400);
  CHECK(json::parse(r->body)["error"]["code"] == "MissingIdempotencyKey");
  r = agent.post("nope", args({}), "key-n");
  CHECK(r->status == 404);
  CHECK(json::parse(r->body)["error"]["code"] == "UnknownAction");
  auto c = agent.client();
  r = c.Post("/v1/actions/touch/runs", {{"Idempotency-Key", "big"}}, std::string(70000, ' '), "application/json");
  REQUIRE(r);
  CHECK(r->status == 413);
  std::this_thread::sleep_for(200ms);
  CHECK(agent.ran() == 0);
}

TEST_CASE("a secret argument is kept out of the run file, the answer and the output") {
  Agent agent("", "");
  auto r = agent.post("touch", args({{"site", "a"}, {"password", "hunter"}}), "key-s");
  REQUIRE(r);
  REQUIRE(r->status == 202);
  const auto id = json::parse(r->body)["id"].get<std::string>();
  const auto done = agent.wait_finished(id);
  CHECK(done["output"] == "ran a\npw [redacted]\n");
  CHECK(done.dump().find("hunter") == std::string::npos);
  CHECK(read_file(agent.state + "/runs/" + id + ".json").find("hunter") == std::string::npos);
  CHECK(agent.log.str().find("hunter") == std::string::npos);
}

TEST_CASE("concurrency limits answer 429 with Retry-After; cancel stops a run; finished runs cannot be cancelled") {
  Agent agent("  slow:\n    command: [/bin/sleep, \"30\"]\n    concurrency: 1\n    timeout: 1m\n",
              "limits: { retry-after: 7s, kill-after: 1s }\n");
  auto r = agent.post("slow", json::object(), "s-1");
  REQUIRE(r);
  REQUIRE(r->status == 202);
  const auto id = json::parse(r->body)["id"].get<std::string>();
  r = agent.post("slow", json::object(), "s-2");
  REQUIRE(r);
  CHECK(r->status == 429);
  CHECK(r->get_header_value("Retry-After") == "7");
  auto c = agent.client();
  r = c.Post(("/v1/runs/" + id + "/cancel").c_str());
  REQUIRE(r);
  CHECK(r->status == 202);
  CHECK(json::parse(r->body)["state"] == "cancelled");
  CHECK(agent.wait_finished(id)["state"] == "cancelled");
  r = c.Post(("/v1/runs/" + id + "/cancel").c_str());
  CHECK(r->status == 409);
  CHECK(c.Get("/v1/runs/r-ffffffffffffffffffffffff")->status == 404);
  CHECK(c.Get("/v1/runs/..%2f..%2fsalt")->status == 404);
}

TEST_CASE("checks pass on exit 0 and fail otherwise; health answers ok") {
  Agent agent(
      "checks:\n  up: { command: [/bin/true] }\n  down: { command: [/bin/sh, -c, \"echo no upstream; exit 1\"] }\n");
  auto c = agent.client();
  auto r = c.Get("/v1/checks/up");
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(json::parse(r->body)["status"] == "pass");
  r = c.Get("/v1/checks/down");
  CHECK(json::parse(r->body)["status"] == "fail");
  CHECK(json::parse(r->body)["output"] == "no upstream\n");
  CHECK(c.Get("/v1/checks/nope")->status == 404);
  r = c.Get("/v1/health");
  CHECK(r->status == 200);
  CHECK(json::parse(r->body)["status"] == "ok");
}

TEST_CASE("shutdown lets a short run finish, interrupts a long one, and a restart reports it interrupted") {
  Agent agent(
      "  slow:\n    command: [/bin/sleep, \"30\"]\n  quick:\n    command: [/bin/sh, -c, \"sleep 0.3; echo done\"]\n",
      "limits: { grace: 1s, kill-after: 1s }\n");
  auto slow = agent.post("slow", json::object(), "k-slow");
  auto quick = agent.post("quick", json::object(), "k-quick");
  REQUIRE(slow);
  REQUIRE(quick);
  const auto slow_id = json::parse(slow->body)["id"].get<std::string>();
  const auto quick_id = json::parse(quick->body)["id"].get<std::string>();
  CHECK(agent.server->shutdown() == 1);
  agent.restart();
  auto c = agent.client();
  CHECK(json::parse(c.Get(("/v1/runs/" + quick_id).c_str())->body)["state"] == "succeeded");
  CHECK(json::parse(c.Get(("/v1/runs/" + slow_id).c_str())->body)["state"] == "interrupted");
}
