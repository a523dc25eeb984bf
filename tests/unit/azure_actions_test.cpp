// The Azure actions (traffic-manager.*, site-recovery.*, backup.*) against a fake ARM pipeline:
// the requests they send (method, path, api-version, body checked against the service's swagger
// when ../shared/azure-specs is present), the prior state their undo restores, how they follow
// jobs, how they reconcile after a crash, and (P7) that steps and undos run twice against the
// simulator leave the state the first run left.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>

#include "actions/azure_action_support.h"
#include "dr/azure_actions.h"
#include "dr/catalogue.h"
#include "dr/sim.h"
#include "unit/test_support.h"

using namespace dr;
using namespace std::chrono_literals;
using json = nlohmann::json;
using Status = StepResult::Status;
using Verdict = Reconciliation::Verdict;
using azure::ArmError;
using azure::ArmRequest;
using azure::ArmResponse;

namespace {

const std::string kSub = "11111111-2222-3333-4444-555555555555";
const std::string kTm =
    "/subscriptions/" + kSub + "/resourceGroups/rg-dr/providers/Microsoft.Network/trafficmanagerprofiles/tm-line3";
const std::string kVault =
    "/subscriptions/" + kSub + "/resourceGroups/rg-dr/providers/Microsoft.RecoveryServices/vaults/rsv-dr";
const std::string kBackupVault =
    "/subscriptions/" + kSub + "/resourceGroups/rg-dr/providers/Microsoft.RecoveryServices/vaults/rsv-line3";

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The path of a request: absolute URLs (nextLink, operation status) lose scheme, host and query.
std::string path_of(const ArmRequest& r) {
  std::string p = r.path.substr(0, r.path.find('?'));
  if (p.rfind("https://", 0) == 0) p = p.substr(p.find('/', 8));
  return p;
}

struct Sent {
  std::string method, path, api_version;
  std::optional<std::string> body;
  bool retry_unsafe = true;
};

using Reply = tl::expected<ArmResponse, ArmError>;

Reply reply(int status, const json& body = nullptr, HttpHeaders headers = {}) {
  ArmResponse r;
  r.status = status;
  r.headers = std::move(headers);
  r.body = body.is_null() ? std::string() : body.dump();
  return r;
}

Reply http_error(int status, const std::string& code, const std::string& message) {
  ArmError e;
  e.kind = ArmError::Kind::http;
  e.status = status;
  e.code = code;
  e.message = std::to_string(status) + ": " + code + ": " + message;
  e.retryable = status >= 500;
  return tl::unexpected(e);
}

// Records every request and answers through a handler the test sets.
class FakeArm final : public azure::Arm {
 public:
  std::function<Reply(const ArmRequest&)> handler;
  std::vector<Sent> sent;

  Reply send(const ArmRequest& r) override {
    sent.push_back({r.method, path_of(r), r.api_version, r.body, r.retry_unsafe_on_transport_error});
    if (!handler) return http_error(500, "NoHandler", "the test set no handler");
    return handler(r);
  }
  std::vector<Sent> writes() const {
    std::vector<Sent> out;
    for (const auto& s : sent)
      if (s.method != "GET") out.push_back(s);
    return out;
  }
};

Value fields(std::vector<Value::Entry> e) {
  return Value::map(std::move(e));
}

struct Bench {
  std::shared_ptr<FakeArm> arm = std::make_shared<FakeArm>();
  std::shared_ptr<azure::AzureContext> context = std::make_shared<azure::AzureContext>();
  ActionRegistry registry;
  FakeClock clock;
  StepSpec step;
  StepCall call;

  using Handler = std::function<Reply(const ArmRequest&)>;
  Bench(const std::string& action, Value params, Handler handler = {},
        std::optional<Clock::wall_time> wall = std::nullopt) {
    arm->handler = std::move(handler);
    if (wall) clock.set_wall(*wall);
    context->arm = arm;
    context->subscription = kSub;
    context->targets["traffic"] =
        fields({{"resource-group", Value::string("rg-dr")}, {"profile", Value::string("tm-line3")}});
    context->targets["recovery"] =
        fields({{"resource-group", Value::string("rg-dr")}, {"vault", Value::string("rsv-dr")}});
    context->targets["vault"] =
        fields({{"resource-group", Value::string("rg-dr")}, {"vault", Value::string("rsv-line3")}});
    azure::register_azure_actions(registry, context);
    step.id = "plant/failover/" + action;
    step.action = action;
    call.run_id = "run-1";
    call.step = &step;
    call.action = action;
    call.params = std::move(params);
    call.clock = &clock;
  }
  Action& action() { return *registry.find(call.action); }
  StepResult run(int max_polls = 50) {
    StepResult r = action().submit(call);
    for (polls = 0; r.status == Status::pending && polls < max_polls; ++polls) {
      progress.push_back(r.progress);
      poll_afters.push_back(r.poll_after);
      clock.advance(r.poll_after);
      r = action().poll(call, r.handle);
    }
    return r;
  }
  // The built-in undo of this step, as the engine calls it: the inverse action, the forward
  // step's parameters, and what capture() journaled.
  StepResult undo(const Value& captured) {
    const ActionSpec* spec = Catalogue::v1().find(call.action);
    REQUIRE(spec);
    REQUIRE(!spec->builtin_undo.empty());
    StepCall u = call;
    u.action = spec->builtin_undo;
    u.is_undo = true;
    u.captured = captured;
    return registry.find(u.action)->submit(u);
  }
  int polls = 0;
  std::vector<std::string> progress;
  std::vector<Duration> poll_afters;
};

Value params(std::vector<Value::Entry> e) {
  return Value::map(std::move(e));
}
Value text(const char* s) {
  return Value::string(s);
}

// ---- the services' swagger ----------------------------------------------------------------

std::optional<std::filesystem::path> shared_specs() {
  const char* env = std::getenv("EDGEDR_SHARED");
  std::filesystem::path root = env && *env ? env : std::filesystem::path(EDGEDR_SOURCE_DIR) / ".." / "shared";
  root /= "azure-specs";
  if (!std::filesystem::exists(root / "CONTRACTS.md")) return std::nullopt;
  return root;
}

std::optional<json> load_json(const std::filesystem::path& p) {
  std::ifstream in(p);
  if (!in) return std::nullopt;
  auto j = json::parse(in, nullptr, false);
  if (j.is_discarded()) return std::nullopt;
  return j;
}

// Checks a request body against the POST operation's body schema in a swagger file: every
// required property present, every property name declared (following $ref and allOf within the
// file, and polymorphic subtypes by their discriminator value). Problems as readable lines.
class SwaggerBodyChecker {
 public:
  explicit SwaggerBodyChecker(json spec) : spec_(std::move(spec)) {}

  // The body schema of the POST whose path template matches `path`; null when none.
  const json* post_body_schema(const std::string& path) const {
    const auto want = split(path);
    for (const auto& [tmpl, ops] : spec_["paths"].items()) {
      const auto have = split(tmpl);
      if (have.size() != want.size() || !ops.contains("post")) continue;
      bool same = true;
      for (std::size_t i = 0; i < have.size() && same; ++i)
        same = (have[i].size() > 1 && have[i].front() == '{') || lower(have[i]) == lower(want[i]);
      if (!same) continue;
      if (!ops["post"].contains("parameters")) return nullptr;
      for (const auto& p : ops["post"]["parameters"])  // a reference into spec_: the pointer stays valid
        if (p.value("in", "") == "body") return &p["schema"];
      return nullptr;
    }
    return nullptr;
  }

  std::vector<std::string> check(const json& value, const json& schema, const std::string& where = "body") const {
    std::vector<std::string> problems;
    walk(value, schema, where, problems);
    return problems;
  }

 private:
  static std::vector<std::string> split(const std::string& p) {
    std::vector<std::string> out;
    std::size_t start = 1;
    while (start <= p.size()) {
      const auto at = p.find('/', start);
      out.push_back(p.substr(start, at == std::string::npos ? std::string::npos : at - start));
      if (at == std::string::npos) break;
      start = at + 1;
    }
    return out;
  }

  const json* resolve(const json& schema) const {
    if (!schema.contains("$ref")) return &schema;
    const std::string ref = schema["$ref"];
    if (ref.rfind("#/definitions/", 0) != 0) return nullptr;  // another file: not checked
    const std::string name = ref.substr(14);
    if (!spec_["definitions"].contains(name)) return nullptr;
    return &spec_["definitions"][name];
  }

  // Properties and required names of a definition with its allOf parents.
  void collect(const json& def, json& props, std::vector<std::string>& required, std::string& discriminator) const {
    for (const auto& parent : def.value("allOf", json::array()))
      if (const json* p = resolve(parent)) collect(*p, props, required, discriminator);
    if (def.contains("properties"))
      for (const auto& [k, v] : def["properties"].items()) props[k] = v;
    for (const auto& r : def.value("required", json::array())) required.push_back(r);
    if (def.contains("discriminator")) discriminator = def["discriminator"];
  }

  // The definition whose x-ms-discriminator-value is `value` and that derives from `base`.
  const json* subtype(const std::string& base, const std::string& value) const {
    for (const auto& [name, def] : spec_["definitions"].items()) {
      if (def.value("x-ms-discriminator-value", "") != value) continue;
      for (const auto& parent : def.value("allOf", json::array()))
        if (parent.value("$ref", "") == "#/definitions/" + base) return &def;
    }
    return nullptr;
  }

  void walk(const json& value, const json& schema_in, const std::string& where,
            std::vector<std::string>& problems) const {
    const json* schema = resolve(schema_in);
    if (!schema) return;
    if (value.is_array()) {
      if (schema->contains("items"))
        for (std::size_t i = 0; i < value.size(); ++i)
          walk(value[i], (*schema)["items"], where + "[" + std::to_string(i) + "]", problems);
      else if (schema->value("type", "") != "array")
        problems.push_back(where + " is an array, the spec has no array here");
      return;
    }
    if (!value.is_object()) return;
    json props = json::object();
    std::vector<std::string> required;
    std::string discriminator;
    collect(*schema, props, required, discriminator);
    if (!discriminator.empty() && value.contains(discriminator) && schema_in.contains("$ref")) {
      const std::string base = schema_in["$ref"].get<std::string>().substr(14);
      if (const json* sub = subtype(base, value[discriminator].get<std::string>()))
        collect(*sub, props, required, discriminator);
      else
        problems.push_back(where + ": no subtype " + value[discriminator].dump() + " of " + base);
    }
    for (const auto& r : required)
      if (!value.contains(r)) problems.push_back(where + ": required property '" + r + "' missing");
    if (props.empty()) return;  // free-form
    for (const auto& [k, v] : value.items()) {
      if (!props.contains(k)) {
        problems.push_back(where + ": property '" + k + "' is not in the spec");
        continue;
      }
      walk(v, props[k], where + "." + k, problems);
    }
  }

  json spec_;
};

// Checks every POST body `arm` sent against the spec file (relative to azure-specs/).
void check_posts_against_spec(const FakeArm& arm, const std::string& spec_file) {
  const auto root = shared_specs();
  if (!root) {
    MESSAGE("azure-specs not found (set EDGEDR_SHARED): request bodies not checked against the swagger");
    return;
  }
  const auto spec = load_json(*root / spec_file);
  REQUIRE(spec);
  SwaggerBodyChecker checker(*spec);
  int checked = 0;
  for (const auto& s : arm.sent) {
    if (s.method != "POST" || !s.body) continue;
    const json* schema = checker.post_body_schema(s.path);
    INFO("POST " << s.path);
    REQUIRE(schema);
    const auto problems = checker.check(json::parse(*s.body), *schema);
    for (const auto& p : problems) FAIL_CHECK(p);
    ++checked;
  }
  CHECK(checked > 0);
}

std::optional<json> example(const std::string& relative) {
  const auto root = shared_specs();
  if (!root) return std::nullopt;
  return load_json(*root / relative);
}

// ---- a stateful Traffic Manager profile ----------------------------------------------------

struct FakeEndpoint {
  std::string name, type = "externalEndpoints";
  std::string status = "Enabled";
  std::optional<int> priority, weight;
  std::string monitor = "Online";
};

struct FakeProfile {
  std::vector<FakeEndpoint> endpoints;
  int patches = 0;

  json endpoint_json(const FakeEndpoint& e) const {
    json p{{"endpointStatus", e.status}, {"endpointMonitorStatus", e.monitor}, {"target", e.name + ".example.net"}};
    if (e.priority) p["priority"] = *e.priority;
    if (e.weight) p["weight"] = *e.weight;
    return {{"id", kTm + "/" + e.type + "/" + e.name},
            {"name", e.name},
            {"type", "Microsoft.Network/trafficManagerProfiles/" + e.type},
            {"properties", p}};
  }
  FakeEndpoint* find(const std::string& path) {
    for (auto& e : endpoints)
      if (lower(path) == lower(kTm + "/" + e.type + "/" + e.name)) return &e;
    return nullptr;
  }
  Reply handle(const ArmRequest& r) {
    const std::string path = path_of(r);
    if (r.api_version != "2026-09-01") return http_error(400, "InvalidApiVersion", r.api_version);
    if (r.method == "GET" && path == kTm) {
      json eps = json::array();
      for (const auto& e : endpoints) eps.push_back(endpoint_json(e));
      return reply(200,
                   {{"name", "tm-line3"}, {"properties", {{"trafficRoutingMethod", "Priority"}, {"endpoints", eps}}}});
    }
    FakeEndpoint* e = find(path);
    if (!e) return http_error(404, "NotFound", "no endpoint at " + path);
    if (r.method == "GET") return reply(200, endpoint_json(*e));
    if (r.method == "PATCH") {
      ++patches;
      const json p = json::parse(*r.body)["properties"];
      if (p.contains("priority")) {
        // Traffic Manager checks uniqueness on every request.
        for (const auto& other : endpoints)
          if (&other != e && other.priority == p["priority"].get<int>())
            return http_error(400, "BadRequest", "priority " + p["priority"].dump() + " is already in use");
        e->priority = p["priority"].get<int>();
      }
      if (p.contains("weight")) e->weight = p["weight"].get<int>();
      if (p.contains("endpointStatus")) e->status = p["endpointStatus"];
      return reply(200, endpoint_json(*e));
    }
    return http_error(405, "MethodNotAllowed", r.method);
  }
};

Bench tm_bench(const std::string& action, std::vector<Value::Entry> extra, FakeProfile& profile) {
  extra.insert(extra.begin(), {"target", text("traffic")});
  return Bench(action, params(std::move(extra)), [&profile](const ArmRequest& r) { return profile.handle(r); });
}

}  // namespace

// ---- registration ---------------------------------------------------------------------------

TEST_CASE(
    "register_azure_actions registers exactly the catalogue's Azure actions, read-only where the catalogue says") {
  ActionRegistry registry;
  azure::register_azure_actions(registry, std::make_shared<azure::AzureContext>());
  std::vector<std::string> expected;
  for (const auto& spec : Catalogue::v1().actions())
    if (spec.name.rfind("traffic-manager.", 0) == 0 || spec.name.rfind("site-recovery.", 0) == 0 ||
        spec.name.rfind("backup.", 0) == 0)
      expected.push_back(spec.name);
  CHECK(expected.size() == 15);
  CHECK(registry.names() == expected);
  for (const auto& name : expected) {
    INFO(name);
    Action* a = registry.find(name);
    REQUIRE(a);
    CHECK(a->blocking());
    CHECK(a->read_only() == !Catalogue::v1().find(name)->mutating);
  }
}

TEST_CASE("an Azure action without a client fails with the context's setup error, not retryable") {
  FakeProfile profile;
  Bench b("traffic-manager.disable-endpoint", params({{"target", text("traffic")}, {"endpoint", text("plant-mec")}}));
  b.context->arm.reset();
  b.context->setup_error = "no credential: AZURE_CLIENT_ID is not set";
  const StepResult r = b.action().submit(b.call);
  CHECK(r.status == Status::failed);
  CHECK_FALSE(r.retryable);
  CHECK(r.error.find("no credential: AZURE_CLIENT_ID is not set") != std::string::npos);
  CHECK(b.arm->sent.empty());
}

TEST_CASE("an unknown target is a clear, non-retryable failure") {
  Bench b("backup.check-recovery-point",
          params({{"target", text("nowhere")}, {"item", text("VM;iaasvmcontainerv2;rg;vm")}, {"max-age", text("1h")}}));
  const StepResult r = b.action().submit(b.call);
  CHECK(r.status == Status::failed);
  CHECK_FALSE(r.retryable);
  CHECK(r.error.find("target 'nowhere'") != std::string::npos);
}

// ---- Traffic Manager ------------------------------------------------------------------------

TEST_CASE("disable-endpoint PATCHes endpointStatus Disabled and outputs the prior state") {
  FakeProfile profile;
  profile.endpoints = {{"plant-mec", "externalEndpoints", "Enabled", 1, 10},
                       {"eastus2", "azureEndpoints", "Enabled", 2, 5}};
  Bench b = tm_bench("traffic-manager.disable-endpoint",
                     {{"endpoint", text("plant-mec")}, {"endpoint-type", text("external")}}, profile);
  const Value captured = b.action().capture(b.call);
  CHECK(captured.find("status")->as_string() == "Enabled");
  CHECK(captured.find("priority")->as_int() == 1);
  CHECK(captured.find("weight")->as_int() == 10);
  CHECK(captured.find("endpoint-type")->as_string() == "ExternalEndpoints");

  b.arm->sent.clear();
  const StepResult r = b.run();
  REQUIRE(r.status == Status::succeeded);
  CHECK(r.outputs.at("previous-status") == "Enabled");
  CHECK(r.outputs.at("previous-priority") == "1");
  CHECK(r.outputs.at("previous-weight") == "10");
  const auto writes = b.arm->writes();
  REQUIRE(writes.size() == 1);
  CHECK(writes[0].method == "PATCH");
  CHECK(writes[0].path == kTm + "/ExternalEndpoints/plant-mec");
  CHECK(writes[0].api_version == "2026-09-01");
  CHECK(*writes[0].body == R"({"properties":{"endpointStatus":"Disabled"}})");
  CHECK(profile.endpoints[0].status == "Disabled");

  SUBCASE("the undo enables it again because it was enabled") {
    const StepResult u = b.undo(captured);
    CHECK(u.status == Status::succeeded);
    CHECK(profile.endpoints[0].status == "Enabled");
  }
  SUBCASE("the undo restores the captured status, even when it was already disabled") {
    Value was_disabled = Value::map({{"endpoint", text("plant-mec")}, {"status", text("Disabled")}});
    b.arm->sent.clear();
    const StepResult u = b.undo(was_disabled);
    CHECK(u.status == Status::succeeded);
    REQUIRE(b.arm->writes().size() == 1);
    CHECK(*b.arm->writes()[0].body == R"({"properties":{"endpointStatus":"Disabled"}})");
  }
}

TEST_CASE("the endpoint type is looked up on the profile when not given; an unknown endpoint lists the others") {
  FakeProfile profile;
  profile.endpoints = {{"plant-mec", "externalEndpoints", "Disabled", 1, 1},
                       {"eastus2", "azureEndpoints", "Enabled", 2, 1}};
  Bench b = tm_bench("traffic-manager.enable-endpoint", {{"endpoint", text("eastus2")}}, profile);
  const StepResult r = b.run();
  REQUIRE(r.status == Status::succeeded);
  CHECK(b.arm->sent.front().path == kTm);
  CHECK(b.arm->writes().at(0).path == kTm + "/AzureEndpoints/eastus2");

  Bench missing = tm_bench("traffic-manager.enable-endpoint", {{"endpoint", text("westus")}}, profile);
  const StepResult m = missing.run();
  CHECK(m.status == Status::failed);
  CHECK_FALSE(m.retryable);
  CHECK(m.error.find("no endpoint 'westus'") != std::string::npos);
  CHECK(m.error.find("plant-mec, eastus2") != std::string::npos);
}

TEST_CASE("the real endpoint shape of the spec's example is read for the prior state") {
  const auto ex = example("trafficmanager/examples/Endpoint-GET-External-WithLocation.json");
  if (!ex) {
    MESSAGE("azure-specs not found: skipped");
    return;
  }
  const json body = (*ex)["responses"]["200"]["body"];
  Bench b("traffic-manager.set-weight", params({{"target", text("traffic")},
                                                {"endpoint", text("e")},
                                                {"endpoint-type", text("external")},
                                                {"weight", Value::integer(7)}}));
  b.arm->handler = [&](const ArmRequest&) { return reply(200, body); };
  const StepResult r = b.run();
  REQUIRE(r.status == Status::succeeded);
  CHECK(r.outputs.at("previous-status") == body["properties"].value("endpointStatus", ""));
  if (body["properties"].contains("weight"))
    CHECK(r.outputs.at("previous-weight") == std::to_string(body["properties"]["weight"].get<int>()));
}

TEST_CASE("set-priority swaps with the endpoint holding the priority through a free value, and the undo swaps back") {
  FakeProfile profile;
  profile.endpoints = {{"mec-01", "externalEndpoints", "Enabled", 1, 1},
                       {"mec-02", "externalEndpoints", "Enabled", 2, 1},
                       {"mec-03", "externalEndpoints", "Enabled", 1000, 1}};
  Bench b = tm_bench(
      "traffic-manager.set-priority",
      {{"endpoint", text("mec-02")}, {"endpoint-type", text("external")}, {"priority", Value::integer(1)}}, profile);
  const Value captured = b.action().capture(b.call);
  b.arm->sent.clear();
  const StepResult r = b.run();
  REQUIRE(r.status == Status::succeeded);
  CHECK(r.outputs.at("previous-priority") == "2");
  const auto writes = b.arm->writes();
  REQUIRE(writes.size() == 3);
  CHECK(writes[0].path == kTm + "/ExternalEndpoints/mec-02");
  CHECK(*writes[0].body == R"({"properties":{"priority":999}})");  // 1000 is taken
  CHECK(writes[1].path == kTm + "/ExternalEndpoints/mec-01");
  CHECK(*writes[1].body == R"({"properties":{"priority":2}})");
  CHECK(*writes[2].body == R"({"properties":{"priority":1}})");
  CHECK(profile.endpoints[0].priority == 2);
  CHECK(profile.endpoints[1].priority == 1);

  const StepResult u = b.undo(captured);
  REQUIRE(u.status == Status::succeeded);
  CHECK(profile.endpoints[0].priority == 1);
  CHECK(profile.endpoints[1].priority == 2);
  CHECK(profile.endpoints[2].priority == 1000);
}

TEST_CASE("set-priority to a free value is one PATCH; to the current value none") {
  FakeProfile profile;
  profile.endpoints = {{"mec-01", "externalEndpoints", "Enabled", 1, 1},
                       {"mec-02", "externalEndpoints", "Enabled", 2, 1}};
  Bench b = tm_bench(
      "traffic-manager.set-priority",
      {{"endpoint", text("mec-02")}, {"endpoint-type", text("external")}, {"priority", Value::integer(5)}}, profile);
  REQUIRE(b.run().status == Status::succeeded);
  CHECK(b.arm->writes().size() == 1);
  CHECK(profile.endpoints[1].priority == 5);
  b.arm->sent.clear();
  REQUIRE(b.run().status == Status::succeeded);
  CHECK(b.arm->writes().empty());
}

TEST_CASE("a first attempt writes from what capture() read: no second read of the endpoint") {
  FakeProfile profile;
  profile.endpoints = {{"mec-01", "externalEndpoints", "Enabled", 1, 1},
                       {"mec-02", "externalEndpoints", "Enabled", 2, 1}};
  SUBCASE("disable-endpoint: capture's GET, then only the PATCH") {
    Bench b = tm_bench("traffic-manager.disable-endpoint",
                       {{"endpoint", text("mec-02")}, {"endpoint-type", text("external")}}, profile);
    b.call.captured = b.action().capture(b.call);
    REQUIRE(b.arm->sent.size() == 1);
    b.arm->sent.clear();
    const StepResult r = b.run();
    REQUIRE(r.status == Status::succeeded);
    REQUIRE(b.arm->sent.size() == 1);
    CHECK(b.arm->sent[0].method == "PATCH");
    CHECK(b.arm->sent[0].path == kTm + "/ExternalEndpoints/mec-02");
    CHECK(r.outputs.at("previous-status") == "Enabled");
    CHECK(r.outputs.at("previous-priority") == "2");
    CHECK(r.outputs.at("previous-weight") == "1");
    CHECK(profile.endpoints[1].status == "Disabled");
  }
  SUBCASE("a later attempt reads the endpoint again") {
    Bench b = tm_bench("traffic-manager.disable-endpoint",
                       {{"endpoint", text("mec-02")}, {"endpoint-type", text("external")}}, profile);
    b.call.captured = b.action().capture(b.call);
    b.call.attempt = 2;
    b.arm->sent.clear();
    REQUIRE(b.run().status == Status::succeeded);
    REQUIRE(b.arm->sent.size() == 2);
    CHECK(b.arm->sent[0].method == "GET");
  }
  SUBCASE("set-priority takes the current priority from the profile it reads, not from the capture") {
    Bench b = tm_bench(
        "traffic-manager.set-priority",
        {{"endpoint", text("mec-02")}, {"endpoint-type", text("external")}, {"priority", Value::integer(1)}}, profile);
    b.call.captured = b.action().capture(b.call);
    profile.endpoints[1].priority = 3;  // changed after the capture: the swap must use 3
    b.arm->sent.clear();
    const StepResult r = b.run();
    REQUIRE(r.status == Status::succeeded);
    REQUIRE(b.arm->sent.size() == 4);  // the profile, then three PATCHes
    CHECK(b.arm->sent[0].path == kTm);
    CHECK(profile.endpoints[0].priority == 3);
    CHECK(profile.endpoints[1].priority == 1);
  }
}

TEST_CASE("set-weight's undo restores the captured weight; reconcile reads the endpoint") {
  FakeProfile profile;
  profile.endpoints = {{"eastus2", "azureEndpoints", "Enabled", std::nullopt, 100}};
  Bench b = tm_bench(
      "traffic-manager.set-weight",
      {{"endpoint", text("eastus2")}, {"endpoint-type", text("azure")}, {"weight", Value::integer(1000)}}, profile);
  const Value captured = b.action().capture(b.call);
  CHECK(captured.find("priority") == nullptr);

  Reconciliation before = b.action().reconcile(b.call);
  CHECK(before.verdict == Verdict::not_started);
  REQUIRE(b.run().status == Status::succeeded);
  CHECK(profile.endpoints[0].weight == 1000);
  b.call.captured = captured;
  Reconciliation after = b.action().reconcile(b.call);
  CHECK(after.verdict == Verdict::finished);
  CHECK(after.result.outputs.at("previous-weight") == "100");

  REQUIRE(b.undo(captured).status == Status::succeeded);
  CHECK(profile.endpoints[0].weight == 100);
}

TEST_CASE("wait-endpoint polls while CheckingEndpoint and succeeds on the wanted status") {
  FakeProfile profile;
  profile.endpoints = {{"eastus2", "azureEndpoints", "Enabled", 1, 1, "CheckingEndpoint"}};
  Bench b =
      tm_bench("traffic-manager.wait-endpoint",
               {{"endpoint", text("eastus2")}, {"endpoint-type", text("azure")}, {"interval", text("15s")}}, profile);
  SUBCASE("with the type given") {}
  SUBCASE("with the type looked up once") {
    b.call.params = params({{"target", text("traffic")}, {"endpoint", text("eastus2")}, {"interval", text("15s")}});
  }
  CHECK(b.action().read_only());
  int gets = 0;
  b.arm->handler = [&](const ArmRequest& r) {
    if (path_of(r) != kTm && ++gets == 3) profile.endpoints[0].monitor = "Online";
    return profile.handle(r);
  };
  const StepResult r = b.run();
  REQUIRE(r.status == Status::succeeded);
  CHECK(r.outputs.at("status") == "Online");
  CHECK(b.polls == 2);
  CHECK(b.poll_afters.at(0) == 15s);
  // Three reads of the endpoint, plus one of the profile when the type was not given.
  CHECK(b.arm->sent.size() == (b.call.param("endpoint-type") ? 3u : 4u));
  CHECK(b.progress.at(0).find("CheckingEndpoint, waiting for Online") != std::string::npos);
  CHECK(b.arm->writes().empty());
}

TEST_CASE("describe gives the exact requests of a Traffic Manager step") {
  Bench b("traffic-manager.disable-endpoint",
          params({{"target", text("traffic")}, {"endpoint", text("plant-mec")}, {"endpoint-type", text("external")}}));
  const auto lines = b.action().describe(b.call);
  REQUIRE(lines.size() == 2);
  CHECK(lines[1] ==
        "PATCH https://management.azure.com" + kTm +
            "/ExternalEndpoints/plant-mec?api-version=2026-09-01 {\"properties\":{\"endpointStatus\":\"Disabled\"}}");
  b.context->arm_endpoint = "https://management.usgovcloudapi.net";
  CHECK(b.action().describe(b.call)[1].rfind("PATCH https://management.usgovcloudapi.net/subscriptions/", 0) == 0);
  CHECK(b.arm->sent.empty());
}

// ---- Site Recovery --------------------------------------------------------------------------

namespace {

const std::string kPlan = kVault + "/replicationRecoveryPlans/rp-line3";
const std::string kItem =
    kVault + "/replicationFabrics/fab-a/replicationProtectionContainers/cont-a/replicationProtectedItems/item-1";

json plan_json(json allowed = {"PlannedFailover", "UnplannedFailover", "TestFailover"}) {
  return {{"id", kPlan},
          {"name", "rp-line3"},
          {"properties",
           {{"friendlyName", "rp-line3"},
            {"allowedOperations", allowed},
            {"groups",
             json::array({{{"groupType", "Boot"}, {"replicationProtectedItems", json::array({{{"id", kItem}}})}}})}}}};
}

json item_json(const std::string& friendly = "historian01", json allowed = {"UnplannedFailover", "TestFailover"},
               const std::string& id = kItem) {
  return {{"id", id},
          {"name", id.substr(id.rfind('/') + 1)},
          {"properties",
           {{"friendlyName", friendly},
            {"allowedOperations", allowed},
            {"activeLocation", "Primary"},
            {"replicationHealth", "Normal"},
            {"testFailoverState", "None"},
            {"providerSpecificDetails", {{"instanceType", "A2A"}, {"rpoInSeconds", 120}}}}}};
}

json job_json(const std::string& name, const std::string& state, const std::string& scenario = "UnplannedFailover",
              json tasks = json::array(), json errors = json::array()) {
  return {{"id", kVault + "/replicationJobs/" + name},
          {"name", name},
          {"properties",
           {{"scenarioName", scenario},
            {"state", state},
            {"tasks", tasks},
            {"errors", errors},
            {"targetObjectId", "item-1"},
            {"targetObjectName", "historian01"},
            {"startTime", "2026-01-01T00:00:00Z"}}}};
}

HttpHeaders asr_accepted(const std::string& job) {
  return {{"Location", "https://management.azure.com" + kVault + "/replicationJobs/" + job + "/operationresults/" +
                           job + "?api-version=2026-05-01"},
          {"Azure-AsyncOperation",
           "https://management.azure.com" + kVault + "/replicationOperationStatus/op-9?api-version=2026-05-01"},
          {"Retry-After", "30"}};
}

// A vault with one plan and one item whose jobs the test scripts.
struct FakeVault {
  json plan = plan_json();
  json item = item_json();
  std::vector<json> jobs;        // the job list
  std::vector<json> job_states;  // what successive GETs of the started job return
  std::size_t job_reads = 0;
  std::string accept_job = "job-1";

  Reply handle(const ArmRequest& r) {
    const std::string path = path_of(r);
    if (r.path.rfind("https://", 0) != 0 && r.api_version != "2026-05-01")
      return http_error(400, "InvalidApiVersion", r.api_version);
    if (r.method == "GET" && path == kPlan) return reply(200, plan);
    if (r.method == "GET" && path == kItem) return reply(200, item);
    if (r.method == "GET" && path == kVault + "/replicationProtectedItems") return reply(200, {{"value", {item}}});
    if (r.method == "GET" && path == kVault + "/replicationJobs") return reply(200, {{"value", jobs}});
    if (r.method == "GET" && path == kVault + "/replicationJobs/" + accept_job) {
      if (job_states.empty()) return http_error(404, "NotFound", "no job");
      return reply(200, job_states[std::min(job_reads++, job_states.size() - 1)]);
    }
    if (r.method == "POST") return reply(202, nullptr, asr_accepted(accept_job));
    return http_error(404, "NotFound", r.method + " " + path);
  }
};

Bench asr_bench(const std::string& action, std::vector<Value::Entry> extra, FakeVault& vault) {
  extra.insert(extra.begin(), {"target", text("recovery")});
  return Bench(action, params(std::move(extra)), [&vault](const ArmRequest& r) { return vault.handle(r); });
}

}  // namespace

TEST_CASE("an unplanned failover of a plan POSTs the plan body, follows the job named by Location, and succeeds") {
  FakeVault vault;
  const json tasks =
      json::array({{{"name", "a"}, {"friendlyName", "Prerequisites check"}, {"state", "Succeeded"}},
                   {{"name", "b"}, {"friendlyName", "Starting the virtual machine"}, {"state", "InProgress"}},
                   {{"name", "c"}, {"friendlyName", "Commit"}, {"state", "NotStarted"}}});
  vault.job_states = {job_json("job-1", "InProgress", "UnplannedFailover", tasks), job_json("job-1", "Succeeded")};
  Bench b = asr_bench("site-recovery.failover",
                      {{"plan", text("rp-line3")}, {"recovery-point-type", text("latest-processed")}}, vault);
  const StepResult first = b.action().submit(b.call);
  REQUIRE(first.status == Status::pending);
  CHECK(first.handle.find("job")->as_string() == "job-1");
  CHECK(first.poll_after == 30s);

  const auto writes = b.arm->writes();
  REQUIRE(writes.size() == 1);
  CHECK(writes[0].path == kPlan + "/unplannedFailover");
  CHECK(writes[0].api_version == "2026-05-01");
  CHECK_FALSE(writes[0].retry_unsafe);
  CHECK(json::parse(*writes[0].body) ==
        json::parse(R"({"properties":{"failoverDirection":"PrimaryToRecovery","sourceSiteOperations":"NotRequired",
                     "providerSpecificDetails":[{"instanceType":"A2A","recoveryPointType":"LatestProcessed"}]}})"));

  const StepResult second = b.action().poll(b.call, first.handle);
  REQUIRE(second.status == Status::pending);
  CHECK(second.progress == "job job-1 InProgress, 1/3 tasks: Starting the virtual machine");
  const StepResult done = b.action().poll(b.call, second.handle);
  REQUIRE(done.status == Status::succeeded);
  CHECK(done.outputs.at("job-id") == "job-1");
  CHECK(done.outputs.at("job-state") == "Succeeded");
  CHECK(b.arm->sent.back().path == kVault + "/replicationJobs/job-1");
}

TEST_CASE("without a Location the job name comes from Azure-AsyncOperation") {
  FakeVault vault;
  vault.accept_job = "op-9";
  vault.job_states = {job_json("op-9", "Succeeded")};
  Bench b = asr_bench("site-recovery.commit", {{"plan", text("rp-line3")}}, vault);
  vault.plan = plan_json({"Commit"});
  b.arm->handler = [&](const ArmRequest& r) {
    if (r.method == "POST")
      return reply(202, nullptr,
                   {{"Azure-AsyncOperation", "https://management.azure.com" + kVault +
                                                 "/replicationOperationStatus/op-9?api-version=2026-05-01"}});
    return vault.handle(r);
  };
  const StepResult r = b.run();
  REQUIRE(r.status == Status::succeeded);
  CHECK(r.outputs.at("job-id") == "op-9");
  CHECK(b.arm->writes().at(0).path == kPlan + "/failoverCommit");
  CHECK_FALSE(b.arm->writes().at(0).body.has_value());
}

TEST_CASE("a protected item named by friendly name is found by listing; item bodies carry one provider object") {
  FakeVault vault;
  vault.job_states = {job_json("job-1", "Succeeded")};
  Bench b = asr_bench("site-recovery.failover", {{"item", text("HISTORIAN01")}}, vault);
  REQUIRE(b.run().status == Status::succeeded);
  CHECK(b.arm->sent.front().path == kVault + "/replicationProtectedItems");
  const auto post = b.arm->writes().at(0);
  CHECK(post.path == kItem + "/unplannedFailover");
  CHECK(json::parse(*post.body) ==
        json::parse(R"({"properties":{"failoverDirection":"PrimaryToRecovery","sourceSiteOperations":"NotRequired",
                     "providerSpecificDetails":{"instanceType":"A2A"}}})"));
}

TEST_CASE("an unknown or ambiguous friendly name fails listing the candidates") {
  FakeVault vault;
  Bench unknown = asr_bench("site-recovery.failover", {{"item", text("scada02")}}, vault);
  const StepResult u = unknown.run();
  CHECK(u.status == Status::failed);
  CHECK_FALSE(u.retryable);
  CHECK(u.error.find("no protected item named 'scada02' (items: historian01)") != std::string::npos);

  const std::string other =
      kVault + "/replicationFabrics/fab-b/replicationProtectionContainers/cont-b/replicationProtectedItems/item-2";
  Bench twice = asr_bench("site-recovery.failover", {{"item", text("historian01")}}, vault);
  twice.arm->handler = [&](const ArmRequest& r) {
    if (path_of(r) == kVault + "/replicationProtectedItems")
      return reply(200, {{"value", {item_json(), item_json("historian01", {"UnplannedFailover"}, other)}}});
    return vault.handle(r);
  };
  const StepResult t = twice.run();
  CHECK(t.status == Status::failed);
  CHECK(t.error.find("names 2 protected items") != std::string::npos);
  CHECK(t.error.find("fab-a/cont-a/item-1, fab-b/cont-b/item-2") != std::string::npos);
  CHECK(twice.arm->writes().empty());
}

TEST_CASE("an operation Site Recovery does not allow now is refused before any POST") {
  FakeVault vault;
  vault.plan = plan_json({"TestFailoverCleanup"});
  Bench b = asr_bench("site-recovery.failover", {{"plan", text("rp-line3")}}, vault);
  const StepResult r = b.run();
  CHECK(r.status == Status::failed);
  CHECK_FALSE(r.retryable);
  CHECK(r.error.find("UnplannedFailover is not allowed on recovery plan rp-line3 now (allowed: TestFailoverCleanup)") !=
        std::string::npos);
  CHECK(b.arm->writes().empty());
}

TEST_CASE("a test failover succeeds when its job waits for cleanup (Suspended)") {
  FakeVault vault;
  vault.job_states = {job_json("job-1", "InProgress", "TestFailover"), job_json("job-1", "Suspended", "TestFailover")};
  Bench b = asr_bench(
      "site-recovery.test-failover",
      {{"plan", text("rp-line3")},
       {"network", text("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/drill")}},
      vault);
  const StepResult r = b.run();
  REQUIRE(r.status == Status::succeeded);
  CHECK(r.outputs.at("job-state") == "Suspended");
  const json body = json::parse(*b.arm->writes().at(0).body);
  CHECK(body["properties"]["networkType"] == "VmNetworkAsInput");
  CHECK(body["properties"]["networkId"] ==
        "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/drill");
  CHECK(body["properties"]["providerSpecificDetails"].is_array());
}

TEST_CASE("a test failover of an item succeeds once the item waits for completion") {
  FakeVault vault;
  vault.job_states = {job_json("job-1", "InProgress", "TestFailover")};
  Bench b = asr_bench("site-recovery.test-failover",
                      {{"item", text("fab-a/cont-a/item-1")}, {"network", text("/subscriptions/s/vnet")}}, vault);
  const StepResult first = b.action().submit(b.call);
  REQUIRE(first.status == Status::pending);
  CHECK(b.action().poll(b.call, first.handle).status == Status::pending);
  vault.item["properties"]["testFailoverState"] = "WaitingForCompletion";
  CHECK(b.action().poll(b.call, first.handle).status == Status::succeeded);
}

TEST_CASE("a test failover of an item reads the item only once its job has no task left to run") {
  FakeVault vault;
  const json running = json::array({{{"name", "TestFailoverPrerequisitesCheck"}, {"state", "Succeeded"}},
                                    {{"name", "CreateTestVm"}, {"state", "InProgress"}},
                                    {{"name", "StartVm"}, {"state", "NotStarted"}}});
  vault.job_states = {job_json("job-1", "InProgress", "TestFailover", running)};
  vault.item["properties"]["testFailoverState"] = "WaitingForCompletion";
  Bench b = asr_bench("site-recovery.test-failover",
                      {{"item", text("fab-a/cont-a/item-1")}, {"network", text("/subscriptions/s/vnet")}}, vault);
  const StepResult first = b.action().submit(b.call);
  REQUIRE(first.status == Status::pending);
  b.arm->sent.clear();
  CHECK(b.action().poll(b.call, first.handle).status == Status::pending);
  REQUIRE(b.arm->sent.size() == 1);  // the job only
  CHECK(b.arm->sent[0].path.find("/replicationJobs/job-1") != std::string::npos);

  json done = running;
  for (auto& t : done) t["state"] = "Succeeded";
  vault.job_states = {job_json("job-1", "InProgress", "TestFailover", done)};
  b.arm->sent.clear();
  CHECK(b.action().poll(b.call, first.handle).status == Status::succeeded);
  REQUIRE(b.arm->sent.size() == 2);  // the job, then the item
  CHECK(b.arm->sent[1].path.find("/replicationProtectedItems/item-1") != std::string::npos);
}

TEST_CASE("a failed job fails the step with its errors on one line, not retryable") {
  FakeVault vault;
  const json errors = json::array({{{"serviceErrorDetails",
                                     {{"code", "70094"},
                                      {"message", "The VM could not be started.\nSee details."},
                                      {"recommendedAction", "Retry the failover."}}}}});
  vault.job_states = {job_json("job-1", "Failed", "UnplannedFailover", json::array(), errors)};
  Bench b = asr_bench("site-recovery.failover", {{"plan", text("rp-line3")}}, vault);
  const StepResult r = b.run();
  REQUIRE(r.status == Status::failed);
  CHECK_FALSE(r.retryable);
  CHECK(r.error ==
        "Site Recovery job job-1 (UnplannedFailover) Failed: 70094: The VM could not be started. See details. "
        "(Retry the failover.)");
}

TEST_CASE("a transport error on the failover POST is ambiguous, and the POST is not retried by the pipeline") {
  FakeVault vault;
  Bench b = asr_bench("site-recovery.failover", {{"plan", text("rp-line3")}}, vault);
  b.arm->handler = [&](const ArmRequest& r) -> Reply {
    if (r.method == "POST") {
      ArmError e;
      e.kind = ArmError::Kind::transport;
      e.message = "POST ...: connection reset";
      e.ambiguous = true;
      e.retryable = true;
      return tl::unexpected(e);
    }
    return vault.handle(r);
  };
  const StepResult r = b.action().submit(b.call);
  CHECK(r.status == Status::failed);
  CHECK(r.ambiguous);
  CHECK_FALSE(b.arm->writes().at(0).retry_unsafe);
}

TEST_CASE("Site Recovery reconcile adopts a running job, sees a finished failover, or finds nothing") {
  FakeVault vault;
  Bench b = asr_bench("site-recovery.failover", {{"item", text("fab-a/cont-a/item-1")}}, vault);
  b.clock.set_wall(*parse_rfc3339("2026-01-01T00:10:00Z"));

  SUBCASE("a running job of the same scenario on the item is adopted") {
    vault.jobs = {job_json("old", "Succeeded", "TestFailover"), job_json("job-7", "InProgress")};
    const Reconciliation r = b.action().reconcile(b.call);
    REQUIRE(r.verdict == Verdict::adopted);
    CHECK(r.handle.find("job")->as_string() == "job-7");
  }
  SUBCASE("the item's current scenario names the job") {
    vault.item["properties"]["currentScenario"] = {{"scenarioName", "UnplannedFailover"},
                                                   {"jobId", kVault + "/replicationJobs/job-8"},
                                                   {"startTime", "2026-01-01T00:05:00Z"}};
    const Reconciliation r = b.action().reconcile(b.call);
    REQUIRE(r.verdict == Verdict::adopted);
    CHECK(r.handle.find("job")->as_string() == "job-8");
  }
  SUBCASE("two running jobs need an operator") {
    vault.jobs = {job_json("job-7", "InProgress"), job_json("job-9", "InProgress")};
    const Reconciliation r = b.action().reconcile(b.call);
    CHECK(r.verdict == Verdict::operator_needed);
    CHECK(r.reason.find("job-7, job-9") != std::string::npos);
  }
  SUBCASE("no job but the item is already active in the recovery region: finished") {
    vault.item["properties"]["activeLocation"] = "Recovery";
    vault.item["properties"]["allowedOperations"] = {"Commit"};
    const Reconciliation r = b.action().reconcile(b.call);
    CHECK(r.verdict == Verdict::finished);
    CHECK(r.result.status == Status::succeeded);
  }
  SUBCASE("nothing happened and the failover is still allowed: not started") {
    vault.jobs = {job_json("long-ago", "Succeeded")};
    vault.jobs[0]["properties"]["startTime"] = "2025-06-01T00:00:00Z";
    CHECK(b.action().reconcile(b.call).verdict == Verdict::not_started);
  }
  SUBCASE("no job, not done, not allowed: an operator decides") {
    vault.item["properties"]["allowedOperations"] = {"DisableProtection"};
    CHECK(b.action().reconcile(b.call).verdict == Verdict::operator_needed);
  }
}

TEST_CASE("reprotect on a plan fails clearly; on an item it POSTs reProtect") {
  FakeVault vault;
  Bench plan = asr_bench("site-recovery.reprotect", {{"plan", text("rp-line3")}}, vault);
  const StepResult r = plan.run();
  CHECK(r.status == Status::failed);
  CHECK(r.error.find("reprotect each protected item with `item:`") != std::string::npos);
  CHECK(r.error.find("item-1") != std::string::npos);
  CHECK(plan.arm->writes().empty());

  vault.item["properties"]["allowedOperations"] = {"ReverseReplicate"};
  vault.job_states = {job_json("job-1", "Succeeded", "Reprotect")};
  Bench item = asr_bench("site-recovery.reprotect", {{"item", text("fab-a/cont-a/item-1")}}, vault);
  REQUIRE(item.run().status == Status::succeeded);
  CHECK(item.arm->writes().at(0).path == kItem + "/reProtect");
  CHECK(json::parse(*item.arm->writes().at(0).body)["properties"]["failoverDirection"] == "RecoveryToPrimary");
}

TEST_CASE("cancel() asks Site Recovery to cancel the job") {
  FakeVault vault;
  Bench b = asr_bench("site-recovery.failover", {{"plan", text("rp-line3")}}, vault);
  b.action().cancel(b.call, Value::map({{"job", text("job-1")}}));
  REQUIRE(b.arm->writes().size() == 1);
  CHECK(b.arm->writes()[0].path == kVault + "/replicationJobs/job-1/cancel");
}

TEST_CASE("every Site Recovery POST body matches the swagger") {
  FakeVault vault;
  vault.plan = plan_json(
      {"PlannedFailover", "UnplannedFailover", "TestFailover", "TestFailoverCleanup", "Commit", "CancelFailover"});
  vault.item = item_json("historian01", {"PlannedFailover", "UnplannedFailover", "TestFailover", "TestFailoverCleanup",
                                         "Commit", "CancelFailover", "ReverseReplicate"});
  vault.job_states = {job_json("job-1", "Succeeded")};
  FakeArm all;
  const std::vector<std::pair<std::string, std::vector<Value::Entry>>> steps{
      {"site-recovery.failover", {{"mode", text("planned")}}},
      {"site-recovery.failover",
       {{"source-site-operations", text("required")}, {"direction", text("recovery-to-primary")}}},
      {"site-recovery.test-failover", {{"network", text("/subscriptions/s/vnet")}}},
      {"site-recovery.test-failover-cleanup", {{"comments", text("drill done")}}},
      {"site-recovery.commit", {}},
      {"site-recovery.cancel", {}},
  };
  for (const char* subject : {"plan", "item"}) {
    for (const auto& [action, extra] : steps) {
      auto p = extra;
      p.emplace_back(subject, text(std::string(subject) == "plan" ? "rp-line3" : "fab-a/cont-a/item-1"));
      Bench b = asr_bench(action, p, vault);
      INFO(action << " on a " << subject);
      REQUIRE(b.run().status == Status::succeeded);
      for (const auto& s : b.arm->sent) all.sent.push_back(s);
    }
  }
  Bench re = asr_bench("site-recovery.reprotect", {{"item", text("fab-a/cont-a/item-1")}}, vault);
  REQUIRE(re.run().status == Status::succeeded);
  for (const auto& s : re.arm->sent) all.sent.push_back(s);
  check_posts_against_spec(all, "siterecovery/service.json");
}

TEST_CASE("the spec's example job answers are understood") {
  const auto ex = example("siterecovery/examples/2025-01-01/ReplicationJobs_Get.json");
  if (!ex) {
    MESSAGE("azure-specs not found: skipped");
    return;
  }
  FakeVault vault;
  json job = (*ex)["responses"]["200"]["body"];
  vault.job_states = {job};
  Bench b = asr_bench("site-recovery.failover", {{"plan", text("rp-line3")}}, vault);
  const StepResult r = b.run();
  REQUIRE(job["properties"]["state"] == "Succeeded");
  CHECK(r.status == Status::succeeded);
  CHECK(r.outputs.at("job-state") == "Succeeded");
}

TEST_CASE("the swagger body checker reports unknown and missing properties") {
  const auto root = shared_specs();
  if (!root) {
    MESSAGE("azure-specs not found: skipped");
    return;
  }
  SwaggerBodyChecker checker(*load_json(*root / "siterecovery/service.json"));
  const json* schema = checker.post_body_schema(kPlan + "/unplannedFailover");
  REQUIRE(schema);
  const auto problems = checker.check(json::parse(R"({"properties":{"failoverDirection":"PrimaryToRecovery",
                     "providerSpecificDetails":[{"instanceType":"A2A","recoveryPointTyp":"Latest"}]}})"),
                                      *schema);
  REQUIRE(problems.size() == 3);
  CHECK(problems[0] == "body.properties: required property 'sourceSiteOperations' missing");
  CHECK(problems[1] == "body.properties.providerSpecificDetails[0]: required property 'recoveryPointType' missing");
  CHECK(problems[2] == "body.properties.providerSpecificDetails[0]: property 'recoveryPointTyp' is not in the spec");
}

TEST_CASE("check-health: healthy, allowed and within the RPO passes; otherwise every problem is named") {
  FakeVault vault;
  Bench ok =
      asr_bench("site-recovery.check-health",
                {{"plan", text("rp-line3")}, {"max-rpo", text("5m")}, {"allows", text("UnplannedFailover")}}, vault);
  CHECK(ok.action().read_only());
  const StepResult good = ok.run();
  REQUIRE(good.status == Status::succeeded);
  CHECK(good.outputs.at("replication-health") == "Normal");
  CHECK(good.outputs.at("rpo") == "2m");
  CHECK(ok.arm->writes().empty());

  vault.item["properties"]["replicationHealth"] = "Critical";
  vault.item["properties"]["healthErrors"] = {{{"errorMessage", "Replication is stalled"}}};
  vault.item["properties"]["providerSpecificDetails"]["rpoInSeconds"] = 1800;
  Bench bad = asr_bench("site-recovery.check-health",
                        {{"plan", text("rp-line3")}, {"max-rpo", text("5m")}, {"allows", text("Commit")}}, vault);
  const StepResult r = bad.run();
  REQUIRE(r.status == Status::failed);
  CHECK(r.error.find("Commit is not allowed on recovery plan rp-line3") != std::string::npos);
  CHECK(r.error.find("historian01: replication health Critical (Replication is stalled)") != std::string::npos);
  CHECK(r.error.find("historian01: RPO 30m exceeds max-rpo 5m") != std::string::npos);
}

// ---- Backup ---------------------------------------------------------------------------------

namespace {

const std::string kPi =
    kBackupVault +
    "/backupFabrics/Azure/protectionContainers/IaasVMContainer;iaasvmcontainerv2;rg-line3-mec;historian01"
    "/protectedItems/VM;iaasvmcontainerv2;rg-line3-mec;historian01";

json point(const std::string& id, const std::string& time) {
  return {{"name", id}, {"properties", {{"objectType", "IaasVMRecoveryPoint"}, {"recoveryPointTime", time}}}};
}

struct FakeBackup {
  std::vector<json> points = {point("100", "2025-12-31T12:00:00.1234567Z"), point("300", "2025-12-31T23:30:00Z"),
                              point("200", "2025-12-31T18:00:00Z")};
  std::vector<json> op_states = {
      {{"status", "InProgress"}},
      {{"status", "Succeeded"},
       {"properties", {{"objectType", "OperationStatusJobExtendedInfo"}, {"jobId", "job-b1"}}}}};
  std::vector<json> job_states = {{{"properties", {{"status", "InProgress"}, {"operation", "Backup"}}}},
                                  {{"properties", {{"status", "Completed"}, {"operation", "Backup"}}}}};
  std::vector<json> jobs;
  std::size_t op_reads = 0, job_reads = 0;

  Reply handle(const ArmRequest& r) {
    const std::string path = path_of(r);
    if (r.path.rfind("https://", 0) != 0 && r.api_version != "2026-02-01")
      return http_error(400, "InvalidApiVersion", r.api_version);
    if (r.method == "POST" && (path == kPi + "/backup" || path.find("/restore") != std::string::npos)) {
      const std::string base = "https://management.azure.com" + kPi;
      return reply(202, nullptr,
                   {{"Azure-AsyncOperation", base + "/operationsStatus/op-1?api-version=2026-02-01"},
                    {"Location", base + "/operationResults/op-1?api-version=2026-02-01"},
                    {"Retry-After", "60"}});
    }
    if (r.method == "GET" && path == kPi + "/operationsStatus/op-1")
      return reply(200, op_states[std::min(op_reads++, op_states.size() - 1)]);
    if (r.method == "GET" && path == kBackupVault + "/backupJobs/job-b1")
      return reply(200, job_states[std::min(job_reads++, job_states.size() - 1)]);
    if (r.method == "GET" && path == kBackupVault + "/backupJobs") return reply(200, {{"value", jobs}});
    if (r.method == "GET" && path == kPi + "/recoveryPoints") return reply(200, {{"value", points}});
    return http_error(404, "NotFound", r.method + " " + path);
  }
};

Bench backup_bench(const std::string& action, std::vector<Value::Entry> extra, FakeBackup& fake) {
  extra.insert(extra.begin(), {"item", text("VM;iaasvmcontainerv2;rg-line3-mec;historian01")});
  extra.insert(extra.begin(), {"target", text("vault")});
  return Bench(
      action, params(std::move(extra)), [&fake](const ArmRequest& r) { return fake.handle(r); },
      parse_rfc3339("2026-01-01T00:00:00Z"));
}

}  // namespace

TEST_CASE("backup-now triggers a backup, follows the operation to its job and the job to completion") {
  FakeBackup fake;
  Bench b = backup_bench("backup.backup-now", {{"retain-days", Value::integer(30)}}, fake);
  const StepResult r = b.run();
  REQUIRE(r.status == Status::succeeded);
  CHECK(r.outputs.at("job-id") == "job-b1");
  CHECK(r.outputs.at("recovery-point-id") == "300");
  CHECK(r.outputs.at("recovery-point-time") == "2025-12-31T23:30:00Z");
  CHECK(b.poll_afters.at(0) == 60s);
  const auto post = b.arm->writes().at(0);
  CHECK(post.path == kPi + "/backup");  // semicolons sent raw, container derived from the item
  CHECK(post.api_version == "2026-02-01");
  CHECK_FALSE(post.retry_unsafe);
  CHECK(json::parse(*post.body) == json::parse(R"({"properties":{"objectType":"IaasVMBackupRequest",
                                                   "recoveryPointExpiryTimeInUTC":"2026-01-31T00:00:00.000Z"}})"));
  std::vector<std::string> gets;
  for (const auto& s : b.arm->sent)
    if (s.method == "GET") gets.push_back(s.path.substr(s.path.rfind('/') + 1));
  CHECK(gets == std::vector<std::string>{"op-1", "op-1", "job-b1", "job-b1", "recoveryPoints"});
  check_posts_against_spec(*b.arm, "backup/bms.json");
}

TEST_CASE("a failed Backup job or operation fails the step with its error") {
  FakeBackup fake;
  fake.job_states = {
      {{"properties",
        {{"status", "Failed"},
         {"operation", "Backup"},
         {"errorDetails", {{{"errorCode", "UserErrorVmNotFound"}, {"errorString", "The VM is gone"}}}}}}}};
  Bench b = backup_bench("backup.backup-now", {}, fake);
  const StepResult r = b.run();
  REQUIRE(r.status == Status::failed);
  CHECK(r.error == "Backup job job-b1 (Backup) Failed: UserErrorVmNotFound: The VM is gone");

  FakeBackup op_fails;
  op_fails.op_states = {
      {{"status", "Failed"}, {"error", {{"code", "BMSUserErrorConflict"}, {"message", "Another backup is running"}}}}};
  Bench c = backup_bench("backup.backup-now", {}, op_fails);
  const StepResult f = c.run();
  REQUIRE(f.status == Status::failed);
  CHECK(f.error.find("BMSUserErrorConflict: Another backup is running") != std::string::npos);
}

TEST_CASE("restore picks the latest point, a given id, or the newest at or before a time") {
  FakeBackup fake;
  fake.job_states = {{{"properties", {{"status", "Completed"}, {"operation", "Restore"}}}}};
  const auto restored_from = [&](const char* wanted) {
    Bench b = backup_bench("backup.restore", {{"recovery-point", text(wanted)}}, fake);
    fake.op_reads = fake.job_reads = 0;
    const StepResult r = b.run();
    REQUIRE(r.status == Status::succeeded);
    const std::string path = b.arm->writes().at(0).path;
    CHECK(path == kPi + "/recoveryPoints/" + r.outputs.at("recovery-point-id") + "/restore");
    return r.outputs.at("recovery-point-id") + " " + r.outputs.at("recovery-point-time");
  };
  CHECK(restored_from("latest") == "300 2025-12-31T23:30:00Z");
  CHECK(restored_from("100") == "100 2025-12-31T12:00:00.1234567Z");
  CHECK(restored_from("2025-12-31T20:00:00Z") == "200 2025-12-31T18:00:00Z");
  CHECK(restored_from("2025-12-31T18:00:00+00:00") == "200 2025-12-31T18:00:00Z");

  Bench early = backup_bench("backup.restore", {{"recovery-point", text("2025-01-01T00:00:00Z")}}, fake);
  const StepResult e = early.run();
  CHECK(e.status == Status::failed);
  CHECK(e.error.find("no recovery point of VM;iaasvmcontainerv2;rg-line3-mec;historian01 at or before") !=
        std::string::npos);
  Bench unknown = backup_bench("backup.restore", {{"recovery-point", text("999")}}, fake);
  const StepResult u = unknown.run();
  CHECK(u.status == Status::failed);
  CHECK(u.error.find("recovery point '999'") != std::string::npos);
  CHECK(u.error.find("300 (2025-12-31T23:30:00Z)") != std::string::npos);
  CHECK(unknown.arm->writes().empty());
}

TEST_CASE("the restore body names the point, the type and the source VM, with `restore:` merged in") {
  FakeBackup fake;
  fake.job_states = {{{"properties", {{"status", "CompletedWithWarnings"}, {"operation", "Restore"}}}}};
  const std::string rg2 = "/subscriptions/" + kSub + "/resourceGroups/rg-restore";
  Bench b = backup_bench("backup.restore",
                         {{"mode", text("alternate-location")},
                          {"restore", Value::map({{"targetResourceGroupId", Value::string(rg2)},
                                                  {"region", text("eastus2")},
                                                  {"zones", Value::list({text("1")})}})}},
                         fake);
  REQUIRE(b.run().status == Status::succeeded);
  const json body = json::parse(*b.arm->writes().at(0).body);
  CHECK(body == json{{"properties",
                      {{"objectType", "IaasVMRestoreRequest"},
                       {"recoveryPointId", "300"},
                       {"recoveryType", "AlternateLocation"},
                       {"sourceResourceId",
                        "/subscriptions/" + kSub +
                            "/resourceGroups/rg-line3-mec/providers/Microsoft.Compute/virtualMachines/historian01"},
                       {"targetResourceGroupId", rg2},
                       {"region", "eastus2"},
                       {"zones", {"1"}}}}});
  check_posts_against_spec(*b.arm, "backup/bms.json");
}

TEST_CASE("an item whose container cannot be derived needs `container`") {
  FakeBackup fake;
  Bench b("backup.backup-now", params({{"target", text("vault")}, {"item", text("SQLDataBase;mssqlserver;db1")}}));
  const StepResult r = b.action().submit(b.call);
  CHECK(r.status == Status::failed);
  CHECK(r.error.find("give `container`") != std::string::npos);
}

TEST_CASE("check-recovery-point passes on a fresh point and names the age of a stale one") {
  FakeBackup fake;
  Bench fresh = backup_bench("backup.check-recovery-point", {{"max-age", text("1h")}}, fake);
  CHECK(fresh.action().read_only());
  const StepResult ok = fresh.run();
  REQUIRE(ok.status == Status::succeeded);
  CHECK(ok.outputs.at("recovery-point-id") == "300");
  CHECK(ok.outputs.at("age") == "30m");

  Bench stale = backup_bench("backup.check-recovery-point", {{"max-age", text("10m")}}, fake);
  const StepResult bad = stale.run();
  REQUIRE(bad.status == Status::failed);
  CHECK(bad.error.find("(300, 2025-12-31T23:30:00Z) is 30m old, more than max-age 10m") != std::string::npos);
}

TEST_CASE("Backup reconcile adopts a running job for the same VM and operation, else not started") {
  FakeBackup fake;
  Bench b = backup_bench("backup.backup-now", {}, fake);
  CHECK(b.action().reconcile(b.call).verdict == Verdict::not_started);
  fake.jobs = {
      {{"name", "job-other"},
       {"properties", {{"operation", "Backup"}, {"status", "InProgress"}, {"entityFriendlyName", "scada02"}}}},
      {{"name", "job-b1"},
       {"properties", {{"operation", "Backup"}, {"status", "InProgress"}, {"entityFriendlyName", "historian01"}}}}};
  const Reconciliation r = b.action().reconcile(b.call);
  REQUIRE(r.verdict == Verdict::adopted);
  CHECK(r.handle.find("job")->as_string() == "job-b1");
  fake.job_reads = 1;  // Completed next
  const StepResult done = b.action().poll(b.call, r.handle);
  CHECK(done.status == Status::succeeded);
  CHECK(done.outputs.at("job-id") == "job-b1");

  // Finished in the last hour: another backup is harmless, another restore is not.
  fake.jobs = {{{"name", "job-r1"},
                {"properties",
                 {{"operation", "Restore"},
                  {"status", "Completed"},
                  {"entityFriendlyName", "historian01"},
                  {"startTime", "2025-12-31T23:40:00Z"}}}}};
  Bench restore = backup_bench("backup.restore", {}, fake);
  const Reconciliation again = restore.action().reconcile(restore.call);
  CHECK(again.verdict == Verdict::operator_needed);
  CHECK(again.reason.find("job-r1") != std::string::npos);
  fake.jobs[0]["properties"]["operation"] = "Backup";
  CHECK(b.action().reconcile(b.call).verdict == Verdict::not_started);
}

TEST_CASE("describe lists the Backup and Site Recovery requests without sending any") {
  FakeBackup fake;
  Bench b = backup_bench("backup.backup-now", {{"retain-days", Value::integer(7)}}, fake);
  const auto lines = b.action().describe(b.call);
  REQUIRE(lines.size() == 3);
  CHECK(lines[0].rfind("POST https://management.azure.com" + kPi + "/backup?api-version=2026-02-01 {", 0) == 0);
  FakeVault vault;
  Bench s = asr_bench("site-recovery.failover", {{"item", text("historian01")}}, vault);
  const auto asr = s.action().describe(s.call);
  REQUIRE(asr.size() == 3);
  CHECK(asr[0].find("/replicationProtectedItems?api-version=2026-05-01 (find 'historian01'") != std::string::npos);
  CHECK(asr[1].find("/unplannedFailover?api-version=2026-05-01 {\"properties\"") != std::string::npos);
  CHECK(b.arm->sent.empty());
  CHECK(s.arm->sent.empty());
}

TEST_CASE("a refused credential and a missing resource are told apart for the exit code (77, 3)") {
  auto cause = [](ArmError::Kind kind, int status) {
    ArmError e;
    e.kind = kind;
    e.status = status;
    e.message = "x";
    return dr::actions::az::fail_from(e, "PATCH endpoint").cause;
  };
  CHECK(cause(ArmError::Kind::auth, 0) == StepResult::Cause::auth);
  CHECK(cause(ArmError::Kind::http, 403) == StepResult::Cause::auth);
  CHECK(cause(ArmError::Kind::http, 404) == StepResult::Cause::not_found);
  CHECK(cause(ArmError::Kind::http, 409) == StepResult::Cause::other);
  CHECK(cause(ArmError::Kind::transport, 0) == StepResult::Cause::other);
}

// ---- P7: steps and undos are idempotent (reliability.md), against the simulator ------------

namespace {

// The in-process simulator behind the real ARM pipeline and credential, on one FakeClock: what
// a run under --simulate gives the actions, without the engine.
struct SimBench {
  FakeClock clock;
  sim::Simulator simulator;
  std::shared_ptr<azure::AzureContext> context = std::make_shared<azure::AzureContext>();
  ActionRegistry registry;
  StepSpec step;

  static sim::World world() {
    sim::World w;
    sim::TmProfile p;
    p.name = "tm-line3";
    p.resource_group = "rg-dr";
    sim::TmEndpoint a, b;
    a.name = "plant-mec";
    a.priority = 1;
    a.weight = 1;
    b.name = "eastus2";
    b.priority = 2;
    b.weight = 1;
    b.status = "Disabled";
    p.endpoints = {a, b};
    w.profiles.push_back(p);
    sim::AsrVault v;
    v.name = "rsv-dr";
    v.resource_group = "rg-dr";
    sim::AsrItem item;
    item.name = "vm1";
    item.friendly_name = "historian01";
    v.items = {item};
    sim::AsrPlan plan;
    plan.name = "rp-line3";
    plan.items = {"vm1"};
    v.plans = {plan};
    w.recovery_vaults.push_back(v);
    return w;
  }

  SimBench() : simulator(world(), clock) {
    const std::string base = simulator.start();
    azure::CredentialEnvironment env;
    env.clock = &clock;
    env.authority_host = base + "/";
    azure::ArmOptions o;
    o.cloud = {"custom", base, base + "/", "https://management.core.windows.net/"};
    o.credential = azure::client_secret_credential(env, "tenant1", "app", "secret");
    o.clock = &clock;
    context->arm = azure::make_arm_client(o);
    context->subscription = kSub;
    context->arm_endpoint = base;
    context->targets["traffic"] =
        fields({{"resource-group", Value::string("rg-dr")}, {"profile", Value::string("tm-line3")}});
    context->targets["recovery"] =
        fields({{"resource-group", Value::string("rg-dr")}, {"vault", Value::string("rsv-dr")}});
    azure::register_azure_actions(registry, context);
  }

  StepCall call_of(const std::string& action, Value with) {
    step.id = "plant/failover/" + action;
    step.action = action;
    StepCall c;
    c.run_id = "run-p7";
    c.step = &step;
    c.action = action;
    c.params = std::move(with);
    c.clock = &clock;
    return c;
  }
  // The built-in undo as the engine calls it: the inverse action, the forward step's parameters
  // and what capture() journaled.
  StepCall undo_of(const StepCall& forward, const Value& captured) {
    const ActionSpec* spec = Catalogue::v1().find(forward.action);
    REQUIRE(spec);
    REQUIRE_FALSE(spec->builtin_undo.empty());
    StepCall u = forward;
    u.action = spec->builtin_undo;
    u.is_undo = true;
    u.captured = captured;
    return u;
  }
  // Submit, then poll at the pace the action asks for, the clock moving as it would.
  StepResult run(const StepCall& c) {
    Action& a = *registry.find(c.action);
    StepResult r = a.submit(c);
    for (int polls = 0; r.status == Status::pending && polls < 200; ++polls) {
      clock.advance(r.poll_after);
      r = a.poll(c, r.handle);
    }
    return r;
  }
  // Everything the simulator holds: endpoints, plans, items, jobs (with their times).
  std::string state() const { return simulator.world_json(); }
  int writes() const {
    int n = 0;
    for (const auto& r : simulator.requests())
      if (r.method != "GET" && r.operation != "token") ++n;
    return n;
  }
  // endpoint name -> "status/priority/weight"
  std::map<std::string, std::string> endpoints() const {
    std::map<std::string, std::string> out;
    const json world = json::parse(state());  // kept: a range-for over a temporary's member dangles
    for (const auto& e : world["traffic-manager"][0]["properties"]["endpoints"]) {
      const json& p = e["properties"];
      out[e["name"].get<std::string>()] = p.value("endpointStatus", "") + "/" + p.value("priority", json()).dump() +
                                          "/" + p.value("weight", json()).dump();
    }
    return out;
  }
};

struct P7Case {
  std::string action;
  Value with;
  bool second_run_refused;  // Site Recovery refuses what its state no longer allows
};

}  // namespace

TEST_CASE("P7: every Azure step with a built-in undo, run twice, then its undo twice, leaves the state of the first") {
  const std::vector<P7Case> cases = {
      {"traffic-manager.disable-endpoint", params({{"target", text("traffic")}, {"endpoint", text("plant-mec")}}),
       false},
      {"traffic-manager.enable-endpoint",
       params({{"target", text("traffic")}, {"endpoint", text("eastus2")}, {"endpoint-type", text("external")}}),
       false},
      {"traffic-manager.set-priority",
       params({{"target", text("traffic")}, {"endpoint", text("eastus2")}, {"priority", Value::integer(1)}}), false},
      {"traffic-manager.set-weight",
       params({{"target", text("traffic")}, {"endpoint", text("plant-mec")}, {"weight", Value::integer(40)}}), false},
      {"site-recovery.test-failover",
       params({{"target", text("recovery")}, {"plan", text("rp-line3")}, {"network", text("/subscriptions/s/vnet")}}),
       true},
      {"site-recovery.test-failover",
       params({{"target", text("recovery")},
               {"item", text("primary-fabric/primary-container/vm1")},
               {"network", text("/subscriptions/s/vnet")}}),
       true},
  };
  // Every catalogue action of the three services with a built-in undo is among the cases.
  for (const auto& spec : Catalogue::v1().actions()) {
    if (spec.builtin_undo.empty() || spec.name.rfind("agent.", 0) == 0) continue;
    CHECK_MESSAGE(std::any_of(cases.begin(), cases.end(), [&](const P7Case& c) { return c.action == spec.name; }),
                  spec.name);
  }

  for (const auto& c : cases) {
    CAPTURE(c.action);
    const std::string subject = c.with.find("endpoint") ? c.with.find("endpoint")->to_text()
                                : c.with.find("plan")   ? c.with.find("plan")->to_text()
                                                        : c.with.find("item")->to_text();
    CAPTURE(subject);
    SimBench bench;
    const auto before = bench.endpoints();
    const StepCall forward = bench.call_of(c.action, c.with);
    const Value captured = bench.registry.find(c.action)->capture(forward);

    const StepResult first = bench.run(forward);
    REQUIRE_MESSAGE(first.status == Status::succeeded, first.error);
    const std::string after_first = bench.state();
    const int writes_first = bench.writes();
    const StepResult second = bench.run(forward);
    if (c.second_run_refused) {
      // Nothing is sent: a second test failover would be a second job.
      CHECK(second.status == Status::failed);
      CHECK(second.error.find("not allowed") != std::string::npos);
      CHECK(bench.writes() == writes_first);
    } else {
      CHECK_MESSAGE(second.status == Status::succeeded, second.error);
    }
    CHECK(bench.state() == after_first);

    const StepCall undo = bench.undo_of(forward, captured);
    const StepResult undo_first = bench.run(undo);
    REQUIRE_MESSAGE(undo_first.status == Status::succeeded, undo_first.error);
    const std::string after_undo = bench.state();
    const int writes_undo = bench.writes();
    const StepResult undo_second = bench.run(undo);
    if (c.second_run_refused) {
      CHECK(undo_second.status == Status::failed);
      CHECK(bench.writes() == writes_undo);
    } else {
      CHECK_MESSAGE(undo_second.status == Status::succeeded, undo_second.error);
    }
    CHECK(bench.state() == after_undo);
    // And the undo put the endpoints back as they were.
    CHECK(bench.endpoints() == before);
  }
}
