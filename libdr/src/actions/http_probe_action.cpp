// `http.probe`: one HTTP(S) request that must answer with an expected status and body. One
// request per submit; the engine repeats it under the step's retry policy until it passes.
//
// Header values never appear in a result (they may carry credentials) and URLs are redacted.
#include <algorithm>
#include <cctype>
#include <mutex>
#include <regex>

#include "actions/action_support.h"
#include "dr/http.h"

namespace dr::actions {
namespace {

using namespace std::chrono_literals;

constexpr std::size_t kBodyOutput = 4096;  // bytes of body kept in the step's `body` output
// libstdc++'s std::regex recurses once per character matched and overflows a worker thread's
// stack on large inputs; a health answer that matters fits well within this.
constexpr std::size_t kRegexSubject = 64 * 1024;
constexpr std::size_t kIdleClients = 8;

struct ProbeSpec {
  HttpRequest request;
  std::vector<int> statuses;
  std::string body_contains;
  std::string body_regex;
  std::string error;  // set when the parameters are unusable
};

bool parse_status(const Value& v, std::vector<int>& out) {
  std::int64_t code = 0;
  if (v.kind() == Value::Kind::integer) {
    code = v.as_int();
  } else if (v.is_string() && !v.as_string().empty() && v.as_string().size() <= 3 &&
             v.as_string().find_first_not_of("0123456789") == std::string::npos) {
    code = std::stoi(v.as_string());
  } else {
    return false;
  }
  if (code < 100 || code > 599) return false;
  out.push_back(static_cast<int>(code));
  return true;
}

std::string expected_text(const std::vector<int>& statuses) {
  std::string out;
  for (std::size_t i = 0; i < statuses.size(); ++i) {
    if (i) out += i + 1 == statuses.size() ? " or " : ", ";
    out += std::to_string(statuses[i]);
  }
  return out;
}

ProbeSpec read_spec(const StepCall& call) {
  ProbeSpec s;
  s.request.url = call.param_text("url");
  if (s.request.url.empty()) s.error = "http.probe needs a url";
  s.request.method = call.param_text("method", "GET");
  std::transform(s.request.method.begin(), s.request.method.end(), s.request.method.begin(),
                 [](unsigned char c) { return std::toupper(c); });
  s.request.body = call.param_text("body");
  s.request.ca_file = call.param_text("ca-file");
  if (const Value* headers = call.param("headers"); headers && headers->is_map())
    for (const auto& [name, value] : headers->entries()) s.request.headers.emplace_back(name, value.to_text());

  if (const Value* expect = call.param("expect-status"); expect && !expect->is_null()) {
    bool ok = true;
    if (expect->is_list()) {
      for (const Value& v : expect->items()) ok = ok && parse_status(v, s.statuses);
      ok = ok && !s.statuses.empty();
    } else {
      ok = parse_status(*expect, s.statuses);
    }
    if (!ok) s.error = "expect-status must be an HTTP status (100-599) or a list of them, not " + expect->to_text();
  } else {
    s.statuses = {200};
  }
  s.body_contains = call.param_text("expect-body");
  s.body_regex = call.param_text("expect-body-regex");

  const auto timeout = duration_param(call, "request-timeout");
  if (!timeout.error.empty()) s.error = timeout.error;
  Duration total = timeout.value.value_or(10s);
  // One request never outlives the step: its timeout holds across attempts.
  if (const auto left = time_left(call); left && *left < total) total = std::max(*left, Duration(1));
  s.request.total_timeout = total;
  s.request.connect_timeout = std::min<Duration>(total, 10s);
  return s;
}

class HttpProbeAction final : public Action {
 public:
  StepResult submit(const StepCall& call) override {
    ProbeSpec spec = read_spec(call);
    if (!spec.error.empty()) return StepResult::fail(spec.error, false);
    std::optional<std::regex> pattern;
    if (!spec.body_regex.empty()) {
      try {
        pattern.emplace(spec.body_regex, std::regex::ECMAScript);
      } catch (const std::regex_error& e) {
        return StepResult::fail("expect-body-regex is not a valid ECMAScript regex: " + std::string(e.what()), false);
      }
    }

    const std::string what = spec.request.method + " " + redact_url(spec.request.url);
    auto client = take_client();
    auto response = client->send(spec.request);
    give_back(std::move(client));
    if (!response) return StepResult::fail(what + ": " + response.error().message, response.error().retryable);

    const int status = response->status;
    const std::string answered = what + " answered " + std::to_string(status);
    if (std::find(spec.statuses.begin(), spec.statuses.end(), status) == spec.statuses.end())
      return StepResult::fail(answered + ", expected " + expected_text(spec.statuses));
    const std::string& body = response->body;
    if (!spec.body_contains.empty() && body.find(spec.body_contains) == std::string::npos)
      return StepResult::fail(answered + " but the body does not contain '" + spec.body_contains + "'");
    if (pattern) {
      try {
        const std::string subject = body.substr(0, kRegexSubject);
        if (!std::regex_search(subject, *pattern))
          return StepResult::fail(answered + " but the body does not match /" + spec.body_regex + "/");
      } catch (const std::regex_error& e) {
        return StepResult::fail(answered + " but expect-body-regex could not be matched: " + std::string(e.what()),
                                false);
      }
    }
    return StepResult::ok({{"status", std::to_string(status)}, {"body", valid_utf8(body.substr(0, kBodyOutput))}});
  }

  // A probe only reads: after a crash it simply runs again.
  Reconciliation reconcile(const StepCall&) override {
    Reconciliation r;
    r.verdict = Reconciliation::Verdict::not_started;
    return r;
  }

  bool blocking() const override { return true; }
  bool read_only() const override { return true; }

  std::vector<std::string> describe(const StepCall& call) const override {
    ProbeSpec spec = read_spec(call);
    return {spec.request.method + " " + redact_url(spec.request.url) + " (expect " + expected_text(spec.statuses) +
            ")"};
  }

 private:
  // A client is not thread-safe and submit() runs on the worker pool: each call takes an idle
  // client (keeping its open connections) and gives it back.
  std::unique_ptr<HttpClient> take_client() {
    std::lock_guard lock(mu_);
    if (idle_.empty()) return std::make_unique<HttpClient>();
    auto client = std::move(idle_.back());
    idle_.pop_back();
    return client;
  }
  void give_back(std::unique_ptr<HttpClient> client) {
    std::lock_guard lock(mu_);
    if (idle_.size() < kIdleClients) idle_.push_back(std::move(client));
  }

  std::mutex mu_;
  std::vector<std::unique_ptr<HttpClient>> idle_;
};

}  // namespace

std::shared_ptr<Action> make_http_probe_action() {
  return std::make_shared<HttpProbeAction>();
}

}  // namespace dr::actions
