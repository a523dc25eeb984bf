#include <doctest/doctest.h>

#include "dr/action.h"

using namespace dr;
using namespace std::chrono_literals;

namespace {

class Noop final : public Action {
 public:
  StepResult submit(const StepCall&) override { return StepResult::ok(); }
};

StepCall call_with(Value params) {
  StepCall call;
  call.action = "exec";
  call.params = std::move(params);
  return call;
}

}  // namespace

TEST_CASE("param_text gives a scalar parameter as text and the fallback for anything else") {
  const StepCall call = call_with(Value::map({{"name", Value::string("latest")},
                                              {"count", Value::integer(42)},
                                              {"flag", Value::boolean(true)},
                                              {"empty", Value::null()},
                                              {"list", Value::list({Value::string("a")})}}));
  CHECK(call.param_text("name") == "latest");
  CHECK(call.param_text("count") == "42");
  CHECK(call.param_text("flag") == "true");
  CHECK(call.param_text("empty", "dflt") == "dflt");
  CHECK(call.param_text("list", "dflt") == "dflt");
  CHECK(call.param_text("missing", "dflt") == "dflt");
  CHECK(call.param_text("missing").empty());
  CHECK(call.param("count")->as_int() == 42);
}

TEST_CASE("step results are built as succeeded, failed or pending") {
  const auto ok = StepResult::ok({{"status", "200"}});
  CHECK(ok.status == StepResult::Status::succeeded);
  CHECK(ok.outputs.at("status") == "200");

  const auto failed = StepResult::fail("boom", false);
  CHECK(failed.status == StepResult::Status::failed);
  CHECK(failed.error == "boom");
  CHECK_FALSE(failed.retryable);
  CHECK(StepResult::fail("again").retryable);

  const auto pending = StepResult::wait(Value::map({{"id", Value::string("job-1")}}), 250ms, "running");
  CHECK(pending.status == StepResult::Status::pending);
  CHECK(pending.handle.find("id")->as_string() == "job-1");
  CHECK(pending.poll_after == 250ms);
  CHECK(pending.progress == "running");
}

TEST_CASE("an action without a poll of its own fails when polled, for good") {
  Noop action;
  const auto r = action.poll(call_with({}), Value::null());
  CHECK(r.status == StepResult::Status::failed);
  CHECK(r.error == "this action has nothing to poll");
  CHECK_FALSE(r.retryable);
}

TEST_CASE("by default an idempotent step is submitted again after a crash and any other stops for an operator") {
  Noop action;
  StepSpec step;
  step.id = "historian/failover/stop-ingest";
  StepCall call = call_with({});
  call.run_id = "2026-11-23T0926-failover-a1b2";
  call.step = &step;

  auto r = action.reconcile(call);
  CHECK(r.verdict == Reconciliation::Verdict::operator_needed);
  CHECK(r.reason ==
        "exec may or may not have run before the crash; check by hand, then `edgedr resume "
        "2026-11-23T0926-failover-a1b2` "
        "to run it again "
        "(mark the step `idempotent: true` to do this automatically)");

  step.idempotent = true;
  CHECK(action.reconcile(call).verdict == Reconciliation::Verdict::not_started);

  call.step = nullptr;  // no step spec at all: nothing says it is safe
  CHECK(action.reconcile(call).verdict == Reconciliation::Verdict::operator_needed);
}

TEST_CASE("the registry finds actions by name and lists them sorted") {
  ActionRegistry registry;
  auto wait = std::make_shared<Noop>();
  registry.add("wait", wait);
  registry.add("exec", std::make_shared<Noop>());
  CHECK(registry.find("wait") == wait.get());
  CHECK(registry.find("nope") == nullptr);
  CHECK(registry.names() == std::vector<std::string>{"exec", "wait"});
}

TEST_CASE("registering a name twice or an empty action is a wiring error") {
  ActionRegistry registry;
  registry.add("wait", std::make_shared<Noop>());
  CHECK_THROWS_AS(registry.add("wait", std::make_shared<Noop>()), std::invalid_argument);
  CHECK_THROWS_AS(registry.add("exec", nullptr), std::invalid_argument);
}
