// The HTTP client every remote call goes through (http.probe now; the Azure pipeline and the agent
// client later), and the redaction helpers for anything that logs a request.
//
// Safety rules live here, not in each caller: TLS verification is always on (the system CA store,
// or `ca_file`); plain http:// is refused unless the host is a loopback address (or Azure IMDS at
// 169.254.169.254, link-local and never routed), before any packet
// leaves; redirects are not followed unless asked, and each hop is checked like the first one.
// Proxies come from the usual environment variables (https_proxy, no_proxy, ...), as libcurl reads
// them. A failure is a value that says what went wrong and whether another try can help.
//
// libcurl stays behind this header: nothing here includes <curl/curl.h>.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <utility>
#include <vector>

#include "dr/duration.h"

namespace dr {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  HttpHeaders headers;
  std::string body;
  Duration connect_timeout{std::chrono::seconds(10)};
  Duration total_timeout{std::chrono::seconds(30)};  // the whole exchange, body included
  std::string ca_file;                               // PEM bundle to verify the server with; empty: the system CAs
  bool follow_redirects = false;                     // up to 5 hops, each checked like the first URL
};

struct HttpResponse {
  int status = 0;
  HttpHeaders headers;  // of the final response, in the order received
  std::string body;
  bool body_truncated = false;  // the body was longer than the client's body cap

  // The first header with this name, compared case-insensitively.
  std::optional<std::string> header(std::string_view name) const;
};

struct HttpError {
  enum class Kind {
    refused_url,  // a URL this client will not send to (plain http to a remote host, bad scheme)
    connect,      // name resolution or TCP connect failed
    timeout,      // connect_timeout or total_timeout passed
    tls,          // handshake or certificate verification failed
    transport,    // the connection broke mid-exchange, or anything else
  };
  Kind kind = Kind::transport;
  std::string message;  // one line, no header values, no secret query parameters
  bool retryable = false;
};
const char* http_error_kind_name(HttpError::Kind k);  // "refused-url", "connect", ...

// Sends requests one at a time on one connection cache, so consecutive requests to the same host
// reuse their connection (and TLS session). Not thread-safe: give each thread its own client.
class HttpClient {
 public:
  struct Options {
    std::size_t body_cap = std::size_t{1} << 20;  // bytes of body kept; the rest is read and dropped
    std::string user_agent;                       // empty: "edgedr/<version>"
  };

  HttpClient();
  explicit HttpClient(Options options);
  ~HttpClient();
  HttpClient(HttpClient&&) noexcept;
  HttpClient& operator=(HttpClient&&) noexcept;
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  tl::expected<HttpResponse, HttpError> send(const HttpRequest& request);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The simulation route (--simulate, docs/simulator.md): once set, every HttpClient in the process
// sends each request to `base_url` (a loopback simulator) with the same path and query, and the
// original URL in the header X-Edgedr-Sim-Original-Url, after checking the original URL as usual.
// So a runbook's Azure, agent and probe calls reach the simulator and no packet leaves loopback.
// Redirects are not followed while routed. An empty `base_url` clears the route.
void set_simulation_route(std::string base_url);
std::string simulation_route();  // empty: not routed
inline constexpr const char* kSimOriginalUrlHeader = "X-Edgedr-Sim-Original-Url";

// Checks `url` against the rules above without sending anything: nullopt when allowed.
std::optional<HttpError> check_url(std::string_view url);

// `value`, or "[redacted]" when the header can carry a credential: Authorization,
// Proxy-Authorization, Cookie, Set-Cookie, x-ms-authorization-auxiliary, and any name containing
// "token", "secret", "key" or "password" (case-insensitive).
std::string redact_header(std::string_view name, std::string_view value);

// `url` with the values of credential-like query parameters (names containing sig, token, secret,
// key, password or code) and any userinfo password replaced by "[redacted]". For logs and errors.
std::string redact_url(std::string_view url);

}  // namespace dr
