// Which URLs the client sends to, decided on curl's own parse of the URL so that the URL checked
// is exactly the URL requested (the parsed handle goes to the transfer with CURLOPT_CURLU).
#pragma once

#include <curl/curl.h>

#include <memory>
#include <string>
#include <string_view>
#include <tl/expected.hpp>

#include "dr/http.h"

namespace dr::net {

struct CurlUrlFree {
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
};
using CurlUrl = std::unique_ptr<CURLU, CurlUrlFree>;

// curl_global_init, once per process, before any other curl call.
void ensure_curl_initialised();

// "localhost", 127.0.0.0/8, or ::1 (as "[::1]", the way curl returns IPv6 hosts).
bool is_loopback_host(std::string_view host);

// Parses an absolute URL and applies the rules of dr/http.h.
tl::expected<CurlUrl, HttpError> parse_allowed_url(std::string_view url);

// "scheme://host:port" of a parsed URL: credentials go only to the origin they were meant for.
std::string origin_of(CURLU* url);

}  // namespace dr::net
