// site-recovery.*: POST an action on a recovery plan or protected item, then follow the ASR job
// it started (CONTRACTS.md §2).
//
// The POSTs are not idempotent (a second failover is not a no-op), so they are never re-sent
// after a transport error: the step fails as ambiguous and the engine reconciles. The job's name
// is journaled as the handle as soon as the 202 arrives, so a resumed run follows the same job;
// when only the intent was journaled, reconcile() looks for a job of the same scenario on the
// same plan or item before allowing a new POST.
#include <algorithm>

#include "actions/azure_action_support.h"

namespace dr::actions::az {
namespace {

using namespace std::chrono_literals;

constexpr const char* kProvider = "Microsoft.RecoveryServices/vaults";

enum class Op { failover, test_failover, cleanup, commit, cancel, reprotect, health };

Op op_of(const std::string& name) {
  if (name == "site-recovery.failover") return Op::failover;
  if (name == "site-recovery.test-failover") return Op::test_failover;
  if (name == "site-recovery.test-failover-cleanup") return Op::cleanup;
  if (name == "site-recovery.commit") return Op::commit;
  if (name == "site-recovery.cancel") return Op::cancel;
  if (name == "site-recovery.reprotect") return Op::reprotect;
  return Op::health;
}

// The POST's action segment, the allowedOperations name that permits it, and the job
// scenarioNames it shows up as (lower case).
struct Verb {
  std::string action, allowed;
  std::vector<std::string> scenarios;
};

Verb verb_of(Op op, const StepCall& call) {
  switch (op) {
    case Op::failover:
      if (call.param_text("mode", "unplanned") == "planned")
        return {"plannedFailover", "PlannedFailover", {"plannedfailover"}};
      return {"unplannedFailover", "UnplannedFailover", {"unplannedfailover", "failover"}};
    case Op::test_failover: return {"testFailover", "TestFailover", {"testfailover"}};
    case Op::cleanup: return {"testFailoverCleanup", "TestFailoverCleanup", {"testfailovercleanup"}};
    case Op::commit: return {"failoverCommit", "Commit", {"commit", "commitfailover", "failovercommit"}};
    case Op::cancel: return {"failoverCancel", "CancelFailover", {"cancelfailover", "failovercancel"}};
    case Op::reprotect: return {"reProtect", "ReverseReplicate", {"reprotect", "reversereplicate", "reprotection"}};
    case Op::health: break;
  }
  return {};
}

std::string direction_of(const std::string& param) {
  return param == "recovery-to-primary" ? "RecoveryToPrimary" : "PrimaryToRecovery";
}

std::string point_type_of(const std::string& param) {
  if (param == "latest-processed") return "LatestProcessed";
  if (param == "latest-application-consistent") return "LatestApplicationConsistent";
  if (param == "latest-crash-consistent") return "LatestCrashConsistent";
  return "Latest";
}

// The request body, or an error. Plans take an array of provider details with a recovery point
// type; items a single object, whose only way to choose a point is an id (absent = latest).
struct Body {
  std::optional<json> json_body;
  std::string error;
};

Body body_for(Op op, const StepCall& call, bool plan) {
  Body b;
  const std::string provider = call.param_text("provider", "A2A");
  const std::string point = call.param_text("recovery-point-type", "latest");
  json props = json::object();
  const auto details = [&]() -> std::optional<json> {
    json d{{"instanceType", provider}};
    if (plan) {
      if (provider == "HyperVReplicaAzureFailback" || provider == "InMageAzureV2") {
        b.error = call.action + ": provider " + provider + " is not supported on recovery plans by edgedr";
        return std::nullopt;
      }
      d["recoveryPointType"] = point_type_of(point);
      return json::array({d});
    }
    if (point != "latest") {
      b.error = call.action +
                ": recovery-point-type applies to recovery plans; a protected item fails over to "
                "its latest recovery point";
      return std::nullopt;
    }
    if (provider == "InMageRcmFailback") d["recoveryPointType"] = "Latest";
    return d;
  };
  switch (op) {
    case Op::failover: {
      props["failoverDirection"] = direction_of(call.param_text("direction", "primary-to-recovery"));
      if (call.param_text("mode", "unplanned") != "planned")
        props["sourceSiteOperations"] =
            call.param_text("source-site-operations", "not-required") == "required" ? "Required" : "NotRequired";
      auto d = details();
      if (!d) return b;
      // An item's planned failover takes provider input only from the providers that define one
      // (A2A has none: it fails over unplanned).
      const bool planned_item = !plan && call.param_text("mode", "unplanned") == "planned";
      if (!planned_item || provider == "InMageRcmFailback" || provider == "HyperVReplicaAzure")
        props["providerSpecificDetails"] = *d;
      break;
    }
    case Op::test_failover: {
      props["failoverDirection"] = direction_of(call.param_text("direction", "primary-to-recovery"));
      props["networkType"] = "VmNetworkAsInput";
      props["networkId"] = call.param_text("network");
      if (call.param_text("network").empty()) {
        b.error = call.action + " needs `network`, the ARM id of the test virtual network";
        return b;
      }
      auto d = details();
      if (!d) return b;
      props["providerSpecificDetails"] = *d;
      break;
    }
    case Op::cleanup: {
      const std::string comments = call.param_text("comments");
      if (comments.size() > 1024) {
        b.error = call.action + ": comments must be at most 1024 characters";
        return b;
      }
      if (!comments.empty()) props["comments"] = comments;
      break;
    }
    case Op::reprotect:
      props["failoverDirection"] = direction_of(call.param_text("direction", "recovery-to-primary"));
      props["providerSpecificDetails"] = json{{"instanceType", provider}};
      break;
    case Op::commit:
    case Op::cancel:
    case Op::health: return b;  // no body
  }
  b.json_body = json{{"properties", props}};
  return b;
}

// The plan or protected item a call names.
struct Subject {
  bool plan = false;
  std::string path;   // RP or RPI
  std::string label;  // "plan rp-line3", "item historian01"
  json body;
};

std::string id_part(const std::string& id, std::string_view marker) {
  return segment_after(id, marker);
}

bool in_list(const json& props, const char* key, const std::string& wanted) {
  const auto it = props.find(key);
  if (it == props.end() || !it->is_array()) return false;
  return std::any_of(it->begin(), it->end(),
                     [&](const json& v) { return v.is_string() && iequals(v.get<std::string>(), wanted); });
}

std::string joined(const json& props, const char* key) {
  std::string out;
  if (auto it = props.find(key); it != props.end() && it->is_array())
    for (const auto& v : *it)
      if (v.is_string()) out += (out.empty() ? "" : ", ") + v.get<std::string>();
  return out.empty() ? "none" : out;
}

bool job_active(const std::string& state) {
  const std::string s = lower(state);
  return s == "notstarted" || s == "inprogress" || s == "cancelling" || s == "other";
}

// One line from a job's errors (and its tasks' errors): code and message, no stack of details.
std::string job_errors(const json& job) {
  std::vector<std::string> lines;
  const auto collect = [&](const json& errors) {
    if (!errors.is_array()) return;
    for (const auto& e : errors) {
      std::string code = text_at(e, {"serviceErrorDetails", "code"});
      std::string message = text_at(e, {"serviceErrorDetails", "message"});
      if (message.empty()) message = text_at(e, {"providerErrorDetails", "errorMessage"});
      if (code.empty()) code = text_at(e, {"providerErrorDetails", "errorCode"});
      std::string line = code.empty() ? message : code + ": " + message;
      if (const std::string fix = text_at(e, {"serviceErrorDetails", "recommendedAction"}); !fix.empty())
        line += " (" + fix + ")";
      if (!line.empty() && std::find(lines.begin(), lines.end(), line) == lines.end()) lines.push_back(line);
    }
  };
  const json props = job.value("properties", json::object());
  if (props.contains("errors")) collect(props["errors"]);
  if (props.contains("tasks") && props["tasks"].is_array())
    for (const auto& t : props["tasks"])
      if (t.contains("errors")) collect(t["errors"]);
  std::string out;
  for (const auto& l : lines) out += (out.empty() ? "" : "; ") + l;
  for (char& c : out)
    if (c == '\n' || c == '\r') c = ' ';
  return out.empty() ? "the job reports no error details" : out;
}

std::string job_progress(const json& job) {
  const json props = job.value("properties", json::object());
  const json tasks = props.value("tasks", json::array());
  int done = 0, total = 0;
  std::string current;
  for (const auto& t : tasks) {
    ++total;
    const std::string state = lower(text_at(t, {"state"}));
    if (state == "succeeded" || state == "skipped") ++done;
    if (current.empty() && state == "inprogress") {
      current = text_at(t, {"friendlyName"});
      if (current.empty()) current = text_at(t, {"name"});
    }
  }
  std::string line = "job " + text_at(job, {"name"}) + " " + text_at(props, {"state"});
  if (total > 0) line += ", " + std::to_string(done) + "/" + std::to_string(total) + " tasks";
  if (!current.empty()) line += ": " + current;
  return line;
}

class SiteRecoveryAction final : public Action {
 public:
  SiteRecoveryAction(std::string name, std::shared_ptr<AzureContext> context)
      : name_(std::move(name)), op_(op_of(name_)), context_(std::move(context)) {}

  StepResult submit(const StepCall& call) override {
    const Resolved r = resolve(call);
    if (!r.error.empty()) return StepResult::fail(r.error, false);
    auto subject = find_subject(call, r);
    if (!subject) return subject.error();
    if (op_ == Op::health) return check_health(call, r, *subject);

    const Verb verb = verb_of(op_, call);
    if (op_ == Op::reprotect && subject->plan) return reprotect_plan_refused(*subject);
    const json props = subject->body.value("properties", json::object());
    if (props.contains("allowedOperations") && !in_list(props, "allowedOperations", verb.allowed))
      return StepResult::fail(verb.allowed + " is not allowed on " + subject->label +
                                  " now (allowed: " + joined(props, "allowedOperations") + "); " + state_text(props),
                              false);
    const Body body = body_for(op_, call, subject->plan);
    if (!body.error.empty()) return StepResult::fail(body.error, false);

    ArmRequest req = request(call, "POST", subject->path + "/" + verb.action, api(),
                             body.json_body ? std::optional<std::string>(body.json_body->dump()) : std::nullopt);
    // A lost answer may still have started a failover: do not send it twice, reconcile instead.
    req.retry_unsafe_on_transport_error = false;
    auto response = context_->arm->send(req);
    if (!response) return fail_from(response.error(), "POST " + verb.action + " on " + subject->label);
    if (response->status == 200 || response->status == 201 || response->status == 204) {
      // Finished at once: the answer is the plan or item itself.
      const json done = parse_object(response->body);
      return StepResult::ok({{"job-id", last_segment(text_at(done, {"properties", "currentScenario", "jobId"}))},
                             {"job-state", "Succeeded"}});
    }
    std::string job = segment_after(header_of(*response, "Location").value_or(""), "operationresults/");
    if (job.empty()) job = last_segment(header_of(*response, "Azure-AsyncOperation").value_or(""));
    if (job.empty())
      return StepResult::fail("POST " + verb.action + " on " + subject->label + " answered " +
                                  std::to_string(response->status) +
                                  " without a Location or Azure-AsyncOperation header naming its job; check the "
                                  "vault's Site Recovery jobs",
                              false);
    const auto every = std::chrono::duration_cast<std::chrono::seconds>(retry_after_of(*response, 30s)).count();
    Value handle = Value::map({{"job", Value::string(job)},
                               {"scenario", Value::string(verb.allowed)},
                               {"subject", Value::string(subject->path)},
                               {"poll-seconds", Value::integer(every)}});
    return StepResult::wait(handle, poll_delay(call, std::chrono::seconds(every)),
                            "job " + job + " started (" + verb.allowed + " on " + subject->label + ")");
  }

  StepResult poll(const StepCall& call, const Value& handle) override {
    const Resolved r = resolve(call);
    if (!r.error.empty()) return StepResult::fail(r.error, false);
    const std::string job = handle_text(handle, "job");
    if (job.empty()) return StepResult::fail("the step's handle names no Site Recovery job", false);
    auto body = get_json(*r.arm, call, r.base + "/replicationJobs/" + job, api());
    if (!body) return fail_from(body.error(), "reading Site Recovery job " + job);
    const json props = body->value("properties", json::object());
    const std::string state = text_at(props, {"state"});
    const std::string scenario = text_at(props, {"scenarioName"});
    const std::map<std::string, std::string> outputs{{"job-id", job}, {"job-state", state}};
    if (iequals(state, "Succeeded")) return StepResult::ok(outputs);
    if (iequals(state, "Failed") || iequals(state, "Cancelled") || iequals(state, "Canceled"))
      return StepResult::fail("Site Recovery job " + job + " (" + scenario + ") " + state + ": " + job_errors(*body),
                              false);
    if (op_ == Op::test_failover && test_failover_waiting(call, props, handle_text(handle, "subject")))
      return StepResult::ok(outputs);
    if (iequals(state, "Suspended"))
      return StepResult::fail("Site Recovery job " + job + " (" + scenario +
                                  ") is suspended, waiting for an operator: resume or cancel it in the vault",
                              false);
    const Duration every = std::chrono::seconds(handle_int(handle, "poll-seconds", 30));
    return StepResult::wait(handle, poll_delay(call, every), job_progress(*body));
  }

  Reconciliation reconcile(const StepCall& call) override {
    Reconciliation rec;
    rec.verdict = Reconciliation::Verdict::not_started;
    if (op_ == Op::health) return rec;
    const Resolved r = resolve(call);
    if (!r.error.empty()) return rec;  // submit reports it without side effects
    auto subject = find_subject(call, r);
    if (!subject) return operator_needed(subject.error().error + "; cannot tell whether " + name_ + " started");
    const Verb verb = verb_of(op_, call);
    const json props = subject->body.value("properties", json::object());
    const auto scenario_matches = [&](const std::string& s) {
      return std::find(verb.scenarios.begin(), verb.scenarios.end(), lower(s)) != verb.scenarios.end();
    };
    const auto recent = [&](const std::string& start) {
      const auto t = service_time(start);
      return t && *t >= reconcile_since(call);
    };
    const auto adopt = [&](const std::string& job) {
      Reconciliation a;
      a.verdict = Reconciliation::Verdict::adopted;
      a.handle = Value::map({{"job", Value::string(job)},
                             {"scenario", Value::string(verb.allowed)},
                             {"subject", Value::string(subject->path)},
                             {"poll-seconds", Value::integer(30)}});
      return a;
    };

    // The plan or item names the job it is busy with.
    const std::string current_job = last_segment(text_at(props, {"currentScenario", "jobId"}));
    if (!current_job.empty() && scenario_matches(text_at(props, {"currentScenario", "scenarioName"})) &&
        recent(text_at(props, {"currentScenario", "startTime"})))
      return adopt(current_job);

    auto jobs = list_json(*r.arm, call, r.base + "/replicationJobs", api());
    if (!jobs)
      return operator_needed("listing Site Recovery jobs failed (" + jobs.error().message + "); cannot tell whether " +
                             name_ + " started on " + subject->label);
    const std::string id = text_at(subject->body, {"id"});
    const std::string friendly = text_at(props, {"friendlyName"});
    const std::string short_name = text_at(subject->body, {"name"});
    std::vector<const json*> active, finished;
    for (const auto& j : *jobs) {
      const json jp = j.value("properties", json::object());
      if (!scenario_matches(text_at(jp, {"scenarioName"}))) continue;
      const std::string target_id = text_at(jp, {"targetObjectId"});
      const std::string target_name = text_at(jp, {"targetObjectName"});
      const bool same = (!id.empty() && iequals(target_id, id)) ||
                        (!short_name.empty() && (iequals(target_id, short_name) || iequals(target_name, short_name))) ||
                        (!friendly.empty() && iequals(target_name, friendly));
      if (!same) continue;
      if (job_active(text_at(jp, {"state"})))
        active.push_back(&j);
      else if (recent(text_at(jp, {"startTime"})))
        finished.push_back(&j);
    }
    if (active.size() > 1) {
      std::string names;
      for (const auto* j : active) names += (names.empty() ? "" : ", ") + text_at(*j, {"name"});
      return operator_needed(std::to_string(active.size()) + " " + verb.allowed + " jobs are running on " +
                             subject->label + " (" + names + "); decide which one this step is, then resume");
    }
    if (active.size() == 1) return adopt(text_at(*active.front(), {"name"}));
    if (!finished.empty()) {
      const auto newest = std::max_element(finished.begin(), finished.end(), [](const json* a, const json* b) {
        return text_at(*a, {"properties", "startTime"}) < text_at(*b, {"properties", "startTime"});
      });
      return adopt(text_at(**newest, {"name"}));
    }
    // No job: the subject's state tells whether the work already happened.
    if (!subject->plan && already_done(call, props)) {
      rec.verdict = Reconciliation::Verdict::finished;
      rec.result = StepResult::ok({{"job-id", current_job}, {"job-state", "Succeeded"}});
      return rec;
    }
    if (!props.contains("allowedOperations") || in_list(props, "allowedOperations", verb.allowed)) return rec;
    return operator_needed("no " + verb.allowed + " job found on " + subject->label + ", but " + verb.allowed +
                           " is not allowed now (allowed: " + joined(props, "allowedOperations") +
                           "); check the vault's Site Recovery jobs");
  }

  void cancel(const StepCall& call, const Value& handle) override {
    const Resolved r = resolve(call);
    const std::string job = handle_text(handle, "job");
    if (!r.error.empty() || job.empty()) return;
    ArmRequest req = request(call, "POST", r.base + "/replicationJobs/" + job + "/cancel", api());
    req.cancelled = nullptr;  // the run is stopping: this request is the point
    (void)context_->arm->send(req);
  }

  bool blocking() const override { return true; }
  bool read_only() const override { return op_ == Op::health; }

  std::vector<std::string> describe(const StepCall& call) const override {
    const Resolved r = resolve_target(*context_, call, "vault", kProvider, false);
    if (!r.error.empty()) return {r.error};
    std::vector<std::string> out;
    const bool plan = !call.param_text("plan").empty();
    std::string path;
    if (plan) {
      path = r.base + "/replicationRecoveryPlans/" + call.param_text("plan");
      out.push_back("GET " + full_url(r, path, api()));
    } else {
      const std::string item = call.param_text("item");
      if (std::count(item.begin(), item.end(), '/') == 2) {
        const auto a = item.find('/'), b = item.rfind('/');
        path = r.base + "/replicationFabrics/" + item.substr(0, a) + "/replicationProtectionContainers/" +
               item.substr(a + 1, b - a - 1) + "/replicationProtectedItems/" + item.substr(b + 1);
        out.push_back("GET " + full_url(r, path, api()));
      } else {
        out.push_back("GET " + full_url(r, r.base + "/replicationProtectedItems", api()) + " (find '" + item +
                      "' by friendly name)");
        path = r.base +
               "/replicationFabrics/{fabric}/replicationProtectionContainers/{container}/"
               "replicationProtectedItems/{item}";
      }
    }
    if (op_ == Op::health) {
      if (plan) out.push_back("GET each protected item of the plan's groups");
      return out;
    }
    const Verb verb = verb_of(op_, call);
    const Body body = body_for(op_, call, plan);
    if (!body.error.empty()) return {body.error};
    out.push_back("POST " + full_url(r, path + "/" + verb.action, api()) +
                  (body.json_body ? " " + body.json_body->dump() : std::string()));
    out.push_back("GET " + full_url(r, r.base + "/replicationJobs/{job}", api()) + " until the job " +
                  (op_ == Op::test_failover ? "waits for test failover cleanup" : "ends"));
    return out;
  }

 private:
  const std::string& api() const { return context_->api_versions.site_recovery; }
  Resolved resolve(const StepCall& call) const { return resolve_target(*context_, call, "vault", kProvider); }

  tl::expected<Subject, StepResult> find_subject(const StepCall& call, const Resolved& r) const {
    Subject s;
    const std::string plan = call.param_text("plan");
    const std::string item = call.param_text("item");
    if (plan.empty() == item.empty())
      return tl::unexpected(StepResult::fail(name_ + " needs exactly one of `plan` and `item`", false));
    if (!plan.empty()) {
      s.plan = true;
      s.path = r.base + "/replicationRecoveryPlans/" + plan;
      s.label = "recovery plan " + plan;
    } else if (std::count(item.begin(), item.end(), '/') == 2) {
      const auto a = item.find('/'), b = item.rfind('/');
      s.path = r.base + "/replicationFabrics/" + item.substr(0, a) + "/replicationProtectionContainers/" +
               item.substr(a + 1, b - a - 1) + "/replicationProtectedItems/" + item.substr(b + 1);
      s.label = "protected item " + item;
    } else {
      auto items = list_json(*r.arm, call, r.base + "/replicationProtectedItems", api());
      if (!items) return tl::unexpected(fail_from(items.error(), "listing protected items of vault " + r.name));
      std::vector<const json*> matches;
      std::string candidates;
      for (const auto& i : *items) {
        const std::string friendly = text_at(i, {"properties", "friendlyName"});
        candidates += (candidates.empty() ? "" : ", ") + friendly;
        if (iequals(friendly, item) || iequals(text_at(i, {"name"}), item)) matches.push_back(&i);
      }
      if (matches.empty())
        return tl::unexpected(StepResult::fail("vault " + r.name + " has no protected item named '" + item +
                                                   "' (items: " + (candidates.empty() ? "none" : candidates) + ")",
                                               false));
      const auto path_of = [&](const json& i) {
        const std::string id = text_at(i, {"id"});
        return r.base + "/replicationFabrics/" + id_part(id, "replicationFabrics/") +
               "/replicationProtectionContainers/" + id_part(id, "replicationProtectionContainers/") +
               "/replicationProtectedItems/" + id_part(id, "replicationProtectedItems/");
      };
      if (matches.size() > 1) {
        std::string which;
        for (const auto* m : matches) {
          const std::string id = text_at(*m, {"id"});
          which += (which.empty() ? "" : ", ") + id_part(id, "replicationFabrics/") + "/" +
                   id_part(id, "replicationProtectionContainers/") + "/" + id_part(id, "replicationProtectedItems/");
        }
        return tl::unexpected(StepResult::fail("'" + item + "' names " + std::to_string(matches.size()) +
                                                   " protected items in vault " + r.name + "; name one as " +
                                                   "FABRIC/CONTAINER/ITEM: " + which,
                                               false));
      }
      s.path = path_of(*matches.front());
      s.label = "protected item " + item;
      s.body = *matches.front();
      return s;
    }
    auto body = get_json(*r.arm, call, s.path, api());
    if (!body) return tl::unexpected(fail_from(body.error(), "reading " + s.label));
    s.body = std::move(*body);
    return s;
  }

  static std::string state_text(const json& props) {
    std::string out;
    for (const char* k :
         {"protectionStateDescription", "currentScenarioStatusDescription", "testFailoverStateDescription"})
      if (const std::string v = text_at(props, {k}); !v.empty() && !iequals(v, "None"))
        out += (out.empty() ? "" : ", ") + v;
    if (const std::string loc = text_at(props, {"activeLocation"}); !loc.empty())
      out += (out.empty() ? "" : ", ") + std::string("active location ") + loc;
    return out.empty() ? "check its state in the vault" : "state: " + out;
  }

  static StepResult reprotect_plan_refused(const Subject& s) {
    std::string items;
    for (const auto& g : s.body.value("properties", json::object()).value("groups", json::array()))
      for (const auto& i : g.value("replicationProtectedItems", json::array())) {
        const std::string id = text_at(i, {"id"});
        if (!id.empty()) items += (items.empty() ? "" : ", ") + last_segment(id);
      }
    return StepResult::fail("Site Recovery no longer supports reprotecting a whole recovery plan (" + s.label +
                                "); reprotect each protected item with `item:`, one step per item" +
                                (items.empty() ? std::string() : " (items: " + items + ")"),
                            false);
  }

  // A test failover never ends by itself: its job stays Suspended (WaitingForStopTestFailover)
  // and the item at testFailoverState WaitingForCompletion until cleanup. That is success.
  bool test_failover_waiting(const StepCall& call, const json& job, const std::string& subject) const {
    if (iequals(text_at(job, {"state"}), "Suspended")) return true;
    const std::string desc = lower(text_at(job, {"stateDescription"}));
    if (desc.find("waitingforstoptestfailover") != std::string::npos) return true;
    for (const auto& t : job.value("tasks", json::array()))
      if (iequals(text_at(t, {"state"}), "InProgress") &&
          lower(text_at(t, {"name"})).find("waitingforstoptestfailover") != std::string::npos)
        return true;
    if (subject.find("/replicationProtectedItems/") == std::string::npos) return false;
    // Reading the item is a second request per poll; a job still working through its tasks is
    // not waiting for the cleanup yet, so the item is read only once no task is left to run.
    for (const auto& t : job.value("tasks", json::array()))
      if (iequals(text_at(t, {"state"}), "InProgress") || iequals(text_at(t, {"state"}), "NotStarted")) return false;
    auto item = get_json(*context_->arm, call, subject, api());
    return item && iequals(text_at(*item, {"properties", "testFailoverState"}), "WaitingForCompletion");
  }

  bool already_done(const StepCall& call, const json& props) const {
    if (op_ == Op::failover) {
      const std::string where =
          call.param_text("direction", "primary-to-recovery") == "primary-to-recovery" ? "Recovery" : "Primary";
      return iequals(text_at(props, {"activeLocation"}), where);
    }
    if (op_ == Op::test_failover) return iequals(text_at(props, {"testFailoverState"}), "WaitingForCompletion");
    return false;
  }

  StepResult check_health(const StepCall& call, const Resolved& r, const Subject& s) const {
    const bool require_healthy = call.param_text("require-healthy", "true") != "false";
    const std::string allows = call.param_text("allows");
    const auto max_rpo = duration_param(call, "max-rpo");
    if (!max_rpo.error.empty()) return StepResult::fail(max_rpo.error, false);
    const json props = s.body.value("properties", json::object());
    std::vector<std::string> problems;
    if (!allows.empty() && !in_list(props, "allowedOperations", allows))
      problems.push_back(allows + " is not allowed on " + s.label + " (allowed: " + joined(props, "allowedOperations") +
                         ")");

    std::vector<std::pair<std::string, json>> items;  // label, item
    if (s.plan) {
      for (const auto& g : props.value("groups", json::array()))
        for (const auto& i : g.value("replicationProtectedItems", json::array())) {
          const std::string id = text_at(i, {"id"});
          if (id.empty()) continue;
          auto item = get_json(*r.arm, call, path_of_url(id), api());
          if (!item) return fail_from(item.error(), "reading protected item " + last_segment(id) + " of " + s.label);
          items.emplace_back(text_at(*item, {"properties", "friendlyName"}), *item);
        }
      if (items.empty()) problems.push_back(s.label + " has no protected items");
    } else {
      items.emplace_back(text_at(props, {"friendlyName"}), s.body);
    }

    std::string health = items.empty() ? "" : "Normal";
    std::optional<std::int64_t> worst_rpo;
    for (auto& [label, item] : items) {
      const json ip = item.value("properties", json::object());
      const std::string name = label.empty() ? text_at(item, {"name"}) : label;
      const std::string h = text_at(ip, {"replicationHealth"});
      if (!iequals(h, "Normal")) {
        if (iequals(health, "Normal")) health = h.empty() ? "unknown" : h;
        if (require_healthy) {
          std::string why;
          for (const auto& e : ip.value("healthErrors", json::array())) {
            const std::string m = text_at(e, {"errorMessage"});
            if (!m.empty()) why += (why.empty() ? "" : "; ") + m;
          }
          problems.push_back(name + ": replication health " + (h.empty() ? "unknown" : h) +
                             (why.empty() ? "" : " (" + why + ")"));
        }
      }
      // The RPO lives in the provider's details: A2A rpoInSeconds, InMageRcm lastRpoInSeconds.
      std::optional<std::int64_t> rpo = int_at(ip, {"providerSpecificDetails", "rpoInSeconds"});
      if (!rpo) rpo = int_at(ip, {"providerSpecificDetails", "lastRpoInSeconds"});
      if (rpo && (!worst_rpo || *rpo > *worst_rpo)) worst_rpo = rpo;
      if (max_rpo.value) {
        if (!rpo)
          problems.push_back(name + " reports no RPO (providerSpecificDetails has no rpoInSeconds)");
        else if (std::chrono::seconds(*rpo) > *max_rpo.value)
          problems.push_back(name + ": RPO " + format_duration(std::chrono::seconds(*rpo)) + " exceeds max-rpo " +
                             format_duration(*max_rpo.value));
      }
    }
    if (!problems.empty()) {
      std::string text;
      for (const auto& p : problems) text += (text.empty() ? "" : "; ") + p;
      return StepResult::fail(s.label + " is not ready: " + text);
    }
    return StepResult::ok({{"rpo", worst_rpo ? format_duration(std::chrono::seconds(*worst_rpo)) : std::string()},
                           {"replication-health", health}});
  }

  std::string name_;
  Op op_;
  std::shared_ptr<AzureContext> context_;
};

}  // namespace

std::shared_ptr<Action> make_site_recovery_action(std::string name, std::shared_ptr<AzureContext> context) {
  return std::make_shared<SiteRecoveryAction>(std::move(name), std::move(context));
}

}  // namespace dr::actions::az
