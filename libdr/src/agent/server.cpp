// The agent's HTTP(S) face (schemas/agent-api.yaml): authentication before anything else, then
// runs, checks and health; one access-log line per request; a graceful shutdown.
#include <httplib.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

#include "agent/agent_internal.h"

namespace dr::agent {
namespace {

using json = nlohmann::json;

const std::regex kRunIdRe("^r-[0-9a-f]{24}$");

// Set per request on the thread that serves it, read by the access log (httplib calls the
// logger on the same thread, after the answer is written).
thread_local std::optional<Clock::time_point> t_started;
thread_local std::string t_run_id;

void error_reply(httplib::Response& res, int status, const std::string& code, const std::string& message) {
  res.status = status;
  res.set_content(
      json{{"error", {{"code", code}, {"message", message}}}}.dump(-1, ' ', false, json::error_handler_t::replace),
      "application/json");
}

// A path or other client-chosen text in a log line: no control characters (no forged lines).
std::string loggable(std::string_view s, std::size_t cap = 200) {
  std::string out;
  for (const char ch : s.substr(0, cap)) {
    const auto c = static_cast<unsigned char>(ch);
    out += c < 0x20 || c == 0x7F || c == ' ' ? '?' : ch;
  }
  if (s.size() > cap) out += "...";
  return out;
}

std::string scrub(std::string text, const std::vector<std::string>& secrets) {
  for (const auto& s : secrets) {
    if (s.empty()) continue;
    for (auto pos = text.find(s); pos != std::string::npos; pos = text.find(s, pos + 10))
      text.replace(pos, s.size(), "[redacted]");
  }
  return text;
}

std::string openssl_error() {
  char buf[256] = {0};
  const unsigned long e = ERR_get_error();
  if (e == 0) return "unknown TLS error";
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

}  // namespace

struct AgentServer::Impl {
  Config config;
  Clock& clock;
  std::ostream& log;
  std::mutex log_mu;
  TokenSet tokens;
  std::unique_ptr<RunStore> store;
  std::unique_ptr<httplib::Server> http;
  std::thread serve_thread;

  struct Active {
    std::shared_ptr<RunningCommand> command;
    std::string action;  // empty: a check
    bool cancel = false;
    bool interrupt = false;
  };
  std::mutex mu;
  std::condition_variable cv;
  std::map<std::string, Active> active;  // by run id, or "check:N" for a check
  std::map<std::string, int> running_per_action;
  int running = 0;  // runs and checks
  std::uint64_t checks_started = 0;
  bool draining = false;
  std::string unhealthy;  // why, when a run could not be recorded

  Impl(Config c, Clock& k, std::ostream& l) : config(std::move(c)), clock(k), log(l), tokens(config.token_files) {}

  void access_line(const httplib::Request& req, const httplib::Response& res) {
    const auto now = clock.now();
    std::string line = format_rfc3339(clock.wall()) + " " + loggable(req.remote_addr) + ":" +
                       std::to_string(req.remote_port) + " " + loggable(req.method, 16) + " " + loggable(req.path) +
                       " " + std::to_string(res.status) + " ";
    line += t_started
                ? std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(now - *t_started).count()) + "ms"
                : std::string("-");
    line += " " + (t_run_id.empty() ? std::string("-") : t_run_id);
    t_started.reset();
    t_run_id.clear();
    std::lock_guard lock(log_mu);
    log << line << "\n" << std::flush;
  }

  bool authorized(const httplib::Request& req) {
    tokens.reload_if_changed();
    const auto auth = req.get_header_value("Authorization");
    if (auth.size() <= 7 || !(auth.compare(0, 7, "Bearer ") == 0 || auth.compare(0, 7, "bearer ") == 0)) return false;
    return tokens.accepts(std::string_view(auth).substr(7));
  }

  void secrets_of(const CommandSpec& spec, const std::map<std::string, std::string>& args,
                  std::vector<std::string>& out) {
    for (const auto& [name, arg] : spec.args)
      if (arg.secret)
        if (const auto it = args.find(name); it != args.end()) out.push_back(it->second);
  }

  void post_run(const httplib::Request& req, httplib::Response& res, const std::string& name);
  void supervise(RunRecord run, std::shared_ptr<RunningCommand> command, Duration timeout, std::size_t cap,
                 std::vector<std::string> secrets);
  void get_run(httplib::Response& res, const std::string& id);
  void cancel_run(httplib::Response& res, const std::string& id);
  void check(httplib::Response& res, const std::string& name);
  void health(httplib::Response& res);
  void routes();
};

void AgentServer::Impl::post_run(const httplib::Request& req, httplib::Response& res, const std::string& name) {
  const auto found = config.actions.find(name);
  if (found == config.actions.end())
    return error_reply(res, 404, "UnknownAction", "The agent has no action '" + loggable(name, 64) + "'.");
  const CommandSpec& spec = found->second;
  const std::string key = req.get_header_value("Idempotency-Key");
  if (key.empty())
    return error_reply(res, 400, "MissingIdempotencyKey",
                       "An Idempotency-Key header is required, so a retried request does not start a second run.");
  if (key.size() > 255 || std::any_of(key.begin(), key.end(), [](char c) { return c < 0x21 || c > 0x7E; }))
    return error_reply(res, 400, "InvalidIdempotencyKey",
                       "The Idempotency-Key must be 1 to 255 printable ASCII characters without spaces.");

  const auto body = json::parse(req.body.empty() ? "{}" : req.body, nullptr, false);
  if (!body.is_object()) return error_reply(res, 400, "BadRequest", "The body must be a JSON object {\"args\":{...}}.");
  std::map<std::string, std::string> args;
  for (const auto& [k, v] : body.items()) {
    if (k != "args") return error_reply(res, 400, "BadRequest", "Unknown key '" + loggable(k, 64) + "' in the body.");
    if (!v.is_object()) return error_reply(res, 400, "BadRequest", "\"args\" must be a JSON object.");
    for (const auto& [arg, value] : v.items()) {
      if (value.is_string()) {
        args[arg] = value.get<std::string>();
      } else if (value.is_number_integer()) {
        args[arg] = value.dump();
      } else {
        return error_reply(res, 400, "InvalidArgument",
                           "argument '" + loggable(arg, 64) + "' must be a string or an integer.");
      }
    }
  }
  const std::string digest = store->digest(name, args);

  std::unique_lock lock(mu);
  if (const auto existing = store->find_by_key(key)) {
    // The IETF Idempotency-Key draft: a key reused for a different request is an error (422),
    // the same request again gets the original run.
    if (existing->action != name || existing->request_digest != digest)
      return error_reply(
          res, 422, "IdempotencyKeyReused",
          "This Idempotency-Key was used for a different action or arguments (run " + existing->id + ").");
    t_run_id = existing->id;
    res.status = 202;
    res.set_header("Location", "/v1/runs/" + existing->id);
    res.set_content(wire_run(*existing), "application/json");
    return;
  }
  auto argv = build_argv(spec, args, config.limits.max_arg_length);
  if (!argv) {
    const auto& e = argv.error();
    res.status = 400;
    res.set_content(json{{"error", {{"code", e.code}, {"message", e.message}, {"argument", e.argument}}}}.dump(
                        -1, ' ', false, json::error_handler_t::replace),
                    "application/json");
    return;
  }
  if (draining) return error_reply(res, 503, "ShuttingDown", "The agent is shutting down; try again later.");
  const int per_action = running_per_action[name];
  if (running >= config.limits.concurrency || (spec.concurrency > 0 && per_action >= spec.concurrency)) {
    const auto secs =
        std::max<long long>(1, std::chrono::duration_cast<std::chrono::seconds>(config.limits.retry_after).count());
    res.set_header("Retry-After", std::to_string(secs));
    return error_reply(
        res, 429, "TooManyRuns",
        running >= config.limits.concurrency
            ? "The agent runs as many commands as it may (" + std::to_string(config.limits.concurrency) + ")."
            : "'" + name + "' already runs " + std::to_string(per_action) + " time(s), its limit.");
  }

  RunRecord run;
  run.id = new_run_id();
  run.action = name;
  run.idempotency_key = key;
  run.request_digest = digest;
  for (const auto& [arg, value] : args) {
    const auto s = spec.args.find(arg);
    run.args[arg] = s != spec.args.end() && s->second.secret ? "[secret]" : value;
  }
  run.started = format_rfc3339(clock.wall());
  // Write-ahead: the run and its key are on disk before the command starts, so a replay after a
  // crash finds it (as interrupted) rather than starting the command again.
  if (auto err = store->save(run)) {
    unhealthy = *err;
    return error_reply(res, 503, "StateNotWritable", "The agent cannot record runs; nothing was started.");
  }
  t_run_id = run.id;
  auto started = RunningCommand::start(*argv);
  if (!started) {
    run.state = "failed";
    run.exit_code = 127;
    run.output = started.error();
    run.finished = format_rfc3339(clock.wall());
    if (auto err = store->save(run)) unhealthy = *err;
  } else {
    std::shared_ptr<RunningCommand> command = std::move(*started);
    active[run.id] = Active{command, name};
    ++running;
    ++running_per_action[name];
    std::vector<std::string> secrets;
    secrets_of(spec, args, secrets);
    std::thread(&Impl::supervise, this, run, command, spec.timeout, spec.output_cap, std::move(secrets)).detach();
  }
  res.status = 202;
  res.set_header("Location", "/v1/runs/" + run.id);
  res.set_content(wire_run(run), "application/json");
}

void AgentServer::Impl::supervise(RunRecord run, std::shared_ptr<RunningCommand> command, Duration timeout,
                                  std::size_t cap, std::vector<std::string> secrets) {
  const CommandOutcome out = command->wait(clock, clock.now() + timeout, config.limits.kill_after, cap);
  std::lock_guard lock(mu);
  const Active a = active[run.id];
  run.exit_code = out.exit_code;
  run.timed_out = out.timed_out;
  run.output = scrub(out.output, secrets);
  if (a.interrupt) {
    run.state = "interrupted";
    run.output += "\n[stopped: the agent shut down before it finished]";
  } else if (a.cancel) {
    run.state = "cancelled";
  } else if (out.timed_out) {
    run.state = "failed";
    run.output += "\n[timed out after " + format_duration(timeout) + "]";
  } else {
    run.state = out.exit_code && *out.exit_code == 0 ? "succeeded" : "failed";
    if (!out.exit_code) run.output += "\n[ended by signal " + std::to_string(out.signal) + "]";
  }
  run.finished = format_rfc3339(clock.wall());
  if (auto err = store->save(run)) unhealthy = *err;
  active.erase(run.id);
  --running;
  --running_per_action[run.action];
  cv.notify_all();
}

void AgentServer::Impl::get_run(httplib::Response& res, const std::string& id) {
  const auto run = std::regex_match(id, kRunIdRe) ? store->find(id) : std::nullopt;
  if (!run) return error_reply(res, 404, "UnknownRun", "The agent has no run '" + loggable(id, 64) + "'.");
  t_run_id = run->id;
  res.status = 200;
  res.set_content(wire_run(*run), "application/json");
}

void AgentServer::Impl::cancel_run(httplib::Response& res, const std::string& id) {
  auto run = std::regex_match(id, kRunIdRe) ? store->find(id) : std::nullopt;
  if (!run) return error_reply(res, 404, "UnknownRun", "The agent has no run '" + loggable(id, 64) + "'.");
  t_run_id = run->id;
  std::lock_guard lock(mu);
  const auto it = active.find(id);
  if (it == active.end())
    return error_reply(res, 409, "Finished", "The run has already finished (" + store->find(id)->state + ").");
  it->second.cancel = true;
  it->second.command->stop();
  // The cancel wins even if the command ends on its own before the signal lands.
  run->state = "cancelled";
  res.status = 202;
  res.set_content(wire_run(*run), "application/json");
}

void AgentServer::Impl::check(httplib::Response& res, const std::string& name) {
  const auto found = config.checks.find(name);
  if (found == config.checks.end())
    return error_reply(res, 404, "UnknownCheck", "The agent has no check '" + loggable(name, 64) + "'.");
  const CommandSpec& spec = found->second;
  std::string key;
  std::shared_ptr<RunningCommand> command;
  {
    std::lock_guard lock(mu);
    if (draining) return error_reply(res, 503, "ShuttingDown", "The agent is shutting down.");
    if (running >= config.limits.concurrency) {
      res.set_header("Retry-After",
                     std::to_string(std::max<long long>(
                         1, std::chrono::duration_cast<std::chrono::seconds>(config.limits.retry_after).count())));
      return error_reply(res, 429, "TooManyRuns", "The agent runs as many commands as it may.");
    }
    auto started = RunningCommand::start(spec.argv);
    if (!started) {
      res.status = 200;
      res.set_content(json{{"name", name}, {"status", "fail"}, {"output", started.error()}}.dump(), "application/json");
      return;
    }
    command = std::move(*started);
    key = "check:" + std::to_string(++checks_started);
    active[key] = Active{command, ""};
    ++running;
  }
  const CommandOutcome out =
      command->wait(clock, clock.now() + spec.timeout, config.limits.kill_after, spec.output_cap);
  {
    std::lock_guard lock(mu);
    active.erase(key);
    --running;
    cv.notify_all();
  }
  const bool pass = !out.timed_out && !out.stopped && out.exit_code && *out.exit_code == 0;
  json j = {{"name", name}, {"status", pass ? "pass" : "fail"}, {"output", out.output}};
  j["exit-code"] = out.exit_code ? json(*out.exit_code) : json(nullptr);
  if (out.timed_out) j["timed-out"] = true;
  res.status = 200;
  res.set_content(j.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

void AgentServer::Impl::health(httplib::Response& res) {
  std::lock_guard lock(mu);
  if (draining) {
    res.status = 503;
    res.set_content(R"({"status":"stopping"})", "application/json");
    return;
  }
  if (!unhealthy.empty()) {
    res.status = 503;
    res.set_content(json{{"status", "unhealthy"}, {"reason", "the state directory cannot be written"}}.dump(),
                    "application/json");
    return;
  }
  res.status = 200;
  res.set_content(json{{"status", "ok"}, {"running", running}}.dump(), "application/json");
}

void AgentServer::Impl::routes() {
  auto& s = *http;
  s.set_payload_max_length(config.limits.max_body);
  s.set_read_timeout(30, 0);
  s.set_write_timeout(30, 0);
  s.set_keep_alive_timeout(30);
  s.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    t_started = clock.now();
    t_run_id.clear();
    if (!authorized(req)) {
      res.set_header("WWW-Authenticate", "Bearer");
      error_reply(res, 401, "Unauthorized", "A valid bearer token is required.");
      return httplib::Server::HandlerResponse::Handled;
    }
    // Without a length the body would be read until the client gives up, and the run would
    // start after it has stopped waiting for the answer.
    if (req.method == "POST" && !req.has_header("Content-Length") &&
        req.get_header_value("Transfer-Encoding") != "chunked") {
      res.set_header("Connection", "close");
      error_reply(res, 411, "LengthRequired", "A POST needs a Content-Length (0 for no body).");
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  s.Post(R"(/v1/actions/([^/]+)/runs)",
         [this](const httplib::Request& req, httplib::Response& res) { post_run(req, res, req.matches[1].str()); });
  s.Get(R"(/v1/runs/([^/]+))",
        [this](const httplib::Request& req, httplib::Response& res) { get_run(res, req.matches[1].str()); });
  s.Post(R"(/v1/runs/([^/]+)/cancel)",
         [this](const httplib::Request& req, httplib::Response& res) { cancel_run(res, req.matches[1].str()); });
  s.Get(R"(/v1/checks/([^/]+))",
        [this](const httplib::Request& req, httplib::Response& res) { check(res, req.matches[1].str()); });
  s.Get("/v1/health", [this](const httplib::Request&, httplib::Response& res) { health(res); });
  s.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    if (res.status == 413)
      error_reply(res, 413, "PayloadTooLarge", "The request body is larger than the agent accepts.");
    else if (res.status == 404)
      error_reply(res, 404, "NotFound",
                  "The agent does not serve '" + loggable(req.method, 16) + " " + loggable(req.path) + "'.");
    else
      error_reply(res, res.status, "Error", "The request could not be served.");
  });
  s.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
    error_reply(res, 500, "InternalError", "The agent failed to serve the request.");
  });
  s.set_logger([this](const httplib::Request& req, const httplib::Response& res) { access_line(req, res); });
}

AgentServer::AgentServer(Config config, Clock& clock, std::ostream& access_log)
    : impl_(std::make_unique<Impl>(std::move(config), clock, access_log)) {}

AgentServer::~AgentServer() {
  if (impl_->serve_thread.joinable()) shutdown();
}

tl::expected<std::string, std::string> AgentServer::start() {
  auto& c = impl_->config;
  auto store = RunStore::open(c.state_dir, impl_->clock);
  if (!store) return tl::unexpected(store.error());
  impl_->store = std::move(*store);
  const auto problems = impl_->tokens.reload();
  if (impl_->tokens.size() == 0) {
    std::string text = "no usable token: every request would be refused";
    for (const auto& p : problems) text += "; " + p;
    return tl::unexpected(text);
  }
  if (c.tls_cert.empty()) {
    if (!is_loopback_address(c.host))  // load_config refuses it too; this guards other callers
      return tl::unexpected(std::string("plain HTTP is allowed on a loopback address only"));
    impl_->http = std::make_unique<httplib::Server>();
  } else {
    std::string tls_error;
    auto server = std::make_unique<httplib::SSLServer>([&c, &tls_error](SSL_CTX& ctx) {
      SSL_CTX_set_min_proto_version(&ctx, TLS1_2_VERSION);
      SSL_CTX_set_options(&ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
      if (SSL_CTX_use_certificate_chain_file(&ctx, c.tls_cert.c_str()) != 1) {
        tls_error = "cannot load the certificate " + c.tls_cert + ": " + openssl_error();
        return false;
      }
      if (SSL_CTX_use_PrivateKey_file(&ctx, c.tls_key.c_str(), SSL_FILETYPE_PEM) != 1 ||
          SSL_CTX_check_private_key(&ctx) != 1) {
        tls_error = "cannot load the key " + c.tls_key + " (or it does not match the certificate): " + openssl_error();
        return false;
      }
      if (!c.tls_client_ca.empty()) {
        if (SSL_CTX_load_verify_locations(&ctx, c.tls_client_ca.c_str(), nullptr) != 1) {
          tls_error = "cannot load the client CA " + c.tls_client_ca + ": " + openssl_error();
          return false;
        }
        SSL_CTX_set_client_CA_list(&ctx, SSL_load_client_CA_file(c.tls_client_ca.c_str()));
        // No certificate, or one the CA did not sign: the handshake fails before any HTTP.
        SSL_CTX_set_verify(&ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
      }
      return true;
    });
    if (!server->is_valid()) return tl::unexpected(tls_error.empty() ? "TLS set-up failed" : tls_error);
    impl_->http = std::move(server);
  }
  impl_->routes();
  auto& http = *impl_->http;
  int port = c.port;
  if (port == 0) {
    port = http.bind_to_any_port(c.host);
    if (port < 0) return tl::unexpected("cannot listen on " + c.host + ":0");
  } else if (!http.bind_to_port(c.host, port)) {
    return tl::unexpected("cannot listen on " + c.host + ":" + std::to_string(port) +
                          " (in use, or not an address of this host)");
  }
  impl_->serve_thread = std::thread([&http] { http.listen_after_bind(); });
  // A stop() before the accept loop runs would be lost, and shutdown's join would hang.
  while (!http.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const std::string host = c.host.find(':') != std::string::npos ? "[" + c.host + "]" : c.host;
  return (c.tls_cert.empty() ? "http://" : "https://") + host + ":" + std::to_string(port);
}

std::vector<std::string> AgentServer::reload_tokens() {
  return impl_->tokens.reload();
}

std::size_t AgentServer::shutdown() {
  auto& i = *impl_;
  {
    std::lock_guard lock(i.mu);
    i.draining = true;
  }
  if (i.http) i.http->stop();
  std::size_t interrupted = 0;
  std::unique_lock lock(i.mu);
  // Checks are answered at once (as failed); actions get the grace period.
  for (auto& [key, a] : i.active)
    if (a.action.empty()) a.command->stop();
  const auto deadline = std::chrono::steady_clock::now() + i.config.limits.grace;
  i.cv.wait_until(lock, deadline, [&i] { return i.running == 0; });
  for (auto& [key, a] : i.active) {
    a.interrupt = true;
    a.command->stop();
    if (!a.action.empty()) ++interrupted;
  }
  // SIGTERM, then SIGKILL after kill-after: bounded.
  i.cv.wait_for(lock, i.config.limits.kill_after + std::chrono::seconds(5), [&i] { return i.running == 0; });
  lock.unlock();
  if (i.serve_thread.joinable()) i.serve_thread.join();
  return interrupted;
}

}  // namespace dr::agent
