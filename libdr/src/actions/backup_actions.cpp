// backup.*: on-demand backup and restore of a protected item, and the age of its newest
// recovery point (CONTRACTS.md §3).
//
// Backup answers a trigger with 202 and an operation; the operation succeeds once it has created
// a Backup job, whose id it then names; the job runs to Completed or Failed. The handle walks the
// same stages ("operation" with its status URL, then "job" with the job id), so a resumed run
// picks up wherever the journal left it. Item and container names carry semicolons, sent raw.
#include <algorithm>

#include "actions/azure_action_support.h"
#include "dr/value_json.h"

namespace dr::actions::az {
namespace {

using namespace std::chrono_literals;

constexpr const char* kProvider = "Microsoft.RecoveryServices/vaults";

enum class Kind { backup_now, restore, check };

Kind kind_of(const std::string& name) {
  if (name == "backup.backup-now") return Kind::backup_now;
  if (name == "backup.restore") return Kind::restore;
  return Kind::check;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (;;) {
    const auto at = s.find(sep, start);
    out.push_back(s.substr(start, at == std::string::npos ? std::string::npos : at - start));
    if (at == std::string::npos) return out;
    start = at + 1;
  }
}

struct RecoveryPoint {
  std::string id;
  std::string time_text;
  Clock::wall_time time{};
};

class BackupAction final : public Action {
 public:
  BackupAction(std::string name, std::shared_ptr<AzureContext> context)
      : name_(std::move(name)), kind_(kind_of(name_)), context_(std::move(context)) {}

  StepResult submit(const StepCall& call) override {
    const Resolved r = resolve(call);
    if (!r.error.empty()) return StepResult::fail(r.error, false);
    const Item item = item_of(call, r);
    if (!item.error.empty()) return StepResult::fail(item.error, false);
    if (kind_ == Kind::check) return check(call, r, item);

    std::string path;
    json body;
    RecoveryPoint point;
    if (kind_ == Kind::backup_now) {
      path = item.path + "/backup";
      body = backup_body(call);
    } else {
      auto chosen = choose_point(call, r, item);
      if (!chosen) return chosen.error();
      point = *chosen;
      path = item.path + "/recoveryPoints/" + point.id + "/restore";
      auto b = restore_body(call, r, item, point.id);
      if (!b) return StepResult::fail(b.error(), false);
      body = *b;
    }
    ArmRequest req = request(call, "POST", path, api(), body.dump());
    req.retry_unsafe_on_transport_error = false;  // a lost 202 may still have started the job
    auto response = context_->arm->send(req);
    if (!response) return fail_from(response.error(), "POST " + last_segment(path) + " of " + item.name);
    std::string status_url = header_of(*response, "Azure-AsyncOperation").value_or("");
    if (status_url.empty()) {
      // Both headers carry the same operation id; the status resource is the one naming the job.
      const std::string op = last_segment(header_of(*response, "Location").value_or(""));
      if (!op.empty()) status_url = item.path + "/operationsStatus/" + op;
    }
    if (status_url.empty())
      return StepResult::fail("POST " + last_segment(path) + " of " + item.name + " answered " +
                                  std::to_string(response->status) +
                                  " without an operation to follow; check the vault's Backup jobs",
                              false);
    const auto every = std::chrono::duration_cast<std::chrono::seconds>(retry_after_of(*response, 30s)).count();
    Value handle = Value::map({{"stage", Value::string("operation")},
                               {"operation", Value::string(status_url)},
                               {"recovery-point-id", Value::string(point.id)},
                               {"recovery-point-time", Value::string(point.time_text)},
                               {"poll-seconds", Value::integer(every)}});
    std::string accepted = "Backup accepted the request; waiting for its job";
    if (kind_ != Kind::backup_now)
      accepted = "restoring " + item.name + " from recovery point " + point.id + " taken " + point.time_text + " (" +
                 age_text(requested_at(call) - point.time) + " old); waiting for the job";
    return StepResult::wait(handle, poll_delay(call, std::chrono::seconds(every)), accepted);
  }

  StepResult poll(const StepCall& call, const Value& handle) override {
    const Resolved r = resolve(call);
    if (!r.error.empty()) return StepResult::fail(r.error, false);
    const Duration every = std::chrono::seconds(handle_int(handle, "poll-seconds", 30));
    Value next = handle;
    if (handle_text(handle, "stage") == "operation") {
      const std::string url = handle_text(handle, "operation");
      const bool absolute = url.rfind("http", 0) == 0;
      auto status = get_json(*r.arm, call, url, absolute ? std::string() : api());
      if (!status) return fail_from(status.error(), "reading the Backup operation's status");
      const std::string state = text_at(*status, {"status"});
      if (iequals(state, "InProgress") || state.empty())
        return StepResult::wait(handle, poll_delay(call, every), "Backup operation in progress; no job yet");
      if (!iequals(state, "Succeeded"))
        return StepResult::fail("the Backup operation " + state + ": " + error_text(*status), false);
      std::string job = text_at(*status, {"properties", "jobId"});
      if (job.empty())
        if (auto ids = status->value("properties", json::object()).value("jobIds", json::array());
            ids.is_array() && !ids.empty() && ids[0].is_string())
          job = ids[0].get<std::string>();
      if (job.empty()) return StepResult::fail("the Backup operation succeeded but names no job", false);
      std::vector<Value::Entry> entries;
      for (const auto& [k, v] : handle.entries())
        if (k != "stage" && k != "operation") entries.emplace_back(k, v);
      entries.emplace_back("stage", Value::string("job"));
      entries.emplace_back("job", Value::string(job));
      next = Value::map(std::move(entries));
    }
    return poll_job(call, r, next, every);
  }

  Reconciliation reconcile(const StepCall& call) override {
    Reconciliation rec;
    rec.verdict = Reconciliation::Verdict::not_started;
    if (kind_ == Kind::check) return rec;
    const Resolved r = resolve(call);
    if (!r.error.empty()) return rec;
    const Item item = item_of(call, r);
    if (!item.error.empty()) return rec;
    auto jobs = list_json(*r.arm, call, r.base + "/backupJobs", api());
    if (!jobs)
      return operator_needed("listing Backup jobs failed (" + jobs.error().message + "); cannot tell whether " + name_ +
                             " started on " + item.name);
    const std::string operation = kind_ == Kind::backup_now ? "Backup" : "Restore";
    const auto since = reconcile_since(call);
    std::vector<const json*> active, recent;
    for (const auto& j : *jobs) {
      const json p = j.value("properties", json::object());
      if (!iequals(text_at(p, {"operation"}), operation) || !iequals(text_at(p, {"entityFriendlyName"}), item.vm))
        continue;
      const std::string status = lower(text_at(p, {"status"}));
      if (status == "inprogress" || status == "cancelling") {
        active.push_back(&j);
      } else if (const auto t = service_time(text_at(p, {"startTime"})); t && *t >= since) {
        recent.push_back(&j);
      }
    }
    if (active.size() > 1)
      return operator_needed(std::to_string(active.size()) + " " + operation + " jobs are running for " + item.vm +
                             "; decide which one this step is, then resume");
    const json* pick = active.empty() ? nullptr : active.front();
    if (!pick && !recent.empty()) {
      // A finished backup since the intent may be a scheduled one: taking another is harmless.
      // A second restore is not (it would create the VM or disks again): an operator decides.
      if (kind_ == Kind::backup_now) return rec;
      std::string names;
      for (const auto* j : recent) names += (names.empty() ? "" : ", ") + text_at(*j, {"name"});
      return operator_needed("a Restore job for " + item.vm + " finished after this step's intent (" + names +
                             "); if it was this step's, mark the step done by hand, otherwise resume to restore again");
    }
    if (!pick) return rec;
    rec.verdict = Reconciliation::Verdict::adopted;
    rec.handle = Value::map({{"stage", Value::string("job")},
                             {"job", Value::string(text_at(*pick, {"name"}))},
                             {"poll-seconds", Value::integer(60)}});
    return rec;
  }

  void cancel(const StepCall& call, const Value& handle) override {
    const Resolved r = resolve(call);
    const std::string job = handle_text(handle, "job");
    if (!r.error.empty() || job.empty()) return;
    ArmRequest req = request(call, "POST", r.base + "/backupJobs/" + job + "/cancel", api());
    req.cancelled = nullptr;
    (void)context_->arm->send(req);
  }

  bool blocking() const override { return true; }
  bool read_only() const override { return kind_ == Kind::check; }

  std::vector<std::string> describe(const StepCall& call) const override {
    const Resolved r = resolve_target(*context_, call, "vault", kProvider, false);
    if (!r.error.empty()) return {r.error};
    const Item item = item_of(call, r);
    if (!item.error.empty()) return {item.error};
    std::vector<std::string> out;
    if (kind_ == Kind::check) {
      out.push_back("GET " + full_url(r, item.path + "/recoveryPoints", api()) + " (newest younger than " +
                    call.param_text("max-age") + ")");
      return out;
    }
    std::string body;
    std::string path;
    if (kind_ == Kind::backup_now) {
      path = item.path + "/backup";
      body = backup_body(call).dump();
    } else {
      const std::string wanted = call.param_text("recovery-point", "latest");
      out.push_back("GET " + full_url(r, item.path + "/recoveryPoints", api()) + " (choose " + wanted + ")");
      const std::string id = is_time(wanted) || wanted == "latest" ? std::string("{recoveryPointId}") : wanted;
      path = item.path + "/recoveryPoints/" + id + "/restore";
      auto b = restore_body(call, r, item, id);
      if (!b) return {b.error()};
      body = b->dump();
    }
    out.push_back("POST " + full_url(r, path, api()) + " " + body);
    out.push_back("GET " + full_url(r, item.path + "/operationsStatus/{operationId}", api()) + " until it names a job");
    out.push_back("GET " + full_url(r, r.base + "/backupJobs/{jobId}", api()) + " until the job ends");
    return out;
  }

 private:
  struct Item {
    std::string name, container, vm, vm_rg;
    std::string path;
    std::string error;
  };

  const std::string& api() const { return context_->api_versions.backup; }
  Resolved resolve(const StepCall& call) const { return resolve_target(*context_, call, "vault", kProvider); }

  Item item_of(const StepCall& call, const Resolved& r) const {
    Item i;
    i.name = call.param_text("item");
    i.container = call.param_text("container");
    const auto parts = split(i.name, ';');
    // An Azure VM: VM;iaasvmcontainerv2;RG;VM -> container IaasVMContainer;iaasvmcontainerv2;RG;VM.
    if (parts.size() == 4 && iequals(parts[0], "VM")) {
      i.vm_rg = parts[2];
      i.vm = parts[3];
      if (i.container.empty()) i.container = "IaasVMContainer;" + parts[1] + ";" + parts[2] + ";" + parts[3];
    } else {
      i.vm = parts.back();
    }
    if (i.name.empty())
      i.error = name_ + " needs `item`, e.g. VM;iaasvmcontainerv2;RESOURCE-GROUP;VM-NAME";
    else if (i.container.empty())
      i.error = name_ + ": cannot derive the protection container from item '" + i.name +
                "' (only Azure VM items, VM;iaasvmcontainerv2;RG;VM, have a known container); give `container`";
    i.path = r.base + "/backupFabrics/Azure/protectionContainers/" + i.container + "/protectedItems/" + i.name;
    return i;
  }

  json backup_body(const StepCall& call) const {
    json props{{"objectType", call.param_text("object-type", "IaasVMBackupRequest")}};
    if (const Value* days = call.param("retain-days"); days && days->kind() == Value::Kind::integer) {
      if (!call.clock) {  // plan: no run, no clock
        props["recoveryPointExpiryTimeInUTC"] = "{now + " + std::to_string(days->as_int()) + " days}";
      } else {
        const auto now = std::chrono::floor<std::chrono::seconds>(call.clock->wall());
        props["recoveryPointExpiryTimeInUTC"] = format_rfc3339(now + std::chrono::hours(24) * days->as_int());
      }
    }
    return json{{"properties", props}};
  }

  template <class D>
  static std::string age_text(D age) {
    return format_duration(
        std::chrono::floor<std::chrono::seconds>(std::max(std::chrono::duration_cast<Duration>(age), Duration(0))));
  }
  // When the step asked for the restore: its journaled intent, else now.
  static Clock::wall_time requested_at(const StepCall& call) {
    if (call.intent_wall != Clock::wall_time{}) return call.intent_wall;
    return call.clock ? call.clock->wall() : std::chrono::system_clock::now();
  }
  static bool is_time(const std::string& s) { return s.size() >= 20 && s[4] == '-' && service_time(s).has_value(); }

  tl::expected<json, std::string> restore_body(const StepCall& call, const Resolved& r, const Item& item,
                                               const std::string& point_id) const {
    const std::string mode = call.param_text("mode", "alternate-location");
    const std::string type = mode == "original-location" ? "OriginalLocation"
                             : mode == "restore-disks"   ? "RestoreDisks"
                                                         : "AlternateLocation";
    json props{{"objectType", "IaasVMRestoreRequest"}, {"recoveryPointId", point_id}, {"recoveryType", type}};
    if (!item.vm_rg.empty())
      props["sourceResourceId"] = "/subscriptions/" + r.subscription + "/resourceGroups/" + item.vm_rg +
                                  "/providers/Microsoft.Compute/virtualMachines/" + item.vm;
    if (const Value* extra = call.param("restore"); extra && !extra->is_null()) {
      if (!extra->is_map()) return tl::unexpected(name_ + ": `restore` must be a map of restore request properties");
      for (const auto& [k, v] : extra->entries()) props[k] = value_as_json<json>(v);
    }
    return json{{"properties", props}};
  }

  tl::expected<std::vector<RecoveryPoint>, StepResult> points(const StepCall& call, const Resolved& r,
                                                              const Item& item) const {
    auto list = list_json(*r.arm, call, item.path + "/recoveryPoints", api());
    if (!list) return tl::unexpected(fail_from(list.error(), "listing recovery points of " + item.name));
    std::vector<RecoveryPoint> out;
    for (const auto& p : *list) {
      RecoveryPoint rp{text_at(p, {"name"}), text_at(p, {"properties", "recoveryPointTime"}), {}};
      if (auto t = service_time(rp.time_text)) {
        rp.time = *t;
        out.push_back(std::move(rp));
      }
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.time > b.time; });
    return out;
  }

  tl::expected<RecoveryPoint, StepResult> choose_point(const StepCall& call, const Resolved& r,
                                                       const Item& item) const {
    auto all = points(call, r, item);
    if (!all) return tl::unexpected(all.error());
    const std::string wanted = call.param_text("recovery-point", "latest");
    if (all->empty()) return tl::unexpected(StepResult::fail(item.name + " has no recovery points", false));
    if (wanted == "latest") return all->front();
    if (is_time(wanted)) {
      const auto t = *service_time(wanted);
      for (const auto& p : *all)
        if (p.time <= t) return p;
      return tl::unexpected(StepResult::fail(
          "no recovery point of " + item.name + " at or before " + wanted + "; the oldest is " + all->back().time_text,
          false));
    }
    for (const auto& p : *all)
      if (p.id == wanted) return p;
    std::string ids;
    for (std::size_t i = 0; i < all->size() && i < 5; ++i)
      ids += (i ? ", " : "") + (*all)[i].id + " (" + (*all)[i].time_text + ")";
    return tl::unexpected(StepResult::fail(
        "recovery point '" + wanted + "' of " + item.name + " not found (newest: " + ids + ")", false));
  }

  StepResult poll_job(const StepCall& call, const Resolved& r, const Value& handle, Duration every) const {
    const std::string job = handle_text(handle, "job");
    auto body = get_json(*r.arm, call, r.base + "/backupJobs/" + job, api());
    if (!body) return fail_from(body.error(), "reading Backup job " + job);
    const json p = body->value("properties", json::object());
    const std::string status = text_at(p, {"status"});
    if (iequals(status, "Completed") || iequals(status, "CompletedWithWarnings")) {
      std::map<std::string, std::string> outputs{{"job-id", job},
                                                 {"recovery-point-id", handle_text(handle, "recovery-point-id")},
                                                 {"recovery-point-time", handle_text(handle, "recovery-point-time")}};
      // The drill's RPO (runbook-format.md §10): how old the data was that the restore brought back,
      // at the time it was asked for.
      if (kind_ != Kind::backup_now)
        if (const auto taken = service_time(handle_text(handle, "recovery-point-time")))
          outputs["rpo"] = age_text(requested_at(call) - *taken);
      if (kind_ == Kind::backup_now) {
        const Item item = item_of(call, r);
        auto all = points(call, r, item);
        if (!all) return all.error();
        if (!all->empty()) {
          outputs["recovery-point-id"] = all->front().id;
          outputs["recovery-point-time"] = all->front().time_text;
        }
      }
      return StepResult::ok(outputs);
    }
    if (iequals(status, "Failed") || iequals(status, "Cancelled") || iequals(status, "Canceled")) {
      std::string why;
      for (const auto& e : p.value("errorDetails", json::array())) {
        std::string line = text_at(e, {"errorCode"});
        const std::string m = text_at(e, {"errorString"});
        if (!m.empty()) line += (line.empty() ? "" : ": ") + m;
        if (!line.empty()) why += (why.empty() ? "" : "; ") + line;
      }
      return StepResult::fail("Backup job " + job + " (" + text_at(p, {"operation"}) + ") " + status +
                                  (why.empty() ? std::string() : ": " + why),
                              false);
    }
    return StepResult::wait(handle, poll_delay(call, every),
                            "Backup job " + job + " " + (status.empty() ? std::string("pending") : status));
  }

  static std::string error_text(const json& status) {
    const std::string code = text_at(status, {"error", "code"});
    const std::string message = text_at(status, {"error", "message"});
    if (code.empty() && message.empty()) return "no error details";
    return code.empty() ? message : code + ": " + message;
  }

  StepResult check(const StepCall& call, const Resolved& r, const Item& item) const {
    const auto max_age = duration_param(call, "max-age");
    if (!max_age.error.empty()) return StepResult::fail(max_age.error, false);
    if (!max_age.value) return StepResult::fail(name_ + " needs `max-age`, e.g. 26h", false);
    auto all = points(call, r, item);
    if (!all) return all.error();
    if (all->empty()) return StepResult::fail(item.name + " has no recovery points");
    const RecoveryPoint& newest = all->front();
    const auto age = std::chrono::duration_cast<Duration>(clock_of(call).wall() - newest.time);
    const std::string age_text = format_duration(std::chrono::floor<std::chrono::seconds>(std::max(age, Duration(0))));
    if (age > *max_age.value)
      return StepResult::fail("the newest recovery point of " + item.name + " (" + newest.id + ", " + newest.time_text +
                              ") is " + age_text + " old, more than max-age " + format_duration(*max_age.value));
    return StepResult::ok(
        {{"recovery-point-id", newest.id}, {"recovery-point-time", newest.time_text}, {"age", age_text}});
  }

  std::string name_;
  Kind kind_;
  std::shared_ptr<AzureContext> context_;
};

}  // namespace

std::shared_ptr<Action> make_backup_action(std::string name, std::shared_ptr<AzureContext> context) {
  return std::make_shared<BackupAction>(std::move(name), std::move(context));
}

}  // namespace dr::actions::az
