#include <doctest/doctest.h>
#include <signal.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "dr/local_actions.h"
#include "unit/local_http_server.h"
#include "unit/test_support.h"

using namespace dr;
using namespace std::chrono_literals;
using Status = StepResult::Status;

namespace {

// Everything a test needs to call one action: a registry of the local actions, a fake clock and
// a step spec.
struct Bench {
  ActionRegistry registry;
  FakeClock clock;
  StepSpec step;
  StepCall call;

  explicit Bench(const std::string& action, Value params = Value::map({})) {
    register_local_actions(registry);
    step.id = "plant/failover/" + action;
    step.action = action;
    call.run_id = "run-1";
    call.step = &step;
    call.action = action;
    call.params = std::move(params);
    call.clock = &clock;
  }
  Action& action() { return *registry.find(call.action); }
  void timeout(Duration d) {
    step.timeout = d;
    call.deadline = clock.now() + d;
  }

  // The engine's loop in miniature: submit, then poll after each poll_after until done. With
  // `real_time` it also sleeps, for actions that watch real processes.
  StepResult run(bool real_time = false, int max_polls = 100000) {
    StepResult r = first = action().submit(call);
    for (polls = 0; r.status == Status::pending && polls < max_polls; ++polls) {
      clock.advance(r.poll_after);
      if (real_time) std::this_thread::sleep_for(r.poll_after);
      last_handle = r.handle;
      r = action().poll(call, r.handle);
    }
    return r;
  }
  StepResult first;  // what submit() returned
  int polls = 0;
  Value last_handle;
};

Value strings(std::initializer_list<const char*> items) {
  std::vector<Value> out;
  for (const char* s : items) out.push_back(Value::string(s));
  return Value::list(std::move(out));
}

Value command(std::initializer_list<const char*> argv, std::vector<Value::Entry> more = {}) {
  more.emplace_back("command", strings(argv));
  return Value::map(std::move(more));
}

// Gone, or a zombie nobody has reaped yet (it no longer runs either way).
bool process_gone(pid_t pid) {
  for (int i = 0; i < 200; ++i) {
    if (::kill(pid, 0) == -1 && errno == ESRCH) return true;
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), {});
    const auto paren = text.rfind(')');
    if (paren != std::string::npos && text.size() > paren + 2 && text[paren + 2] == 'Z') return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

}  // namespace

TEST_CASE("the local actions are registered under their catalogue names") {
  ActionRegistry registry;
  register_local_actions(registry);
  CHECK(registry.names() == std::vector<std::string>{"exec", "http.probe", "manual.approve", "wait"});
  CHECK_FALSE(registry.find("wait")->blocking());
  CHECK_FALSE(registry.find("exec")->blocking());
  CHECK_FALSE(registry.find("manual.approve")->blocking());
  CHECK(registry.find("http.probe")->blocking());
}

TEST_CASE("in a rehearsal exec runs nothing: it succeeds after a simulated second and says so") {
  dr::test::TempDir dir;
  const std::string marker = dir.file("ran");
  Bench b("exec", command({"/bin/sh", "-c", "touch \"$1\"", "sh", marker.c_str()}));
  ActionRegistry simulated;
  register_local_actions(simulated, true);
  Action& exec = *simulated.find("exec");
  CHECK(exec.read_only());
  const auto start = b.clock.now();
  StepResult r = exec.submit(b.call);
  REQUIRE(r.status == Status::pending);
  while (r.status == Status::pending) {
    b.clock.advance(r.poll_after);
    r = exec.poll(b.call, r.handle);
  }
  CHECK(r.status == Status::succeeded);
  CHECK(b.clock.now() - start >= 1s);
  CHECK(r.outputs["exit-code"] == "0");
  CHECK(r.outputs["stdout"].find("simulated") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(marker));  // the command never ran
}

// --- wait -------------------------------------------------------------------------------------

TEST_CASE("wait ends when its duration has passed on the clock, holding no thread") {
  Bench b("wait", Value::map({{"duration", Value::string("90s")}}));
  const auto start = b.clock.now();
  const auto first = b.action().submit(b.call);
  REQUIRE(first.status == Status::pending);
  CHECK(first.poll_after == 90s);
  CHECK(first.handle.find("until")->as_string() == format_rfc3339(b.clock.wall() + 90s));

  const auto r = b.run();
  CHECK(r.status == Status::succeeded);
  CHECK(b.clock.now() - start == 90s);
  CHECK(b.action().describe(b.call) == std::vector<std::string>{"wait 90s"});
}

TEST_CASE("a wall-clock jump neither stretches nor cuts a wait in progress (P11)") {
  Bench b("wait", Value::map({{"duration", Value::string("10m")}}));
  const Value handle = b.action().submit(b.call).handle;
  CHECK(handle.find("clock")->as_string() == b.clock.monotonic_epoch());

  b.clock.advance(4min);
  b.clock.set_wall(b.clock.wall() - 2h);  // an NTP step backwards
  auto r = b.action().poll(b.call, handle);
  REQUIRE(r.status == Status::pending);
  CHECK(r.poll_after == 6min);

  b.clock.set_wall(b.clock.wall() + 72h);  // and far forwards: the monotonic deadline still rules
  r = b.action().poll(b.call, handle);
  REQUIRE(r.status == Status::pending);
  CHECK(r.poll_after == 6min);
  b.clock.advance(6min);
  CHECK(b.action().poll(b.call, handle).status == Status::succeeded);
}

TEST_CASE("a wait polled by a clock of another epoch (a resume after a reboot) counts wall time") {
  Bench b("wait", Value::map({{"duration", Value::string("10m")}}));
  const Value handle = b.action().submit(b.call).handle;

  Bench after_reboot("wait", Value::map({{"duration", Value::string("10m")}}));
  REQUIRE(after_reboot.clock.monotonic_epoch() != b.clock.monotonic_epoch());
  after_reboot.clock.set_wall(b.clock.wall() + 4min);
  auto r = after_reboot.action().poll(after_reboot.call, handle);
  REQUIRE(r.status == Status::pending);
  CHECK(r.poll_after == 6min);

  after_reboot.clock.set_wall(b.clock.wall() + 1h);
  CHECK(after_reboot.action().poll(after_reboot.call, handle).status == Status::succeeded);
  CHECK(after_reboot.action().reconcile(after_reboot.call).verdict == Reconciliation::Verdict::not_started);
}

TEST_CASE("the system clock's monotonic epoch is the boot, shared by every process") {
  SystemClock a, b;
  CHECK(a.monotonic_epoch() == b.monotonic_epoch());
  CHECK(a.monotonic_epoch().rfind("boot-", 0) == 0);
  FakeClock f1, f2;
  CHECK(f1.monotonic_epoch() != f2.monotonic_epoch());
}

TEST_CASE("wait refuses a missing or malformed duration for good") {
  Bench b("wait", Value::map({{"duration", Value::string("ninety")}}));
  auto r = b.action().submit(b.call);
  CHECK(r.status == Status::failed);
  CHECK_FALSE(r.retryable);
  CHECK(r.error == "duration must be a duration like 90s or 15m, not 'ninety'");

  Bench zero("wait", Value::map({{"duration", Value::string("0s")}}));
  CHECK(zero.action().submit(zero.call).status == Status::succeeded);
}

// --- exec -------------------------------------------------------------------------------------

TEST_CASE("exec captures stdout and stderr of a command that succeeds") {
  Bench b("exec", command({"/bin/sh", "-c", "echo out; echo err >&2; exit 0"}));
  const auto r = b.run(true);
  REQUIRE(r.status == Status::succeeded);
  CHECK(r.outputs.at("exit-code") == "0");
  CHECK(r.outputs.at("stdout") == "out\n");
  CHECK(r.outputs.at("stderr") == "err\n");

  REQUIRE(b.first.status == Status::pending);
  CHECK(b.first.poll_after == 2ms);
  CHECK(b.first.handle.find("pid")->as_int() > 0);
  CHECK(b.first.handle.find("pgid")->as_int() == b.first.handle.find("pid")->as_int());
  CHECK(parse_rfc3339(b.first.handle.find("started")->as_string()));
}

TEST_CASE("exec finds a program without a slash in PATH and runs it in cwd") {
  dr::test::TempDir dir;
  Bench b("exec", command({"pwd"}, {{"cwd", Value::string(dir.path().string())}}));
  const auto r = b.run(true);
  REQUIRE(r.status == Status::succeeded);
  CHECK(r.outputs.at("stdout") == std::filesystem::canonical(dir.path()).string() + "\n");
  CHECK(b.action().describe(b.call) == std::vector<std::string>{"run pwd in " + dir.path().string()});
}

TEST_CASE("exec fails with the exit status and the last line of stderr, and a retry may help") {
  Bench b("exec", command({"/bin/sh", "-c", "echo starting >&2; echo 'disk full' >&2; exit 3"}));
  const auto r = b.run(true);
  REQUIRE(r.status == Status::failed);
  CHECK(r.error == "command exited with status 3: disk full");
  CHECK(r.retryable);
}

TEST_CASE("exec keeps at most output-cap bytes of each stream and says how much it dropped") {
  Bench b("exec", command({"/bin/sh", "-c", "head -c 100000 /dev/zero | tr '\\000' a; echo short >&2"},
                          {{"output-cap", Value::integer(1000)}}));
  const auto r = b.run(true);
  REQUIRE(r.status == Status::succeeded);
  CHECK(r.outputs.at("stdout") == std::string(1000, 'a') + "\n... [99000 bytes dropped]");
  CHECK(r.outputs.at("stderr") == "short\n");
}

TEST_CASE("exec kills the whole process group when the step times out") {
  dr::test::TempDir dir;
  const std::string pidfile = dir.file("child.pid");
  Bench b("exec", command({"/bin/sh", "-c", ("sleep 30 & echo $! > " + pidfile + "; wait").c_str()}));
  b.timeout(300ms);
  const auto started = std::chrono::steady_clock::now();
  const auto r = b.run(true);
  REQUIRE(r.status == Status::failed);
  CHECK(r.error.starts_with("timed out after "));
  CHECK_FALSE(r.retryable);
  CHECK(std::chrono::steady_clock::now() - started < 5s);

  pid_t child = 0;
  std::ifstream(pidfile) >> child;
  REQUIRE(child > 0);
  CHECK(process_gone(child));
  CHECK(process_gone(static_cast<pid_t>(b.last_handle.find("pid")->as_int())));
}

TEST_CASE("exec sends SIGKILL to a command that ignores SIGTERM") {
  Bench b("exec", command({"/bin/sh", "-c", "trap '' TERM; sleep 30"}));
  b.timeout(100ms);
  const auto r = b.run(true);
  REQUIRE(r.status == Status::failed);
  CHECK(r.error.starts_with("timed out after "));
  CHECK(process_gone(static_cast<pid_t>(b.last_handle.find("pid")->as_int())));
}

TEST_CASE("a cancelled exec stops its command") {
  Bench b("exec", command({"sleep", "30"}));
  const auto first = b.action().submit(b.call);
  REQUIRE(first.status == Status::pending);
  b.action().cancel(b.call, first.handle);
  StepResult r = first;
  for (int i = 0; i < 200 && r.status == Status::pending; ++i) {
    std::this_thread::sleep_for(r.poll_after);
    r = b.action().poll(b.call, r.handle);
  }
  REQUIRE(r.status == Status::failed);
  CHECK(r.error == "cancelled; its process group was stopped");
  CHECK(process_gone(static_cast<pid_t>(first.handle.find("pid")->as_int())));
}

TEST_CASE("exec does not pass edgedr's own credentials to commands, but passes env: and the rest") {
  ::setenv("AZURE_CLIENT_SECRET", "sp-secret-value", 1);
  ::setenv("AZURE_CLIENT_CERTIFICATE_PASSWORD", "cert-password-value", 1);
  ::setenv("EDGEDR_AGENT_TOKEN_FILE_NEXT", "agent-token-value", 1);
  ::setenv("EDGEDR_TEST_INHERITED", "inherited", 1);
  ::setenv("EDGEDR_TEST_OVERRIDDEN", "old", 1);
  Bench b("exec", command({"env"}, {{"env", Value::map({{"DR_SITE", Value::string("plant-7")},
                                                        {"EDGEDR_TEST_OVERRIDDEN", Value::string("new")}})}}));
  const auto r = b.run(true);
  for (const char* name : {"AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PASSWORD", "EDGEDR_AGENT_TOKEN_FILE_NEXT",
                           "EDGEDR_TEST_INHERITED", "EDGEDR_TEST_OVERRIDDEN"})
    ::unsetenv(name);

  REQUIRE(r.status == Status::succeeded);
  const std::string& out = r.outputs.at("stdout");
  CHECK(out.find("sp-secret-value") == std::string::npos);
  CHECK(out.find("cert-password-value") == std::string::npos);
  CHECK(out.find("agent-token-value") == std::string::npos);
  CHECK(out.find("DR_SITE=plant-7\n") != std::string::npos);
  CHECK(out.find("EDGEDR_TEST_INHERITED=inherited\n") != std::string::npos);
  CHECK(out.find("EDGEDR_TEST_OVERRIDDEN=new\n") != std::string::npos);
  CHECK(out.find("EDGEDR_TEST_OVERRIDDEN=old") == std::string::npos);
}

TEST_CASE("exec of a program that does not exist fails for good") {
  Bench b("exec", command({"/nonexistent/edgedr-prog", "x"}));
  auto r = b.action().submit(b.call);
  REQUIRE(r.status == Status::failed);
  CHECK(r.error == "cannot run '/nonexistent/edgedr-prog': No such file or directory");
  CHECK_FALSE(r.retryable);

  Bench p("exec", command({"edgedr-no-such-program"}));
  r = p.action().submit(p.call);
  REQUIRE(r.status == Status::failed);
  CHECK(r.error == "cannot run 'edgedr-no-such-program': No such file or directory");
}

TEST_CASE("a process from before a restart cannot be followed, and the step needs an operator") {
  Bench b("exec", command({"true"}));
  const Value handle = Value::map({{"pid", Value::integer(999999)},
                                   {"pgid", Value::integer(999999)},
                                   {"started", Value::string("2026-01-01T00:00:00.000Z")}});
  const auto r = b.action().poll(b.call, handle);
  REQUIRE(r.status == Status::failed);
  CHECK(r.error.starts_with("the process from before the restart cannot be followed"));
  CHECK_FALSE(r.retryable);
  CHECK(b.action().reconcile(b.call).verdict == Reconciliation::Verdict::operator_needed);
  b.step.idempotent = true;
  CHECK(b.action().reconcile(b.call).verdict == Reconciliation::Verdict::not_started);
}

// --- http.probe -------------------------------------------------------------------------------

namespace {

struct ProbeServer : dr::test::LocalHttpServer<> {
  ProbeServer() {
    server.Get("/health", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(R"({"status":"ok","version":"4.2.1"})", "application/json");
    });
    server.Get("/down", [](const httplib::Request&, httplib::Response& res) {
      res.status = 503;
      res.set_content("maintenance", "text/plain");
    });
    server.Get("/empty", [](const httplib::Request&, httplib::Response& res) { res.status = 204; });
    server.Post("/echo", [](const httplib::Request& req, httplib::Response& res) {
      res.set_content(req.get_header_value("X-Site") + ":" + req.body, "text/plain");
    });
    start();
  }
};

Value probe(const std::string& url, std::vector<Value::Entry> more = {}) {
  more.emplace_back("url", Value::string(url));
  return Value::map(std::move(more));
}

}  // namespace

TEST_CASE("http.probe succeeds when the status is the expected one and gives status and body") {
  ProbeServer s;
  Bench b("http.probe", probe(s.url("/health")));
  const auto r = b.action().submit(b.call);
  REQUIRE(r.status == Status::succeeded);
  CHECK(r.outputs.at("status") == "200");
  CHECK(r.outputs.at("body") == R"({"status":"ok","version":"4.2.1"})");
  CHECK(b.action().describe(b.call) == std::vector<std::string>{"GET " + s.url("/health") + " (expect 200)"});
  CHECK(b.action().reconcile(b.call).verdict == Reconciliation::Verdict::not_started);
}

TEST_CASE("http.probe fails, retryably, on another status") {
  ProbeServer s;
  Bench b("http.probe", probe(s.url("/down")));
  const auto r = b.action().submit(b.call);
  REQUIRE(r.status == Status::failed);
  CHECK(r.error == "GET " + s.url("/down") + " answered 503, expected 200");
  CHECK(r.retryable);
}

TEST_CASE("http.probe accepts any status of a list") {
  ProbeServer s;
  const Value statuses = Value::list({Value::integer(200), Value::integer(204)});
  Bench b("http.probe", probe(s.url("/empty"), {{"expect-status", statuses}}));
  CHECK(b.action().submit(b.call).status == Status::succeeded);
  CHECK(b.action().describe(b.call) == std::vector<std::string>{"GET " + s.url("/empty") + " (expect 200 or 204)"});

  Bench down("http.probe", probe(s.url("/down"), {{"expect-status", statuses}}));
  CHECK(down.action().submit(down.call).error == "GET " + s.url("/down") + " answered 503, expected 200 or 204");

  Bench one("http.probe", probe(s.url("/down"), {{"expect-status", Value::integer(503)}}));
  CHECK(one.action().submit(one.call).status == Status::succeeded);
}

TEST_CASE("http.probe checks the body for a substring and for a regex") {
  ProbeServer s;
  Bench contains("http.probe", probe(s.url("/health"), {{"expect-body", Value::string(R"("status":"ok")")}}));
  CHECK(contains.action().submit(contains.call).status == Status::succeeded);

  Bench missing("http.probe", probe(s.url("/health"), {{"expect-body", Value::string("healthy")}}));
  const auto r = missing.action().submit(missing.call);
  REQUIRE(r.status == Status::failed);
  CHECK(r.error == "GET " + s.url("/health") + " answered 200 but the body does not contain 'healthy'");

  Bench regex("http.probe", probe(s.url("/health"), {{"expect-body-regex", Value::string(R"("version":"4\.\d+)")}}));
  CHECK(regex.action().submit(regex.call).status == Status::succeeded);

  Bench nomatch("http.probe", probe(s.url("/health"), {{"expect-body-regex", Value::string("^ok$")}}));
  CHECK(nomatch.action().submit(nomatch.call).error ==
        "GET " + s.url("/health") + " answered 200 but the body does not match /^ok$/");

  Bench invalid("http.probe", probe(s.url("/health"), {{"expect-body-regex", Value::string("(unclosed")}}));
  const auto bad = invalid.action().submit(invalid.call);
  CHECK(bad.error.starts_with("expect-body-regex is not a valid ECMAScript regex"));
  CHECK_FALSE(bad.retryable);
}

TEST_CASE("http.probe sends method, headers and body, and never shows header values or URL secrets") {
  ProbeServer s;
  Bench b("http.probe", probe(s.url("/echo"), {{"method", Value::string("POST")},
                                               {"headers", Value::map({{"X-Site", Value::string("plant-7")}})},
                                               {"body", Value::string("ping")}}));
  const auto ok = b.action().submit(b.call);
  REQUIRE(ok.status == Status::succeeded);
  CHECK(ok.outputs.at("body") == "plant-7:ping");

  Bench secret("http.probe", probe(s.url("/down?code=func-key-value"),
                                   {{"headers", Value::map({{"Authorization", Value::string("Bearer tok-value")}})}}));
  const auto r = secret.action().submit(secret.call);
  REQUIRE(r.status == Status::failed);
  CHECK(r.error == "GET " + s.url("/down?code=[redacted]") + " answered 503, expected 200");
  CHECK(r.error.find("tok-value") == std::string::npos);
  CHECK(secret.action().describe(secret.call)[0].find("func-key-value") == std::string::npos);
}

TEST_CASE("http.probe reports a transport failure as retryable and a refused URL as final") {
  Bench closed("http.probe", probe("http://127.0.0.1:1/health"));
  const auto r = closed.action().submit(closed.call);
  REQUIRE(r.status == Status::failed);
  CHECK(r.error.starts_with("GET http://127.0.0.1:1/health: "));
  CHECK(r.retryable);

  Bench remote("http.probe", probe("http://192.0.2.1/health"));
  const auto refused = remote.action().submit(remote.call);
  CHECK(refused.error ==
        "GET http://192.0.2.1/health: plain http:// is only allowed to loopback addresses; use https:// for 192.0.2.1");
  CHECK_FALSE(refused.retryable);
}

TEST_CASE("http.probe never waits longer than request-timeout") {
  dr::test::LocalHttpServer<> s;
  s.server.Get("/slow", [](const httplib::Request&, httplib::Response& res) {
    std::this_thread::sleep_for(1s);
    res.set_content("late", "text/plain");
  });
  s.start();
  Bench b("http.probe", probe(s.url("/slow"), {{"request-timeout", Value::string("100ms")}}));
  const auto started = std::chrono::steady_clock::now();
  const auto r = b.action().submit(b.call);
  CHECK(r.status == Status::failed);
  CHECK(r.retryable);
  CHECK(std::chrono::steady_clock::now() - started < 900ms);
}

// --- manual.approve ---------------------------------------------------------------------------

namespace {

class FakeApprovals final : public ApprovalSource {
 public:
  int approve_after = -1;  // answers of approved_by() before the approval arrives; -1: never
  int asked = 0;
  std::vector<std::string> requests;

  std::optional<std::string> approved_by(const std::string&, const std::string&) override {
    if (approve_after >= 0 && asked++ >= approve_after) return "alice";
    return std::nullopt;
  }
  void request(const std::string& run, const std::string& step, const std::string& message) override {
    requests.push_back(run + " " + step + ": " + message);
  }
  std::string how_to_approve(const std::string& run, const std::string& step) const override {
    return "approve it with edgedr approve " + run + " " + step;
  }
};

}  // namespace

TEST_CASE("manual.approve succeeds at once when the step is already approved") {
  FakeApprovals approvals;
  approvals.approve_after = 0;
  Bench b("manual.approve");
  b.call.approvals = &approvals;
  const auto r = b.action().submit(b.call);
  REQUIRE(r.status == Status::succeeded);
  CHECK(r.outputs.at("approved-by") == "alice");
  CHECK(approvals.requests.empty());
}

TEST_CASE("manual.approve asks once, then polls every second until approved") {
  FakeApprovals approvals;
  approvals.approve_after = 3;  // submit's look and two polls find nothing; the third poll does
  Bench b("manual.approve", Value::map({{"message", Value::string("Fail over the historian?")}}));
  b.call.approvals = &approvals;
  b.timeout(1h);
  const auto start = b.clock.now();
  const auto r = b.run();
  REQUIRE(r.status == Status::succeeded);
  CHECK(r.outputs.at("approved-by") == "alice");
  CHECK(b.polls == 3);
  CHECK(b.clock.now() - start == 3s);
  REQUIRE(b.first.status == Status::pending);
  CHECK(parse_rfc3339(b.first.handle.find("requested")->as_string()));
  CHECK(approvals.requests ==
        std::vector<std::string>{"run-1 plant/failover/manual.approve: Fail over the historian?"});
}

TEST_CASE("manual.approve fails for good at the deadline and says how to approve") {
  FakeApprovals approvals;
  Bench b("manual.approve");
  b.call.approvals = &approvals;
  b.timeout(1h);
  const auto start = b.clock.now();
  const auto r = b.run();
  REQUIRE(r.status == Status::failed);
  CHECK(b.clock.now() - start == 1h);  // not a poll later
  CHECK(r.error == "not approved within 1h; approve it with edgedr approve run-1 plant/failover/manual.approve");
  CHECK_FALSE(r.retryable);
  REQUIRE(approvals.requests.size() == 1);
  CHECK(approvals.requests[0] == "run-1 plant/failover/manual.approve: approve step plant/failover/manual.approve?");
  CHECK(b.action().reconcile(b.call).verdict == Reconciliation::Verdict::not_started);
}
