// The plain-data parts of dr/http.h.
#include "dr/http.h"
#include "net/net_text.h"

namespace dr {

std::optional<std::string> HttpResponse::header(std::string_view name) const {
  for (const auto& [n, v] : headers)
    if (net::iequals(n, name)) return v;
  return std::nullopt;
}

const char* http_error_kind_name(HttpError::Kind k) {
  switch (k) {
    case HttpError::Kind::refused_url: return "refused-url";
    case HttpError::Kind::connect: return "connect";
    case HttpError::Kind::timeout: return "timeout";
    case HttpError::Kind::tls: return "tls";
    case HttpError::Kind::transport: return "transport";
  }
  return "transport";
}

}  // namespace dr
