// Azure Resource Manager from edgedr: clouds, credentials, and the request pipeline every Traffic
// Manager, Site Recovery and Backup action goes through (../shared/azure-specs/CONTRACTS.md).
//
// The pipeline, in order, for each call: a token for the cloud's ARM scope (cached, refreshed
// before expiry, refreshed once more on a 401 invalid_token), a client-side token bucket per
// subscription for reads, writes and deletes (ARM's documented limits, so a big runbook slows
// down instead of being throttled), `x-ms-client-request-id` (one per call, the same across its
// retries), retries on 408/429/500/502/503/504 and transport errors honouring `retry-after-ms`,
// `x-ms-retry-after-ms` and `Retry-After`, else exponential backoff with jitter, capped, and never
// past the call's deadline. Error bodies become one line with code, message and request id.
//
// All waiting goes through the injected Clock, so under --simulate a scaled clock shrinks
// Retry-After and backoff with everything else. Nothing here prints a token or a secret.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <vector>

#include "dr/clock.h"
#include "dr/http.h"
#include "dr/runbook.h"

namespace dr::azure {

// ---- Clouds -------------------------------------------------------------------------------

struct Cloud {
  std::string name;            // AzureCloud, AzureUSGovernment, AzureChinaCloud, custom
  std::string arm_endpoint;    // "https://management.azure.com" (no trailing slash)
  std::string authority_host;  // "https://login.microsoftonline.com/" (trailing slash)
  std::string audience;        // "https://management.core.windows.net/"
  std::string scope() const;   // audience without a trailing slash + "/.default"
};

// The runbook's `azure.cloud` (and `custom` endpoints); AZURE_AUTHORITY_HOST overrides the
// authority host of a named cloud. Error: one line naming the unknown cloud and the known ones.
tl::expected<Cloud, std::string> cloud_for(const AzureSettings& settings,
                                           const std::function<const char*(const char*)>& getenv = {});

// ---- Credentials --------------------------------------------------------------------------

struct AccessToken {
  std::string token;  // a secret: never log, journal or print it
  Clock::wall_time expires_on{};
};

struct AuthError {
  std::string message;  // one line; names the credential(s) tried and why each failed; no secrets
};

class TokenCredential {
 public:
  virtual ~TokenCredential() = default;
  // A token for `scope`. Cached per scope (and tenant); a cached token is refreshed a few minutes
  // before it expires, or now when `force_refresh` (after a 401 invalid_token). Thread-safe.
  virtual tl::expected<AccessToken, AuthError> get_token(const std::string& scope, bool force_refresh = false) = 0;
  virtual std::string name() const = 0;  // "environment (client secret)", "managed identity", ...
};

// What the credentials need from the outside world, injectable for tests.
struct CredentialEnvironment {
  std::function<const char*(const char*)> getenv;  // empty: ::getenv
  Clock* clock = nullptr;                          // expiry and refresh decisions
  std::string authority_host;                      // from the Cloud
  std::string tenant;                              // the runbook's azure.tenant; empty: AZURE_TENANT_ID
  // Runs `az account get-access-token ...` (argv, no shell) and returns its stdout, or an error.
  // Empty: the real process runner. Tests stub it.
  std::function<tl::expected<std::string, std::string>(const std::vector<std::string>& argv)> run_az;
  std::string imds_endpoint = "http://169.254.169.254";  // tests point it at a loopback server
  // Azure Arc's challenge names a key file; only .key files directly in this directory are read
  // (the Connected Machine agent's token directory). Tests point it at a temporary directory.
  std::string arc_key_directory = "/var/opt/azcmagent/tokens";
};

// DefaultAzureCredential's chain (cli.md "Credentials"): environment (client secret, then
// client certificate), workload identity (AZURE_FEDERATED_TOKEN_FILE, re-read on every request),
// managed identity (IMDS; Azure Arc's IDENTITY_ENDPOINT + IMDS_ENDPOINT challenge; App Service's
// IDENTITY_ENDPOINT + IDENTITY_HEADER), then the Azure CLI (left out when
// AZURE_TOKEN_CREDENTIALS=prod). The first credential that succeeds is remembered.
std::unique_ptr<TokenCredential> default_credential(CredentialEnvironment env);

// A client-secret credential on its own (the simulator's token endpoint uses it).
std::unique_ptr<TokenCredential> client_secret_credential(CredentialEnvironment env, std::string tenant,
                                                          std::string client_id, std::string secret);

// ---- The ARM pipeline ---------------------------------------------------------------------

enum class OpKind { read, write, del };  // which token bucket a request draws from

struct ArmRequest {
  std::string method = "GET";
  // A path under the cloud's ARM endpoint ("/subscriptions/..."), or an absolute URL handed out
  // by ARM (nextLink, Azure-AsyncOperation, Location), followed verbatim.
  std::string path;
  std::string api_version;                       // added as ?api-version= to paths; not to absolute URLs
  std::optional<std::string> body;               // JSON text; sets Content-Type: application/json
  HttpHeaders headers;                           // extra headers
  Clock::time_point deadline{};                  // no retry or wait past this; {} = none
  const std::atomic<bool>* cancelled = nullptr;  // stop waiting between retries when set
  // Non-idempotent POSTs (failover, backup, restore) are not re-sent after a transport error or
  // timeout: the request may have arrived. The caller reconciles instead (CONTRACTS.md §6).
  bool retry_unsafe_on_transport_error = false;
};

struct ArmResponse {
  int status = 0;
  HttpHeaders headers;
  std::string body;
  std::string request_id;         // x-ms-request-id, when given
  std::string client_request_id;  // the x-ms-client-request-id sent
  int attempts = 1;               // how many times it was sent
  std::optional<std::string> header(std::string_view name) const;
};

struct ArmError {
  enum class Kind {
    http,       // a 4xx/5xx that retries did not fix (status, code, message)
    transport,  // connect/TLS/reset/timeout after the retries allowed
    auth,       // no token (AuthError), or 401/403 after a refresh: exit 77
    deadline,   // the call's deadline came before an answer
    cancelled,
  };
  Kind kind = Kind::http;
  int status = 0;
  std::string code;     // error.code from the body
  std::string message;  // one line: "PATCH .../endpoints/x: 409 Conflict: <code>: <message> (request id ...)"
  std::string request_id;
  bool retryable = false;  // another attempt of the step could help
  bool ambiguous = false;  // the request may have arrived (transport error on a non-idempotent POST)
};

// Extracts "code: message" from an ARM error body, leniently (TM's CloudError, common-types
// ErrorResponse, bodies with only a message, non-JSON); empty when nothing is found.
std::string arm_error_text(std::string_view body);

// The abstract pipeline, so actions can be tested against a fake.
class Arm {
 public:
  virtual ~Arm() = default;
  virtual tl::expected<ArmResponse, ArmError> send(const ArmRequest& request) = 0;
  // GET `path` and every nextLink after it; the `value` arrays' items as JSON texts.
  virtual tl::expected<std::vector<std::string>, ArmError> list(const std::string& path, const std::string& api_version,
                                                                Clock::time_point deadline = {});
};

struct ArmOptions {
  Cloud cloud;
  std::shared_ptr<TokenCredential> credential;
  Clock* clock = nullptr;
  int max_retries = 3;                                   // tries = 1 + max_retries
  Duration retry_delay{std::chrono::milliseconds(800)};  // first backoff, then doubled
  Duration max_retry_delay{std::chrono::seconds(60)};
  // Client-side token buckets per subscription (CONTRACTS.md §6): capacity and refill per second.
  double read_capacity = 250, read_refill = 25;
  double write_capacity = 200, write_refill = 10;
  double delete_capacity = 200, delete_refill = 10;
  HttpClient::Options http;  // body cap, user agent
  // Called with one line per request and response at --debug (method, redacted URL, status,
  // request ids, duration); never headers that carry credentials.
  std::function<void(const std::string&)> debug_log;
};

// The real pipeline. Thread-safe: worker threads send through it at the same time.
std::shared_ptr<Arm> make_arm_client(ArmOptions options);

// ---- Long-running operations --------------------------------------------------------------

// What to poll after a 201/202: Azure-AsyncOperation (status in the body) or Location (202 =
// running). Journaled as a step's handle, so it is plain text.
struct Lro {
  enum class Kind { async_operation, location };
  Kind kind = Kind::location;
  std::string url;                                 // absolute, verbatim
  std::string location;                            // the Location header too, when both were given (final result)
  Duration retry_after{std::chrono::seconds(30)};  // Retry-After of the response; 30 s if absent
};
std::optional<Lro> lro_from(const ArmResponse& accepted);

struct LroStatus {
  enum class State { running, succeeded, failed, cancelled };
  State state = State::running;
  std::string body;   // the status (or final) body
  std::string error;  // failed: one line
  Duration retry_after{std::chrono::seconds(30)};
};
// One poll of `lro` (a GET through `arm`); status words compared case-insensitively
// (InProgress, Succeeded, Failed, Canceled/Cancelled).
tl::expected<LroStatus, ArmError> poll_lro(Arm& arm, const Lro& lro, Clock::time_point deadline = {});

// Service api-versions: the defaults of CONTRACTS.md §0, overridden by the runbook's
// `azure.api-versions` (keys traffic-manager, site-recovery, backup).
struct ApiVersions {
  std::string traffic_manager = "2026-09-01";
  std::string site_recovery = "2026-05-01";
  std::string backup = "2026-02-01";
  static ApiVersions from(const AzureSettings& settings);
};

}  // namespace dr::azure
