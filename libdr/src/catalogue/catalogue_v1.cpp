// The v1 action catalogue (runbook-format.md §5). docs/actions.md documents each entry; a unit
// test checks that every action here appears there.
#include "dr/catalogue.h"

namespace dr {
namespace {

using namespace std::chrono_literals;

ParamSpec target(TargetKind kind) {
  ParamSpec p{.name = "target", .type = ParamType::target, .required = true};
  p.target_kind = kind;
  p.description = std::string("name of a `") + target_kind_name(kind) + "` entry in `targets:`";
  return p;
}
ParamSpec str(std::string name, bool required, std::string description, std::vector<std::string> allowed = {},
              std::string default_text = {}) {
  return {.name = std::move(name),
          .type = ParamType::string,
          .required = required,
          .allowed = std::move(allowed),
          .default_text = std::move(default_text),
          .description = std::move(description)};
}
ParamSpec typed(std::string name, ParamType type, bool required, std::string description,
                std::string default_text = {}) {
  return {.name = std::move(name),
          .type = type,
          .required = required,
          .default_text = std::move(default_text),
          .description = std::move(description)};
}
ParamSpec bounded(std::string name, bool required, std::int64_t min, std::int64_t max, std::string description) {
  ParamSpec p{.name = std::move(name), .type = ParamType::integer, .required = required};
  p.min = min, p.max = max, p.description = std::move(description);
  return p;
}

const std::vector<std::string> kEndpointTypes{"azure", "external", "nested"};
const std::vector<std::string> kMonitorStatuses{"CheckingEndpoint", "Online",  "Degraded",   "Disabled",
                                                "Inactive",         "Stopped", "Unmonitored"};
const std::vector<std::string> kDirections{"primary-to-recovery", "recovery-to-primary"};
const std::vector<std::string> kProviders{
    "A2A", "HyperVReplicaAzure", "InMageRcm", "InMageRcmFailback", "InMageAzureV2", "HyperVReplicaAzureFailback"};
const std::vector<std::string> kRecoveryPointTypes{"latest", "latest-application-consistent", "latest-crash-consistent",
                                                   "latest-processed"};

ParamSpec endpoint_type() {
  return str("endpoint-type", false, "endpoint type; looked up on the profile when not given", kEndpointTypes);
}

std::vector<ParamSpec> asr_subject(std::vector<ParamSpec> extra) {
  std::vector<ParamSpec> out{
      target(TargetKind::site_recovery),
      str("plan", false, "recovery plan name"),
      str("item", false, "protected item, as fabric/container/item or by friendly name"),
  };
  for (auto& p : extra) out.push_back(std::move(p));
  return out;
}

ActionSpec asr(std::string name, std::string summary, std::vector<ParamSpec> extra, std::string undo,
               Duration typical) {
  return {.name = std::move(name),
          .summary = std::move(summary),
          .params = asr_subject(std::move(extra)),
          .exactly_one_of = {{"plan", "item"}},
          .outputs = {"job-id", "job-state"},
          .builtin_undo = std::move(undo),
          .mutating = true,
          .async = AsyncKind::long_running_job,
          .typical = typical,
          .default_timeout = std::max<Duration>(10min, typical * 4)};
}

std::vector<ParamSpec> backup_item(std::vector<ParamSpec> extra) {
  std::vector<ParamSpec> out{
      target(TargetKind::backup),
      str("item", true, "protected item name, e.g. VM;iaasvmcontainerv2;rg-plant;historian01"),
      str("container", false, "protection container; derived from the item for Azure VMs"),
  };
  for (auto& p : extra) out.push_back(std::move(p));
  return out;
}

std::vector<ActionSpec> build() {
  std::vector<ActionSpec> a;

  // Traffic Manager: synchronous PATCHes on an endpoint; the undo restores the captured value.
  const auto tm = [](std::string name, std::string summary, std::vector<ParamSpec> extra, std::string undo) {
    std::vector<ParamSpec> params{target(TargetKind::traffic_manager), str("endpoint", true, "endpoint name"),
                                  endpoint_type()};
    for (auto& p : extra) params.push_back(std::move(p));
    return ActionSpec{.name = std::move(name),
                      .summary = std::move(summary),
                      .params = std::move(params),
                      .outputs = {"previous-status", "previous-priority", "previous-weight"},
                      .builtin_undo = std::move(undo),
                      .mutating = true,
                      .async = AsyncKind::none,
                      .typical = 5s};
  };
  a.push_back(tm("traffic-manager.disable-endpoint", "set an endpoint's endpointStatus to Disabled", {},
                 "traffic-manager.enable-endpoint"));
  a.push_back(tm("traffic-manager.enable-endpoint", "set an endpoint's endpointStatus to Enabled", {},
                 "traffic-manager.disable-endpoint"));
  a.push_back(tm("traffic-manager.set-priority", "set an endpoint's priority (keeping priorities unique)",
                 {bounded("priority", true, 1, 1000, "new priority, 1 (highest) to 1000")},
                 "traffic-manager.set-priority"));
  a.push_back(tm("traffic-manager.set-weight", "set an endpoint's weight",
                 {bounded("weight", true, 1, 1000, "new weight, 1 to 1000")}, "traffic-manager.set-weight"));
  a.push_back({.name = "traffic-manager.wait-endpoint",
               .summary = "poll an endpoint's endpointMonitorStatus until it equals `status`",
               .params = {target(TargetKind::traffic_manager), str("endpoint", true, "endpoint name"), endpoint_type(),
                          str("status", false, "monitor status to wait for", kMonitorStatuses, "Online"),
                          typed("interval", ParamType::duration, false, "time between polls", "10s")},
               .outputs = {"status"},
               .mutating = false,
               .async = AsyncKind::poll,
               .typical = 2min,
               .default_timeout = 30min});

  // Site Recovery: POST an action, follow the long-running operation to its ASR job.
  const auto provider = [] {
    return str("provider", false, "replication provider (providerSpecificDetails.instanceType)", kProviders, "A2A");
  };
  const auto rp_type = [] {
    return str("recovery-point-type", false, "which recovery point to fail over to", kRecoveryPointTypes, "latest");
  };
  a.push_back(asr("site-recovery.failover", "planned or unplanned failover of a recovery plan or protected item",
                  {str("mode", false, "planned or unplanned", {"planned", "unplanned"}, "unplanned"),
                   str("direction", false, "failover direction", kDirections, "primary-to-recovery"),
                   str("source-site-operations", false, "shut down the source site's VMs first (unplanned only)",
                       {"required", "not-required"}, "not-required"),
                   provider(), rp_type()},
                  "", 15min));
  a.push_back(
      asr("site-recovery.test-failover", "test failover into an isolated network",
          {str("network", true, "ARM id of the virtual network for the test VMs"),
           str("direction", false, "failover direction", kDirections, "primary-to-recovery"), provider(), rp_type()},
          "site-recovery.test-failover-cleanup", 15min));
  a.push_back(asr("site-recovery.test-failover-cleanup", "remove the test failover's VMs",
                  {str("comments", false, "note recorded with the cleanup (at most 1024 characters)")}, "", 10min));
  a.push_back(asr("site-recovery.commit", "commit a failover (failoverCommit)", {}, "", 5min));
  a.push_back(asr("site-recovery.cancel", "cancel a failover (failoverCancel)", {}, "", 5min));
  a.push_back(asr("site-recovery.reprotect", "start replication in the other direction (reProtect)",
                  {str("direction", false, "replication direction after reprotect", kDirections, "recovery-to-primary"),
                   provider()},
                  "", 30min));
  a.push_back({.name = "site-recovery.check-health",
               .summary = "replication health Normal, the next operation allowed, RPO within max-rpo",
               .params = asr_subject(
                   {typed("max-rpo", ParamType::duration, false, "largest acceptable replication lag"),
                    str("allows", false, "an operation that must be allowed, e.g. UnplannedFailover"),
                    typed("require-healthy", ParamType::boolean, false,
                          "false drops the replicationHealth Normal condition (a disaster failover)", "true")}),
               .exactly_one_of = {{"plan", "item"}},
               .outputs = {"rpo", "replication-health"},
               .mutating = false,
               .async = AsyncKind::none,
               .typical = 5s});

  // Backup: trigger, follow the operation to its job, follow the job to completion.
  a.push_back(
      {.name = "backup.backup-now",
       .summary = "trigger an on-demand backup and wait for its job",
       .params = backup_item({bounded("retain-days", false, 1, 36500, "keep the recovery point this many days"),
                              str("object-type", false, "backup request objectType", {}, "IaasVMBackupRequest")}),
       .outputs = {"job-id", "recovery-point-id", "recovery-point-time"},
       .mutating = true,
       .async = AsyncKind::long_running_job,
       .typical = 30min,
       .default_timeout = 2h});
  a.push_back({.name = "backup.restore",
               .summary = "restore from a recovery point: latest, an id, or the newest at or before a time",
               .params = backup_item(
                   {str("recovery-point", false, "latest, a recovery point id, or an RFC 3339 time", {}, "latest"),
                    str("mode", false, "restore type", {"original-location", "alternate-location", "restore-disks"},
                        "alternate-location"),
                    typed("restore", ParamType::object, false,
                          "extra restore request properties (targetResourceGroupId, ...)")}),
               .outputs = {"job-id", "recovery-point-id", "recovery-point-time"},
               .mutating = true,
               .async = AsyncKind::long_running_job,
               .typical = 45min,
               .default_timeout = 3h});
  a.push_back({.name = "backup.check-recovery-point",
               .summary = "the newest recovery point is younger than max-age",
               .params = backup_item({typed("max-age", ParamType::duration, true, "largest acceptable age")}),
               .outputs = {"recovery-point-id", "recovery-point-time", "age"},
               .mutating = false,
               .async = AsyncKind::none,
               .typical = 5s});

  // On-site agent.
  a.push_back({.name = "agent.run",
               .summary = "run a named action on an on-site agent",
               .params = {target(TargetKind::agent), str("action", true, "the agent's action name"),
                          typed("args", ParamType::string_map, false, "the action's arguments")},
               .outputs = {"run-id", "exit-code", "output"},
               .mutating = true,
               .async = AsyncKind::agent_operation,
               .typical = 1min,
               .default_timeout = 30min});
  a.push_back({.name = "agent.check",
               .summary = "an agent's health, or one of its named checks",
               .params = {target(TargetKind::agent), str("check", false, "check name; omitted: agent health")},
               .outputs = {"status"},
               .mutating = false,
               .async = AsyncKind::none,
               .typical = 5s});

  // Local actions.
  a.push_back({.name = "http.probe",
               .summary = "an HTTP(S) request that must answer with the expected status and body",
               .params = {typed("url", ParamType::url, true, "the URL to request"),
                          str("method", false, "HTTP method", {"GET", "HEAD", "POST"}, "GET"),
                          typed("expect-status", ParamType::status_codes, false, "accepted status codes", "200"),
                          str("expect-body", false, "substring the body must contain"),
                          str("expect-body-regex", false, "ECMAScript regex the body must match"),
                          typed("headers", ParamType::string_map, false, "request headers"),
                          str("body", false, "request body (POST)"),
                          typed("request-timeout", ParamType::duration, false, "timeout of one request", "10s"),
                          str("ca-file", false, "PEM bundle to verify the server with (default: system CAs)")},
               .outputs = {"status", "body"},
               .mutating = false,
               .async = AsyncKind::none,
               .typical = 2s});
  a.push_back({.name = "wait",
               .summary = "wait for `duration`",
               .params = {typed("duration", ParamType::duration, true, "how long to wait")},
               .mutating = false,
               .async = AsyncKind::poll,
               .typical = 0s,
               .duration_param = "duration"});
  a.push_back({.name = "manual.approve",
               .summary = "wait for an operator's approval (TTY prompt, --approve STEP-ID, or an approval file)",
               .params = {str("message", false, "what the operator is asked")},
               .outputs = {"approved-by"},
               .mutating = false,
               .async = AsyncKind::approval,
               .typical = 5min,
               .default_timeout = 1h});
  a.push_back({.name = "exec",
               .summary = "run a local command (argv, no shell)",
               .params = {typed("command", ParamType::string_list, true, "argv: program and arguments"),
                          typed("env", ParamType::string_map, false, "extra environment variables"),
                          str("cwd", false, "working directory"),
                          bounded("output-cap", false, 0, 16 << 20, "bytes of stdout/stderr kept (default 64 KiB)")},
               .outputs = {"exit-code", "stdout", "stderr"},
               .mutating = true,
               .async = AsyncKind::process,
               .typical = 30s});
  return a;
}

}  // namespace

const Catalogue& Catalogue::v1() {
  static const Catalogue catalogue{build()};
  return catalogue;
}

}  // namespace dr
