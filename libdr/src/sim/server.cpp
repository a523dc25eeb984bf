// The simulator's HTTP face: one cpp-httplib server on loopback. Each request is recognised
// (operation name, bucket), then faults, ARM authentication, api-version and token buckets are
// applied in that order, then the service answers. Everything is logged.
#include <httplib.h>

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <iomanip>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "dr/http.h"
#include "dr/sha256.h"
#include "sim/sim_internal.h"

namespace dr::sim {
namespace detail {

std::optional<std::string> Request::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (iequals(k, name)) return v;
  return std::nullopt;
}

std::string Request::param(const std::string& name) const {
  const auto it = params.find(name);
  return it == params.end() ? std::string() : it->second;
}

Reply Reply::json_body(int status, const json& j) {
  Reply r;
  r.status = status;
  r.body = j.dump();
  return r;
}

std::string State::guid() {
  std::uniform_int_distribution<int> hex(0, 15);
  std::string g = "xxxxxxxx-xxxx-4xxx-8xxx-xxxxxxxxxxxx";
  for (auto& c : g)
    if (c == 'x') c = "0123456789abcdef"[hex(rng)];
  return g;
}

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : path) {
    if (c == '/') {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

std::string iso_time(Clock::wall_time t) {
  // ARM writes seven fractional digits; format_rfc3339 gives three.
  auto s = format_rfc3339(t);
  if (!s.empty() && s.back() == 'Z') s.insert(s.size() - 1, "0000");
  return s;
}

std::string iso_duration(Duration d) {
  const auto ms = std::max<long long>(0, d.count());
  std::ostringstream os;
  os << "PT";
  if (ms >= 3600000) os << ms / 3600000 << "H";
  if (ms % 3600000 >= 60000) os << (ms % 3600000) / 60000 << "M";
  os << std::fixed << std::setprecision(3) << static_cast<double>(ms % 60000) / 1000.0 << "S";
  return os.str();
}

Reply arm_error(int status, const std::string& code, const std::string& message) {
  return Reply::json_body(status, json{{"error", {{"code", code}, {"message", message}}}});
}

std::optional<json> parse_json(const std::string& body) {
  auto j = json::parse(body, nullptr, false);
  if (j.is_discarded()) return std::nullopt;
  return j;
}

}  // namespace detail

using namespace detail;

namespace {

bool is_loopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host == "[::1]" || host.rfind("127.", 0) == 0;
}

// scheme://host[:port] of an absolute URL, lower-cased; default ports dropped.
std::string origin(const std::string& url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return {};
  const auto host_end = url.find_first_of("/?#", scheme_end + 3);
  auto o = lower(url.substr(0, host_end));
  if (o.rfind("https://", 0) == 0 && o.size() > 4 && o.compare(o.size() - 4, 4, ":443") == 0) o.resize(o.size() - 4);
  if (o.rfind("http://", 0) == 0 && o.size() > 3 && o.compare(o.size() - 3, 3, ":80") == 0) o.resize(o.size() - 3);
  return o;
}

std::string path_of(const std::string& url) {
  const auto scheme_end = url.find("://");
  const auto start = url.find('/', scheme_end == std::string::npos ? 0 : scheme_end + 3);
  if (start == std::string::npos) return "/";
  return url.substr(start, url.find_first_of("?#", start) - start);
}

const std::vector<std::string> kSelectedHeaders = {"Content-Type",
                                                   "Idempotency-Key",
                                                   "x-ms-client-request-id",
                                                   "x-ms-correlation-request-id",
                                                   "Metadata",
                                                   "Authorization",
                                                   "If-Match",
                                                   "User-Agent"};

}  // namespace

struct Simulator::Impl {
  State state;
  httplib::Server server;
  std::thread thread;
  std::string base;

  Impl(World w, Clock& clock) : state(std::move(w), clock) {
    // Recovery points written relative to the epoch (the derived ones) are placed before now.
    const auto wall = clock.wall();
    for (auto& v : state.world.backup_vaults)
      for (auto& it : v.items)
        for (auto& rp : it.recovery_points)
          if (rp.time < Clock::wall_time{} + std::chrono::hours(24 * 365))
            rp.time = wall + (rp.time - Clock::wall_time{});
  }

  void handle(const httplib::Request& hreq, httplib::Response& hres);
  Routed route(Request& r);
  std::optional<FaultRule> fault_for(const Request& r, const Routed& routed);
  std::optional<Reply> authenticate(const Request& r, const Routed& routed);
  std::optional<Reply> take_token(const Routed& routed, Reply& ok_headers);
  void wait(Duration d);
  Reply probe(const Request& r);
};

void Simulator::Impl::wait(Duration d) {
  if (d <= Duration::zero()) return;
  std::mutex m;
  std::condition_variable cv;
  std::unique_lock lock(m);
  state.clock.wait_until(state.clock.now() + d, cv, lock, [] { return false; });
}

Routed Simulator::Impl::route(Request& r) {
  const auto seg = split_path(r.path);
  // Internal endpoints first; they are only served to direct (not routed) requests.
  if (r.original_url.empty() && !seg.empty() && seg[0] == "_sim") {
    if (seg.size() == 2 && seg[1] == "requests")
      return {"_sim.requests", "", "", false, {}, [this] {
                json a = json::array();
                for (const auto& l : state.log) {
                  json h = json::object();
                  for (const auto& [k, v] : l.headers) h[k] = v;
                  a.push_back({{"time", iso_time(l.time)},
                               {"method", l.method},
                               {"path", l.path},
                               {"query", l.query},
                               {"operation", l.operation},
                               {"original-url", l.original_url},
                               {"headers", h},
                               {"body-sha256", l.body_sha256},
                               {"status", l.status},
                               {"fault", l.fault}});
                }
                return Reply::json_body(200, a);
              }};
    if (seg.size() == 2 && seg[1] == "world")
      return {"_sim.world", "", "", false, {}, [this] { return Reply::json_body(200, world_state(state)); }};
  }
  // Agents: a routed request to an agent's origin, or /agents/{name}/v1/... directly.
  if (!r.original_url.empty()) {
    const auto o = origin(r.original_url);
    for (auto& a : state.world.agents)
      if (!a.url.empty() && origin(a.url) == o) return route_agent(state, r, a, path_of(r.original_url));
  }
  if (seg.size() >= 3 && seg[0] == "agents" && seg[2] == "v1")
    for (auto& a : state.world.agents)
      if (a.name == seg[1]) return route_agent(state, r, a, r.path.substr(r.path.find("/v1")));
  // A routed request to a probe URL the world names.
  if (!r.original_url.empty())
    for (const auto& p : state.world.probes)
      if (p.url == r.original_url ||
          (!p.url.empty() && p.url.back() == '*' && r.original_url.rfind(p.url.substr(0, p.url.size() - 1), 0) == 0))
        return {"probe", "", "", false, {}, [this, &r] { return probe(r); }};
  if (auto t = route_tokens(state, r, seg)) return *t;
  if (seg.size() >= 2 && iequals(seg[0], "subscriptions")) {
    if (auto x = route_traffic_manager(state, r, seg)) return *x;
    if (auto x = route_site_recovery(state, r, seg)) return *x;
    if (auto x = route_backup(state, r, seg)) return *x;
    const std::string bucket = r.method == "GET" ? "read" : r.method == "DELETE" ? "delete" : "write";
    return {"arm.unknown", bucket, seg[1], true, {}, [&r] {
              return arm_error(404, "ResourceNotFound",
                               "The simulator has no resource or operation at '" + r.method + " " + r.path + "'.");
            }};
  }
  // Anything else that was routed is a probe of a URL the world does not name: healthy.
  if (!r.original_url.empty()) return {"probe", "", "", false, {}, [this, &r] { return probe(r); }};
  return {"unknown", "", "", false, {}, [&r] {
            return arm_error(404, "NotFound", "The simulator does not serve '" + r.method + " " + r.path + "'.");
          }};
}

Reply Simulator::Impl::probe(const Request& r) {
  Reply out;
  out.status = 200;
  out.body = "ok";
  out.content_type = "text/plain";
  for (const auto& p : state.world.probes)
    if (p.url == r.original_url ||
        (!p.url.empty() && p.url.back() == '*' && r.original_url.rfind(p.url.substr(0, p.url.size() - 1), 0) == 0)) {
      out.status = p.status;
      out.body = p.body;
      break;
    }
  return out;
}

std::optional<FaultRule> Simulator::Impl::fault_for(const Request& r, const Routed& routed) {
  for (auto& f : state.world.faults) {
    if (!f.method.empty() && !iequals(f.method, r.method)) continue;
    if (!f.operation.empty() && !iequals(f.operation, routed.operation)) continue;
    if (!f.path_regex.empty() && !std::regex_search(r.path, std::regex(f.path_regex))) continue;
    ++f.seen;
    if (f.seen <= f.after) continue;
    if (f.count >= 0 && f.hits >= f.count) continue;
    if (f.probability < 1 && std::uniform_real_distribution<double>(0, 1)(state.rng) >= f.probability) continue;
    ++f.hits;
    return f;
  }
  return std::nullopt;
}

std::optional<Reply> Simulator::Impl::authenticate(const Request& r, const Routed& routed) {
  if (!routed.arm) return std::nullopt;
  const auto challenge =
      "Bearer authorization_uri=\"https://login.microsoftonline.com/" + state.world.tenant +
      "\", error=\"invalid_token\", error_description=\"The access token is missing, invalid or expired.\"";
  const auto auth = r.header("Authorization");
  if (!auth || auth->rfind("Bearer ", 0) != 0 || auth->size() <= 7) {
    auto rep = arm_error(401, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.");
    rep.headers.emplace_back("WWW-Authenticate", challenge);
    return rep;
  }
  const auto token = auth->substr(7);
  const auto it = state.issued_tokens.find(token);
  const bool ok = (it != state.issued_tokens.end() && state.now() < it->second) ||
                  std::find(state.world.tokens.begin(), state.world.tokens.end(), token) != state.world.tokens.end();
  if (!ok) {
    auto rep = arm_error(401, "InvalidAuthenticationToken",
                         it == state.issued_tokens.end()
                             ? "The access token is invalid."
                             : "The access token expiry UTC time is earlier than current UTC time.");
    rep.headers.emplace_back("WWW-Authenticate", challenge);
    return rep;
  }
  const auto version = r.param("api-version");
  if (version.empty())
    return arm_error(400, "MissingApiVersionParameter",
                     "The api-version query parameter (?api-version=) is required for all requests.");
  if (!routed.api_versions.empty() &&
      std::find(routed.api_versions.begin(), routed.api_versions.end(), version) == routed.api_versions.end()) {
    std::string list;
    for (const auto& v : routed.api_versions) list += (list.empty() ? "" : ", ") + v;
    return arm_error(400, "InvalidApiVersionParameter",
                     "The api-version '" + version + "' is invalid. The supported versions are '" + list + "'.");
  }
  return std::nullopt;
}

std::optional<Reply> Simulator::Impl::take_token(const Routed& routed, Reply& ok) {
  if (routed.bucket.empty()) return std::nullopt;
  const auto& b = state.world.buckets;
  const double cap = routed.bucket == "read"    ? b.read_capacity
                     : routed.bucket == "write" ? b.write_capacity
                                                : b.delete_capacity;
  const double refill = routed.bucket == "read"    ? b.read_refill
                        : routed.bucket == "write" ? b.write_refill
                                                   : b.delete_refill;
  const std::string header = "x-ms-ratelimit-remaining-subscription-" + routed.bucket + "s";
  if (!b.enabled) {
    ok.headers.emplace_back(header, std::to_string(static_cast<long>(cap)));
    return std::nullopt;
  }
  auto& bucket = state.buckets[routed.subscription + "/" + routed.bucket];
  const auto now = state.now();
  if (!bucket.started) {
    bucket = {cap, now, true};
  } else {
    const double secs = std::chrono::duration<double>(now - bucket.at).count();
    bucket.tokens = std::min(cap, bucket.tokens + std::max(0.0, secs) * refill);
    bucket.at = now;
  }
  if (bucket.tokens < 1) {
    const int wait = refill > 0 ? static_cast<int>(std::ceil((1 - bucket.tokens) / refill)) : 60;
    auto rep = arm_error(429, "SubscriptionRequestsThrottled",
                         "Number of '" + routed.bucket + "' requests for subscription '" + routed.subscription +
                             "' exceeded the limit. Please try again after '" + std::to_string(wait) + "' seconds.");
    rep.headers.emplace_back("Retry-After", std::to_string(std::max(1, wait)));
    rep.headers.emplace_back(header, "0");
    return rep;
  }
  bucket.tokens -= 1;
  ok.headers.emplace_back(header, std::to_string(static_cast<long>(bucket.tokens)));
  return std::nullopt;
}

void Simulator::Impl::handle(const httplib::Request& hreq, httplib::Response& hres) {
  Request r;
  r.method = hreq.method;
  r.path = hreq.path;
  // The query from the request target only: httplib also puts a form body into `params`.
  if (const auto q = hreq.target.find('?'); q != std::string::npos) {
    r.query = hreq.target.substr(q + 1);
    httplib::Params params;
    httplib::detail::parse_query_text(r.query, params);
    for (const auto& [k, v] : params) r.params.emplace(k, v);
  }
  for (const auto& [k, v] : hreq.headers) r.headers.emplace_back(k, v);
  r.body = hreq.body;
  r.original_url = hreq.get_header_value(kSimOriginalUrlHeader);
  r.origin = r.original_url.empty() ? "http://" + hreq.get_header_value("Host") : origin(r.original_url);

  LoggedRequest entry;
  entry.method = r.method;
  entry.path = r.path;
  entry.query = r.query;
  entry.original_url = redact_url(r.original_url);
  for (const auto& name : kSelectedHeaders)
    if (auto v = r.header(name)) entry.headers.emplace_back(name, redact_header(name, *v));
  if (!r.body.empty()) entry.body_sha256 = sha256_hex(r.body);

  std::unique_lock lock(state.mu);
  entry.time = state.wall();
  Routed routed = route(r);
  entry.operation = routed.operation;
  auto fault = fault_for(r, routed);
  if (fault) entry.fault = fault->name;

  Reply reply;
  if (fault && fault->delay > Duration::zero()) {
    lock.unlock();
    wait(fault->delay);
    lock.lock();
  }
  // Only a status fault stops the request; a reset, like a truncated body, loses the answer of a
  // request that was processed (a failover POST starts its job): the case a client must
  // reconcile rather than resend.
  const bool answer_normally = !fault || fault->effect != FaultRule::Effect::status;
  if (fault && fault->effect == FaultRule::Effect::status) {
    reply = fault->status >= 400 ? arm_error(fault->status, fault->error_code, fault->error_message) : Reply{};
    reply.status = fault->status;
    if (fault->retry_after) reply.headers.emplace_back("Retry-After", std::to_string(*fault->retry_after));
  } else if (answer_normally) {
    Reply ok;
    if (auto denied = authenticate(r, routed)) {
      reply = std::move(*denied);
    } else if (auto throttled = take_token(routed, ok)) {
      reply = std::move(*throttled);
    } else {
      reply = routed.run();
      for (auto& h : ok.headers) reply.headers.push_back(std::move(h));
    }
  }
  if (routed.arm || routed.operation == "arm.unknown") {
    reply.headers.emplace_back("x-ms-request-id", state.guid());
    const auto corr = r.header("x-ms-correlation-request-id");
    reply.headers.emplace_back("x-ms-correlation-request-id", corr ? *corr : state.guid());
    if (const auto client = r.header("x-ms-client-request-id"))
      reply.headers.emplace_back("x-ms-client-request-id", *client);
  }
  entry.status = fault && fault->effect == FaultRule::Effect::reset ? 0 : reply.status;
  if (routed.operation.rfind("_sim.", 0) != 0) state.log.push_back(entry);
  lock.unlock();

  hres.status = reply.status;
  for (const auto& [k, v] : reply.headers) hres.set_header(k, v);
  if (fault && fault->effect == FaultRule::Effect::reset) {
    // httplib cannot drop a connection unanswered: it sends the status line and headers, then
    // closes before the promised body, which the client sees as a broken transfer.
    hres.status = 200;
    hres.set_content_provider(1024, "application/json",
                              [](std::size_t, std::size_t, httplib::DataSink&) { return false; });
    return;
  }
  if (fault && fault->effect == FaultRule::Effect::truncate) {
    auto body = std::make_shared<std::string>(reply.body.empty() ? std::string("{\"truncated\":true}") : reply.body);
    hres.set_content_provider(body->size(), reply.content_type,
                              [body](std::size_t offset, std::size_t, httplib::DataSink& sink) {
                                if (offset == 0) sink.write(body->data(), body->size() / 2);
                                return false;
                              });
    return;
  }
  if (fault && fault->effect == FaultRule::Effect::invalid_json)
    reply.body = reply.body.size() > 2 ? reply.body.substr(0, reply.body.size() / 2) : "{\"value\":[";
  if (!reply.body.empty() || reply.status != 204) hres.set_content(reply.body, reply.content_type);
}

Simulator::Simulator(World world, Clock& clock) : impl_(std::make_unique<Impl>(std::move(world), clock)) {
  impl_->server.set_keep_alive_max_count(1000);
  const auto h = [this](const httplib::Request& req, httplib::Response& res) { impl_->handle(req, res); };
  impl_->server.Get(".*", h);
  impl_->server.Post(".*", h);
  impl_->server.Put(".*", h);
  impl_->server.Patch(".*", h);
  impl_->server.Delete(".*", h);
  impl_->server.Options(".*", h);
}

Simulator::~Simulator() {
  stop();
}

std::string Simulator::start(const std::string& host, int port) {
  if (!is_loopback(host))
    throw std::runtime_error("the simulator listens on loopback only, not on '" + host +
                             "': use 127.0.0.1 or ::1 (it serves fake credentials and must not be reachable)");
  const auto bind_host = host == "[::1]" ? std::string("::1") : host;
  int bound = port;
  if (port == 0) {
    bound = impl_->server.bind_to_any_port(bind_host);
  } else if (!impl_->server.bind_to_port(bind_host, port)) {
    bound = -1;
  }
  if (bound <= 0)
    throw std::runtime_error("cannot listen on " + host + ":" + std::to_string(port) + " (is the port in use?)");
  impl_->thread = std::thread([this] { impl_->server.listen_after_bind(); });
  while (!impl_->server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const bool v6 = bind_host.find(':') != std::string::npos;
  impl_->base = "http://" + (v6 ? "[" + bind_host + "]" : bind_host) + ":" + std::to_string(bound);
  return impl_->base;
}

void Simulator::stop() {
  if (!impl_) return;
  // A route to a stopped simulator would send the next request into the void.
  if (!impl_->base.empty() && simulation_route() == impl_->base) set_simulation_route("");
  impl_->server.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

std::string Simulator::base_url() const {
  return impl_->base;
}

std::vector<LoggedRequest> Simulator::requests() const {
  std::lock_guard lock(impl_->state.mu);
  return impl_->state.log;
}

std::string Simulator::world_json() const {
  std::lock_guard lock(impl_->state.mu);
  return world_state(impl_->state).dump(2);
}

tl::expected<std::unique_ptr<Simulator>, Diagnostics> start_simulation(const Runbook& runbook,
                                                                       const std::optional<std::string>& world_file,
                                                                       Clock& clock,
                                                                       std::optional<Operation> operation) {
  World world = derive_world(runbook, operation);
  if (world_file) {
    auto loaded = load_world(*world_file, std::move(world));
    if (!loaded) return tl::unexpected(loaded.error());
    world = std::move(*loaded);
  }
  auto sim = std::make_unique<Simulator>(std::move(world), clock);
  set_simulation_route(sim->start());
  return sim;
}

}  // namespace dr::sim
