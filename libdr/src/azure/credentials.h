// The credentials' shared parts: the per-scope token cache every credential sits on, the Entra ID
// token endpoint request, and the factories the default chain is built from. Internal to azure.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "dr/azure.h"
#include "dr/text.h"

namespace dr::azure::detail {

// A credential that fetches tokens and keeps one per scope until five minutes before expiry.
// Fetching happens under the lock, so concurrent callers wait for one refresh instead of each
// asking the identity provider.
class CachedCredential : public TokenCredential {
 public:
  explicit CachedCredential(CredentialEnvironment env);
  tl::expected<AccessToken, AuthError> get_token(const std::string& scope, bool force_refresh) final;

 protected:
  // The reason is one line without secrets; get_token prefixes it with name().
  virtual tl::expected<AccessToken, std::string> fetch(const std::string& scope) = 0;

  std::string env_var(const char* name) const;  // "" when unset
  Clock& clock() const;
  const CredentialEnvironment env_;

 private:
  std::mutex mu_;
  std::map<std::string, AccessToken> cache_;
};

// How long before expiry a cached token is replaced.
inline constexpr auto kRefreshMargin = std::chrono::minutes(5);

// POST {authority}{tenant}/oauth2/v2.0/token with `form` (already encoded). The error says what
// the endpoint answered (AADSTS code and description, never the request body).
tl::expected<AccessToken, std::string> request_entra_token(const CredentialEnvironment& env, const std::string& tenant,
                                                           const std::string& form);
std::string token_endpoint(const CredentialEnvironment& env, const std::string& tenant);

// A token response's access_token and expiry (expires_on epoch or expires_in seconds, as a
// number or as a string, as IMDS sends them). `now` turns expires_in into a time.
tl::expected<AccessToken, std::string> parse_token_response(const std::string& body, Clock::wall_time now);

std::unique_ptr<TokenCredential> environment_credential(CredentialEnvironment env);
std::unique_ptr<TokenCredential> client_certificate_credential(CredentialEnvironment env, std::string tenant,
                                                               std::string client_id, std::string pem_path);
std::unique_ptr<TokenCredential> workload_identity_credential(CredentialEnvironment env);
std::unique_ptr<TokenCredential> managed_identity_credential(CredentialEnvironment env);
std::unique_ptr<TokenCredential> azure_cli_credential(CredentialEnvironment env);

// The real `az` runner: argv through posix_spawnp, no shell, stdout capped, killed after a timeout.
tl::expected<std::string, std::string> run_process(const std::vector<std::string>& argv,
                                                   std::chrono::milliseconds timeout, std::size_t output_cap);

// Small encodings.
std::string form_encode(std::string_view value);  // application/x-www-form-urlencoded value
// An ARM path with every byte that may not appear in a URL path percent-encoded (a space becomes
// %20): resource names such as Traffic Manager's "My external endpoint" are plain text. '/', ';'
// (Backup's names), the other RFC 3986 path characters and '%' stay, so a path that is already
// encoded passes unchanged.
std::string path_encode(std::string_view path);
std::string base64(std::string_view bytes);
std::string base64url(std::string_view bytes);  // no padding
std::string uuid_v4();
std::string one_line(std::string_view text, std::size_t max = 300);  // newlines folded, cut
using dr::lower;                                                     // dr/text.h

}  // namespace dr::azure::detail
