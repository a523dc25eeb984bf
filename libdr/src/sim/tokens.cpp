// The Entra ID token endpoint (client credentials) and IMDS, as CONTRACTS.md §4 describes them.
// Tokens are opaque random strings the ARM side checks against what was issued here.
#include <httplib.h>

#include "sim/sim_internal.h"

namespace dr::sim::detail {
namespace {

std::multimap<std::string, std::string> parse_form(const std::string& body) {
  std::multimap<std::string, std::string> out;
  httplib::Params params;
  httplib::detail::parse_query_text(body, params);
  for (const auto& [k, v] : params) out.emplace(k, v);
  return out;
}

Reply oauth_error(int status, const std::string& error, const std::string& description) {
  return Reply::json_body(status, json{{"error", error},
                                       {"error_description", description},
                                       {"error_codes", json::array({900144})},
                                       {"trace_id", "00000000-0000-0000-0000-000000000000"},
                                       {"correlation_id", "00000000-0000-0000-0000-000000000000"}});
}

std::string issue(State& s) {
  const auto token = "simtok-" + s.guid() + s.guid();
  s.issued_tokens[token] = s.now() + s.world.token_lifetime;
  return token;
}

}  // namespace

std::optional<Routed> route_tokens(State& s, const Request& r, const std::vector<std::string>& seg) {
  // POST /{tenant}/oauth2/v2.0/token, or /{tenant}/oauth2/token (ADFS)
  const bool v2 = seg.size() == 4 && seg[1] == "oauth2" && seg[2] == "v2.0" && seg[3] == "token";
  const bool v1 = seg.size() == 3 && seg[1] == "oauth2" && seg[2] == "token";
  if ((v1 || v2) && r.method == "POST")
    return Routed{
        "token", "", "", false, {}, [&s, &r] {
          const auto form = parse_form(r.body);
          const auto get = [&](const char* k) {
            const auto it = form.find(k);
            return it == form.end() ? std::string() : it->second;
          };
          if (get("grant_type") != "client_credentials")
            return oauth_error(400, "unsupported_grant_type",
                               "AADSTS70003: The app requested an unsupported grant type '" + get("grant_type") + "'.");
          if (get("client_id").empty())
            return oauth_error(400, "invalid_request", "AADSTS900144: The request body must contain 'client_id'.");
          if (get("scope").empty() && get("resource").empty())
            return oauth_error(400, "invalid_request", "AADSTS900144: The request body must contain 'scope'.");
          if (get("client_secret").empty() && get("client_assertion").empty())
            return oauth_error(401, "invalid_client",
                               "AADSTS7000215: Invalid client secret provided (none was given).");
          if (!get("client_assertion").empty() &&
              get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
            return oauth_error(400, "invalid_request", "AADSTS50027: client_assertion_type must be jwt-bearer.");
          const auto secs = std::chrono::duration_cast<std::chrono::seconds>(s.world.token_lifetime).count();
          return Reply::json_body(200, json{{"token_type", "Bearer"},
                                            {"expires_in", secs},
                                            {"ext_expires_in", secs},
                                            {"access_token", issue(s)}});
        }};
  if (seg.size() == 4 && seg[0] == "metadata" && seg[1] == "identity" && seg[2] == "oauth2" && seg[3] == "token" &&
      r.method == "GET")
    return Routed{
        "imds", "", "", false, {}, [&s, &r] {
          if (r.header("Metadata") != std::optional<std::string>("true"))
            return Reply::json_body(400, json{{"error", "invalid_request"},
                                              {"error_description", "Required metadata header not specified"}});
          if (r.param("resource").empty())
            return Reply::json_body(400, json{{"error", "invalid_request"},
                                              {"error_description", "Required query variable 'resource' is missing"}});
          const auto secs = std::chrono::duration_cast<std::chrono::seconds>(s.world.token_lifetime).count();
          const auto on =
              std::chrono::duration_cast<std::chrono::seconds>((s.wall() + s.world.token_lifetime).time_since_epoch())
                  .count();
          const auto nbf = std::chrono::duration_cast<std::chrono::seconds>(s.wall().time_since_epoch()).count();
          // IMDS sends its numbers as strings.
          return Reply::json_body(200,
                                  json{{"access_token", issue(s)},
                                       {"client_id", r.param("client_id").empty() ? s.guid() : r.param("client_id")},
                                       {"expires_in", std::to_string(secs)},
                                       {"expires_on", std::to_string(on)},
                                       {"ext_expires_in", std::to_string(secs)},
                                       {"not_before", std::to_string(nbf)},
                                       {"resource", r.param("resource")},
                                       {"token_type", "Bearer"}});
        }};
  return std::nullopt;
}

}  // namespace dr::sim::detail
