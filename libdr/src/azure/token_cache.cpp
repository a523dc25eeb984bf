// The per-scope token cache under every credential (CONTRACTS.md §4 "Tokens").
#include <cstdlib>

#include "azure/credentials.h"

namespace dr::azure::detail {

CachedCredential::CachedCredential(CredentialEnvironment env) : env_(std::move(env)) {}

std::string CachedCredential::env_var(const char* name) const {
  const char* v = env_.getenv ? env_.getenv(name) : std::getenv(name);
  return v ? v : "";
}

Clock& CachedCredential::clock() const {
  static SystemClock system;
  return env_.clock ? *env_.clock : system;
}

tl::expected<AccessToken, AuthError> CachedCredential::get_token(const std::string& scope, bool force_refresh) {
  std::lock_guard g(mu_);
  if (!force_refresh) {
    if (const auto it = cache_.find(scope);
        it != cache_.end() && clock().wall() + kRefreshMargin < it->second.expires_on) {
      return it->second;
    }
  }
  auto token = fetch(scope);
  if (!token) return tl::unexpected(AuthError{name() + ": " + token.error()});
  cache_[scope] = *token;
  return *token;
}

}  // namespace dr::azure::detail
