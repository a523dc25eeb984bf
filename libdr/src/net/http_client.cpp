// HttpClient on one libcurl easy handle. curl_easy_reset() between requests clears the options
// but keeps the connection cache, DNS cache and TLS sessions, so consecutive requests to a host
// reuse their connection.
#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <stdexcept>

#include "dr/http.h"
#include "dr/version.h"
#include "net/net_text.h"
#include "net/url_policy.h"

namespace dr {
namespace {

using Kind = HttpError::Kind;
using SteadyClock = std::chrono::steady_clock;

constexpr int kMaxRedirects = 5;

struct SlistFree {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using Slist = std::unique_ptr<curl_slist, SlistFree>;

// What one transfer collects through curl's callbacks.
struct Sink {
  HttpResponse response;
  std::size_t cap = 0;
};

std::size_t on_body(char* data, std::size_t size, std::size_t n, void* user) {
  auto* sink = static_cast<Sink*>(user);
  const std::size_t len = size * n;
  std::string& body = sink->response.body;
  const std::size_t room = sink->cap > body.size() ? sink->cap - body.size() : 0;
  body.append(data, std::min(room, len));
  if (len > room) sink->response.body_truncated = true;
  // Read the rest and drop it, rather than abort: the exchange completes as a response and the
  // connection stays reusable. total_timeout bounds an endless body.
  return len;
}

std::size_t on_header(char* data, std::size_t size, std::size_t n, void* user) {
  auto* sink = static_cast<Sink*>(user);
  const std::size_t len = size * n;
  const std::string_view line(data, len);
  if (line.rfind("HTTP/", 0) == 0) {
    // A status line starts a new response (after a 100 Continue, or a proxy's CONNECT answer):
    // only the final response's headers are the answer.
    sink->response.headers.clear();
  } else if (const auto colon = line.find(':'); colon != std::string_view::npos) {
    sink->response.headers.emplace_back(std::string(net::trim(line.substr(0, colon))),
                                        std::string(net::trim(line.substr(colon + 1))));
  }
  return len;
}

HttpError error_from(CURLcode code, const char* detail) {
  std::string message = detail && *detail ? std::string(net::trim(detail)) : curl_easy_strerror(code);
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT: return {Kind::timeout, std::move(message), true};
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT: return {Kind::connect, std::move(message), true};
    // A reset during the handshake looks like this; a bad certificate does not.
    case CURLE_SSL_CONNECT_ERROR: return {Kind::tls, std::move(message), true};
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CRL_BADFILE: return {Kind::tls, std::move(message), false};
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT: return {Kind::refused_url, std::move(message), false};
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM: return {Kind::transport, std::move(message), true};
    default: return {Kind::transport, std::move(message), false};
  }
}

HttpError bad_request(std::string message) {
  return {Kind::transport, std::move(message), false};
}

// RFC 9110 token characters, which is what a method and a header name must be made of.
bool is_token(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return std::isalnum(c) || std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
  });
}

bool is_redirect(int status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

bool is_credential_header(const std::string& name) {
  return redact_header(name, "x") != "x";
}

std::mutex route_mutex;
std::string route;  // the simulation route; guarded by route_mutex

// The path and query of a parsed URL ("/a/b?c=d").
std::string path_and_query(CURLU* url) {
  std::string out;
  char* part = nullptr;
  if (curl_url_get(url, CURLUPART_PATH, &part, 0) == CURLUE_OK && part) out = part;
  curl_free(part);
  part = nullptr;
  if (curl_url_get(url, CURLUPART_QUERY, &part, 0) == CURLUE_OK && part) out += std::string("?") + part;
  curl_free(part);
  return out.empty() ? "/" : out;
}

}  // namespace

struct HttpClient::Impl {
  Options options;
  CURL* easy = nullptr;
  char errbuf[CURL_ERROR_SIZE] = {};

  explicit Impl(Options o) : options(std::move(o)) {
    net::ensure_curl_initialised();
    easy = curl_easy_init();
    if (!easy) throw std::runtime_error("curl_easy_init failed");
    if (options.user_agent.empty()) options.user_agent = "edgedr/" + version();
  }
  ~Impl() { curl_easy_cleanup(easy); }

  // One exchange, no redirects followed; `redirect_to` gets the Location curl resolved, if any.
  tl::expected<HttpResponse, HttpError> perform(const HttpRequest& req, CURLU* url, Duration timeout,
                                                std::string& redirect_to);
};

tl::expected<HttpResponse, HttpError> HttpClient::Impl::perform(const HttpRequest& req, CURLU* url, Duration timeout,
                                                                std::string& redirect_to) {
  std::string method = req.method.empty() ? "GET" : req.method;
  std::transform(method.begin(), method.end(), method.begin(), [](unsigned char c) { return std::toupper(c); });
  if (!is_token(method)) return tl::unexpected(bad_request("'" + method + "' is not an HTTP method"));

  Slist headers;
  const auto add_header = [&](const std::string& line) {
    curl_slist* next = curl_slist_append(headers.get(), line.c_str());
    if (!next) throw std::bad_alloc();
    headers.release();  // `next` is the same list, one entry longer
    headers.reset(next);
  };
  for (const auto& [name, value] : req.headers) {
    // A line break in a header would let a runbook value inject headers or a second request.
    if (!is_token(name)) return tl::unexpected(bad_request("'" + name + "' is not a valid header name"));
    if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos)
      return tl::unexpected(bad_request("the value of header '" + name + "' contains a line break or NUL"));
    add_header(value.empty() ? name + ";" : name + ": " + value);  // "Name;" is curl's way to send it empty
  }
  add_header("Expect:");  // no 100-continue round trip before a body

  curl_easy_reset(easy);
  errbuf[0] = '\0';
  Sink sink;
  sink.cap = options.body_cap;

  CURLcode rc = CURLE_OK;
  const auto set = [&](CURLoption option, auto value) {
    if (rc == CURLE_OK) rc = curl_easy_setopt(easy, option, value);
  };
  set(CURLOPT_CURLU, url);
  set(CURLOPT_PROTOCOLS_STR, "http,https");
  set(CURLOPT_NOSIGNAL, 1L);  // no SIGALRM for DNS timeouts: this runs on worker threads
  set(CURLOPT_ERRORBUFFER, errbuf);
  set(CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(std::max<Duration::rep>(1, req.connect_timeout.count())));
  set(CURLOPT_TIMEOUT_MS, static_cast<long>(std::max<Duration::rep>(1, timeout.count())));  // 0 would mean never
  // Verification is never optional; VERIFYHOST takes 2 (1 is an old synonym for it).
  set(CURLOPT_SSL_VERIFYPEER, 1L);
  set(CURLOPT_SSL_VERIFYHOST, 2L);
  if (!req.ca_file.empty()) set(CURLOPT_CAINFO, req.ca_file.c_str());
  set(CURLOPT_FOLLOWLOCATION, 0L);  // HttpClient::send follows them itself, checking each hop
  set(CURLOPT_USERAGENT, options.user_agent.c_str());
  set(CURLOPT_ACCEPT_ENCODING, "");  // whatever this libcurl can decode
  set(CURLOPT_HTTPHEADER, headers.get());
  set(CURLOPT_WRITEFUNCTION, &on_body);
  set(CURLOPT_WRITEDATA, static_cast<void*>(&sink));
  set(CURLOPT_HEADERFUNCTION, &on_header);
  set(CURLOPT_HEADERDATA, static_cast<void*>(&sink));
  if (method == "GET") {
    set(CURLOPT_HTTPGET, 1L);
  } else if (method == "HEAD") {
    set(CURLOPT_NOBODY, 1L);
  } else {
    if (method != "POST") set(CURLOPT_CUSTOMREQUEST, method.c_str());
    if (!req.body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
      set(CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
      set(CURLOPT_POSTFIELDS, req.body.c_str());
    }
  }
  if (rc != CURLE_OK) return tl::unexpected(error_from(rc, nullptr));

  rc = curl_easy_perform(easy);
  if (rc != CURLE_OK) return tl::unexpected(error_from(rc, errbuf));

  long status = 0;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
  sink.response.status = static_cast<int>(status);
  char* location = nullptr;
  if (curl_easy_getinfo(easy, CURLINFO_REDIRECT_URL, &location) == CURLE_OK && location) redirect_to = location;
  return std::move(sink.response);
}

HttpClient::HttpClient() : HttpClient(Options{}) {}
HttpClient::HttpClient(Options options) : impl_(std::make_unique<Impl>(std::move(options))) {}
HttpClient::~HttpClient() = default;
HttpClient::HttpClient(HttpClient&&) noexcept = default;
HttpClient& HttpClient::operator=(HttpClient&&) noexcept = default;

tl::expected<HttpResponse, HttpError> HttpClient::send(const HttpRequest& request) {
  const auto start = SteadyClock::now();
  auto url = net::parse_allowed_url(request.url);
  if (!url) return tl::unexpected(url.error());

  if (const auto base = simulation_route(); !base.empty()) {
    HttpRequest routed = request;
    routed.url = base + path_and_query(url->get());
    routed.headers.emplace_back(kSimOriginalUrlHeader, request.url);
    auto target = net::parse_allowed_url(routed.url);
    if (!target) return tl::unexpected(target.error());
    std::string ignored;
    return impl_->perform(routed, target->get(), request.total_timeout, ignored);
  }

  HttpRequest current = request;
  for (int hop = 0;; ++hop) {
    const auto left = request.total_timeout - std::chrono::duration_cast<Duration>(SteadyClock::now() - start);
    if (left <= Duration::zero())
      return tl::unexpected(HttpError{Kind::timeout, "no time left after " + std::to_string(hop) + " redirects", true});

    std::string location;
    auto response = impl_->perform(current, url->get(), left, location);
    if (!response || !request.follow_redirects || location.empty() || !is_redirect(response->status)) return response;
    if (hop == kMaxRedirects)
      return tl::unexpected(bad_request("more than " + std::to_string(kMaxRedirects) + " redirects (the last to " +
                                        redact_url(location) + ")"));

    auto next = net::parse_allowed_url(location);
    if (!next) {
      HttpError e = next.error();
      e.message = "redirected to a refused URL: " + e.message;
      return tl::unexpected(std::move(e));
    }
    // Like browsers and curl: credentials stay with the origin they were given for.
    if (net::origin_of(url->get()) != net::origin_of(next->get()))
      std::erase_if(current.headers, [](const auto& h) { return is_credential_header(h.first); });
    // 303 always, and 301/302 after a POST, continue as a GET without the body.
    const int status = response->status;
    if ((status == 303 && !net::iequals(current.method, "HEAD")) ||
        ((status == 301 || status == 302) && net::iequals(current.method, "POST"))) {
      current.method = "GET";
      current.body.clear();
    }
    current.url = location;
    url = std::move(next);
  }
}

void set_simulation_route(std::string base_url) {
  while (!base_url.empty() && base_url.back() == '/') base_url.pop_back();
  std::lock_guard lock(route_mutex);
  route = std::move(base_url);
}

std::string simulation_route() {
  std::lock_guard lock(route_mutex);
  return route;
}

}  // namespace dr
