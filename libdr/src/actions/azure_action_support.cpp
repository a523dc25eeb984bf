#include "actions/azure_action_support.h"

#include <algorithm>
#include <cctype>

namespace dr::actions::az {

using namespace std::chrono_literals;

Resolved resolve_target(const AzureContext& context, const StepCall& call, const char* name_field, const char* provider,
                        bool need_arm) {
  Resolved r;
  r.arm = context.arm.get();
  r.endpoint = context.arm_endpoint.empty() ? "https://management.azure.com" : context.arm_endpoint;
  while (!r.endpoint.empty() && r.endpoint.back() == '/') r.endpoint.pop_back();
  const std::string target = call.param_text("target");
  const auto it = context.targets.find(target);
  if (it == context.targets.end()) {
    r.error = call.action + ": target '" + target + "' is not among the runbook's Azure targets";
    return r;
  }
  const Value& fields = it->second;
  const auto field = [&](const char* key) {
    const Value* v = fields.find(key);
    return v && v->is_scalar() && !v->is_null() ? v->to_text() : std::string();
  };
  r.subscription = field("subscription");
  if (r.subscription.empty()) r.subscription = context.subscription;
  r.resource_group = field("resource-group");
  r.name = field(name_field);
  if (r.resource_group.empty() || r.name.empty()) {
    r.error = call.action + ": target '" + target + "' needs resource-group and " + name_field;
    return r;
  }
  if (need_arm && !r.arm) {
    r.error = call.action + ": no Azure client: " +
              (context.setup_error.empty() ? std::string("the runbook has no `azure:` settings") : context.setup_error);
    return r;
  }
  if (r.subscription.empty() && need_arm) {
    r.error = call.action + ": no Azure subscription (set azure.subscription in the runbook)";
    return r;
  }
  r.base = "/subscriptions/" + (r.subscription.empty() ? std::string("{subscription}") : r.subscription) +
           "/resourceGroups/" + r.resource_group + "/providers/" + provider + "/" + r.name;
  return r;
}

std::string full_url(const Resolved& r, const std::string& path, const std::string& api_version) {
  if (path.rfind("https://", 0) == 0 || path.rfind("http://", 0) == 0) return path;
  return r.endpoint + path + "?api-version=" + api_version;
}

ArmRequest request(const StepCall& call, std::string method, std::string path, std::string api_version,
                   std::optional<std::string> body) {
  ArmRequest req;
  req.method = std::move(method);
  req.path = std::move(path);
  req.api_version = std::move(api_version);
  req.body = std::move(body);
  req.deadline = call.deadline;
  req.cancelled = call.cancelled;
  return req;
}

json parse_object(std::string_view text) {
  auto j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return json::object();
  return j;
}

tl::expected<json, ArmError> get_json(Arm& arm, const StepCall& call, const std::string& path,
                                      const std::string& api_version) {
  auto response = arm.send(request(call, "GET", path, api_version));
  if (!response) return tl::unexpected(response.error());
  auto j = json::parse(response->body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    ArmError e;
    e.status = response->status;
    e.message = "GET " + path + ": the answer is not a JSON object (request id " +
                (response->request_id.empty() ? "none" : response->request_id) + ")";
    e.retryable = true;
    return tl::unexpected(e);
  }
  return j;
}

tl::expected<std::vector<json>, ArmError> list_json(Arm& arm, const StepCall& call, const std::string& path,
                                                    const std::string& api_version) {
  auto items = arm.list(path, api_version, call.deadline);
  if (!items) return tl::unexpected(items.error());
  std::vector<json> out;
  for (const auto& text : *items) {
    auto j = json::parse(text, nullptr, false);
    if (!j.is_discarded() && j.is_object()) out.push_back(std::move(j));
  }
  return out;
}

namespace {
const json* node_at(const json& j, std::initializer_list<const char*> path) {
  const json* cur = &j;
  for (const char* key : path) {
    if (!cur->is_object()) return nullptr;
    auto it = cur->find(key);
    if (it == cur->end()) return nullptr;
    cur = &*it;
  }
  return cur;
}
}  // namespace

std::string text_at(const json& j, std::initializer_list<const char*> path) {
  const json* n = node_at(j, path);
  if (!n || n->is_null()) return {};
  if (n->is_string()) return n->get<std::string>();
  if (n->is_number() || n->is_boolean()) return n->dump();
  return {};
}

std::optional<std::int64_t> int_at(const json& j, std::initializer_list<const char*> path) {
  const json* n = node_at(j, path);
  if (!n) return std::nullopt;
  if (n->is_number_integer()) return n->get<std::int64_t>();
  if (n->is_number()) return static_cast<std::int64_t>(n->get<double>());
  if (n->is_string()) {
    const std::string s = n->get<std::string>();
    if (!s.empty() && s.find_first_not_of("0123456789") == std::string::npos && s.size() < 18) return std::stoll(s);
  }
  return std::nullopt;
}

std::optional<std::string> header_of(const ArmResponse& response, std::string_view name) {
  for (const auto& [k, v] : response.headers)
    if (iequals(k, name)) return v;
  return std::nullopt;
}

Duration retry_after_of(const ArmResponse& response, Duration fallback) {
  const auto h = header_of(response, "Retry-After");
  if (!h || h->empty() || h->size() > 6 || h->find_first_not_of("0123456789") != std::string::npos) return fallback;
  return std::chrono::seconds(std::stoi(*h));
}

std::string path_of_url(const std::string& url) {
  std::string u = url.substr(0, url.find('?'));
  const auto at = lower(u).find("/subscriptions/");
  return at == std::string::npos ? u : u.substr(at);
}

std::string segment_after(const std::string& url, std::string_view marker) {
  const auto at = lower(url).find(lower(marker));
  if (at == std::string::npos) return {};
  const auto start = at + marker.size();
  const auto end = url.find_first_of("?/", start);
  return url.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

std::string last_segment(const std::string& url) {
  std::string u = url.substr(0, url.find('?'));
  while (!u.empty() && u.back() == '/') u.pop_back();
  const auto slash = u.rfind('/');
  return slash == std::string::npos ? u : u.substr(slash + 1);
}

StepResult fail_from(const ArmError& e, const std::string& what) {
  std::string message = what.empty() ? e.message : what + ": " + e.message;
  bool retryable = e.retryable;
  if (e.kind == ArmError::Kind::auth) retryable = false;
  if (e.kind == ArmError::Kind::http && e.status >= 400 && e.status < 500 && e.status != 408 && e.status != 409 &&
      e.status != 429)
    retryable = false;
  if (e.kind == ArmError::Kind::auth) message += " (check the credential's role assignments on the resource)";
  StepResult r = StepResult::fail(std::move(message), retryable);
  r.ambiguous = e.ambiguous;
  if (e.kind == ArmError::Kind::auth || (e.kind == ArmError::Kind::http && (e.status == 401 || e.status == 403)))
    r.cause = StepResult::Cause::auth;
  else if (e.kind == ArmError::Kind::http && e.status == 404)
    r.cause = StepResult::Cause::not_found;
  return r;
}

Reconciliation operator_needed(std::string reason) {
  Reconciliation r;
  r.verdict = Reconciliation::Verdict::operator_needed;
  r.reason = std::move(reason);
  return r;
}

std::string handle_text(const Value& handle, std::string_view key) {
  const Value* v = handle.find(key);
  return v && v->is_scalar() && !v->is_null() ? v->to_text() : std::string();
}

std::int64_t handle_int(const Value& handle, std::string_view key, std::int64_t fallback) {
  const Value* v = handle.find(key);
  return v && v->kind() == Value::Kind::integer ? v->as_int() : fallback;
}

std::optional<Clock::wall_time> service_time(const std::string& text) {
  if (auto t = parse_rfc3339(text)) return t;
  // Some services leave the zone out; their times are UTC.
  if (!text.empty() && text.find_first_of("Zz+", 19) == std::string::npos) return parse_rfc3339(text + "Z");
  return std::nullopt;
}

Clock::wall_time reconcile_since(const StepCall& call) {
  using namespace std::chrono_literals;
  if (call.intent_wall != Clock::wall_time{}) return call.intent_wall - 5min;
  return clock_of(call).wall() - 1h;
}

}  // namespace dr::actions::az
