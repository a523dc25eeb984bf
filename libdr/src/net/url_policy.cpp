#include "net/url_policy.h"

#include <arpa/inet.h>

#include <cstring>
#include <mutex>
#include <stdexcept>

#include "net/net_text.h"

namespace dr::net {
namespace {

std::string part(CURLU* url, CURLUPart which, unsigned flags = 0) {
  char* text = nullptr;
  if (curl_url_get(url, which, &text, flags) != CURLUE_OK || !text) return {};
  std::string out(text);
  curl_free(text);
  return out;
}

HttpError refused(std::string message) {
  return {HttpError::Kind::refused_url, std::move(message), false};
}

}  // namespace

void ensure_curl_initialised() {
  // curl_global_init is not thread-safe and must run before any thread uses curl.
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) throw std::runtime_error("curl_global_init failed");
  });
}

bool is_loopback_host(std::string_view host) {
  const std::string h = lower(host);
  if (h == "localhost") return true;
  if (h.size() > 2 && h.front() == '[' && h.back() == ']') {
    in6_addr v6{};
    return inet_pton(AF_INET6, h.substr(1, h.size() - 2).c_str(), &v6) == 1 &&
           std::memcmp(&v6, &in6addr_loopback, sizeof v6) == 0;
  }
  in_addr v4{};
  // inet_pton takes only dotted quads: shorthand like "127.1" is not loopback here, which errs
  // on the side of refusing.
  return inet_pton(AF_INET, h.c_str(), &v4) == 1 && (ntohl(v4.s_addr) >> 24) == 127;
}

tl::expected<CurlUrl, HttpError> parse_allowed_url(std::string_view text) {
  ensure_curl_initialised();
  CurlUrl url(curl_url());
  if (!url) throw std::bad_alloc();
  // NON_SUPPORT_SCHEME: parse any scheme, so the refusal below can name it.
  const CURLUcode rc = curl_url_set(url.get(), CURLUPART_URL, std::string(text).c_str(), CURLU_NON_SUPPORT_SCHEME);
  if (rc != CURLUE_OK)
    return tl::unexpected(
        refused("not an absolute URL: '" + redact_url(text) + "' (" + curl_url_strerror(rc) + "); use https://..."));

  const std::string scheme = lower(part(url.get(), CURLUPART_SCHEME));
  const std::string host = part(url.get(), CURLUPART_HOST);
  if (scheme == "https") return url;
  if (scheme != "http")
    return tl::unexpected(refused("unsupported URL scheme '" + scheme + "' in " + redact_url(text) + "; use https://"));
  // Plain HTTP crosses no network when it stays on this machine (the simulator, a local agent);
  // anywhere else it would carry tokens and probe answers in clear text.
  // The one exception: Azure's instance metadata service (managed identity) is plain http on the
  // link-local 169.254.169.254, which answers from the host itself and is never routed.
  if (!is_loopback_host(host) && host != "169.254.169.254")
    return tl::unexpected(refused("plain http:// is only allowed to loopback addresses; use https:// for " + host));
  return url;
}

std::string origin_of(CURLU* url) {
  return lower(part(url, CURLUPART_SCHEME)) + "://" + lower(part(url, CURLUPART_HOST)) + ":" +
         part(url, CURLUPART_PORT, CURLU_DEFAULT_PORT);
}

}  // namespace dr::net

namespace dr {

std::optional<HttpError> check_url(std::string_view url) {
  auto parsed = net::parse_allowed_url(url);
  if (parsed) return std::nullopt;
  return parsed.error();
}

}  // namespace dr
