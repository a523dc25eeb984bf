// The ARM pipeline (azure.h, CONTRACTS.md §0 and §6): token, client-side throttle, request id,
// retries within the deadline, one-line errors, --debug lines without credentials.
#include <nlohmann/json.hpp>

#include "azure/credentials.h"
#include "azure/pipeline_parts.h"

namespace dr::azure {
namespace {

using detail::lower;

bool retryable_status(int status) {
  return status == 408 || status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
}

bool is_absolute(std::string_view path) {
  const std::string l = lower(path.substr(0, 8));
  return l.rfind("https://", 0) == 0 || l.rfind("http://", 0) == 0;
}

// "https://management.azure.com:443" from any URL: scheme and host lower-cased, default port made
// explicit, so that equal origins compare equal.
std::string origin_of(std::string_view url) {
  const std::string l = lower(url);
  const auto scheme_end = l.find("://");
  if (scheme_end == std::string::npos) return {};
  const std::string scheme = l.substr(0, scheme_end);
  auto authority = l.substr(scheme_end + 3, l.find_first_of("/?#", scheme_end + 3) - (scheme_end + 3));
  if (const auto at = authority.rfind('@'); at != std::string::npos) authority = authority.substr(at + 1);
  const auto colon = authority.rfind(':');
  if (colon == std::string::npos || authority.find(']', colon) != std::string::npos) {
    authority += scheme == "https" ? ":443" : ":80";
  }
  return scheme + "://" + authority;
}

std::string seconds_text(Duration d) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f s", static_cast<double>(d.count()) / 1000.0);
  return text;
}

std::string error_code_of(const std::string& body) {
  const auto json = nlohmann::json::parse(body, nullptr, false);
  if (!json.is_object()) return {};
  for (const char* key : {"error", "Error"}) {
    if (const auto e = json.find(key); e != json.end() && e->is_object()) {
      for (const char* c : {"code", "Code"}) {
        if (const auto it = e->find(c); it != e->end() && it->is_string()) return it->get<std::string>();
      }
    }
  }
  for (const char* c : {"code", "Code"}) {
    if (const auto it = json.find(c); it != json.end() && it->is_string()) return it->get<std::string>();
  }
  return {};
}

class ArmClient final : public Arm {
 public:
  explicit ArmClient(ArmOptions options)
      : options_(std::move(options)),
        clock_(options_.clock ? *options_.clock : system_clock_),
        buckets_(clock_, {options_.read_capacity, options_.read_refill},
                 {options_.write_capacity, options_.write_refill}, {options_.delete_capacity, options_.delete_refill}) {
  }

  tl::expected<ArmResponse, ArmError> send(const ArmRequest& request) override;

 private:
  // HttpClient is single-threaded; a small pool keeps connections warm across worker threads.
  std::unique_ptr<HttpClient> take_client() {
    std::lock_guard g(pool_mu_);
    if (pool_.empty()) return std::make_unique<HttpClient>(options_.http);
    auto client = std::move(pool_.back());
    pool_.pop_back();
    return client;
  }
  void give_back(std::unique_ptr<HttpClient> client) {
    std::lock_guard g(pool_mu_);
    if (pool_.size() < 16) pool_.push_back(std::move(client));
  }
  void log(const std::string& line) const {
    if (options_.debug_log) options_.debug_log(line);
  }

  SystemClock system_clock_;
  ArmOptions options_;
  Clock& clock_;
  detail::RequestBuckets buckets_;
  std::mutex pool_mu_;
  std::vector<std::unique_ptr<HttpClient>> pool_;
};

tl::expected<ArmResponse, ArmError> ArmClient::send(const ArmRequest& request) {
  const bool absolute = is_absolute(request.path);
  // Service-given URLs are followed verbatim; paths built from resource names are encoded here.
  std::string url = absolute ? request.path : options_.cloud.arm_endpoint + detail::path_encode(request.path);
  if (!absolute && !request.api_version.empty()) {
    url += (url.find('?') == std::string::npos ? "?" : "&") + std::string("api-version=") +
           detail::form_encode(request.api_version);
  }
  const std::string method = request.method;
  const std::string where = method + " " + redact_url(request.path);
  const std::string client_request_id = detail::uuid_v4();
  const std::string subscription = detail::subscription_of(request.path);
  const OpKind kind = detail::op_kind_of(method);
  const bool has_deadline = request.deadline != Clock::time_point{};
  // nextLink, Azure-AsyncOperation and Location come from the service: the bearer token goes
  // only to the ARM endpoint's own origin, never to wherever a response points.
  if (absolute && origin_of(url) != origin_of(options_.cloud.arm_endpoint)) {
    ArmError e;
    e.kind = ArmError::Kind::http;
    e.message = where + ": refused: the URL is not on the ARM endpoint " + options_.cloud.arm_endpoint +
                ", and the token is only sent there";
    return tl::unexpected(e);
  }

  const auto fail = [&](ArmError::Kind k, std::string message) {
    ArmError e;
    e.kind = k;
    e.message = std::move(message);
    return tl::unexpected(std::move(e));
  };
  const auto cancelled = [&] { return fail(ArmError::Kind::cancelled, where + ": cancelled"); };
  // Waits `delay` unless that passes the deadline; the error explains what was being waited for.
  const auto wait_or_stop = [&](Duration delay, ArmError last, const std::string& why) -> std::optional<ArmError> {
    const auto until = clock_.now() + delay;
    if (has_deadline && until > request.deadline) {
      last.kind = ArmError::Kind::deadline;
      last.retryable = true;
      last.message += "; " + why + " (" + seconds_text(delay) + ") would pass the call's deadline";
      return last;
    }
    if (!detail::clock_wait(clock_, until, request.cancelled)) {
      ArmError e;
      e.kind = ArmError::Kind::cancelled;
      e.message = where + ": cancelled";
      return e;
    }
    return std::nullopt;
  };

  bool force_refresh = false;
  bool refreshed = false;
  int retries = 0;
  int attempts = 0;
  for (;;) {
    if (request.cancelled && request.cancelled->load()) return cancelled();
    if (const auto pace = buckets_.reserve(subscription, kind); pace.count() > 0) {
      ArmError e;
      e.kind = ArmError::Kind::deadline;
      e.message = where + ": held back by the client-side request limit for subscription " +
                  (subscription.empty() ? "(none)" : subscription);
      if (auto stop = wait_or_stop(pace, e, "waiting for it")) return tl::unexpected(*stop);
    }
    auto token = options_.credential->get_token(options_.cloud.scope(), force_refresh);
    force_refresh = false;
    if (!token) return fail(ArmError::Kind::auth, where + ": no token: " + token.error().message);

    HttpRequest http_request;
    http_request.method = method;
    http_request.url = url;
    http_request.headers = {{"Authorization", "Bearer " + token->token},
                            {"x-ms-client-request-id", client_request_id},
                            {"Accept", "application/json"}};
    if (request.body) {
      http_request.headers.push_back({"Content-Type", "application/json"});
      http_request.body = *request.body;
    }
    for (const auto& h : request.headers) http_request.headers.push_back(h);
    http_request.total_timeout = std::chrono::seconds(60);
    if (has_deadline) {
      const auto left = std::chrono::duration_cast<Duration>(request.deadline - clock_.now());
      if (left.count() <= 0)
        return fail(ArmError::Kind::deadline, where + ": the call's deadline passed before it was sent");
      http_request.total_timeout = std::clamp<Duration>(left, std::chrono::seconds(1), std::chrono::seconds(60));
    }

    ++attempts;
    const std::string ids = "client request id " + client_request_id + ", attempt " + std::to_string(attempts);
    log("arm: -> " + method + " " + redact_url(url) + " (" + ids + ")");
    const auto started = clock_.now();
    auto client = take_client();
    auto response = client->send(http_request);
    give_back(std::move(client));
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(clock_.now() - started).count();

    ArmError error;
    Duration delay{};
    if (!response) {
      const auto& transport = response.error();
      log("arm: <- " + std::string(http_error_kind_name(transport.kind)) + " error " + method + " " + redact_url(url) +
          " after " + std::to_string(took) + " ms (" + ids + "): " + transport.message);
      error.kind = ArmError::Kind::transport;
      error.message = where + ": " + transport.message + " (client request id " + client_request_id + ")";
      error.retryable = transport.retryable;
      if (method == "POST" && !request.retry_unsafe_on_transport_error &&
          transport.kind != HttpError::Kind::refused_url && transport.kind != HttpError::Kind::connect) {
        // The POST may have reached ARM and started a failover or a backup: sending it again could
        // start a second one. The caller looks for the job instead (CONTRACTS.md §6).
        error.ambiguous = true;
        error.retryable = false;
        error.message += "; not re-sent because the request may have arrived: check the operation's state";
        return tl::unexpected(error);
      }
      if (!transport.retryable || retries >= options_.max_retries) return tl::unexpected(error);
      ++retries;
      delay = detail::backoff_delay(retries, options_.retry_delay, options_.max_retry_delay);
    } else {
      const int status = response->status;
      const std::string request_id = response->header("x-ms-request-id").value_or("");
      log("arm: <- " + std::to_string(status) + " " + method + " " + redact_url(url) + " in " + std::to_string(took) +
          " ms (request id " + (request_id.empty() ? "none" : request_id) + ", " + ids + ")");
      if (status < 400) {
        if (response->body_truncated) {
          return fail(ArmError::Kind::http, where + ": the answer is larger than " +
                                                std::to_string(options_.http.body_cap) + " bytes (request id " +
                                                (request_id.empty() ? "none" : request_id) + ")");
        }
        ArmResponse out;
        out.status = status;
        out.headers = std::move(response->headers);
        out.body = std::move(response->body);
        out.request_id = request_id;
        out.client_request_id = client_request_id;
        out.attempts = attempts;
        return out;
      }
      const std::string challenge = lower(response->header("WWW-Authenticate").value_or(""));
      if (status == 401 && !refreshed && challenge.find("invalid_token") != std::string::npos) {
        // The token was revoked or rotated early: one fresh token, sent at once.
        refreshed = true;
        force_refresh = true;
        continue;
      }
      error.status = status;
      error.code = error_code_of(response->body);
      error.request_id = request_id;
      std::string text = arm_error_text(response->body);
      if (text.empty() && !response->body.empty() && response->body.front() != '<' && response->body.front() != '{') {
        text = detail::one_line(response->body, 120);
      }
      const std::string reason = detail::reason_phrase(status);
      error.message = where + ": " + std::to_string(status) + (reason.empty() ? "" : " " + reason) +
                      (text.empty() ? "" : ": " + text) + " (request id " +
                      (request_id.empty() ? "none, client request id " + client_request_id : request_id) + ")";
      error.retryable = retryable_status(status);
      if (status == 401 || status == 403) {
        error.kind = ArmError::Kind::auth;
        return tl::unexpected(error);
      }
      error.kind = ArmError::Kind::http;
      if (!error.retryable || retries >= options_.max_retries) return tl::unexpected(error);
      ++retries;
      delay = detail::server_retry_delay(response->headers, clock_.wall())
                  .value_or(detail::backoff_delay(retries, options_.retry_delay, options_.max_retry_delay));
    }
    if (auto stop = wait_or_stop(delay, error, "the next try")) return tl::unexpected(*stop);
  }
}

}  // namespace

std::shared_ptr<Arm> make_arm_client(ArmOptions options) {
  if (!options.credential) throw std::invalid_argument("make_arm_client: no credential");
  return std::make_shared<ArmClient>(std::move(options));
}

}  // namespace dr::azure
