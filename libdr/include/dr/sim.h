// The simulator: a faithful local stand-in for everything a runbook talks to, served over real
// HTTP on loopback so that edgedr's real client code runs unchanged (docs/simulator.md).
//
// A *world* describes the resources (Traffic Manager profiles, Site Recovery vaults, Backup
// vaults, on-site agents, probe URLs), how long operations take, fault rules and ARM's token
// buckets. `derive_world` makes one from a runbook (everything it names exists and is healthy);
// `load_world` reads a YAML world file and lays it over such a base. A `Simulator` serves a world:
// ARM (Traffic Manager, Site Recovery, Backup), a token endpoint, IMDS, agents and probes.
//
// Time: every duration in a world is simulated time, read from the one Clock the simulator shares
// with the engine; job progress is computed from that clock, never by sleeping threads.
// Under --simulate, `start_simulation` also routes every HttpClient request to the simulator
// (dr::set_simulation_route), so no packet leaves loopback.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <vector>

#include "dr/clock.h"
#include "dr/diagnostic.h"
#include "dr/duration.h"
#include "dr/runbook.h"

namespace dr::sim {

using namespace std::chrono_literals;

// ---- The world ------------------------------------------------------------------------------

struct TmEndpoint {
  std::string name;
  std::string type = "ExternalEndpoints";  // AzureEndpoints | ExternalEndpoints | NestedEndpoints
  std::string target;                      // FQDN; a target resource id for Azure endpoints
  std::string status = "Enabled";          // endpointStatus
  std::optional<int> priority, weight;
  std::string location;
  bool healthy = true;  // what probes would find: Online when enabled, else Degraded
  // Runtime: the clock reading of the last change; the monitor reads CheckingEndpoint until
  // probe-delay after it. Unset: never changed (settled).
  std::optional<Clock::time_point> changed_at;
};

struct TmProfile {
  std::string subscription, resource_group, name;
  std::string routing = "Priority";  // trafficRoutingMethod
  std::string status = "Enabled";    // profileStatus
  int ttl = 60;
  std::vector<TmEndpoint> endpoints;
};

// One replicated VM (A2A by default). Its state follows the ASR state machine (docs/simulator.md).
struct AsrItem {
  std::string name;  // replicatedProtectedItemName
  std::string fabric = "primary-fabric";
  std::string container = "primary-container";
  std::string friendly_name;
  std::string provider = "A2A";
  std::string replication_health = "Normal";  // Normal | Warning | Critical
  Duration lag{std::chrono::minutes(2)};      // the last recovery point's age (RPO)
  // Runtime state.
  std::string phase = "protected";  // protected | failed-over | committed | test-failed-over
  bool reversed = false;            // replicating recovery -> primary (after a reprotect)
  std::string busy_job;             // the job now running on it; empty: none
};

struct AsrPlan {
  std::string name;
  std::vector<std::string> items;  // names of AsrItems of the vault
  std::string phase = "protected";
  bool reversed = false;
  std::string busy_job;
  std::string last_job;  // for currentScenario
};

struct AsrJob {
  std::string name;      // a GUID
  std::string scenario;  // UnplannedFailover, TestFailover, ...
  std::string target;    // the plan or item name
  bool on_plan = true;
  Clock::time_point started{};
  Clock::wall_time started_wall{};
  Duration duration{};
  bool fail = false;     // ends Failed (a world `fail:` rule)
  bool applied = false;  // its effect on plan/items done
  bool cancelled = false;
};

struct AsrVault {
  std::string subscription, resource_group, name;
  std::vector<AsrPlan> plans;
  std::vector<AsrItem> items;
  // Simulated durations by scenario (lower-case: failover, test-failover, test-failover-cleanup,
  // commit, cancel, reprotect). Missing ones use the defaults of docs/simulator.md.
  std::map<std::string, Duration> durations;
  std::vector<std::string> failing;  // scenarios whose jobs end Failed
  std::vector<AsrJob> jobs;          // runtime
};

struct RecoveryPoint {
  std::string id;  // numeric string
  Clock::wall_time time{};
  std::string type = "AppConsistent";
};

struct BackupItem {
  std::string name;       // VM;iaasvmcontainerv2;rg;vm
  std::string container;  // IaasVMContainer;iaasvmcontainerv2;rg;vm (derived when empty)
  std::string fabric = "Azure";
  std::vector<RecoveryPoint> recovery_points;
};

struct BackupJob {
  std::string id;         // GUID
  std::string operation;  // Backup | Restore
  std::string item;
  Clock::time_point started{};
  Clock::wall_time started_wall{};
  Duration duration{};
  bool fail = false;
  bool applied = false;
};

struct BackupOperation {
  std::string id;
  std::string job;  // the job it creates
  std::string item;
  Clock::time_point started{};
  Clock::wall_time started_wall{};
};

struct BackupVault {
  std::string subscription, resource_group, name;
  std::vector<BackupItem> items;
  Duration backup_duration{std::chrono::minutes(30)};
  Duration restore_duration{std::chrono::minutes(45)};
  Duration operation_delay{std::chrono::seconds(20)};  // until operationsStatus names the job
  bool fail_backup = false, fail_restore = false;
  std::vector<BackupJob> jobs;              // runtime
  std::vector<BackupOperation> operations;  // runtime
};

struct AgentAction {
  std::string name;
  Duration duration{std::chrono::seconds(5)};
  int exit_code = 0;
  std::string output = "ok";
  bool hang = false;  // never finishes (until cancelled)
};

struct AgentCheck {
  std::string name;
  bool ok = true;
  std::string output = "ok";
};

struct AgentRun {
  std::string id, action, idempotency_key;
  Clock::time_point started{};
  Clock::wall_time started_wall{};
  bool cancelled = false;
  std::string args_json;
};

struct Agent {
  std::string name;
  std::string url;    // https://edge-gw.example:8443; requests to it arrive through the route
  std::string token;  // accepted bearer token; empty: any non-empty token
  bool healthy = true;
  std::vector<AgentAction> actions;
  std::vector<AgentCheck> checks;
  std::vector<AgentRun> runs;  // runtime
};

struct Probe {
  std::string url;  // exact URL, or a prefix ending in '*'
  int status = 200;
  std::string body = "ok";
};

struct FaultRule {
  std::string name;        // for the request log
  std::string method;      // empty: any
  std::string path_regex;  // ECMAScript, searched in the path; empty: any
  std::string operation;   // e.g. ReplicationRecoveryPlans_UnplannedFailover, Endpoints_Update, agent.run, probe
  int count = -1;          // how many matching requests it hits; -1: all
  int after = 0;           // let this many matching requests through first
  double probability = 1;  // of hitting each eligible request (seeded)
  enum class Effect { status, delay, reset, truncate, invalid_json } effect = Effect::status;
  int status = 503;
  std::string error_code = "ServiceUnavailable";
  std::string error_message = "The service is temporarily unavailable (simulated fault).";
  std::optional<int> retry_after;  // seconds (simulated)
  Duration delay{};                // with any effect: wait this long first
  int seen = 0, hits = 0;          // runtime
};

struct Buckets {
  bool enabled = true;
  double read_capacity = 250, read_refill = 25;
  double write_capacity = 200, write_refill = 10;
  double delete_capacity = 200, delete_refill = 10;
};

struct World {
  std::string tenant = "00000000-0000-0000-0000-000000000001";
  std::vector<std::string> tokens;  // extra bearer tokens ARM accepts besides the ones it issued
  Duration token_lifetime{std::chrono::hours(1)};
  Duration probe_delay{std::chrono::seconds(30)};  // CheckingEndpoint after a TM change
  std::uint64_t seed = 1;
  std::vector<TmProfile> profiles;
  std::vector<AsrVault> recovery_vaults;
  std::vector<BackupVault> backup_vaults;
  std::vector<Agent> agents;
  std::vector<Probe> probes;
  std::vector<FaultRule> faults;
  Buckets buckets;
};

// Every target and resource `runbook` names exists and is healthy: TM endpoints named in steps
// (priorities 1, 2, ... in order of appearance), recovery plans and items of site-recovery steps,
// backup items with three recovery points, agents with every action and check called, every
// http.probe URL answering 200 (with the step's expect-body text, so body checks pass).
// References (${env...}) in target fields are used as written, unresolved, except the
// subscription, which the ARM paths do not check.
// For a failback (`operation`), the world is the one a failover, commit and reprotect leave:
// every recovery plan and protected item active at the recovery site and replicating back.
World derive_world(const Runbook& runbook, std::optional<Operation> operation = std::nullopt);

// A world file (YAML, docs/simulator.md) laid over `base` (the derived world under --simulate):
// a resource with the same name (profile, endpoint, vault, plan, item, agent, action, check,
// probe URL) gets only the fields the file sets; new ones are added; faults are appended.
// Errors: "file:line:col: what was expected".
tl::expected<World, Diagnostics> load_world(const std::string& path, World base = {});
tl::expected<World, Diagnostics> load_world_text(const std::string& name, std::string_view text, World base = {});

// ---- The server -----------------------------------------------------------------------------

struct LoggedRequest {
  std::string method, path, query;                           // path percent-decoded
  std::string operation;                                     // e.g. Endpoints_Update, token, probe, agent.run
  std::string original_url;                                  // X-Edgedr-Sim-Original-Url, when routed
  std::vector<std::pair<std::string, std::string>> headers;  // selected, credentials redacted
  std::string body_sha256;                                   // of the request body; empty when there was none
  int status = 0;                                            // 0: the connection was closed without an answer
  std::string fault;                                         // the fault rule that answered, if any
  Clock::wall_time time{};
};

class Simulator {
 public:
  // `clock` must outlive the simulator.
  Simulator(World world, Clock& clock);
  ~Simulator();
  Simulator(const Simulator&) = delete;
  Simulator& operator=(const Simulator&) = delete;

  // Binds and serves on a background thread; returns the base URL ("http://127.0.0.1:PORT").
  // Throws std::runtime_error when `host` is not a loopback address or the port cannot be bound.
  std::string start(const std::string& host = "127.0.0.1", int port = 0);
  void stop();  // idempotent; also done by the destructor
  std::string base_url() const;

  std::vector<LoggedRequest> requests() const;
  // The world's current state as JSON (what GET /_sim/world answers).
  std::string world_json() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// --simulate in one call: derive the world from `runbook`, lay `world_file` over it (if any),
// start a Simulator on 127.0.0.1 and route every HttpClient request to it. The returned
// simulator must outlive the run; destroying it stops the server and clears the route. The Azure
// pipeline keeps its cloud's real endpoints (management.azure.com, login.microsoftonline.com:
// routed, answered by path); give it a client-secret credential with any tenant, id and secret.
// Use `clock` for the engine too, so Retry-After and job durations shrink together.
// Errors: the world file's diagnostics (exit 78).
tl::expected<std::unique_ptr<Simulator>, Diagnostics> start_simulation(
    const Runbook& runbook, const std::optional<std::string>& world_file, Clock& clock,
    std::optional<Operation> operation = std::nullopt);

}  // namespace dr::sim
