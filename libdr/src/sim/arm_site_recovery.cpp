// Site Recovery (CONTRACTS.md §2): recovery plans, protected items, their actions as ASR jobs
// whose progress is read off the clock, and the state machine the jobs drive:
//   protected --failover--> failed-over --commit--> committed --reprotect--> protected (reversed)
//   failed-over --cancel--> protected;  protected --testFailover--> test-failed-over --cleanup--> protected
// A test failover's job waits at Suspended / WaitingForStopTestFailover until the cleanup.
#include "sim/sim_internal.h"

namespace dr::sim::detail {
namespace {

const std::vector<std::string> kVersions = {"2026-05-01", "2025-08-01", "2025-01-01", "2024-10-01"};

struct ActionInfo {
  const char* path;      // URL segment, case-exact in the spec (compared case-insensitively here)
  const char* scenario;  // job scenarioName
  const char* key;       // world durations key
  const char* allowed;   // allowedOperations entry that permits it
  const char* op;        // operationId suffix
};
const ActionInfo kActions[] = {
    {"plannedFailover", "PlannedFailover", "failover", "PlannedFailover", "PlannedFailover"},
    {"unplannedFailover", "UnplannedFailover", "failover", "UnplannedFailover", "UnplannedFailover"},
    {"testFailover", "TestFailover", "test-failover", "TestFailover", "TestFailover"},
    {"testFailoverCleanup", "TestFailoverCleanup", "test-failover-cleanup", "TestFailoverCleanup",
     "TestFailoverCleanup"},
    {"failoverCommit", "Commit", "commit", "Commit", "FailoverCommit"},
    {"failoverCancel", "CancelFailover", "cancel", "CancelFailover", "FailoverCancel"},
    {"reProtect", "ReprotectVirtualMachine", "reprotect", "ReverseReplicate", "Reprotect"},
};

const std::map<std::string, Duration> kDefaultDurations = {{"failover", std::chrono::minutes(6)},
                                                           {"test-failover", std::chrono::minutes(6)},
                                                           {"test-failover-cleanup", std::chrono::minutes(3)},
                                                           {"commit", std::chrono::minutes(1)},
                                                           {"cancel", std::chrono::minutes(3)},
                                                           {"reprotect", std::chrono::minutes(15)}};

std::string vault_id(const AsrVault& v, const std::string& sub) {
  return "/Subscriptions/" + sub + "/resourceGroups/" + v.resource_group +
         "/providers/Microsoft.RecoveryServices/vaults/" + v.name;
}

std::vector<std::string> allowed_ops(const std::string& phase, bool busy) {
  if (busy) return {};
  if (phase == "protected") return {"PlannedFailover", "UnplannedFailover", "TestFailover"};
  if (phase == "failed-over") return {"Commit", "CancelFailover"};
  if (phase == "committed") return {"ReverseReplicate"};
  if (phase == "test-failed-over") return {"TestFailoverCleanup"};
  return {};
}

const AsrJob* find_job(const AsrVault& v, const std::string& name) {
  for (const auto& j : v.jobs)
    if (iequals(j.name, name)) return &j;
  return nullptr;
}

// Where a job is: "InProgress", "Suspended" (a finished test failover), "Succeeded", "Failed", "Cancelled".
std::string job_state(const State& s, const AsrVault& v, const AsrJob& j) {
  if (j.cancelled) return "Cancelled";
  if (s.now() < j.started + j.duration) return "InProgress";
  if (j.fail) return "Failed";
  if (j.scenario == "TestFailover") {
    // Done only once a later cleanup of the same target has finished.
    for (const auto& c : v.jobs)
      if (c.scenario == "TestFailoverCleanup" && c.target == j.target && c.started >= j.started &&
          s.now() >= c.started + c.duration && !c.fail)
        return "Succeeded";
    return "Suspended";
  }
  return "Succeeded";
}

void set_phase(AsrVault& v, const AsrJob& j, const std::string& phase, bool flip) {
  const auto apply = [&](auto& x) {
    x.phase = phase;
    if (flip) x.reversed = !x.reversed;
    if (x.busy_job == j.name) x.busy_job.clear();
  };
  if (j.on_plan) {
    for (auto& p : v.plans)
      if (p.name == j.target) {
        apply(p);
        for (auto& it : v.items)
          if (std::find(p.items.begin(), p.items.end(), it.name) != p.items.end()) apply(it);
      }
  } else {
    for (auto& it : v.items)
      if (it.name == j.target) apply(it);
  }
}

void clear_busy(AsrVault& v, const AsrJob& j) {
  for (auto& p : v.plans)
    if (p.busy_job == j.name) p.busy_job.clear();
  for (auto& it : v.items)
    if (it.busy_job == j.name) it.busy_job.clear();
}

// Applies the effect of every job that has finished since the last look.
void refresh(State& s, AsrVault& v) {
  for (auto& j : v.jobs) {
    if (j.applied || j.cancelled || s.now() < j.started + j.duration) continue;
    j.applied = true;
    if (j.fail) {
      clear_busy(v, j);
      continue;
    }
    if (j.scenario == "PlannedFailover" || j.scenario == "UnplannedFailover")
      set_phase(v, j, "failed-over", false);
    else if (j.scenario == "TestFailover")
      set_phase(v, j, "test-failed-over", false);
    else if (j.scenario == "TestFailoverCleanup")
      set_phase(v, j, "protected", false);
    else if (j.scenario == "Commit")
      set_phase(v, j, "committed", false);
    else if (j.scenario == "CancelFailover")
      set_phase(v, j, "protected", false);
    else if (j.scenario == "ReprotectVirtualMachine")
      set_phase(v, j, "protected", true);
  }
}

json job_json(const State& s, const AsrVault& v, const AsrJob& j, const std::string& sub) {
  const auto state = job_state(s, v, j);
  const double fraction = j.duration.count() > 0 ? std::min(1.0, std::chrono::duration<double>(s.now() - j.started) /
                                                                     std::chrono::duration<double>(j.duration))
                                                 : 1.0;
  const char* task_names[] = {"Prerequisites check", "Run the operation on the virtual machines",
                              "Start the virtual machines"};
  json tasks = json::array();
  for (int i = 0; i < 3; ++i) {
    const double begin = i / 3.0, end = (i + 1) / 3.0;
    std::string ts = fraction >= end ? "Succeeded" : fraction >= begin ? "InProgress" : "NotStarted";
    if (state == "Failed" && i == 2) ts = "Failed";
    if (state == "Cancelled" && ts != "Succeeded") ts = "Cancelled";
    json t = {{"taskId", j.name + "-task" + std::to_string(i + 1)},
              {"name", std::string(task_names[i])},
              {"taskType", "TaskBase"},
              {"state", ts},
              {"stateDescription", ts == "Succeeded" ? "Completed" : ts},
              {"allowedActions", json::array()},
              {"errors", json::array()}};
    if (ts != "NotStarted")
      t["startTime"] = iso_time(j.started_wall + std::chrono::duration_cast<Duration>(j.duration * begin));
    if (ts == "Succeeded")
      t["endTime"] = iso_time(j.started_wall + std::chrono::duration_cast<Duration>(j.duration * end));
    tasks.push_back(t);
  }
  const std::string desc = state == "Suspended"   ? "WaitingForStopTestFailover"
                           : state == "Succeeded" ? "Completed"
                           : state == "Failed"    ? "Failed"
                           : state == "Cancelled" ? "Cancelled"
                                                  : "InProgress";
  json errors = json::array();
  if (state == "Failed")
    errors.push_back({{"serviceErrorDetails",
                       {{"code", "70094"},
                        {"message", "The operation failed on the recovery site (simulated)."},
                        {"possibleCauses", "A fault rule of the simulator's world."},
                        {"recommendedAction", "Retry the operation."}}},
                      {"providerErrorDetails", {{"errorCode", 70094}, {"errorMessage", "Simulated failure."}}},
                      {"errorLevel", "Error"},
                      {"taskId", j.name + "-task3"}});
  json props = {{"activityId", j.name + " ActivityId: " + j.name},
                {"scenarioName", j.scenario},
                {"friendlyName", j.scenario + " of '" + j.target + "'"},
                {"state", state},
                {"stateDescription", desc},
                {"tasks", tasks},
                {"errors", errors},
                {"startTime", iso_time(j.started_wall)},
                {"allowedActions", state == "Failed"       ? json::array({"Restart"})
                                   : state == "InProgress" ? json::array({"Cancel"})
                                                           : json::array()},
                {"targetObjectId", j.name + "-target"},
                {"targetObjectName", j.target},
                {"targetInstanceType", j.on_plan ? "RecoveryPlan" : "ProtectionEntity"},
                {"customDetails", {{"instanceType", "AsrJobDetails"}, {"affectedObjectDetails", json::object()}}}};
  if (state != "InProgress" && state != "Suspended") props["endTime"] = iso_time(j.started_wall + j.duration);
  return {{"id", vault_id(v, sub) + "/replicationJobs/" + j.name}, {"name", j.name}, {"properties", props}};
}

std::string active_location(const std::string& phase, bool reversed) {
  const bool moved = phase == "failed-over" || phase == "committed";
  return (moved != reversed) ? "Recovery" : "Primary";
}

json item_json(const State& s, const AsrVault& v, const AsrItem& it, const std::string& sub) {
  const std::string fabric_id = vault_id(v, sub) + "/replicationFabrics/" + it.fabric;
  const std::string state = it.phase == "failed-over" ? "FailedOver"
                            : it.phase == "committed" ? "FailoverCommitted"
                            : it.busy_job.empty()     ? "Protected"
                                                      : "InProgress";
  json scenario = {{"scenarioName", "None"}, {"jobId", ""}, {"startTime", iso_time(s.wall())}};
  if (!it.busy_job.empty())
    if (const AsrJob* j = find_job(v, it.busy_job))
      scenario = {{"scenarioName", j->scenario},
                  {"jobId", vault_id(v, sub) + "/replicationJobs/" + j->name},
                  {"startTime", iso_time(j->started_wall)}};
  const auto rpo = std::chrono::duration_cast<std::chrono::seconds>(it.lag).count();
  return {
      {"id", fabric_id + "/replicationProtectionContainers/" + it.container + "/replicationProtectedItems/" + it.name},
      {"name", it.name},
      {"type",
       "Microsoft.RecoveryServices/vaults/replicationFabrics/replicationProtectionContainers/"
       "replicationProtectedItems"},
      {"properties",
       {{"friendlyName", it.friendly_name.empty() ? it.name : it.friendly_name},
        {"protectedItemType", "ProtectedItem"},
        {"protectableItemId",
         fabric_id + "/replicationProtectionContainers/" + it.container + "/replicationProtectableItems/" + it.name},
        {"recoveryServicesProviderId", fabric_id + "/replicationRecoveryServicesProviders/sim-provider"},
        {"primaryFabricFriendlyName", it.fabric},
        {"recoveryFabricFriendlyName", "recovery-fabric"},
        {"recoveryFabricId", vault_id(v, sub) + "/replicationFabrics/recovery-fabric"},
        {"primaryProtectionContainerFriendlyName", it.container},
        {"recoveryProtectionContainerFriendlyName", "recovery-container"},
        {"protectionState", state},
        {"protectionStateDescription", state},
        {"activeLocation", active_location(it.phase, it.reversed)},
        {"testFailoverState", it.phase == "test-failed-over" ? "WaitingForCompletion" : "None"},
        {"testFailoverStateDescription", it.phase == "test-failed-over" ? "Waiting for test failover cleanup" : "None"},
        {"allowedOperations", allowed_ops(it.phase, !it.busy_job.empty())},
        {"replicationHealth", it.replication_health},
        {"policyId", vault_id(v, sub) + "/replicationPolicies/sim-24-hour-retention-policy"},
        {"policyFriendlyName", "sim-24-hour-retention-policy"},
        {"recoveryContainerId",
         vault_id(v, sub) + "/replicationFabrics/recovery-fabric/replicationProtectionContainers/recovery-container"},
        {"currentScenario", scenario},
        {"providerSpecificDetails",
         {{"instanceType", it.provider},
          {"rpoInSeconds", rpo},
          {"lastRpoCalculatedTime", iso_time(s.wall())},
          {"failoverDirection", it.reversed ? "RecoveryToPrimary" : "PrimaryToRecovery"}}}}}};
}

json plan_json(const State& s, const AsrVault& v, const AsrPlan& p, const std::string& sub) {
  json group_items = json::array();
  std::string provider = "A2A";
  for (const auto& name : p.items)
    for (const auto& it : v.items)
      if (it.name == name) {
        group_items.push_back({{"id", item_json(s, v, it, sub)["id"]}, {"virtualMachineId", it.name}});
        provider = it.provider;
      }
  const auto empty_group = [](const char* type) {
    return json{{"groupType", type},
                {"replicationProtectedItems", json::array()},
                {"startGroupActions", json::array()},
                {"endGroupActions", json::array()}};
  };
  json groups = json::array({empty_group("Shutdown"), empty_group("Failover")});
  json boot = empty_group("Boot");
  boot["replicationProtectedItems"] = group_items;
  groups.push_back(boot);
  json props = {{"friendlyName", p.name},
                {"primaryFabricId", vault_id(v, sub) + "/replicationFabrics/primary-fabric"},
                {"primaryFabricFriendlyName", "primary-fabric"},
                {"recoveryFabricId", vault_id(v, sub) + "/replicationFabrics/recovery-fabric"},
                {"recoveryFabricFriendlyName", "recovery-fabric"},
                {"failoverDeploymentModel", "ResourceManager"},
                {"replicationProviders", json::array({provider})},
                {"allowedOperations", allowed_ops(p.phase, !p.busy_job.empty())},
                {"groups", groups}};
  if (const AsrJob* j = p.last_job.empty() ? nullptr : find_job(v, p.last_job)) {
    props["currentScenario"] = {{"scenarioName", j->scenario},
                                {"jobId", vault_id(v, sub) + "/replicationJobs/" + j->name},
                                {"startTime", iso_time(j->started_wall)}};
    const auto st = job_state(s, v, *j);
    props["currentScenarioStatus"] = st;
    props["currentScenarioStatusDescription"] = st == "Suspended" ? "WaitingForStopTestFailover" : st;
  }
  return {{"id", vault_id(v, sub) + "/replicationRecoveryPlans/" + p.name},
          {"name", p.name},
          {"type", "Microsoft.RecoveryServices/vaults/replicationRecoveryPlans"},
          {"properties", props}};
}

std::string required_direction(bool reversed) {
  return reversed ? "RecoveryToPrimary" : "PrimaryToRecovery";
}

// Checks an action's body (CONTRACTS.md §2); an error reply when a required field is missing.
std::optional<Reply> validate_body(const ActionInfo& a, const std::string& body, bool on_plan, bool reversed,
                                   const std::string& phase) {
  const std::string name = a.path;
  const bool no_body = name == "failoverCommit" || name == "failoverCancel" || (on_plan && name == "reProtect");
  if (no_body) return std::nullopt;
  const auto j = parse_json(body.empty() ? "null" : body);
  if (!j || !j->is_object() || !j->contains("properties") || !(*j)["properties"].is_object())
    return arm_error(400, "InvalidInput",
                     "The request body must be a JSON object with 'properties' (required for " + name + ").");
  const auto& p = (*j)["properties"];
  const auto need = [&](const char* key) -> std::optional<Reply> {
    if (!p.contains(key) || !p[key].is_string() || p[key].get<std::string>().empty())
      return arm_error(400, "InvalidInput", std::string("properties.") + key + " is required for " + name + ".");
    return std::nullopt;
  };
  if (name == "plannedFailover" || name == "unplannedFailover" || name == "testFailover") {
    if (auto e = need("failoverDirection")) return e;
    const auto dir = p["failoverDirection"].get<std::string>();
    if (dir != "PrimaryToRecovery" && dir != "RecoveryToPrimary")
      return arm_error(400, "InvalidInput", "failoverDirection must be PrimaryToRecovery or RecoveryToPrimary.");
    if (phase == "protected" && dir != required_direction(reversed))
      return arm_error(
          400, "FailoverDirectionInvalid",
          "Failover direction " + dir + " is not possible: the items replicate " + required_direction(reversed) + ".");
  }
  if (name == "unplannedFailover") {
    if (auto e = need("sourceSiteOperations")) return e;
    const auto sso = p["sourceSiteOperations"].get<std::string>();
    if (sso != "Required" && sso != "NotRequired")
      return arm_error(400, "InvalidInput", "sourceSiteOperations must be Required or NotRequired.");
  }
  if (name == "testFailover")
    if (auto e = need("networkType")) return e;
  if (name == "testFailoverCleanup" && p.contains("comments") && p["comments"].is_string() &&
      p["comments"].get<std::string>().size() > 1024)
    return arm_error(400, "InvalidInput", "properties.comments must be at most 1024 characters.");
  if (p.contains("providerSpecificDetails")) {
    const auto& psd = p["providerSpecificDetails"];
    if (on_plan && !psd.is_array())
      return arm_error(400, "InvalidInput", "providerSpecificDetails must be an array on a recovery plan action.");
    if (!on_plan && !psd.is_object())
      return arm_error(400, "InvalidInput", "providerSpecificDetails must be an object on a protected item action.");
  }
  if (name == "reProtect" && !on_plan) {
    if (auto e = need("failoverDirection")) return e;
    // Reprotect starts replication away from where the VMs now run.
    const auto expected = reversed ? "PrimaryToRecovery" : "RecoveryToPrimary";
    if (p["failoverDirection"] != expected)
      return arm_error(400, "FailoverDirectionInvalid",
                       std::string("Reprotect direction must be ") + expected + " for this item.");
  }
  return std::nullopt;
}

Reply start_job(State& s, AsrVault& v, const ActionInfo& a, bool on_plan, const std::string& target, const Request& r,
                const std::string& sub) {
  AsrJob j;
  j.name = s.guid();
  j.scenario = a.scenario;
  j.target = target;
  j.on_plan = on_plan;
  j.started = s.now();
  j.started_wall = s.wall();
  auto d = v.durations.find(a.key);
  j.duration = d != v.durations.end() ? d->second : kDefaultDurations.at(a.key);
  j.fail = std::find(v.failing.begin(), v.failing.end(), a.key) != v.failing.end();
  if (on_plan) {
    for (auto& p : v.plans)
      if (p.name == target) {
        p.busy_job = j.name;
        p.last_job = j.name;
        for (auto& it : v.items)
          if (std::find(p.items.begin(), p.items.end(), it.name) != p.items.end()) it.busy_job = j.name;
      }
  } else {
    for (auto& it : v.items)
      if (it.name == target) it.busy_job = j.name;
  }
  v.jobs.push_back(j);
  const auto version = r.param("api-version");
  const auto base = r.origin + vault_id(v, sub);
  Reply rep;
  rep.status = 202;
  rep.headers = {
      {"Location", base + "/replicationJobs/" + j.name + "/operationresults/" + j.name + "?api-version=" + version},
      {"Azure-AsyncOperation", base + "/replicationOperationStatus/" + j.name + "?api-version=" + version},
      {"Retry-After", "30"}};
  return rep;
}

}  // namespace

std::optional<Routed> route_site_recovery(State& s, const Request& r, const std::vector<std::string>& seg) {
  // subscriptions/S/resourceGroups/RG/providers/Microsoft.RecoveryServices/vaults/V/replication...
  if (seg.size() < 9 || !iequals(seg[2], "resourceGroups") || !iequals(seg[4], "providers") ||
      !iequals(seg[5], "Microsoft.RecoveryServices") || !iequals(seg[6], "vaults") ||
      lower(seg[8]).rfind("replication", 0) != 0)
    return std::nullopt;
  const auto sub = seg[1], rg = seg[3], vname = seg[7];
  const std::string bucket = r.method == "GET" ? "read" : r.method == "DELETE" ? "delete" : "write";
  const auto vault = [&s, rg, vname]() -> AsrVault* {
    for (auto& v : s.world.recovery_vaults)
      if (iequals(v.name, vname) && iequals(v.resource_group, rg)) {
        refresh(s, v);
        return &v;
      }
    return nullptr;
  };
  const auto no_vault = [vname] {
    return arm_error(404, "ResourceNotFound",
                     "The Recovery Services vault '" + vname + "' could not be found in the resource group.");
  };
  const auto mk = [&](std::string op, std::function<Reply()> f) {
    return Routed{std::move(op), bucket, sub, true, kVersions, std::move(f)};
  };
  const auto tail = std::vector<std::string>(seg.begin() + 8, seg.end());
  const auto& kind = tail[0];

  // An action on a plan or an item: find the subject, check allowedOperations and the body, start a job.
  const auto action = [&s, &r, sub, vault, no_vault](bool on_plan, std::string name, std::string fabric,
                                                     std::string container, const ActionInfo* a) {
    return [&s, &r, sub, vault, no_vault, on_plan, name, fabric, container, a] {
      AsrVault* v = vault();
      if (!v) return no_vault();
      std::string* busy = nullptr;
      std::string phase;
      bool reversed = false;
      std::string target;
      if (on_plan) {
        for (auto& p : v->plans)
          if (iequals(p.name, name)) {
            busy = &p.busy_job;
            phase = p.phase;
            reversed = p.reversed;
            target = p.name;
          }
        if (!busy)
          return arm_error(404, "NotFound",
                           "The recovery plan '" + name + "' was not found in vault '" + v->name + "'.");
      } else {
        for (auto& it : v->items)
          if (iequals(it.name, name) && iequals(it.fabric, fabric) && iequals(it.container, container)) {
            busy = &it.busy_job;
            phase = it.phase;
            reversed = it.reversed;
            target = it.name;
          }
        if (!busy) return arm_error(404, "NotFound", "The protected item '" + name + "' was not found.");
      }
      const auto allowed = allowed_ops(phase, !busy->empty());
      if (std::find(allowed.begin(), allowed.end(), a->allowed) == allowed.end()) {
        std::string list;
        for (const auto& x : allowed) list += (list.empty() ? "" : ", ") + x;
        return arm_error(409, "OperationNotAllowed",
                         std::string("The operation ") + a->path + " is not allowed on '" + target +
                             "' now (allowed operations: " + (list.empty() ? "none, a job is running" : list) + ").");
      }
      if (auto bad = validate_body(*a, r.body, on_plan, reversed, phase)) return *bad;
      return start_job(s, *v, *a, on_plan, target, r, sub);
    };
  };
  const auto find_action = [](const std::string& seg_name) -> const ActionInfo* {
    for (const auto& a : kActions)
      if (iequals(seg_name, a.path)) return &a;
    return nullptr;
  };

  if (iequals(kind, "replicationRecoveryPlans")) {
    if (tail.size() == 1 && r.method == "GET")
      return mk("ReplicationRecoveryPlans_List", [&s, sub, vault, no_vault] {
        AsrVault* v = vault();
        if (!v) return no_vault();
        json a = json::array();
        for (const auto& p : v->plans) a.push_back(plan_json(s, *v, p, sub));
        return Reply::json_body(200, json{{"value", a}});
      });
    if (tail.size() == 2 && r.method == "GET") {
      const auto name = tail[1];
      return mk("ReplicationRecoveryPlans_Get", [&s, sub, vault, no_vault, name] {
        AsrVault* v = vault();
        if (!v) return no_vault();
        for (const auto& p : v->plans)
          if (iequals(p.name, name)) return Reply::json_body(200, plan_json(s, *v, p, sub));
        return arm_error(404, "NotFound", "The recovery plan '" + name + "' was not found in vault '" + v->name + "'.");
      });
    }
    if (tail.size() == 3 && r.method == "POST")
      if (const ActionInfo* a = find_action(tail[2]))
        return mk(std::string("ReplicationRecoveryPlans_") + a->op, action(true, tail[1], "", "", a));
    return std::nullopt;
  }
  if (iequals(kind, "replicationProtectedItems") && tail.size() == 1 && r.method == "GET")
    return mk("ReplicationProtectedItems_List", [&s, sub, vault, no_vault] {
      AsrVault* v = vault();
      if (!v) return no_vault();
      json a = json::array();
      for (const auto& it : v->items) a.push_back(item_json(s, *v, it, sub));
      return Reply::json_body(200, json{{"value", a}});
    });
  if (iequals(kind, "replicationFabrics") && tail.size() >= 5 && iequals(tail[2], "replicationProtectionContainers") &&
      iequals(tail[4], "replicationProtectedItems")) {
    const auto fabric = tail[1], container = tail[3];
    if (tail.size() == 5 && r.method == "GET")
      return mk("ReplicationProtectedItems_ListByReplicationProtectionContainers",
                [&s, sub, vault, no_vault, fabric, container] {
                  AsrVault* v = vault();
                  if (!v) return no_vault();
                  json a = json::array();
                  for (const auto& it : v->items)
                    if (iequals(it.fabric, fabric) && iequals(it.container, container))
                      a.push_back(item_json(s, *v, it, sub));
                  return Reply::json_body(200, json{{"value", a}});
                });
    if (tail.size() == 6 && r.method == "GET") {
      const auto name = tail[5];
      return mk("ReplicationProtectedItems_Get", [&s, sub, vault, no_vault, fabric, container, name] {
        AsrVault* v = vault();
        if (!v) return no_vault();
        for (const auto& it : v->items)
          if (iequals(it.name, name) && iequals(it.fabric, fabric) && iequals(it.container, container))
            return Reply::json_body(200, item_json(s, *v, it, sub));
        return arm_error(404, "NotFound", "The protected item '" + name + "' was not found.");
      });
    }
    if (tail.size() == 7 && r.method == "POST")
      if (const ActionInfo* a = find_action(tail[6]))
        return mk(std::string("ReplicationProtectedItems_") + a->op, action(false, tail[5], fabric, container, a));
    return std::nullopt;
  }
  if (iequals(kind, "replicationJobs")) {
    if (tail.size() == 1 && r.method == "GET")
      return mk("ReplicationJobs_List", [&s, sub, vault, no_vault] {
        AsrVault* v = vault();
        if (!v) return no_vault();
        json a = json::array();
        // Newest first, as the service lists them; $filter is accepted and not applied.
        for (auto it = v->jobs.rbegin(); it != v->jobs.rend(); ++it) a.push_back(job_json(s, *v, *it, sub));
        return Reply::json_body(200, json{{"value", a}});
      });
    const auto name = tail.size() >= 2 ? tail[1] : std::string();
    const auto get_job = [&s, sub, vault, no_vault, name](bool as_location) {
      return [&s, sub, vault, no_vault, name, as_location] {
        AsrVault* v = vault();
        if (!v) return no_vault();
        const AsrJob* j = find_job(*v, name);
        if (!j) return arm_error(404, "NotFound", "The job '" + name + "' was not found.");
        if (as_location && job_state(s, *v, *j) == "InProgress") {
          Reply rep{202, {{"Retry-After", "30"}}, "", "application/json"};
          return rep;
        }
        return Reply::json_body(200, job_json(s, *v, *j, sub));
      };
    };
    if (tail.size() == 2 && r.method == "GET") return mk("ReplicationJobs_Get", get_job(false));
    if (tail.size() == 4 && r.method == "GET" && iequals(tail[2], "operationresults"))
      return mk("ReplicationJobs_OperationResults", get_job(true));
    if (tail.size() == 3 && r.method == "POST" && iequals(tail[2], "cancel"))
      return mk("ReplicationJobs_Cancel", [&s, &r, sub, vault, no_vault, name] {
        AsrVault* v = vault();
        if (!v) return no_vault();
        for (auto& j : v->jobs)
          if (iequals(j.name, name)) {
            if (job_state(s, *v, j) != "InProgress")
              return arm_error(409, "OperationNotAllowed", "The job '" + name + "' is not running.");
            j.cancelled = true;
            clear_busy(*v, j);
            Reply rep{202,
                      {{"Location", r.origin + vault_id(*v, sub) + "/replicationJobs/" + j.name + "/operationresults/" +
                                        j.name + "?api-version=" + r.param("api-version")},
                       {"Retry-After", "30"}},
                      "",
                      "application/json"};
            return rep;
          }
        return arm_error(404, "NotFound", "The job '" + name + "' was not found.");
      });
    return std::nullopt;
  }
  if (iequals(kind, "replicationOperationStatus") && tail.size() == 2 && r.method == "GET") {
    const auto name = tail[1];
    return mk("ReplicationOperationStatus_Get", [&s, vault, no_vault, name] {
      AsrVault* v = vault();
      if (!v) return no_vault();
      const AsrJob* j = find_job(*v, name);
      if (!j) return arm_error(404, "NotFound", "The operation '" + name + "' was not found.");
      const auto st = job_state(s, *v, *j);
      // A test failover's operation is done when it waits for cleanup (its success state).
      const std::string status = st == "InProgress"  ? "InProgress"
                                 : st == "Failed"    ? "Failed"
                                 : st == "Cancelled" ? "Canceled"
                                                     : "Succeeded";
      json body = {{"id", name}, {"name", name}, {"status", status}, {"startTime", iso_time(j->started_wall)}};
      if (status != "InProgress") body["endTime"] = iso_time(j->started_wall + j->duration);
      if (status == "Failed") body["error"] = {{"code", "70094"}, {"message", "The job failed (simulated)."}};
      return Reply::json_body(200, body);
    });
  }
  return std::nullopt;
}

json asr_state(State& s) {
  json a = json::array();
  for (auto& v : s.world.recovery_vaults) {
    refresh(s, v);
    const auto sub = v.subscription.empty() ? std::string("{subscription}") : v.subscription;
    json plans = json::array(), items = json::array(), jobs = json::array();
    for (const auto& p : v.plans) plans.push_back(plan_json(s, v, p, sub));
    for (const auto& it : v.items) items.push_back(item_json(s, v, it, sub));
    for (const auto& j : v.jobs) jobs.push_back(job_json(s, v, j, sub));
    a.push_back(
        {{"vault", v.name}, {"resource-group", v.resource_group}, {"plans", plans}, {"items", items}, {"jobs", jobs}});
  }
  return a;
}

}  // namespace dr::sim::detail
