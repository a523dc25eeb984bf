// What the simulator's files share: the request as the services see it, their reply, and the
// state they read and change (under one mutex, taken by the server around each handler).
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "dr/sim.h"
#include "dr/text.h"

namespace dr::sim::detail {

using json = nlohmann::ordered_json;

struct Request {
  std::string method;
  std::string path;  // percent-decoded
  std::string query;
  std::multimap<std::string, std::string> params;  // query, decoded
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string original_url;  // X-Edgedr-Sim-Original-Url, when routed
  std::string origin;        // scheme://host[:port] the client addressed: for absolute URLs in replies

  std::optional<std::string> header(std::string_view name) const;
  std::string param(const std::string& name) const;
  bool has_param(const std::string& name) const { return params.count(name) > 0; }
};

struct Reply {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string content_type = "application/json; charset=utf-8";

  static Reply json_body(int status, const json& j);
};

// A request the services recognised: its operation name (for faults and the log), which ARM
// token bucket it draws from ("" for none: tokens, agents, probes) and the handler.
struct Routed {
  std::string operation;
  std::string bucket;                     // read | write | delete | ""
  std::string subscription;               // for the buckets
  bool arm = false;                       // needs an ARM bearer token and an api-version
  std::vector<std::string> api_versions;  // accepted, when arm
  std::function<Reply()> run;
};

struct TokenBucket {
  double tokens = 0;
  Clock::time_point at{};
  bool started = false;
};

struct State {
  World world;
  Clock& clock;
  mutable std::mutex mu;
  std::mt19937_64 rng;
  std::map<std::string, Clock::time_point> issued_tokens;  // token -> expiry (clock time)
  std::map<std::string, TokenBucket> buckets;              // "sub/read" -> bucket
  std::vector<LoggedRequest> log;

  State(World w, Clock& c) : world(std::move(w)), clock(c), rng(world.seed) {}
  std::string guid();
  Clock::time_point now() const { return clock.now(); }
  Clock::wall_time wall() const { return clock.wall(); }
};

// ---- helpers (server.cpp) ----
std::vector<std::string> split_path(const std::string& path);  // empty segments dropped
std::string iso_time(Clock::wall_time t);                      // 2026-11-23T09:26:38.1230000Z
std::string iso_duration(Duration d);                          // PT1M30S
Reply arm_error(int status, const std::string& code, const std::string& message);
std::optional<json> parse_json(const std::string& body);

// ---- services: each returns nullopt when the path is not its own ----
std::optional<Routed> route_traffic_manager(State& s, const Request& r, const std::vector<std::string>& seg);
std::optional<Routed> route_site_recovery(State& s, const Request& r, const std::vector<std::string>& seg);
std::optional<Routed> route_backup(State& s, const Request& r, const std::vector<std::string>& seg);
std::optional<Routed> route_tokens(State& s, const Request& r, const std::vector<std::string>& seg);
// `subpath` starts at "/v1/...".
Routed route_agent(State& s, const Request& r, Agent& agent, const std::string& subpath);

// The JSON of the world's runtime state (GET /_sim/world), service by service.
json world_state(State& s);
json tm_state(const State& s);
json asr_state(State& s);
json backup_state(State& s);
json agent_state(State& s);

}  // namespace dr::sim::detail
