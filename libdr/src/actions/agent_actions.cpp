// `agent.run` and `agent.check`: the client of the on-site agent protocol (dr/agent_actions.h).
//
// agent.run submits with the call's Idempotency-Key, so sending the same POST again (a lost
// answer, a crash before the run id was journaled) reaches the run the agent already has rather
// than starting a second one. That is what makes a resend safe here, and what reconcile() uses.
// The token goes only into the Authorization header: every text that leaves this file (errors,
// outputs, progress) is scrubbed of it.
#include "dr/agent_actions.h"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

#include "actions/action_support.h"
#include "dr/http.h"

namespace dr {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;
using actions::poll_delay;
using actions::step_id;
using actions::time_left;
using actions::valid_utf8;

constexpr std::size_t kOutputCap = 4096;      // bytes of the agent's output kept in the `output` output
constexpr std::size_t kLineCap = 300;         // bytes of the output's last line in an error
constexpr std::size_t kBodyCap = 256 * 1024;  // an agent's answer is small; more is not kept
constexpr Duration kPollEvery = 2s;
constexpr Duration kRequestTimeout = 30s;
constexpr Duration kConnectTimeout = 10s;

struct Agent {
  std::string name;  // the target's name
  std::string url;   // without a trailing '/'
  std::string token;
  std::string ca_file;
  std::string error;  // non-empty: the target is unusable
};

std::string target_field(const Value& fields, const char* key) {
  const Value* v = fields.find(key);
  return v && v->is_scalar() && !v->is_null() ? v->to_text() : std::string();
}

// `need_token`: describe() runs without secrets and must still show where requests go.
Agent resolve(const azure::AzureContext& context, const StepCall& call, bool need_token) {
  Agent a;
  a.name = call.param_text("target");
  const auto it = context.targets.find(a.name);
  if (it == context.targets.end()) {
    a.error = call.action + ": target '" + a.name + "' is not among the runbook's targets";
    return a;
  }
  a.url = target_field(it->second, "url");
  while (!a.url.empty() && a.url.back() == '/') a.url.pop_back();
  a.token = target_field(it->second, "token");
  a.ca_file = target_field(it->second, "ca-file");
  if (a.url.empty()) {
    a.error = call.action + ": target '" + a.name + "' has no url";
  } else if (need_token && a.token.empty()) {
    a.error = call.action + ": target '" + a.name + "' has no token (set `token: ${env.NAME}` or `${file.PATH}`)";
  } else if (need_token && a.token.find("${") != std::string::npos) {
    // An unresolved reference: sending it would only earn a 401 that hides the real cause.
    a.error = call.action + ": the token of target '" + a.name + "' (" + a.token + ") is not set";
  }
  return a;
}

// `text` with every occurrence of the token replaced: an agent could echo what it was sent.
std::string scrub(std::string text, const std::string& token) {
  if (token.empty()) return text;
  for (auto pos = text.find(token); pos != std::string::npos; pos = text.find(token, pos))
    text.replace(pos, token.size(), "[redacted]");
  return text;
}

// A path segment: names come from the runbook and run ids from the agent, neither may add a '/'.
std::string segment(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// At most `n` bytes of valid UTF-8 `s`, not cutting a character in two.
std::string utf8_prefix(const std::string& s, std::size_t n) {
  if (s.size() <= n) return s;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n);
}

std::string last_line(std::string_view output) {
  while (!output.empty() && (output.back() == '\n' || output.back() == '\r' || output.back() == ' '))
    output.remove_suffix(1);
  if (const auto nl = output.rfind('\n'); nl != std::string_view::npos) output.remove_prefix(nl + 1);
  return std::string(output.substr(0, kLineCap));
}

json parse_object(const std::string& body) {
  auto j = json::parse(body, nullptr, false);
  return j.is_object() ? j : json::object();
}

std::string text_of(const json& j, const char* key) {
  const auto it = j.find(key);
  if (it == j.end() || it->is_null()) return {};
  return it->is_string() ? it->get<std::string>() : it->dump();
}

// The agent's own words about an error answer: "UnknownAction: The agent has no action 'x'."
std::string error_detail(const HttpResponse& r) {
  const json body = parse_object(r.body);
  if (const auto e = body.find("error"); e != body.end() && e->is_object()) {
    const std::string code = text_of(*e, "code"), message = text_of(*e, "message");
    if (!code.empty() || !message.empty()) return code + (code.empty() || message.empty() ? "" : ": ") + message;
  }
  return last_line(r.body.substr(0, kLineCap));
}

std::optional<Duration> retry_after(const HttpResponse& r) {
  const auto v = r.header("Retry-After");
  if (!v || v->empty() || v->size() > 6 || v->find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  return std::chrono::seconds(std::stoi(*v));
}

class AgentActionBase : public Action {
 public:
  explicit AgentActionBase(std::shared_ptr<azure::AzureContext> context) : context_(std::move(context)) {}

  bool blocking() const override { return true; }

 protected:
  Agent agent(const StepCall& call, bool need_token = true) const {
    if (!context_) {
      Agent a;
      a.error = call.action + ": no agent targets were set up (a wiring bug)";
      return a;
    }
    return resolve(*context_, call, need_token);
  }

  // One request, bounded by the step's deadline.
  static tl::expected<HttpResponse, HttpError> send(const StepCall& call, const Agent& a, std::string method,
                                                    const std::string& path, std::string body = {},
                                                    const std::string& idempotency_key = {}) {
    HttpRequest req;
    req.method = std::move(method);
    req.url = a.url + path;
    req.ca_file = a.ca_file;
    req.headers.emplace_back("Authorization", "Bearer " + a.token);
    req.headers.emplace_back("Accept", "application/json");
    if (!idempotency_key.empty()) req.headers.emplace_back("Idempotency-Key", idempotency_key);
    if (!body.empty()) req.headers.emplace_back("Content-Type", "application/json");
    req.body = std::move(body);
    Duration total = kRequestTimeout;
    if (const auto left = time_left(call); left && *left < total) total = std::max(*left, Duration(1));
    req.total_timeout = total;
    req.connect_timeout = std::min(total, kConnectTimeout);
    HttpClient::Options options;
    options.body_cap = kBodyCap;
    HttpClient client(options);  // one per call: a client is not thread-safe
    return client.send(req);
  }

  static std::string where(const Agent& a) { return "the agent at " + redact_url(a.url); }

  // A failed answer as a step failure; `what` says which request ("running 'stop-ingest'").
  static StepResult refused(const Agent& a, const HttpResponse& r, const std::string& action_name,
                            const std::string& what) {
    const std::string status = std::to_string(r.status);
    if (r.status == 401 || r.status == 403) {
      StepResult f = StepResult::fail(
          action_name + ": " + where(a) + " refused the token (" + status + "); check the target's token", false);
      f.cause = StepResult::Cause::auth;  // exit 77, as for Azure
      return f;
    }
    std::string text = action_name + ": " + where(a) + " answered " + status + " to " + what;
    if (const auto detail = error_detail(r); !detail.empty()) text += " (" + detail + ")";
    const bool retryable = r.status == 408 || r.status == 429 || r.status >= 500;
    return StepResult::fail(valid_utf8(scrub(text, a.token)), retryable);
  }

  std::shared_ptr<azure::AzureContext> context_;
};

// ---- agent.run ----------------------------------------------------------------------------------

class AgentRunAction final : public AgentActionBase {
 public:
  using AgentActionBase::AgentActionBase;

  StepResult submit(const StepCall& call) override {
    const Agent a = agent(call);
    if (!a.error.empty()) return StepResult::fail(a.error, false);
    const std::string name = call.param_text("action");
    if (name.empty()) return StepResult::fail("agent.run needs an action (the agent's action name)", false);
    return post(call, a, name, false);
  }

  StepResult poll(const StepCall& call, const Value& handle) override {
    const Agent a = agent(call);
    if (!a.error.empty()) return StepResult::fail(a.error, false);
    const std::string name = call.param_text("action");
    if (is_resend(handle)) return post(call, a, name, true);
    const std::string id = handle.to_text();
    auto response = send(call, a, "GET", "/v1/runs/" + segment(id));
    // The run goes on at the agent while it cannot be reached: keep polling until the deadline
    // rather than fail the attempt, whose retry would start a second run under a new key.
    if (!response)
      return StepResult::wait(handle, poll_delay(call, kPollEvery),
                              scrub("agent unreachable: " + response.error().message, a.token));
    if (response->status == 429 || response->status >= 500)
      return StepResult::wait(handle, poll_delay(call, retry_after(*response).value_or(kPollEvery)),
                              "agent answered " + std::to_string(response->status) + "; polling again");
    if (response->status == 404) {
      StepResult r = StepResult::fail("agent.run: " + where(a) + " no longer knows run " + id +
                                          " (it may have restarted); whether '" + name + "' finished is unknown",
                                      false);
      r.ambiguous = true;
      return r;
    }
    if (response->status != 200) return refused(a, *response, "agent.run", "reading run " + id);
    return from_run(call, a, name, *response, handle);
  }

  // The same POST with the same Idempotency-Key: the agent answers with the run it already has
  // (or starts it, if the first POST never arrived), so this adopts rather than duplicates.
  Reconciliation reconcile(const StepCall& call) override {
    Reconciliation rec;
    const Agent a = agent(call);
    const std::string name = call.param_text("action");
    if (!a.error.empty() || name.empty()) {
      rec.verdict = Reconciliation::Verdict::finished;
      rec.result = StepResult::fail(a.error.empty() ? "agent.run needs an action" : a.error, false);
      return rec;
    }
    auto response = post_run(call, a, name);
    const bool busy = response && (response->status == 429 || response->status >= 500);
    if (!response || busy) {
      // No usable answer now: submitting again later sends this same POST, which is just as safe.
      rec.verdict = Reconciliation::Verdict::not_started;
      return rec;
    }
    if (response->status != 200 && response->status != 201 && response->status != 202) {
      rec.verdict = Reconciliation::Verdict::finished;
      rec.result = refused(a, *response, "agent.run", "running '" + name + "'");
      return rec;
    }
    StepResult r = from_run(call, a, name, *response, resend_handle());
    if (r.status == StepResult::Status::pending) {
      rec.verdict = Reconciliation::Verdict::adopted;
      rec.handle = r.handle;
    } else {
      rec.verdict = Reconciliation::Verdict::finished;
      rec.result = std::move(r);
    }
    return rec;
  }

  void cancel(const StepCall& call, const Value& handle) override {
    const Agent a = agent(call);
    // A POST without an answer has no run id to cancel; the agent's own limits end that run.
    if (!a.error.empty() || is_resend(handle) || handle.to_text().empty()) return;
    (void)send(call, a, "POST", "/v1/runs/" + segment(handle.to_text()) + "/cancel");  // best effort
  }

  std::vector<std::string> describe(const StepCall& call) const override {
    const Agent a = agent(call, false);
    const std::string name = call.param_text("action");
    const std::string key =
        call.idempotency_key.empty() ? "<run-id>/" + step_id(call) + "/<attempt>" : call.idempotency_key;
    return {"POST " + redact_url((a.url.empty() ? "{" + a.name + ".url}" : a.url) + runs_path(name)) + " " +
            body_of(call) + " (Idempotency-Key " + key + ")"};
  }

 private:
  static std::string runs_path(const std::string& name) { return "/v1/actions/" + segment(name) + "/runs"; }

  static std::string body_of(const StepCall& call) {
    json args = json::object();
    if (const Value* v = call.param("args"); v && v->is_map())
      for (const auto& [key, value] : v->entries()) args[key] = value.is_null() ? std::string() : value.to_text();
    return json{{"args", args}}.dump();
  }

  // The handle of a POST whose answer was lost: poll() sends it again.
  static Value resend_handle() { return Value::map({{"resend", Value::boolean(true)}}); }
  static bool is_resend(const Value& handle) { return handle.is_map() && handle.find("resend"); }

  // POST the run and read the answer. A request that may have arrived without an answer (a
  // timeout, a connection broken mid-exchange) is sent again from poll() under the same
  // Idempotency-Key, until the agent answers or the step's deadline passes: the agent answers a
  // replay with the run it already has. A retry of the attempt instead would carry a new key and
  // could start a second run. One that cannot have arrived (no connection) is an ordinary failure.
  static StepResult post(const StepCall& call, const Agent& a, const std::string& name, bool again) {
    auto response = post_run(call, a, name);
    if (!response) {
      const HttpError& e = response.error();
      const bool maybe_sent = e.kind == HttpError::Kind::timeout || e.kind == HttpError::Kind::transport;
      if (maybe_sent || (again && e.kind == HttpError::Kind::connect))
        return StepResult::wait(
            resend_handle(), poll_delay(call, kPollEvery),
            scrub("no answer to the POST (" + e.message + "); sending it again with the same Idempotency-Key",
                  a.token));
      return StepResult::fail(
          scrub("agent.run: POST " + redact_url(a.url + runs_path(name)) + ": " + e.message, a.token),
          e.retryable || e.kind == HttpError::Kind::connect);
    }
    // Once the first POST may have arrived, a busy agent is asked again rather than given up on.
    if (again && (response->status == 429 || response->status >= 500))
      return StepResult::wait(resend_handle(), poll_delay(call, retry_after(*response).value_or(kPollEvery)),
                              "agent answered " + std::to_string(response->status) + "; sending the POST again");
    if (response->status != 200 && response->status != 201 && response->status != 202)
      return refused(a, *response, "agent.run", "running '" + name + "'");
    return from_run(call, a, name, *response, resend_handle());
  }

  static tl::expected<HttpResponse, HttpError> post_run(const StepCall& call, const Agent& a, const std::string& name) {
    return send(call, a, "POST", runs_path(name), body_of(call), call.idempotency_key);
  }

  // A run as the agent described it: finished (succeeded or failed) or still under way.
  // An answer without a run id and state (cut short, garbled) is asked for again through
  // `again`: the resend handle after a POST, the run's handle after a GET.
  static StepResult from_run(const StepCall& call, const Agent& a, const std::string& name, const HttpResponse& r,
                             const Value& again) {
    const json run = parse_object(r.body);
    const std::string id = text_of(run, "id");
    const std::string state = text_of(run, "state");
    if (id.empty() || state.empty())
      return StepResult::wait(
          again, poll_delay(call, kPollEvery),
          "the agent's answer (" + std::to_string(r.status) + ") has no run id and state; asking again");
    const std::string output = valid_utf8(scrub(text_of(run, "output"), a.token));
    const std::string exit_code = text_of(run, "exit-code");
    if (state == "succeeded")
      return StepResult::ok({{"run-id", id},
                             {"exit-code", exit_code.empty() ? "0" : exit_code},
                             {"output", utf8_prefix(output, kOutputCap)}});
    if (state == "failed") {
      std::string text = "agent.run: '" + name + "' failed on " + where(a) + " (run " + id +
                         (exit_code.empty() ? "" : ", exit code " + exit_code) + ")";
      if (const auto line = last_line(output); !line.empty()) text += ": " + line;
      return StepResult::fail(valid_utf8(text));
    }
    if (state == "cancelled")
      return StepResult::fail("agent.run: '" + name + "' was cancelled on " + where(a) + " (run " + id + ")", false);
    if (state == "interrupted") {
      // The agent stopped while the command ran: like a run it no longer knows (404), whether the
      // command finished is unknown, so only an idempotent step may run again.
      StepResult r = StepResult::fail("agent.run: " + where(a) + " stopped while '" + name + "' ran (run " + id +
                                          "); whether it finished is unknown",
                                      false);
      r.ambiguous = true;
      return r;
    }
    const Duration after = retry_after(r).value_or(kPollEvery);
    return StepResult::wait(Value::string(id), poll_delay(call, after),
                            "'" + name + "' " + state + " (run " + id + ")");
  }
};

// ---- agent.check --------------------------------------------------------------------------------

class AgentCheckAction final : public AgentActionBase {
 public:
  using AgentActionBase::AgentActionBase;

  StepResult submit(const StepCall& call) override {
    const Agent a = agent(call);
    if (!a.error.empty()) return StepResult::fail(a.error, false);
    const std::string check = call.param_text("check");
    const std::string path = check.empty() ? "/v1/health" : "/v1/checks/" + segment(check);
    auto response = send(call, a, "GET", path);
    if (!response)
      return StepResult::fail(
          scrub("agent.check: GET " + redact_url(a.url + path) + ": " + response.error().message, a.token),
          response.error().retryable);
    const json body = parse_object(response->body);
    if (check.empty()) {
      if (response->status == 200) return StepResult::ok({{"status", text_of(body, "status")}});
      if (response->status == 503)
        return StepResult::fail("agent.check: " + where(a) + " reports itself unhealthy (503)");
      return refused(a, *response, "agent.check", "GET /v1/health");
    }
    if (response->status == 404)
      return StepResult::fail("agent.check: " + where(a) + " has no check '" + check + "' (404)", false);
    if (response->status != 200) return refused(a, *response, "agent.check", "check '" + check + "'");
    const std::string status = text_of(body, "status");
    if (status == "pass") return StepResult::ok({{"status", status}});
    std::string text = "agent.check: check '" + check + "' on " + where(a) + " " +
                       (status.empty() ? std::string("answered without a status") : "is " + status);
    if (const auto line = last_line(scrub(text_of(body, "output"), a.token)); !line.empty()) text += ": " + line;
    return StepResult::fail(valid_utf8(text));
  }

  // A check only reads: after a crash it simply runs again.
  Reconciliation reconcile(const StepCall&) override {
    Reconciliation r;
    r.verdict = Reconciliation::Verdict::not_started;
    return r;
  }

  bool read_only() const override { return true; }

  std::vector<std::string> describe(const StepCall& call) const override {
    const Agent a = agent(call, false);
    const std::string check = call.param_text("check");
    return {"GET " + redact_url((a.url.empty() ? "{" + a.name + ".url}" : a.url) +
                                (check.empty() ? "/v1/health" : "/v1/checks/" + segment(check)))};
  }
};

}  // namespace

void register_agent_actions(ActionRegistry& registry, std::shared_ptr<azure::AzureContext> context) {
  registry.add("agent.run", std::make_shared<AgentRunAction>(context));
  registry.add("agent.check", std::make_shared<AgentCheckAction>(std::move(context)));
}

}  // namespace dr
