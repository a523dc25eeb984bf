#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "dr/clock.h"
#include "dr/http.h"
#include "dr/runbook.h"
#include "dr/sim.h"
#include "unit/test_support.h"

using namespace dr;
using namespace dr::sim;
using namespace std::chrono_literals;
using json = nlohmann::json;

namespace {

const std::string kSub = "00000000-1111-2222-3333-444444444444";
const std::string kTm =
    "/subscriptions/" + kSub + "/resourceGroups/rg-dr/providers/Microsoft.Network/trafficmanagerprofiles/tm1";
const std::string kVault =
    "/subscriptions/" + kSub + "/resourceGroups/rg-dr/providers/Microsoft.RecoveryServices/vaults/rsv1";
const std::string kItemPath = kVault +
                              "/replicationFabrics/primary-fabric/replicationProtectionContainers/primary-container/"
                              "replicationProtectedItems/vm1";
const std::string kBackupItem =
    kVault +
    "/backupFabrics/Azure/protectionContainers/IaasVMContainer;iaasvmcontainerv2;rg-app;vm1/protectedItems/"
    "VM;iaasvmcontainerv2;rg-app;vm1";
const std::string kTmV = "?api-version=2026-09-01", kAsrV = "?api-version=2026-05-01", kBkV = "?api-version=2026-02-01";

World base_world() {
  World w;
  TmProfile p;
  p.name = "tm1";
  p.resource_group = "rg-dr";
  TmEndpoint a, b;
  a.name = "site-a";
  a.priority = 1;
  a.target = "a.example.net";
  b.name = "site-b";
  b.priority = 2;
  b.target = "b.example.net";
  b.healthy = false;
  p.endpoints = {a, b};
  w.profiles.push_back(p);
  AsrVault v;
  v.name = "rsv1";
  v.resource_group = "rg-dr";
  AsrItem i1, i2;
  i1.name = "vm1";
  i2.name = "vm2";
  v.items = {i1, i2};
  AsrPlan plan;
  plan.name = "rp1";
  plan.items = {"vm1", "vm2"};
  v.plans = {plan};
  w.recovery_vaults.push_back(v);
  BackupVault bv;
  bv.name = "rsv1";
  bv.resource_group = "rg-dr";
  BackupItem bi;
  bi.name = "VM;iaasvmcontainerv2;rg-app;vm1";
  bi.recovery_points = {{"1000", Clock::wall_time{} - 2h, "AppConsistent"}};
  bv.items.push_back(bi);
  w.backup_vaults.push_back(bv);
  Agent ag;
  ag.name = "plant";
  ag.url = "https://edge-gw.example.invalid:8443";
  ag.token = "agent-secret";
  ag.actions = {{"stop-ingest", 10s, 0, "stopped", false}, {"bad", 5s, 3, "boom", false}};
  ag.checks = {{"ingest-running", false, "inactive"}};
  w.agents.push_back(ag);
  return w;
}

// A simulator on a FakeClock and a client with a token from its token endpoint.
struct Sim {
  FakeClock clock;
  Simulator sim;
  std::string base;
  HttpClient client;
  std::string token;

  explicit Sim(World w = base_world()) : sim(std::move(w), clock) {
    base = sim.start();
    auto r = call("POST", "/tenant1/oauth2/v2.0/token",
                  "grant_type=client_credentials&client_id=app&client_secret=s3cret&scope=https%3A%2F%2Fmanagement."
                  "azure.com%2F.default",
                  {{"Content-Type", "application/x-www-form-urlencoded"}}, false);
    REQUIRE(r.status == 200);
    token = json::parse(r.body)["access_token"].get<std::string>();
  }

  HttpResponse call(const std::string& method, const std::string& path, const std::string& body = "",
                    HttpHeaders headers = {}, bool auth = true) {
    HttpRequest req;
    req.method = method;
    req.url = base + path;
    req.body = body;
    req.total_timeout = 10s;
    if (auth) headers.emplace_back("Authorization", "Bearer " + token);
    if (!body.empty() && method != "POST") headers.emplace_back("Content-Type", "application/json");
    req.headers = headers;
    auto r = client.send(req);
    REQUIRE_MESSAGE(r.has_value(), (r ? "" : r.error().message));
    return *r;
  }
  json get(const std::string& path) {
    auto r = call("GET", path);
    REQUIRE_MESSAGE(r.status == 200, r.body);
    return json::parse(r.body);
  }
  int count(const std::string& method, const std::string& operation, int status = -1) const {
    int n = 0;
    for (const auto& l : sim.requests())
      if (l.method == method && l.operation == operation && (status < 0 || l.status == status)) ++n;
    return n;
  }
};

std::string shared_dir() {
  if (const char* e = std::getenv("EDGEDR_SHARED")) return e;
  return std::string(EDGEDR_SOURCE_DIR) + "/../shared";
}

std::set<std::string> keys(const json& j) {
  std::set<std::string> out;
  if (j.is_object())
    for (auto it = j.begin(); it != j.end(); ++it) out.insert(it.key());
  return out;
}

}  // namespace

TEST_CASE("the token endpoint issues bearer tokens that ARM accepts, and ARM refuses others with invalid_token") {
  Sim s;
  CHECK(s.call("GET", kTm + kTmV).status == 200);
  auto none = s.call("GET", kTm + kTmV, "", {}, false);
  CHECK(none.status == 401);
  auto bad = s.call("GET", kTm + kTmV, "", {{"Authorization", "Bearer forged"}}, false);
  CHECK(bad.status == 401);
  REQUIRE(bad.header("WWW-Authenticate"));
  CHECK(bad.header("WWW-Authenticate")->find("error=\"invalid_token\"") != std::string::npos);
  CHECK(json::parse(bad.body)["error"]["code"] == "InvalidAuthenticationToken");
  s.clock.advance(61min);  // past the default 1h lifetime
  CHECK(s.call("GET", kTm + kTmV).status == 401);
  auto refused =
      s.call("POST", "/tenant1/oauth2/v2.0/token", "grant_type=client_credentials&client_id=app&scope=x", {}, false);
  CHECK(refused.status == 401);
  CHECK(json::parse(refused.body)["error"] == "invalid_client");
}

TEST_CASE("an ARM call needs a known api-version, and ARM replies carry request ids") {
  Sim s;
  auto r = s.call("GET", kTm);
  CHECK(r.status == 400);
  CHECK(json::parse(r.body)["error"]["code"] == "MissingApiVersionParameter");
  CHECK(s.call("GET", kTm + "?api-version=1999-01-01").status == 400);
  auto ok = s.call("GET", kTm + "?api-version=2022-04-01", "", {{"x-ms-correlation-request-id", "corr-1"}});
  CHECK(ok.status == 200);
  CHECK(ok.header("x-ms-request-id"));
  CHECK(ok.header("x-ms-correlation-request-id") == std::optional<std::string>("corr-1"));
  CHECK(ok.header("x-ms-ratelimit-remaining-subscription-reads"));
}

TEST_CASE("IMDS answers only with the Metadata header, and gives its numbers as strings") {
  Sim s;
  const std::string path =
      "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://management.azure.com";
  CHECK(s.call("GET", path, "", {}, false).status == 400);
  auto r = s.call("GET", path, "", {{"Metadata", "true"}}, false);
  REQUIRE(r.status == 200);
  auto j = json::parse(r.body);
  CHECK(j["expires_in"].is_string());
  CHECK(j["expires_on"].is_string());
  CHECK(j["resource"] == "https://management.azure.com");
  s.token = j["access_token"];
  CHECK(s.call("GET", kTm + kTmV).status == 200);
}

TEST_CASE("a Traffic Manager endpoint change reads CheckingEndpoint for the probe delay, then what probes find") {
  Sim s;
  const auto ep = kTm + "/ExternalEndpoints/site-a" + kTmV;
  CHECK(s.get(ep)["properties"]["endpointMonitorStatus"] == "Online");
  auto r = s.call("PATCH", ep, R"({"properties":{"endpointStatus":"Disabled"}})");
  REQUIRE(r.status == 200);
  CHECK(json::parse(r.body)["properties"]["endpointMonitorStatus"] == "Disabled");
  CHECK(json::parse(r.body)["type"] == "Microsoft.Network/trafficManagerProfiles/externalEndpoints");
  s.call("PATCH", ep, R"({"properties":{"endpointStatus":"Enabled"}})");
  CHECK(s.get(ep)["properties"]["endpointMonitorStatus"] == "CheckingEndpoint");
  s.clock.advance(31s);
  CHECK(s.get(ep)["properties"]["endpointMonitorStatus"] == "Online");
  // The endpoint type segment is case-insensitive; site-b is unhealthy in this world.
  CHECK(s.get(kTm + "/externalendpoints/site-b" + kTmV)["properties"]["endpointMonitorStatus"] == "Degraded");
  CHECK(s.call("GET", kTm + "/AzureEndpoints/site-a" + kTmV).status == 404);
}

TEST_CASE("Traffic Manager keeps priorities unique per request, as ARM does") {
  Sim s;
  auto clash = s.call("PATCH", kTm + "/ExternalEndpoints/site-a" + kTmV, R"({"properties":{"priority":2}})");
  CHECK(clash.status == 400);
  CHECK(json::parse(clash.body)["error"]["code"] == "BadRequest");
  // The three-step swap works.
  CHECK(s.call("PATCH", kTm + "/ExternalEndpoints/site-a" + kTmV, R"({"properties":{"priority":3}})").status == 200);
  CHECK(s.call("PATCH", kTm + "/ExternalEndpoints/site-b" + kTmV, R"({"properties":{"priority":1}})").status == 200);
  CHECK(s.call("PATCH", kTm + "/ExternalEndpoints/site-a" + kTmV, R"({"properties":{"priority":2}})").status == 200);
  CHECK(s.get(kTm + kTmV)["properties"]["endpoints"][1]["properties"]["priority"] == 1);
  auto created = s.call("PUT", kTm + "/ExternalEndpoints/site-c" + kTmV,
                        R"({"properties":{"target":"c.example.net","endpointStatus":"Enabled","priority":5}})");
  CHECK(created.status == 201);
  CHECK(s.call("DELETE", kTm + "/ExternalEndpoints/site-c" + kTmV).status == 200);
  CHECK(s.call("DELETE", kTm + "/ExternalEndpoints/site-c" + kTmV).status == 204);
}

TEST_CASE("a recovery plan failover answers 202 with the LRO headers and its job progresses with the clock") {
  Sim s;
  const auto plan = kVault + "/replicationRecoveryPlans/rp1";
  CHECK(s.get(plan + kAsrV)["properties"]["allowedOperations"] ==
        json::array({"PlannedFailover", "UnplannedFailover", "TestFailover"}));
  auto missing = s.call("POST", plan + "/unplannedFailover" + kAsrV,
                        R"({"properties":{"failoverDirection":"PrimaryToRecovery"}})");
  CHECK(missing.status == 400);
  CHECK(json::parse(missing.body)["error"]["message"].get<std::string>().find("sourceSiteOperations") !=
        std::string::npos);
  CHECK(s.call("POST", plan + "/failoverCommit" + kAsrV).status == 409);

  auto r = s.call("POST", plan + "/unplannedFailover" + kAsrV,
                  R"({"properties":{"failoverDirection":"PrimaryToRecovery","sourceSiteOperations":"NotRequired",
                      "providerSpecificDetails":[{"instanceType":"A2A","recoveryPointType":"Latest"}]}})");
  REQUIRE(r.status == 202);
  CHECK(r.header("Retry-After") == std::optional<std::string>("30"));
  REQUIRE(r.header("Azure-AsyncOperation"));
  const auto location = *r.header("Location");
  const auto at = location.find("/operationresults/");
  REQUIRE(at != std::string::npos);
  const auto job = location.substr(at + 18, location.find('?') - at - 18);
  CHECK(location.find("/replicationJobs/" + job + "/operationresults/" + job + "?api-version=2026-05-01") !=
        std::string::npos);

  const auto job_path = kVault + "/replicationJobs/" + job + kAsrV;
  CHECK(s.get(job_path)["properties"]["state"] == "InProgress");
  CHECK(s.get(plan + kAsrV)["properties"]["allowedOperations"].empty());
  CHECK(s.call("GET", location.substr(location.find("/Subscriptions/"))).status == 202);
  s.clock.advance(3min);
  auto mid = s.get(job_path);
  CHECK(mid["properties"]["tasks"][0]["state"] == "Succeeded");
  CHECK(mid["properties"]["tasks"][2]["state"] == "NotStarted");
  s.clock.advance(4min);
  auto done = s.get(job_path);
  CHECK(done["properties"]["state"] == "Succeeded");
  CHECK(done["properties"].contains("endTime"));
  CHECK(s.call("GET", location.substr(location.find("/Subscriptions/"))).status == 200);
  auto item = s.get(kItemPath + kAsrV);
  CHECK(item["properties"]["activeLocation"] == "Recovery");
  CHECK(item["properties"]["allowedOperations"][0] == "Commit");
  auto list = s.get(kVault + "/replicationJobs" + kAsrV + "&$filter=startTime%20ge%20'2026-01-01'");
  CHECK(list["value"].size() == 1);
  CHECK(s.count("POST", "ReplicationRecoveryPlans_UnplannedFailover", 202) == 1);
}

TEST_CASE("a test failover waits for cleanup: job Suspended, item WaitingForCompletion, only cleanup allowed") {
  Sim s;
  const auto plan = kVault + "/replicationRecoveryPlans/rp1";
  CHECK(s.call("POST", plan + "/testFailover" + kAsrV, R"({"properties":{"failoverDirection":"PrimaryToRecovery"}})")
            .status == 400);
  auto r = s.call(
      "POST", plan + "/testFailover" + kAsrV,
      R"({"properties":{"failoverDirection":"PrimaryToRecovery","networkType":"VmNetworkAsInput","networkId":"/x"}})");
  REQUIRE(r.status == 202);
  s.clock.advance(10min);
  auto p = s.get(plan + kAsrV)["properties"];
  CHECK(p["currentScenarioStatus"] == "Suspended");
  CHECK(p["currentScenarioStatusDescription"] == "WaitingForStopTestFailover");
  CHECK(p["allowedOperations"] == json::array({"TestFailoverCleanup"}));
  auto item = s.get(kItemPath + kAsrV)["properties"];
  CHECK(item["testFailoverState"] == "WaitingForCompletion");
  CHECK(item["allowedOperations"] == json::array({"TestFailoverCleanup"}));
  CHECK(item["activeLocation"] == "Primary");
  auto status =
      s.get(r.header("Azure-AsyncOperation")->substr(r.header("Azure-AsyncOperation")->find("/Subscriptions/")));
  CHECK(status["status"] == "Succeeded");

  CHECK(s.call("POST", plan + "/testFailoverCleanup" + kAsrV, R"({"properties":{"comments":"drill done"}})").status ==
        202);
  s.clock.advance(4min);
  CHECK(s.get(kItemPath + kAsrV)["properties"]["testFailoverState"] == "None");
  auto jobs = s.get(kVault + "/replicationJobs" + kAsrV)["value"];
  REQUIRE(jobs.size() == 2);
  CHECK(jobs[1]["properties"]["scenarioName"] == "TestFailover");
  CHECK(jobs[1]["properties"]["state"] == "Succeeded");
}

TEST_CASE("an item fails over, commits, and reprotect flips the replication direction") {
  Sim s;
  const auto body = R"({"properties":{"failoverDirection":"PrimaryToRecovery","sourceSiteOperations":"NotRequired",
                        "providerSpecificDetails":{"instanceType":"A2A"}}})";
  CHECK(s.call("POST", kItemPath + "/unplannedFailover" + kAsrV,
               R"({"properties":{"failoverDirection":"PrimaryToRecovery","sourceSiteOperations":"NotRequired",
                   "providerSpecificDetails":[{"instanceType":"A2A"}]}})")
            .status == 400);  // an array on an item
  REQUIRE(s.call("POST", kItemPath + "/unplannedFailover" + kAsrV, body).status == 202);
  s.clock.advance(7min);
  REQUIRE(s.call("POST", kItemPath + "/failoverCommit" + kAsrV).status == 202);
  s.clock.advance(2min);
  auto item = s.get(kItemPath + kAsrV)["properties"];
  CHECK(item["allowedOperations"] == json::array({"ReverseReplicate"}));
  CHECK(
      s.call(
           "POST", kItemPath + "/reProtect" + kAsrV,
           R"({"properties":{"failoverDirection":"PrimaryToRecovery","providerSpecificDetails":{"instanceType":"A2A"}}})")
          .status == 400);
  REQUIRE(
      s.call(
           "POST", kItemPath + "/reProtect" + kAsrV,
           R"({"properties":{"failoverDirection":"RecoveryToPrimary","providerSpecificDetails":{"instanceType":"A2A"}}})")
          .status == 202);
  s.clock.advance(16min);
  item = s.get(kItemPath + kAsrV)["properties"];
  CHECK(item["activeLocation"] == "Recovery");
  CHECK(item["providerSpecificDetails"]["failoverDirection"] == "RecoveryToPrimary");
  CHECK(item["allowedOperations"][1] == "UnplannedFailover");
  // Failing back now goes the other way.
  CHECK(s.call("POST", kItemPath + "/unplannedFailover" + kAsrV, body).status == 400);
  CHECK(s.get(kVault + "/replicationProtectedItems" + kAsrV)["value"].size() == 2);
}

TEST_CASE("a backup is an operation that names its job, and a finished backup adds a recovery point") {
  Sim s;
  CHECK(s.call("POST", kBackupItem + "/backup" + kBkV, "{}").status == 400);
  auto r = s.call(
      "POST", kBackupItem + "/backup" + kBkV,
      R"({"properties":{"objectType":"IaasVMBackupRequest","recoveryPointExpiryTimeInUTC":"2026-12-31T00:00:00Z"}})");
  REQUIRE(r.status == 202);
  CHECK(r.header("Retry-After") == std::optional<std::string>("60"));
  REQUIRE(r.header("Location"));
  CHECK(r.header("Location")->find("/operationResults/") != std::string::npos);
  const auto async = *r.header("Azure-AsyncOperation");
  CHECK(async.find("/operationsStatus/") != std::string::npos);
  const auto status_path = async.substr(async.find("/subscriptions/"));
  CHECK(s.get(status_path)["status"] == "InProgress");
  s.clock.advance(30s);
  auto st = s.get(status_path);
  CHECK(st["status"] == "Succeeded");
  CHECK(st["properties"]["objectType"] == "OperationStatusJobExtendedInfo");
  const auto job = st["properties"]["jobId"].get<std::string>();
  CHECK(s.get(kVault + "/backupJobs/" + job + kBkV)["properties"]["status"] == "InProgress");
  s.clock.advance(30min);
  CHECK(s.get(kVault + "/backupJobs/" + job + kBkV)["properties"]["status"] == "Completed");
  // %3B and another case reach the same item.
  std::string encoded = kVault +
                        "/backupFabrics/Azure/protectionContainers/iaasvmcontainer%3Biaasvmcontainerv2%3Brg-app%3Bvm1/"
                        "protectedItems/vm%3Biaasvmcontainerv2%3Brg-app%3Bvm1/recoveryPoints" +
                        kBkV;
  auto points = s.get(encoded)["value"];
  REQUIRE(points.size() == 2);
  CHECK(points[0]["properties"]["recoveryPointType"] == "AppConsistent");
  const auto newest = points[0]["name"].get<std::string>();
  CHECK(newest == "2000");

  auto restore = s.call("POST", kBackupItem + "/recoveryPoints/" + newest + "/restore" + kBkV,
                        R"({"properties":{"objectType":"IaasVMRestoreRequest","recoveryType":"AlternateLocation"}})");
  CHECK(restore.status == 202);
  CHECK(s.call("POST", kBackupItem + "/recoveryPoints/999/restore" + kBkV,
               R"({"properties":{"objectType":"IaasVMRestoreRequest"}})")
            .status == 404);
}

TEST_CASE("fault rules answer by operation with count and Retry-After, reset connections and break bodies") {
  World w = base_world();
  FaultRule busy;
  busy.name = "busy";
  busy.operation = "Endpoints_Get";
  busy.count = 1;
  busy.status = 503;
  busy.retry_after = 7;
  w.faults.push_back(busy);
  FaultRule reset;
  reset.name = "reset";
  reset.method = "POST";
  reset.path_regex = "unplannedFailover$";
  reset.effect = FaultRule::Effect::reset;
  reset.after = 0;
  reset.count = 1;
  w.faults.push_back(reset);
  FaultRule garbled;
  garbled.name = "garbled";
  garbled.operation = "Profiles_Get";
  garbled.after = 1;
  garbled.effect = FaultRule::Effect::invalid_json;
  w.faults.push_back(garbled);
  Sim s(w);
  const auto ep = kTm + "/ExternalEndpoints/site-a" + kTmV;
  auto first = s.call("GET", ep);
  CHECK(first.status == 503);
  CHECK(first.header("Retry-After") == std::optional<std::string>("7"));
  CHECK(s.call("GET", ep).status == 200);

  HttpRequest req;
  req.method = "POST";
  req.url = s.base + kVault + "/replicationRecoveryPlans/rp1/unplannedFailover" + kAsrV;
  req.headers = {{"Authorization", "Bearer " + s.token}};
  req.body = R"({"properties":{"failoverDirection":"PrimaryToRecovery","sourceSiteOperations":"NotRequired"}})";
  auto lost = s.client.send(req);
  REQUIRE_FALSE(lost.has_value());
  CHECK(lost.error().kind == HttpError::Kind::transport);
  CHECK(s.get(kVault + "/replicationJobs" + kAsrV)["value"].size() == 1);  // the answer was lost, not the request

  CHECK(json::parse(s.call("GET", kTm + kTmV).body)["name"] == "tm1");  // `after: 1` lets the first through
  auto broken = s.call("GET", kTm + kTmV);
  CHECK(broken.status == 200);
  CHECK(json::parse(broken.body, nullptr, false).is_discarded());

  bool saw_reset = false;
  for (const auto& l : s.sim.requests())
    if (l.fault == "reset") saw_reset = l.status == 0;
  CHECK(saw_reset);
}

TEST_CASE("a fault rule with a probability hits a seeded, repeatable share of requests") {
  const auto hits = [] {
    World w = base_world();
    w.seed = 42;
    FaultRule f;
    f.operation = "Profiles_Get";
    f.probability = 0.5;
    f.status = 500;
    w.faults.push_back(f);
    Sim s(w);
    std::string pattern;
    for (int i = 0; i < 20; ++i) pattern += s.call("GET", kTm + kTmV).status == 500 ? 'x' : '.';
    return pattern;
  };
  const auto a = hits();
  CHECK(a == hits());
  CHECK(a.find('x') != std::string::npos);
  CHECK(a.find('.') != std::string::npos);
}

TEST_CASE("ARM token buckets answer 429 with Retry-After when empty and refill with simulated time") {
  World w = base_world();
  w.buckets.read_capacity = 2;
  w.buckets.read_refill = 0.5;
  Sim s(w);
  auto r1 = s.call("GET", kTm + kTmV);
  CHECK(r1.header("x-ms-ratelimit-remaining-subscription-reads") == std::optional<std::string>("1"));
  CHECK(s.call("GET", kTm + kTmV).status == 200);
  auto limited = s.call("GET", kTm + kTmV);
  CHECK(limited.status == 429);
  CHECK(limited.header("Retry-After") == std::optional<std::string>("2"));
  CHECK(limited.header("x-ms-ratelimit-remaining-subscription-reads") == std::optional<std::string>("0"));
  // Writes draw from their own bucket.
  CHECK(s.call("PATCH", kTm + "/ExternalEndpoints/site-a" + kTmV, R"({"properties":{"weight":5}})").status == 200);
  s.clock.advance(2s);
  CHECK(s.call("GET", kTm + kTmV).status == 200);
}

TEST_CASE("agent runs are idempotent by key, progress with the clock, and need the agent's token") {
  Sim s;
  const std::string a = "/agents/plant/v1";
  const HttpHeaders auth{{"Authorization", "Bearer agent-secret"}, {"Idempotency-Key", "run1/step/1"}};
  CHECK(s.call("POST", a + "/actions/stop-ingest/runs", "{}", {{"Authorization", "Bearer wrong"}}, false).status ==
        401);
  auto r1 = s.call("POST", a + "/actions/stop-ingest/runs", R"({"args":{"site":"a"}})", auth, false);
  REQUIRE(r1.status == 202);
  auto r2 = s.call("POST", a + "/actions/stop-ingest/runs", R"({"args":{"site":"a"}})", auth, false);
  const auto id = json::parse(r1.body)["id"].get<std::string>();
  CHECK(json::parse(r2.body)["id"] == id);
  const HttpHeaders tok{{"Authorization", "Bearer agent-secret"}};
  CHECK(json::parse(s.call("GET", a + "/runs/" + id, "", tok, false).body)["state"] == "running");
  s.clock.advance(11s);
  auto done = json::parse(s.call("GET", a + "/runs/" + id, "", tok, false).body);
  CHECK(done["state"] == "succeeded");
  CHECK(done["output"] == "stopped");
  CHECK(s.call("POST", a + "/runs/" + id + "/cancel", "", tok, false).status == 409);
  auto bad = json::parse(s.call("POST", a + "/actions/bad/runs", "{}", tok, false).body);
  s.clock.advance(6s);
  auto failed = json::parse(s.call("GET", a + "/runs/" + bad["id"].get<std::string>(), "", tok, false).body);
  CHECK(failed["state"] == "failed");
  CHECK(failed["exit-code"] == 3);
  CHECK(s.call("POST", a + "/actions/nope/runs", "{}", tok, false).status == 404);
  CHECK(json::parse(s.call("GET", a + "/checks/ingest-running", "", tok, false).body)["status"] == "fail");
  CHECK(s.call("GET", a + "/health", "", tok, false).status == 200);
  CHECK(s.count("POST", "agent.run") == 5);
}

TEST_CASE("under the simulation route, agents, probes and ARM on their real hosts reach the simulator") {
  World w = base_world();
  w.probes.push_back({"https://app.example.invalid/health", 503, "down"});
  Sim s(w);
  set_simulation_route(s.base);
  HttpClient client;
  const auto send = [&](const std::string& method, const std::string& url, HttpHeaders h = {}) {
    HttpRequest req;
    req.method = method;
    req.url = url;
    req.headers = std::move(h);
    req.total_timeout = 10s;
    auto r = client.send(req);
    REQUIRE(r.has_value());
    return *r;
  };
  auto agent =
      send("GET", "https://edge-gw.example.invalid:8443/v1/health", {{"Authorization", "Bearer agent-secret"}});
  auto sick = send("GET", "https://app.example.invalid/health");
  auto fine = send("GET", "https://other.example.invalid/ping");
  auto arm = send("GET", "https://management.azure.com" + kTm + kTmV, {{"Authorization", "Bearer " + s.token}});
  set_simulation_route("");
  CHECK(agent.status == 200);
  CHECK(sick.status == 503);
  CHECK(sick.body == "down");
  CHECK(fine.status == 200);
  REQUIRE(arm.status == 200);
  CHECK(json::parse(arm.body)["name"] == "tm1");
  CHECK(s.count("GET", "probe") == 2);
}

TEST_CASE("the request log records each call once, never an Authorization value, and is served over HTTP") {
  Sim s;
  s.call("POST", kVault + "/replicationRecoveryPlans/rp1/plannedFailover" + kAsrV,
         R"({"properties":{"failoverDirection":"PrimaryToRecovery"}})", {{"x-ms-client-request-id", "c1"}});
  const auto log = s.sim.requests();
  REQUIRE(log.size() == 2);  // the token request, then the failover
  CHECK(log[0].operation == "token");
  CHECK(log[1].operation == "ReplicationRecoveryPlans_PlannedFailover");
  CHECK(log[1].status == 202);
  CHECK(log[1].body_sha256.size() == 64);
  CHECK(log[1].query == "api-version=2026-05-01");
  bool redacted = false;
  for (const auto& [k, v] : log[1].headers)
    if (k == "Authorization") redacted = v == "[redacted]";
  CHECK(redacted);
  auto over_http = json::parse(s.call("GET", "/_sim/requests", "", {}, false).body);
  CHECK(over_http.size() == 2);
  CHECK(over_http.dump().find(s.token) == std::string::npos);
  auto world = json::parse(s.call("GET", "/_sim/world", "", {}, false).body);
  CHECK(world["site-recovery"][0]["jobs"].size() == 1);
  CHECK(s.sim.requests().size() == 2);  // /_sim calls are not logged
}

TEST_CASE("a world file is read onto a base world field by field, and its errors carry file:line:col") {
  World base = base_world();
  auto w = load_world_text("w.yaml", R"(
probe-delay: 1m
limits: off
traffic-manager:
  - profile: tm1
    endpoints:
      site-a: { healthy: false }
site-recovery:
  - vault: rsv1
    durations: { failover: 20m }
    fail: [commit]
agents:
  plant:
    actions:
      stop-ingest: { duration: 1m, exit-code: 1 }
probes:
  - { url: "https://x.example/health", status: 500 }
faults:
  - { operation: Backups_Trigger, status: 429, retry-after: 10, count: 2 }
)",
                           base);
  REQUIRE(w.has_value());
  CHECK(w->probe_delay == 1min);
  CHECK_FALSE(w->buckets.enabled);
  REQUIRE(w->profiles.size() == 1);
  CHECK_FALSE(w->profiles[0].endpoints[0].healthy);
  CHECK(w->profiles[0].endpoints[0].priority == 1);  // kept from the base
  CHECK(w->recovery_vaults[0].durations.at("failover") == 20min);
  CHECK(w->recovery_vaults[0].failing == std::vector<std::string>{"commit"});
  CHECK(w->agents[0].actions[0].exit_code == 1);
  CHECK(w->agents[0].actions[0].output == "stopped");
  CHECK(w->agents[0].actions.size() == 2);
  CHECK(w->faults.size() == 1);
  CHECK(w->faults[0].retry_after == 10);

  auto bad =
      load_world_text("bad.yaml", "traffic-manager:\n  - profile: tm1\n    endpoints:\n      a: { priority: high }\n");
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().all()[0].str().find("bad.yaml:4:") != std::string::npos);
  CHECK(bad.error().all()[0].message.find("expected an integer") != std::string::npos);
  auto unknown = load_world_text("u.yaml", "\nfautls: []\n");
  REQUIRE_FALSE(unknown.has_value());
  CHECK(unknown.error().all()[0].str().find("u.yaml:2:1") != std::string::npos);
  auto broken = load_world_text("y.yaml", "a: [\n");
  REQUIRE_FALSE(broken.has_value());
  CHECK(broken.error().all()[0].message.find("not valid YAML") != std::string::npos);
}

TEST_CASE("derive_world gives every example runbook's resources, healthy and reachable") {
  for (const auto& entry : std::filesystem::directory_iterator(test::source_path("runbooks/examples"))) {
    if (entry.path().extension() != ".yaml") continue;
    CAPTURE(entry.path().string());
    auto loaded = load_runbook(entry.path().string());
    REQUIRE(loaded.runbook);
    const Runbook& rb = *loaded.runbook;
    World w = derive_world(rb);
    std::size_t probes = 0, agents_calls = 0;
    for (const auto& svc : rb.services)
      for (const auto& [op, steps] : svc.operations)
        for (const auto& st : steps) {
          if (st.action == "http.probe") ++probes;
          if (st.action.rfind("agent.", 0) == 0) ++agents_calls;
        }
    CHECK(w.probes.size() <= probes);
    if (probes > 0) CHECK_FALSE(w.probes.empty());
    if (agents_calls > 0) CHECK_FALSE(w.agents.empty());

    Sim s(w);
    for (const auto& p : w.profiles) {
      const auto path = "/subscriptions/" + kSub + "/resourceGroups/" + p.resource_group +
                        "/providers/Microsoft.Network/trafficmanagerprofiles/" + p.name;
      auto prof = s.get(path + kTmV);
      for (const auto& e : p.endpoints) {
        auto ep = s.get(path + "/" + e.type + "/" + e.name + kTmV);
        CHECK(ep["properties"]["endpointMonitorStatus"] == "Online");
      }
    }
    for (const auto& v : w.recovery_vaults)
      for (const auto& plan : v.plans) {
        auto j = s.get("/subscriptions/" + kSub + "/resourceGroups/" + v.resource_group +
                       "/providers/Microsoft.RecoveryServices/vaults/" + v.name + "/replicationRecoveryPlans/" +
                       plan.name + kAsrV);
        CHECK(j["properties"]["allowedOperations"].size() == 3);
        CHECK_FALSE(plan.items.empty());
      }
    for (const auto& v : w.backup_vaults)
      for (const auto& it : v.items) {
        CHECK(it.recovery_points.size() == 3);
        auto points =
            s.get("/subscriptions/" + kSub + "/resourceGroups/" + v.resource_group +
                  "/providers/Microsoft.RecoveryServices/vaults/" + v.name +
                  "/backupFabrics/Azure/protectionContainers/" + "IaasVMContainer" + it.name.substr(it.name.find(';')) +
                  "/protectedItems/" + it.name + "/recoveryPoints" + kBkV);
        CHECK(points["value"].size() == 3);
      }
    for (const auto& a : w.agents)
      for (const auto& act : a.actions) {
        auto r = s.call("POST", "/agents/" + a.name + "/v1/actions/" + act.name + "/runs", "{}",
                        {{"Authorization", "Bearer any"}}, false);
        CHECK(r.status == 202);
      }
  }
}

TEST_CASE("derive_world: detroit's endpoints get priorities, items join the plan that shares their name") {
  auto loaded = load_runbook(test::source_path("runbooks/examples/detroit-plant.yaml"));
  REQUIRE(loaded.runbook);
  World w = derive_world(*loaded.runbook);
  REQUIRE(w.profiles.size() == 1);
  CHECK(w.profiles[0].name == "tm-line3");
  std::set<int> priorities;
  for (const auto& e : w.profiles[0].endpoints) priorities.insert(e.priority.value_or(0));
  CHECK(priorities.size() == w.profiles[0].endpoints.size());
  REQUIRE(w.recovery_vaults.size() == 1);
  for (const auto& p : w.recovery_vaults[0].plans)
    if (p.name == "rp-line3-scada") CHECK(std::find(p.items.begin(), p.items.end(), "scada-gw01") != p.items.end());
  bool body = false;
  for (const auto& p : w.probes) body = body || p.body.find("\"historian\":\"connected\"") != std::string::npos;
  CHECK(body);
}

TEST_CASE("start_simulation derives the world, lays a world file over it and routes requests to it") {
  test::TempDir dir;
  auto loaded = load_runbook(test::source_path("runbooks/examples/detroit-plant.yaml"));
  REQUIRE(loaded.runbook);
  const auto file = dir.write(
      "w.yaml", "probes:\n  - { url: \"https://historian.eastus2.line3.contoso.example/health\", status: 502 }\n");
  ScaledClock clock(1.0 / 600);
  {
    auto sim = start_simulation(*loaded.runbook, file, clock);
    REQUIRE(sim.has_value());
    CHECK(simulation_route() == (*sim)->base_url());
    HttpClient client;
    HttpRequest req;
    req.url = "https://historian.eastus2.line3.contoso.example/health";
    auto r = client.send(req);
    REQUIRE(r.has_value());
    CHECK(r->status == 502);
  }
  CHECK(simulation_route().empty());
  auto bad = start_simulation(*loaded.runbook, dir.write("bad.yaml", "seed: -1\n"), clock);
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().all()[0].str().find("bad.yaml:1:7") != std::string::npos);
}

TEST_CASE("the simulator refuses to listen anywhere but loopback") {
  FakeClock clock;
  Simulator sim(World{}, clock);
  CHECK_THROWS_AS(sim.start("0.0.0.0", 0), std::runtime_error);
}

TEST_CASE("responses have the status and the keys of the Azure spec examples") {
  const auto root = std::filesystem::path(shared_dir()) / "azure-specs";
  if (!std::filesystem::exists(root)) {
    MESSAGE("skipped: no azure-specs at " << root.string() << " (set EDGEDR_SHARED)");
    return;
  }
  const auto example = [&](const std::string& rel) {
    std::ifstream in(root / rel);
    REQUIRE_MESSAGE(in.good(), rel);
    return json::parse(in);
  };
  // A world holding the examples' own names, so their paths work as written.
  const auto p = [&](const json& ex, const char* k) { return ex["parameters"][k].get<std::string>(); };
  const auto ep_ex = example("trafficmanager/examples/Endpoint-GET-External-WithLocation.json");
  const auto prof_ex = example("trafficmanager/examples/Profile-GET-WithoutRecordType.json");
  const auto plan_ex = example("siterecovery/examples/2025-01-01/ReplicationRecoveryPlans_Get.json");
  const auto item_ex = example("siterecovery/examples/ReplicationProtectedItems_Get.json");
  const auto job_ex = example("siterecovery/examples/2025-01-01/ReplicationJobs_Get.json");
  const auto rp_ex = example("backup/examples/AzureIaasVm/RecoveryPoints_Get.json");
  const auto bjob_ex = example("backup/examples/2025-08-01/Common/GetJobDetails.json");
  const auto opst_ex = example("backup/examples/AzureIaasVm/ProtectedItemOperationStatus.json");
  const auto tfo_ex = example("siterecovery/examples/ReplicationRecoveryPlans_TestFailover.json");
  const auto trig_ex = example("backup/examples/Common/TriggerBackup_Post.json");

  World w;
  TmProfile prof;
  prof.name = p(ep_ex, "profileName");
  prof.resource_group = p(ep_ex, "resourceGroupName");
  TmEndpoint ep;
  ep.name = p(ep_ex, "endpointName");
  ep.priority = 1;
  ep.weight = 1;
  ep.location = "North Europe";
  prof.endpoints.push_back(ep);
  w.profiles.push_back(prof);
  TmProfile prof2;
  prof2.name = p(prof_ex, "profileName");
  prof2.resource_group = p(prof_ex, "resourceGroupName");
  w.profiles.push_back(prof2);
  AsrVault v;
  v.name = p(item_ex, "resourceName");
  v.resource_group = p(item_ex, "resourceGroupName");
  AsrItem it;
  it.name = p(item_ex, "replicatedProtectedItemName");
  it.fabric = p(item_ex, "fabricName");
  it.container = p(item_ex, "protectionContainerName");
  v.items.push_back(it);
  AsrPlan plan;
  plan.name = p(plan_ex, "recoveryPlanName");
  plan.items = {it.name};
  v.plans.push_back(plan);
  w.recovery_vaults.push_back(v);
  BackupVault bv;
  bv.name = p(rp_ex, "vaultName");
  bv.resource_group = p(rp_ex, "resourceGroupName");
  BackupItem bi;
  bi.name = p(rp_ex, "protectedItemName");
  bi.container = p(rp_ex, "containerName");
  bi.recovery_points = {{p(rp_ex, "recoveryPointId"), Clock::wall_time{} - 1h, "CrashConsistent"}};
  bv.items.push_back(bi);
  w.backup_vaults.push_back(bv);
  Sim s(w);

  const auto compare = [&](const json& ex, const std::string& code, const HttpResponse& got, const std::string& what) {
    CAPTURE(what);
    CHECK(std::to_string(got.status) == code);
    const auto& body = ex["responses"][code]["body"];
    if (body.is_null()) return;
    const auto mine = json::parse(got.body);
    CHECK(keys(mine) == keys(body));
    if (body.contains("properties")) CHECK(keys(mine["properties"]) == keys(body["properties"]));
  };
  const auto arm = [&](const json& ex, std::initializer_list<std::pair<const char*, const char*>> parts,
                       const char* prefix) {
    std::string path =
        "/subscriptions/" + p(ex, "subscriptionId") + "/resourceGroups/" + p(ex, "resourceGroupName") + prefix;
    for (const auto& [lit, param] : parts) path += std::string("/") + lit + (param ? "/" + p(ex, param) : "");
    return path;
  };
  compare(ep_ex, "200",
          s.call("GET", arm(ep_ex, {{"trafficmanagerprofiles", "profileName"}}, "/providers/Microsoft.Network") + "/" +
                            p(ep_ex, "endpointType") + "/" + p(ep_ex, "endpointName") + kTmV),
          "Endpoints_Get");
  compare(
      prof_ex, "200",
      s.call("GET", arm(prof_ex, {{"trafficmanagerprofiles", "profileName"}}, "/providers/Microsoft.Network") + kTmV),
      "Profiles_Get");
  const auto vault = "/subscriptions/" + p(item_ex, "subscriptionId") + "/resourceGroups/" + v.resource_group +
                     "/providers/Microsoft.RecoveryServices/vaults/" + v.name;
  compare(plan_ex, "200", s.call("GET", vault + "/replicationRecoveryPlans/" + plan.name + kAsrV), "RecoveryPlans_Get");
  compare(item_ex, "200",
          s.call("GET", vault + "/replicationFabrics/" + it.fabric + "/replicationProtectionContainers/" +
                            it.container + "/replicationProtectedItems/" + it.name + kAsrV),
          "ReplicationProtectedItems_Get");
  auto tfo = s.call("POST", vault + "/replicationRecoveryPlans/" + plan.name + "/testFailover" + kAsrV,
                    tfo_ex["parameters"]["input"].dump());
  CHECK(tfo.status == 202);
  CHECK(tfo_ex["responses"].contains("202"));
  s.clock.advance(7min);
  compare(tfo_ex, "200", s.call("GET", vault + "/replicationRecoveryPlans/" + plan.name + kAsrV),
          "RecoveryPlan after TestFailover");
  const auto job_name = tfo.header("Location")->substr(tfo.header("Location")->find("/operationresults/") + 18, 36);
  s.call("POST", vault + "/replicationRecoveryPlans/" + plan.name + "/testFailoverCleanup" + kAsrV,
         R"({"properties":{"comments":"x"}})");
  s.clock.advance(4min);
  compare(job_ex, "200", s.call("GET", vault + "/replicationJobs/" + job_name + kAsrV), "ReplicationJobs_Get");

  const auto bvault = "/subscriptions/" + p(rp_ex, "subscriptionId") + "/resourceGroups/" + bv.resource_group +
                      "/providers/Microsoft.RecoveryServices/vaults/" + bv.name;
  const auto item = bvault + "/backupFabrics/Azure/protectionContainers/" + bi.container + "/protectedItems/" + bi.name;
  compare(rp_ex, "200", s.call("GET", item + "/recoveryPoints/" + p(rp_ex, "recoveryPointId") + kBkV),
          "RecoveryPoints_Get");
  auto trig = s.call("POST", item + "/backup" + kBkV, trig_ex["parameters"]["parameters"].dump());
  CHECK(trig.status == 202);
  for (const auto& [name, value] : trig_ex["responses"]["202"]["headers"].items())
    CHECK_MESSAGE(trig.header(name), name);
  const auto async = *trig.header("Azure-AsyncOperation");
  s.clock.advance(1min);
  auto st = s.call("GET", async.substr(async.find("/subscriptions/")));
  compare(opst_ex, "200", st, "ProtectedItemOperationStatuses_Get");
  const auto job = json::parse(st.body)["properties"]["jobId"].get<std::string>();
  auto bjob = s.call("GET", bvault + "/backupJobs/" + job + kBkV);
  // The example is a running job (no endTime): compare before it ends.
  compare(bjob_ex, "200", bjob, "JobDetails_Get");
}

TEST_CASE("on a ScaledClock a job's simulated minutes pass in real milliseconds") {
  ScaledClock clock(1.0 / 3600);  // a simulated hour per real second: a 6 min failover takes 0.1 s
  Simulator sim(base_world(), clock);
  const auto base = sim.start();
  HttpClient client;
  const auto send = [&](const std::string& method, const std::string& path, const std::string& body,
                        const std::string& token) {
    HttpRequest req;
    req.method = method;
    req.url = base + path;
    req.body = body;
    if (!token.empty()) req.headers = {{"Authorization", "Bearer " + token}};
    auto r = client.send(req);
    REQUIRE(r.has_value());
    return *r;
  };
  const auto token = json::parse(send("POST", "/t/oauth2/v2.0/token",
                                      "grant_type=client_credentials&client_id=a&client_secret=b&scope=s", "")
                                     .body)["access_token"]
                         .get<std::string>();
  auto r =
      send("POST", kVault + "/replicationRecoveryPlans/rp1/unplannedFailover" + kAsrV,
           R"({"properties":{"failoverDirection":"PrimaryToRecovery","sourceSiteOperations":"NotRequired"}})", token);
  REQUIRE(r.status == 202);
  const auto location = *r.header("Location");
  const auto job = location.substr(location.find("/operationresults/") + 18, 36);
  std::string state;
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (std::chrono::steady_clock::now() < deadline) {
    state = json::parse(send("GET", kVault + "/replicationJobs/" + job + kAsrV, "", token).body)["properties"]["state"];
    if (state != "InProgress") break;
    std::this_thread::sleep_for(20ms);
  }
  CHECK(state == "Succeeded");
}
