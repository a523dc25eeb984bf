// traffic-manager.*: synchronous PATCHes on one endpoint of a profile (CONTRACTS.md §1).
//
// Every changing action reads the endpoint first; capture() journals its status, priority,
// weight and type, and the built-in undo restores exactly those (not the opposite of what the
// runbook assumed). A PATCH sets an absolute value, so running one twice is harmless: reconcile
// reads the endpoint and calls the step finished when it already holds the value.
#include <set>

#include "actions/azure_action_support.h"

namespace dr::actions::az {
namespace {

using namespace std::chrono_literals;

constexpr const char* kProvider = "Microsoft.Network/trafficmanagerprofiles";

enum class Change { disable, enable, priority, weight, wait };

Change change_of(const std::string& name) {
  if (name == "traffic-manager.disable-endpoint") return Change::disable;
  if (name == "traffic-manager.enable-endpoint") return Change::enable;
  if (name == "traffic-manager.set-priority") return Change::priority;
  if (name == "traffic-manager.set-weight") return Change::weight;
  return Change::wait;
}

// The path segment for a type: the runbook's `azure`, ARM's `.../azureEndpoints` or `AzureEndpoints`.
std::string type_segment(std::string type) {
  type = lower(type.substr(type.rfind('/') == std::string::npos ? 0 : type.rfind('/') + 1));
  if (type.size() > 9 && type.compare(type.size() - 9, 9, "endpoints") == 0) type.resize(type.size() - 9);
  if (type == "azure") return "AzureEndpoints";
  if (type == "external") return "ExternalEndpoints";
  if (type == "nested") return "NestedEndpoints";
  return {};
}

struct Endpoint {
  std::string type;  // path segment, "ExternalEndpoints"
  std::string path;
  json body;
};

class TrafficManagerAction final : public Action {
 public:
  TrafficManagerAction(std::string name, std::shared_ptr<AzureContext> context)
      : name_(std::move(name)), change_(change_of(name_)), context_(std::move(context)) {}

  Value capture(const StepCall& call) override {
    if (change_ == Change::wait) return {};
    const Resolved r = resolve(call);
    if (!r.error.empty()) return {};
    auto ep = read_endpoint(call, r);
    if (!ep) return {};
    return prior_of(call, *ep);
  }

  StepResult submit(const StepCall& call) override {
    const Resolved r = resolve(call);
    if (!r.error.empty()) return StepResult::fail(r.error, false);
    auto ep = change_ == Change::wait ? read_endpoint(call, r) : captured_or_read(call, r);
    if (!ep) return ep.error();
    if (change_ == Change::wait) return check_monitor(call, *ep);

    const auto wanted = target_value(call);
    if (!wanted.error.empty()) return StepResult::fail(wanted.error, false);
    const auto outputs = previous_outputs(ep->body);
    if (change_ == Change::priority) {
      if (auto failed = set_priority(call, r, *ep, wanted.number)) return *failed;
      return StepResult::ok(outputs);
    }
    if (auto failed = patch(call, ep->path, patch_body(wanted))) return *failed;
    return StepResult::ok(outputs);
  }

  StepResult poll(const StepCall& call, const Value& handle) override {
    if (change_ != Change::wait) return Action::poll(call, handle);
    if (!call.param_text("endpoint-type").empty() || handle_text(handle, "endpoint-type").empty()) return submit(call);
    // The type found by the first read saves reading the profile on every poll.
    StepCall typed = call;
    typed.params.entries().emplace_back("endpoint-type", Value::string(handle_text(handle, "endpoint-type")));
    return submit(typed);
  }

  // A PATCH of an absolute value is idempotent: read the endpoint and decide.
  Reconciliation reconcile(const StepCall& call) override {
    Reconciliation rec;
    rec.verdict = Reconciliation::Verdict::not_started;
    if (change_ == Change::wait) return rec;
    const Resolved r = resolve(call);
    if (!r.error.empty()) return rec;  // submit will report it
    auto ep = read_endpoint(call, r);
    if (!ep) return operator_needed(ep.error().error + "; cannot tell whether " + name_ + " ran before the crash");
    const auto wanted = target_value(call);
    if (!wanted.error.empty()) return rec;
    const json& p = ep->body["properties"];
    const bool done = wanted.field == "endpointStatus"
                          ? iequals(text_at(p, {"endpointStatus"}), wanted.text)
                          : int_at(p, {wanted.field.c_str()}) == std::optional<std::int64_t>(wanted.number);
    if (!done) return rec;
    rec.verdict = Reconciliation::Verdict::finished;
    // The endpoint already holds the new value; the prior state is what capture() journaled.
    std::map<std::string, std::string> outputs;
    for (const char* k : {"status", "priority", "weight"}) {
      const std::string v = handle_text(call.captured, k);
      if (!v.empty()) outputs[std::string("previous-") + k] = v;
    }
    rec.result = StepResult::ok(outputs);
    return rec;
  }

  bool blocking() const override { return true; }
  bool read_only() const override { return change_ == Change::wait; }

  std::vector<std::string> describe(const StepCall& call) const override {
    const Resolved r = resolve_target(*context_, call, "profile", kProvider, false);
    if (!r.error.empty()) return {r.error};
    const std::string& api = context_->api_versions.traffic_manager;
    std::vector<std::string> out;
    std::string type = type_segment(call.param_text("endpoint-type"));
    if (type.empty() || change_ == Change::priority) {
      out.push_back("GET " + full_url(r, r.base, api) +
                    (change_ == Change::priority ? " (endpoints' priorities and types)" : " (the endpoint's type)"));
      if (type.empty()) type = "{endpointType}";
    }
    const std::string url = full_url(r, r.base + "/" + type + "/" + call.param_text("endpoint"), api);
    if (change_ == Change::wait) {
      out.push_back("GET " + url + " every " + call.param_text("interval", "10s") + " until endpointMonitorStatus is " +
                    call.param_text("status", "Online"));
      return out;
    }
    out.push_back("GET " + url + " (prior state for the undo)");
    const auto wanted = target_value(call);
    if (!wanted.error.empty()) return {wanted.error};
    if (change_ == Change::priority)
      out.push_back("(when another endpoint holds priority " + std::to_string(wanted.number) +
                    ": PATCH this endpoint to a free priority, PATCH the other to this one's old priority)");
    out.push_back("PATCH " + url + " " + patch_body(wanted));
    return out;
  }

 private:
  struct Wanted {
    std::string field;  // endpointStatus, priority, weight
    std::string text;   // endpointStatus
    std::int64_t number = 0;
    std::string error;
  };

  Resolved resolve(const StepCall& call) const { return resolve_target(*context_, call, "profile", kProvider); }

  // The value this call sets. An undo restores what the forward step's capture() recorded for
  // this endpoint; otherwise the runbook's parameter (or the action's own status) applies.
  Wanted target_value(const StepCall& call) const {
    Wanted w;
    const bool restore = call.is_undo && iequals(handle_text(call.captured, "endpoint"), call.param_text("endpoint"));
    const auto captured_int = [&](const char* key) -> std::optional<std::int64_t> {
      const Value* v = call.captured.find(key);
      if (restore && v && v->kind() == Value::Kind::integer) return v->as_int();
      return std::nullopt;
    };
    switch (change_) {
      case Change::disable:
      case Change::enable: {
        w.field = "endpointStatus";
        w.text = change_ == Change::disable ? "Disabled" : "Enabled";
        const std::string prior = restore ? handle_text(call.captured, "status") : std::string();
        if (iequals(prior, "Enabled") || iequals(prior, "Disabled"))
          w.text = iequals(prior, "Enabled") ? "Enabled" : "Disabled";
        return w;
      }
      case Change::priority:
      case Change::weight: {
        const char* key = change_ == Change::priority ? "priority" : "weight";
        w.field = key;
        if (auto prior = captured_int(key)) {
          w.number = *prior;
          return w;
        }
        if (call.is_undo && restore) {
          w.error = name_ + ": nothing to restore: the endpoint had no " + key + " before the step";
          return w;
        }
        const Value* v = call.param(key);
        if (!v || v->kind() != Value::Kind::integer || v->as_int() < 1 || v->as_int() > 1000) {
          w.error = name_ + " needs `" + key + "`, a whole number from 1 to 1000";
          return w;
        }
        w.number = v->as_int();
        return w;
      }
      case Change::wait: break;
    }
    return w;
  }

  static std::string patch_body(const Wanted& w) {
    json body;
    if (w.field == "endpointStatus")
      body["properties"]["endpointStatus"] = w.text;
    else
      body["properties"][w.field] = w.number;
    return body.dump();
  }

  tl::expected<json, StepResult> get_profile(const StepCall& call, const Resolved& r) const {
    auto profile = get_json(*r.arm, call, r.base, context_->api_versions.traffic_manager);
    if (!profile) return tl::unexpected(fail_from(profile.error(), "reading profile " + r.name));
    return *profile;
  }

  tl::expected<Endpoint, StepResult> read_endpoint(const StepCall& call, const Resolved& r) const {
    const std::string name = call.param_text("endpoint");
    Endpoint ep;
    ep.type = type_segment(call.param_text("endpoint-type"));
    if (ep.type.empty()) {
      auto profile = get_profile(call, r);
      if (!profile) return tl::unexpected(profile.error());
      std::vector<std::string> names;
      const json* endpoints = nullptr;
      if (auto p = profile->find("properties"); p != profile->end() && p->is_object())
        if (auto e = p->find("endpoints"); e != p->end() && e->is_array()) endpoints = &*e;
      if (endpoints) {
        for (const auto& e : *endpoints) {
          const std::string n = text_at(e, {"name"});
          names.push_back(n);
          if (iequals(n, name)) ep.type = type_segment(text_at(e, {"type"}));
        }
      }
      if (ep.type.empty()) {
        std::string list;
        for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
        return tl::unexpected(StepResult::fail("profile " + r.name + " has no endpoint '" + name + "'" +
                                                   (list.empty() ? std::string(" (it has none)") : "; it has: " + list),
                                               false));
      }
    }
    ep.path = r.base + "/" + ep.type + "/" + name;
    auto body = get_json(*r.arm, call, ep.path, context_->api_versions.traffic_manager);
    if (!body) return tl::unexpected(fail_from(body.error(), "reading endpoint " + name));
    ep.body = std::move(*body);
    if (!ep.body.contains("properties") || !ep.body["properties"].is_object()) ep.body["properties"] = json::object();
    return ep;
  }

  // capture() has just read the endpoint for the journal; reading it again in the same attempt
  // would cost every step a second read, and ARM's read bucket (25/s) then paces a large runbook
  // below its write bucket. A later attempt or an undo reads afresh.
  tl::expected<Endpoint, StepResult> captured_or_read(const StepCall& call, const Resolved& r) const {
    const std::string name = call.param_text("endpoint");
    const std::string type = handle_text(call.captured, "endpoint-type");
    if (call.is_undo || call.attempt != 1 || type.empty() || !iequals(handle_text(call.captured, "endpoint"), name))
      return read_endpoint(call, r);
    Endpoint ep;
    ep.type = type;
    ep.path = r.base + "/" + type + "/" + name;
    json p = json::object();
    if (const std::string status = handle_text(call.captured, "status"); !status.empty()) p["endpointStatus"] = status;
    for (const char* k : {"priority", "weight"})
      if (const Value* v = call.captured.find(k); v && v->kind() == Value::Kind::integer) p[k] = v->as_int();
    ep.body = json{{"properties", p}};
    return ep;
  }

  Value prior_of(const StepCall& call, const Endpoint& ep) const {
    const json& p = ep.body["properties"];
    std::vector<Value::Entry> entries{{"endpoint", Value::string(call.param_text("endpoint"))},
                                      {"endpoint-type", Value::string(ep.type)},
                                      {"status", Value::string(text_at(p, {"endpointStatus"}))}};
    if (auto v = int_at(p, {"priority"})) entries.emplace_back("priority", Value::integer(*v));
    if (auto v = int_at(p, {"weight"})) entries.emplace_back("weight", Value::integer(*v));
    return Value::map(std::move(entries));
  }

  static std::map<std::string, std::string> previous_outputs(const json& body) {
    const json& p = body["properties"];
    return {{"previous-status", text_at(p, {"endpointStatus"})},
            {"previous-priority", text_at(p, {"priority"})},
            {"previous-weight", text_at(p, {"weight"})}};
  }

  std::optional<StepResult> patch(const StepCall& call, const std::string& path, const std::string& body) const {
    auto response = context_->arm->send(request(call, "PATCH", path, context_->api_versions.traffic_manager, body));
    if (!response) return fail_from(response.error(), "PATCH " + path);
    return std::nullopt;
  }

  // Priorities must stay unique and ARM checks each request, so when another endpoint holds the
  // wanted priority the two are swapped through a free value: this -> free, other -> this one's
  // old priority, this -> wanted. The undo (the same action with the captured priority) swaps
  // them back the same way.
  std::optional<StepResult> set_priority(const StepCall& call, const Resolved& r, const Endpoint& ep,
                                         std::int64_t wanted) const {
    if (int_at(ep.body["properties"], {"priority"}) == wanted) return std::nullopt;
    auto profile = get_profile(call, r);
    if (!profile) return profile.error();
    const std::string name = call.param_text("endpoint");
    std::set<std::int64_t> used;
    std::optional<Endpoint> holder;
    auto current = int_at(ep.body["properties"], {"priority"});
    if (const json* endpoints = profile->contains("properties") ? &(*profile)["properties"] : nullptr;
        endpoints && endpoints->contains("endpoints") && (*endpoints)["endpoints"].is_array()) {
      for (const auto& e : (*endpoints)["endpoints"]) {
        const auto pr = int_at(e, {"properties", "priority"});
        if (pr) used.insert(*pr);
        if (iequals(text_at(e, {"name"}), name)) current = pr;  // fresher than a captured read
        if (pr == wanted && !iequals(text_at(e, {"name"}), name)) {
          Endpoint h;
          h.type = type_segment(text_at(e, {"type"}));
          if (h.type.empty()) h.type = ep.type;
          h.path = r.base + "/" + h.type + "/" + text_at(e, {"name"});
          h.body = e;
          holder = std::move(h);
        }
      }
    }
    if (current == wanted) return std::nullopt;
    const auto body_of = [](std::int64_t p) { return json{{"properties", {{"priority", p}}}}.dump(); };
    if (!holder) return patch(call, ep.path, body_of(wanted));
    if (!current)
      return StepResult::fail("endpoint " + text_at(holder->body, {"name"}) + " already has priority " +
                                  std::to_string(wanted) + " and " + name +
                                  " has none to swap with it; set the other endpoint's priority first",
                              false);
    std::int64_t free = 1000;
    while (free >= 1 && used.count(free)) --free;
    if (free < 1) return StepResult::fail("profile " + r.name + " has no free priority to swap through", false);
    if (auto failed = patch(call, ep.path, body_of(free))) return failed;
    if (auto failed = patch(call, holder->path, body_of(*current))) return failed;
    return patch(call, ep.path, body_of(wanted));
  }

  StepResult check_monitor(const StepCall& call, const Endpoint& ep) const {
    const std::string wanted = call.param_text("status", "Online");
    const std::string seen = text_at(ep.body["properties"], {"endpointMonitorStatus"});
    if (iequals(seen, wanted)) return StepResult::ok({{"status", seen}});
    const auto interval = duration_param(call, "interval");
    if (!interval.error.empty()) return StepResult::fail(interval.error, false);
    if (deadline_passed(call))
      return StepResult::fail("endpoint " + call.param_text("endpoint") + " is " + (seen.empty() ? "unknown" : seen) +
                              ", not " + wanted + ", at the step's timeout");
    // CheckingEndpoint means the probes have not run yet: not a failure, just not yet.
    return StepResult::wait(Value::map({{"endpoint-type", Value::string(ep.type)}}),
                            poll_delay(call, interval.value.value_or(10s)),
                            "endpoint " + call.param_text("endpoint") + " is " + (seen.empty() ? "unknown" : seen) +
                                ", waiting for " + wanted);
  }

  std::string name_;
  Change change_;
  std::shared_ptr<AzureContext> context_;
};

}  // namespace

std::shared_ptr<Action> make_traffic_manager_action(std::string name, std::shared_ptr<AzureContext> context) {
  return std::make_shared<TrafficManagerAction>(std::move(name), std::move(context));
}

}  // namespace dr::actions::az
