// Azure Backup (CONTRACTS.md §3): on-demand backup and restore as operations that name a job
// (operationsStatus) once it exists, jobs that run for the world's durations, recovery points.
// Container and item names carry semicolons; httplib has already decoded %3B, and names compare
// case-insensitively as the service does.
#include "sim/sim_internal.h"

namespace dr::sim::detail {
namespace {

const std::vector<std::string> kVersions = {"2026-02-01", "2025-08-01", "2025-02-01", "2024-10-01"};

std::string vault_id(const BackupVault& v, const std::string& sub) {
  return "/subscriptions/" + sub + "/resourceGroups/" + v.resource_group +
         "/providers/Microsoft.RecoveryServices/vaults/" + v.name;
}

// VM;iaasvmcontainerv2;rg;vm -> IaasVMContainer;iaasvmcontainerv2;rg;vm
std::string container_of(const BackupItem& it) {
  if (!it.container.empty()) return it.container;
  const auto semi = it.name.find(';');
  return semi == std::string::npos ? it.name : "IaasVMContainer" + it.name.substr(semi);
}

std::string vm_name(const std::string& item) {
  const auto semi = item.rfind(';');
  return semi == std::string::npos ? item : item.substr(semi + 1);
}

std::string item_id(const BackupVault& v, const BackupItem& it, const std::string& sub) {
  return vault_id(v, sub) + "/backupFabrics/" + it.fabric + "/protectionContainers/" + container_of(it) +
         "/protectedItems/" + it.name;
}

bool job_done(const State& s, const BackupJob& j) {
  return s.now() >= j.started + j.duration;
}

void refresh(State& s, BackupVault& v) {
  for (auto& j : v.jobs) {
    if (j.applied || !job_done(s, j)) continue;
    j.applied = true;
    if (j.fail || j.operation != "Backup") continue;
    for (auto& it : v.items)
      if (it.name == j.item) {
        // A successful backup leaves a recovery point, newest first.
        long long newest = 0;
        for (const auto& rp : it.recovery_points) newest = std::max(newest, std::atoll(rp.id.c_str()));
        it.recovery_points.insert(
            it.recovery_points.begin(),
            RecoveryPoint{std::to_string(newest + 1000), j.started_wall + j.duration, "AppConsistent"});
      }
  }
}

json job_json(const State& s, const BackupVault& v, const BackupJob& j, const std::string& sub) {
  const bool done = job_done(s, j);
  const std::string status = !done ? "InProgress" : j.fail ? "Failed" : "Completed";
  const auto elapsed = done ? j.duration : std::chrono::duration_cast<Duration>(s.now() - j.started);
  json tasks = json::array();
  if (j.operation == "Backup") {
    const bool snap_done = done || elapsed >= j.duration / 4;
    tasks.push_back({{"taskId", "Take Snapshot"},
                     {"status", snap_done ? (j.fail && done ? "Completed" : "Completed") : "InProgress"}});
    tasks.push_back({{"taskId", "Transfer data to vault"},
                     {"status", done        ? (j.fail ? "Failed" : "Completed")
                                : snap_done ? "InProgress"
                                            : "NotStarted"}});
  } else {
    tasks.push_back(
        {{"taskId", "Transfer data from vault"}, {"status", done ? (j.fail ? "Failed" : "Completed") : "InProgress"}});
  }
  json props = {{"jobType", "AzureIaaSVMJob"},
                {"activityId", j.id + "-activity"},
                {"backupManagementType", "AzureIaasVM"},
                {"duration", iso_duration(elapsed)},
                {"entityFriendlyName", vm_name(j.item)},
                {"extendedInfo", {{"tasksList", tasks}, {"propertyBag", json::object()}}},
                {"operation", j.operation},
                {"startTime", iso_time(j.started_wall)},
                {"status", status},
                {"virtualMachineVersion", "Compute"}};
  if (done) props["endTime"] = iso_time(j.started_wall + j.duration);
  if (done && j.fail)
    props["errorDetails"] = json::array({{{"errorCode", 400001},
                                          {"errorString", "The operation failed (simulated)."},
                                          {"recommendations", json::array({"Retry the operation."})}}});
  return {{"id", vault_id(v, sub) + "/backupJobs/" + j.id},
          {"name", j.id},
          {"type", "Microsoft.RecoveryServices/vaults/backupJobs"},
          {"properties", props}};
}

json rp_json(const BackupVault& v, const BackupItem& it, const RecoveryPoint& rp, const std::string& sub) {
  return {
      {"id", item_id(v, it, sub) + "/recoveryPoints/" + rp.id},
      {"name", rp.id},
      {"type", "Microsoft.RecoveryServices/vaults/backupFabrics/protectionContainers/protectedItems/recoveryPoints"},
      {"properties",
       {{"objectType", "IaasVMRecoveryPoint"},
        {"recoveryPointType", rp.type},
        {"recoveryPointTime", iso_time(rp.time)},
        {"recoveryPointAdditionalInfo", ""},
        {"sourceVMStorageType", "NormalStorage"},
        {"isSourceVMEncrypted", false},
        {"isInstantIlrSessionActive", false},
        {"recoveryPointTierDetails",
         json::array({{{"type", "InstantRP"}, {"status", "Valid"}}, {{"type", "HardenedRP"}, {"status", "Valid"}}})},
        {"isManagedVirtualMachine", true},
        {"virtualMachineSize", "Standard_D4s_v5"},
        {"originalStorageAccountOption", false},
        {"isPrivateAccessEnabledOnAnyDisk", false},
        {"recoveryPointMoveReadinessInfo", {{"ArchivedRP", {{"isReadyForMove", false}}}}},
        {"zones", nullptr}}}};
}

json operation_json(const State& s, const BackupVault& v, const BackupOperation& op) {
  const bool done = s.now() >= op.started + v.operation_delay;
  json body = {{"id", op.id},
               {"name", op.id},
               {"status", done ? "Succeeded" : "InProgress"},
               {"startTime", iso_time(op.started_wall)}};
  if (done) {
    body["endTime"] = iso_time(op.started_wall + v.operation_delay);
    body["properties"] = {{"objectType", "OperationStatusJobExtendedInfo"}, {"jobId", op.job}};
  }
  return body;
}

// Starts an operation and its job (it shows from the start in backupJobs; operationsStatus
// names it once operation-delay has passed, like the service does once the job is created).
Reply start(State& s, BackupVault& v, const BackupItem& it, const std::string& operation, const Request& r,
            const std::string& sub) {
  BackupJob j;
  j.id = s.guid();
  j.operation = operation;
  j.item = it.name;
  j.started = s.now();
  j.started_wall = s.wall();
  j.duration = operation == "Backup" ? v.backup_duration : v.restore_duration;
  j.fail = operation == "Backup" ? v.fail_backup : v.fail_restore;
  v.jobs.push_back(j);
  BackupOperation op{s.guid(), j.id, it.name, s.now(), s.wall()};
  v.operations.push_back(op);
  const auto base = r.origin + item_id(v, it, sub);
  const auto version = "?api-version=" + r.param("api-version");
  return Reply{202,
               {{"Location", base + "/operationResults/" + op.id + version},
                {"Azure-AsyncOperation", base + "/operationsStatus/" + op.id + version},
                {"Retry-After", "60"}},
               "",
               "application/json"};
}

}  // namespace

std::optional<Routed> route_backup(State& s, const Request& r, const std::vector<std::string>& seg) {
  if (seg.size() < 9 || !iequals(seg[2], "resourceGroups") || !iequals(seg[4], "providers") ||
      !iequals(seg[5], "Microsoft.RecoveryServices") || !iequals(seg[6], "vaults") ||
      lower(seg[8]).rfind("backup", 0) != 0)
    return std::nullopt;
  const auto sub = seg[1], rg = seg[3], vname = seg[7];
  const std::string bucket = r.method == "GET" ? "read" : r.method == "DELETE" ? "delete" : "write";
  const auto vault = [&s, rg, vname]() -> BackupVault* {
    for (auto& v : s.world.backup_vaults)
      if (iequals(v.name, vname) && iequals(v.resource_group, rg)) {
        refresh(s, v);
        return &v;
      }
    return nullptr;
  };
  const auto no_vault = [vname] {
    return arm_error(404, "ResourceNotFound", "The Recovery Services vault '" + vname + "' could not be found.");
  };
  const auto mk = [&](std::string op, std::function<Reply()> f) {
    return Routed{std::move(op), bucket, sub, true, kVersions, std::move(f)};
  };
  const std::vector<std::string> t(seg.begin() + 8, seg.end());

  if (iequals(t[0], "backupJobs")) {
    if (t.size() == 1 && r.method == "GET")
      return mk("BackupJobs_List", [&s, sub, vault, no_vault] {
        BackupVault* v = vault();
        if (!v) return no_vault();
        json a = json::array();
        for (auto it = v->jobs.rbegin(); it != v->jobs.rend(); ++it) a.push_back(job_json(s, *v, *it, sub));
        return Reply::json_body(200, json{{"value", a}});
      });
    if (t.size() == 2 && r.method == "GET") {
      const auto id = t[1];
      return mk("JobDetails_Get", [&s, sub, vault, no_vault, id] {
        BackupVault* v = vault();
        if (!v) return no_vault();
        for (const auto& j : v->jobs)
          if (iequals(j.id, id)) return Reply::json_body(200, job_json(s, *v, j, sub));
        return arm_error(404, "BMSUserErrorJobNotFound", "The job '" + id + "' was not found.");
      });
    }
    return std::nullopt;
  }
  if (iequals(t[0], "backupProtectedItems") && t.size() == 1 && r.method == "GET")
    return mk("BackupProtectedItems_List", [&s, sub, vault, no_vault] {
      BackupVault* v = vault();
      if (!v) return no_vault();
      json a = json::array();
      for (const auto& it : v->items) {
        const RecoveryPoint* last = it.recovery_points.empty() ? nullptr : &it.recovery_points.front();
        json props = {{"protectedItemType", "Microsoft.Compute/virtualMachines"},
                      {"friendlyName", vm_name(it.name)},
                      {"workloadType", "VM"},
                      {"containerName", container_of(it)},
                      {"protectionStatus", "Healthy"},
                      {"protectionState", "Protected"},
                      {"healthStatus", "Passed"},
                      {"backupManagementType", "AzureIaasVM"}};
        if (last) props["lastRecoveryPoint"] = iso_time(last->time);
        a.push_back({{"id", item_id(*v, it, sub)},
                     {"name", it.name},
                     {"type", "Microsoft.RecoveryServices/vaults/backupFabrics/protectionContainers/protectedItems"},
                     {"properties", props}});
      }
      (void)s;
      return Reply::json_body(200, json{{"value", a}});
    });
  if ((iequals(t[0], "backupOperations") || iequals(t[0], "backupOperationResults")) && t.size() == 2 &&
      r.method == "GET") {
    const auto id = t[1];
    const bool status = iequals(t[0], "backupOperations");
    return mk(status ? "BackupOperationStatuses_Get" : "BackupOperationResults_Get", [&s, vault, no_vault, id, status] {
      BackupVault* v = vault();
      if (!v) return no_vault();
      for (const auto& op : v->operations)
        if (iequals(op.id, id)) {
          if (status) return Reply::json_body(200, operation_json(s, *v, op));
          const bool done = s.now() >= op.started + v->operation_delay;
          return Reply{done ? 204 : 202,
                       done ? std::vector<std::pair<std::string, std::string>>{}
                            : std::vector<std::pair<std::string, std::string>>{{"Retry-After", "60"}},
                       "", "application/json"};
        }
      return arm_error(404, "BMSUserErrorOperationNotFound", "The operation '" + id + "' was not found.");
    });
  }
  // backupFabrics/F/protectionContainers/C/protectedItems/I[/...]
  if (!iequals(t[0], "backupFabrics") || t.size() < 6 || !iequals(t[2], "protectionContainers") ||
      !iequals(t[4], "protectedItems"))
    return std::nullopt;
  const auto fabric = t[1], container = t[3], iname = t[5];
  const std::vector<std::string> rest(t.begin() + 6, t.end());
  const auto item = [fabric, container, iname](BackupVault& v) -> BackupItem* {
    for (auto& it : v.items)
      if (iequals(it.name, iname) && iequals(it.fabric, fabric) && iequals(container_of(it), container)) return &it;
    return nullptr;
  };
  const auto no_item = [iname] {
    return arm_error(404, "BMSUserErrorProtectedItemNotFound",
                     "The protected item '" + iname + "' was not found in the container.");
  };
  const auto with_item = [vault, no_vault, item, no_item](std::function<Reply(BackupVault&, BackupItem&)> f) {
    return [vault, no_vault, item, no_item, f] {
      BackupVault* v = vault();
      if (!v) return no_vault();
      BackupItem* it = item(*v);
      if (!it) return no_item();
      return f(*v, *it);
    };
  };
  const auto need_object_type = [&r](const char* what) -> std::optional<Reply> {
    const auto j = parse_json(r.body);
    if (!j || !j->is_object() || !j->contains("properties") || !(*j)["properties"].is_object() ||
        !(*j)["properties"].contains("objectType"))
      return arm_error(400, "BMSUserErrorInvalidInput",
                       std::string("The ") + what + " request needs a body {\"properties\":{\"objectType\":...}}.");
    return std::nullopt;
  };

  if (rest.size() == 1 && iequals(rest[0], "backup") && r.method == "POST")
    return mk("Backups_Trigger", with_item([&s, &r, sub, need_object_type](BackupVault& v, BackupItem& it) {
                if (auto bad = need_object_type("backup")) return *bad;
                for (const auto& j : v.jobs)
                  if (j.item == it.name && j.operation == "Backup" && !job_done(s, j))
                    return arm_error(400, "UserErrorBackupOperationInProgress",
                                     "Taking a backup is not allowed: a backup of this item is already in progress.");
                return start(s, v, it, "Backup", r, sub);
              }));
  if (rest.size() == 1 && iequals(rest[0], "recoveryPoints") && r.method == "GET")
    return mk("RecoveryPoints_List", with_item([sub](BackupVault& v, BackupItem& it) {
                json a = json::array();
                for (const auto& rp : it.recovery_points) a.push_back(rp_json(v, it, rp, sub));
                return Reply::json_body(200, json{{"value", a}});
              }));
  if (rest.size() >= 2 && iequals(rest[0], "recoveryPoints")) {
    const auto rp_id = rest[1];
    const auto find_rp = [rp_id](BackupItem& it) -> const RecoveryPoint* {
      for (const auto& rp : it.recovery_points)
        if (rp.id == rp_id) return &rp;
      return nullptr;
    };
    const auto no_rp = [rp_id] {
      return arm_error(404, "BMSUserErrorRecoveryPointNotFound", "The recovery point '" + rp_id + "' was not found.");
    };
    if (rest.size() == 2 && r.method == "GET")
      return mk("RecoveryPoints_Get", with_item([sub, find_rp, no_rp](BackupVault& v, BackupItem& it) {
                  const RecoveryPoint* rp = find_rp(it);
                  return rp ? Reply::json_body(200, rp_json(v, it, *rp, sub)) : no_rp();
                }));
    if (rest.size() == 3 && iequals(rest[2], "restore") && r.method == "POST")
      return mk("Restores_Trigger",
                with_item([&s, &r, sub, find_rp, no_rp, need_object_type](BackupVault& v, BackupItem& it) {
                  if (!find_rp(it)) return no_rp();
                  if (auto bad = need_object_type("restore")) return *bad;
                  return start(s, v, it, "Restore", r, sub);
                }));
    return std::nullopt;
  }
  if (rest.size() == 2 && (iequals(rest[0], "operationsStatus") || iequals(rest[0], "operationResults")) &&
      r.method == "GET") {
    const auto id = rest[1];
    const bool status = iequals(rest[0], "operationsStatus");
    return mk(status ? "ProtectedItemOperationStatuses_Get" : "ProtectedItemOperationResults_Get",
              with_item([&s, id, status](BackupVault& v, BackupItem&) {
                for (const auto& op : v.operations)
                  if (iequals(op.id, id)) {
                    if (status) return Reply::json_body(200, operation_json(s, v, op));
                    const bool done = s.now() >= op.started + v.operation_delay;
                    Reply rep{done ? 204 : 202, {}, "", "application/json"};
                    if (!done) rep.headers.emplace_back("Retry-After", "60");
                    return rep;
                  }
                return arm_error(404, "BMSUserErrorOperationNotFound", "The operation '" + id + "' was not found.");
              }));
  }
  return std::nullopt;
}

json backup_state(State& s) {
  json a = json::array();
  for (auto& v : s.world.backup_vaults) {
    refresh(s, v);
    const auto sub = v.subscription.empty() ? std::string("{subscription}") : v.subscription;
    json items = json::array(), jobs = json::array();
    for (const auto& it : v.items) {
      json rps = json::array();
      for (const auto& rp : it.recovery_points) rps.push_back(rp_json(v, it, rp, sub));
      items.push_back({{"name", it.name}, {"container", container_of(it)}, {"recovery-points", rps}});
    }
    for (const auto& j : v.jobs) jobs.push_back(job_json(s, v, j, sub));
    a.push_back({{"vault", v.name}, {"resource-group", v.resource_group}, {"items", items}, {"jobs", jobs}});
  }
  return a;
}

}  // namespace dr::sim::detail
