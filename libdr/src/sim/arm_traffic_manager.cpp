// Traffic Manager profiles and endpoints (CONTRACTS.md §1): synchronous, no LRO. After a change an
// endpoint reads CheckingEndpoint for the world's probe-delay, then what the probes would find.
#include "sim/sim_internal.h"

namespace dr::sim::detail {
namespace {

const std::vector<std::string> kVersions = {"2026-09-01", "2022-04-01", "2018-08-01"};

std::string type_segment_camel(const std::string& type) {  // ExternalEndpoints -> externalEndpoints
  std::string t = type;
  if (!t.empty()) t[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(t[0])));
  return t;
}

std::string profile_id(const TmProfile& p, const std::string& sub) {
  return "/subscriptions/" + sub + "/resourceGroups/" + p.resource_group +
         "/providers/Microsoft.Network/trafficManagerProfiles/" + p.name;
}

std::string monitor_status(const State& s, const TmProfile& p, const TmEndpoint& e) {
  if (p.status == "Disabled") return "Inactive";
  if (e.status == "Disabled") return "Disabled";
  if (e.changed_at && s.now() < *e.changed_at + s.world.probe_delay) return "CheckingEndpoint";
  return e.healthy ? "Online" : "Degraded";
}

json endpoint_json(const State& s, const TmProfile& p, const TmEndpoint& e, const std::string& sub) {
  json props = json::object();
  if (e.type == "ExternalEndpoints")
    props["target"] = e.target;
  else
    props["targetResourceId"] = e.target;
  props["endpointStatus"] = e.status;
  if (e.weight) props["weight"] = *e.weight;
  if (e.priority) props["priority"] = *e.priority;
  if (!e.location.empty()) props["endpointLocation"] = e.location;
  props["endpointMonitorStatus"] = monitor_status(s, p, e);
  return {{"id", profile_id(p, sub) + "/" + type_segment_camel(e.type) + "/" + e.name},
          {"name", e.name},
          {"type", "Microsoft.Network/trafficManagerProfiles/" + type_segment_camel(e.type)},
          {"properties", props}};
}

json profile_json(const State& s, const TmProfile& p, const std::string& sub) {
  json eps = json::array();
  bool checking = false, any_online = false;
  for (const auto& e : p.endpoints) {
    eps.push_back(endpoint_json(s, p, e, sub));
    const auto m = monitor_status(s, p, e);
    checking = checking || m == "CheckingEndpoint";
    any_online = any_online || m == "Online";
  }
  const std::string pms = p.status == "Disabled" ? "Disabled"
                          : checking             ? "CheckingEndpoints"
                          : any_online           ? "Online"
                                                 : "Degraded";
  return {{"id", profile_id(p, sub)},
          {"name", p.name},
          {"type", "Microsoft.Network/trafficManagerProfiles"},
          {"location", "global"},
          {"tags", json::object()},
          {"properties",
           {{"profileStatus", p.status},
            {"trafficRoutingMethod", p.routing},
            {"dnsConfig", {{"relativeName", p.name}, {"fqdn", p.name + ".trafficmanager.net"}, {"ttl", p.ttl}}},
            {"monitorConfig",
             {{"profileMonitorStatus", pms},
              {"protocol", "HTTPS"},
              {"port", 443},
              {"path", "/health"},
              {"intervalInSeconds", 30},
              {"timeoutInSeconds", 10},
              {"toleratedNumberOfFailures", 3}}},
            {"endpoints", eps},
            {"recordType", nullptr}}}};
}

std::optional<std::string> endpoint_type_of(const std::string& seg) {
  for (const char* t : {"AzureEndpoints", "ExternalEndpoints", "NestedEndpoints"})
    if (iequals(seg, t)) return std::string(t);
  return std::nullopt;
}

// Applies `props` (an Endpoint's properties) to `e`; an error reply when a value is out of range.
std::optional<Reply> apply_endpoint(TmEndpoint& e, const json& props) {
  if (!props.is_object()) return arm_error(400, "BadRequest", "The request body must have an object 'properties'.");
  if (props.contains("endpointStatus")) {
    const auto st = props["endpointStatus"];
    if (!st.is_string() || (st != "Enabled" && st != "Disabled"))
      return arm_error(400, "BadRequest", "endpointStatus must be 'Enabled' or 'Disabled'.");
    e.status = st.get<std::string>();
  }
  for (const char* k : {"priority", "weight"})
    if (props.contains(k) && !props[k].is_null()) {
      if (!props[k].is_number_integer() || props[k].get<int>() < 1 || props[k].get<int>() > 1000)
        return arm_error(400, "BadRequest", std::string("The endpoint ") + k + " must be an integer from 1 to 1000.");
      (std::string(k) == "priority" ? e.priority : e.weight) = props[k].get<int>();
    }
  if (props.contains("target") && props["target"].is_string()) e.target = props["target"].get<std::string>();
  if (props.contains("targetResourceId") && props["targetResourceId"].is_string())
    e.target = props["targetResourceId"].get<std::string>();
  if (props.contains("endpointLocation") && props["endpointLocation"].is_string())
    e.location = props["endpointLocation"].get<std::string>();
  return std::nullopt;
}

std::optional<Reply> check_priorities(const TmProfile& p) {
  if (p.routing != "Priority") return std::nullopt;
  for (std::size_t i = 0; i < p.endpoints.size(); ++i)
    for (std::size_t j = i + 1; j < p.endpoints.size(); ++j)
      if (p.endpoints[i].priority && p.endpoints[i].priority == p.endpoints[j].priority)
        return arm_error(400, "BadRequest",
                         "Endpoint priorities must be unique within a profile: endpoints '" + p.endpoints[i].name +
                             "' and '" + p.endpoints[j].name + "' both have priority " +
                             std::to_string(*p.endpoints[i].priority) + ".");
  return std::nullopt;
}

}  // namespace

std::optional<Routed> route_traffic_manager(State& s, const Request& r, const std::vector<std::string>& seg) {
  // subscriptions/S/resourceGroups/RG/providers/Microsoft.Network/trafficmanagerprofiles/P[/TYPE/E]
  if (seg.size() < 8 || !iequals(seg[2], "resourceGroups") || !iequals(seg[4], "providers") ||
      !iequals(seg[5], "Microsoft.Network") || !iequals(seg[6], "trafficmanagerprofiles"))
    return std::nullopt;
  const auto sub = seg[1], rg = seg[3], pname = seg[7];
  const std::string bucket = r.method == "GET" ? "read" : r.method == "DELETE" ? "delete" : "write";
  const auto find_profile = [&s, rg, pname]() -> TmProfile* {
    for (auto& p : s.world.profiles)
      if (iequals(p.name, pname) && iequals(p.resource_group, rg)) return &p;
    return nullptr;
  };
  const auto not_found = [pname] {
    return arm_error(404, "NotFound",
                     "The resource 'Microsoft.Network/trafficManagerProfiles/" + pname + "' could not be found.");
  };

  if (seg.size() == 8) {
    const std::string op = r.method == "GET"     ? "Profiles_Get"
                           : r.method == "PATCH" ? "Profiles_Update"
                           : r.method == "PUT"   ? "Profiles_CreateOrUpdate"
                                                 : "Profiles_" + r.method;
    return Routed{op, bucket, sub, true, kVersions, [&s, &r, sub, rg, pname, find_profile, not_found] {
                    TmProfile* p = find_profile();
                    if (r.method == "GET") return p ? Reply::json_body(200, profile_json(s, *p, sub)) : not_found();
                    if (r.method != "PATCH" && r.method != "PUT")
                      return arm_error(405, "MethodNotAllowed", "The simulator serves GET, PATCH and PUT on profiles.");
                    const auto body = parse_json(r.body);
                    if (!body || !body->is_object())
                      return arm_error(400, "InvalidRequestContent", "The request body is not JSON.");
                    bool created = false;
                    if (!p) {
                      if (r.method == "PATCH") return not_found();
                      s.world.profiles.push_back({});
                      p = &s.world.profiles.back();
                      p->name = pname;
                      p->resource_group = rg;
                      created = true;
                    }
                    const json props = body->value("properties", json::object());
                    if (props.contains("profileStatus") && props["profileStatus"].is_string())
                      p->status = props["profileStatus"].get<std::string>();
                    if (props.contains("trafficRoutingMethod") && props["trafficRoutingMethod"].is_string())
                      p->routing = props["trafficRoutingMethod"].get<std::string>();
                    if (props.contains("dnsConfig") && props["dnsConfig"].contains("ttl"))
                      p->ttl = props["dnsConfig"]["ttl"].get<int>();
                    if (props.contains("endpoints") && props["endpoints"].is_array()) {
                      std::vector<TmEndpoint> eps;
                      for (const auto& je : props["endpoints"]) {
                        TmEndpoint e;
                        e.name = je.value("name", "");
                        const auto type = je.value("type", std::string("externalEndpoints"));
                        const auto slash = type.rfind('/');
                        if (auto t = endpoint_type_of(type.substr(slash == std::string::npos ? 0 : slash + 1)))
                          e.type = *t;
                        if (auto err = apply_endpoint(e, je.value("properties", json::object()))) return *err;
                        e.changed_at = s.now();
                        eps.push_back(e);
                      }
                      TmProfile check = *p;
                      check.endpoints = eps;
                      if (auto err = check_priorities(check)) return *err;
                      p->endpoints = eps;
                    }
                    return Reply::json_body(created ? 201 : 200, profile_json(s, *p, sub));
                  }};
  }
  if (seg.size() != 10) return std::nullopt;
  const auto type = endpoint_type_of(seg[8]);
  const auto ename = seg[9];
  const std::string op = r.method == "GET"      ? "Endpoints_Get"
                         : r.method == "PATCH"  ? "Endpoints_Update"
                         : r.method == "PUT"    ? "Endpoints_CreateOrUpdate"
                         : r.method == "DELETE" ? "Endpoints_Delete"
                                                : "Endpoints_" + r.method;
  return Routed{
      op, bucket, sub, true, kVersions, [&s, &r, sub, type, ename, seg, find_profile, not_found] {
        TmProfile* p = find_profile();
        if (!p) return not_found();
        if (!type)
          return arm_error(400, "BadRequest",
                           "'" + seg[8] +
                               "' is not an endpoint type: use AzureEndpoints, "
                               "ExternalEndpoints or NestedEndpoints.");
        auto it = std::find_if(p->endpoints.begin(), p->endpoints.end(),
                               [&](const TmEndpoint& e) { return iequals(e.name, ename) && e.type == *type; });
        const auto missing = [&] {
          return arm_error(
              404, "NotFound",
              "The endpoint '" + ename + "' of type '" + *type + "' was not found in profile '" + p->name + "'.");
        };
        if (r.method == "GET")
          return it == p->endpoints.end() ? missing() : Reply::json_body(200, endpoint_json(s, *p, *it, sub));
        if (r.method == "DELETE") {
          if (it == p->endpoints.end()) return Reply{204, {}, "", "application/json"};
          p->endpoints.erase(it);
          return Reply::json_body(200, json{{"boolean", true}});
        }
        if (r.method != "PATCH" && r.method != "PUT")
          return arm_error(405, "MethodNotAllowed", "The simulator serves GET, PATCH, PUT and DELETE on endpoints.");
        const auto body = parse_json(r.body);
        if (!body || !body->is_object())
          return arm_error(400, "InvalidRequestContent", "The request body is not JSON.");
        if (r.method == "PATCH" && it == p->endpoints.end()) return missing();
        TmEndpoint e = it == p->endpoints.end() ? TmEndpoint{} : *it;
        const bool created = it == p->endpoints.end();
        if (created) {
          e.name = ename;
          e.type = *type;
        }
        if (r.method == "PUT") {  // a full replacement: unset values are gone
          e.priority.reset();
          e.weight.reset();
          e.status = "Enabled";
        }
        if (auto err = apply_endpoint(e, body->value("properties", json::object()))) return *err;
        TmProfile check = *p;
        if (created)
          check.endpoints.push_back(e);
        else
          check.endpoints[static_cast<std::size_t>(it - p->endpoints.begin())] = e;
        if (auto err = check_priorities(check)) return *err;
        e.changed_at = s.now();
        if (created)
          p->endpoints.push_back(e);
        else
          *it = e;
        return Reply::json_body(created ? 201 : 200, endpoint_json(s, *p, e, sub));
      }};
}

json tm_state(const State& s) {
  json a = json::array();
  for (const auto& p : s.world.profiles)
    a.push_back(profile_json(s, p, p.subscription.empty() ? "{subscription}" : p.subscription));
  return a;
}

}  // namespace dr::sim::detail
