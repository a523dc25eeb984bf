// Redaction of credentials in headers and URLs, so a request can be logged or put in an error.
// Names are matched loosely on purpose: a false positive hides a harmless value, a false
// negative leaks a secret into a journal that is kept for years (reliability P15).
#include <array>

#include "dr/http.h"
#include "net/net_text.h"

namespace dr {
namespace {

constexpr std::string_view kRedacted = "[redacted]";

bool contains_any(const std::string& lowered, std::initializer_list<std::string_view> words) {
  for (auto w : words)
    if (lowered.find(w) != std::string::npos) return true;
  return false;
}

}  // namespace

std::string redact_header(std::string_view name, std::string_view value) {
  const std::string n = net::lower(net::trim(name));
  static constexpr std::array<std::string_view, 5> kExact{"authorization", "proxy-authorization", "cookie",
                                                          "set-cookie", "x-ms-authorization-auxiliary"};
  for (auto e : kExact)
    if (n == e) return std::string(kRedacted);
  if (contains_any(n, {"token", "secret", "key", "password"})) return std::string(kRedacted);
  return std::string(value);
}

std::string redact_url(std::string_view url) {
  std::string out;
  out.reserve(url.size());

  // userinfo: scheme://user:password@host/... keeps the user, hides the password.
  std::size_t authority = url.find("://");
  std::size_t pos = 0;
  if (authority != std::string_view::npos) {
    authority += 3;
    const std::size_t end = url.find_first_of("/?#", authority);
    const std::string_view auth = url.substr(authority, end == std::string_view::npos ? url.npos : end - authority);
    const std::size_t at = auth.rfind('@');
    if (at != std::string_view::npos) {
      const std::size_t colon = auth.find(':');
      if (colon != std::string_view::npos && colon < at) {
        out.append(url.substr(0, authority + colon + 1));
        out.append(kRedacted);
        pos = authority + at;  // continue from the '@'
      }
    }
  }

  const std::size_t query = url.find('?', pos);
  if (query == std::string_view::npos) return out.append(url.substr(pos));
  const std::size_t fragment = url.find('#', query);
  const std::size_t query_end = fragment == std::string_view::npos ? url.size() : fragment;
  out.append(url.substr(pos, query + 1 - pos));

  std::size_t start = query + 1;
  while (start <= query_end) {
    std::size_t amp = url.find('&', start);
    if (amp == std::string_view::npos || amp > query_end) amp = query_end;
    const std::string_view param = url.substr(start, amp - start);
    const std::size_t eq = param.find('=');
    const std::string name = net::lower(param.substr(0, eq));
    if (eq != std::string_view::npos && contains_any(name, {"sig", "token", "secret", "key", "password", "code"})) {
      out.append(param.substr(0, eq + 1));
      out.append(kRedacted);
    } else {
      out.append(param);
    }
    if (amp == query_end) break;
    out.push_back('&');
    start = amp + 1;
  }
  return out.append(url.substr(query_end));
}

}  // namespace dr
