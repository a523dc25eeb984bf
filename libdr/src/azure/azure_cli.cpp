// The Azure CLI credential (CONTRACTS.md §4): `az account get-access-token`, run as argv (no
// shell, so neither the scope nor the tenant can inject a command).
#include <ctime>
#include <nlohmann/json.hpp>

#include "azure/credentials.h"

namespace dr::azure::detail {
namespace {

bool safe_argument(const std::string& s) {
  if (s.empty() || s.front() == '-') return false;
  for (const unsigned char c : s) {
    if (!(std::isalnum(c) || c == '.' || c == '-' || c == '_' || c == ':' || c == '/')) return false;
  }
  return true;
}

// Older CLIs give only expiresOn, local time without a zone: "2026-11-23 07:22:51.000000".
std::optional<Clock::wall_time> parse_local_time(const std::string& text) {
  std::tm tm{};
  if (!strptime(text.c_str(), "%Y-%m-%d %H:%M:%S", &tm)) return std::nullopt;
  tm.tm_isdst = -1;
  const std::time_t t = std::mktime(&tm);
  if (t == static_cast<std::time_t>(-1)) return std::nullopt;
  return std::chrono::system_clock::from_time_t(t);
}

class AzureCliCredential final : public CachedCredential {
 public:
  using CachedCredential::CachedCredential;
  std::string name() const override { return "Azure CLI"; }

 protected:
  tl::expected<AccessToken, std::string> fetch(const std::string& scope) override {
    if (!safe_argument(scope))
      return tl::unexpected("scope '" + one_line(scope, 100) + "' has characters az does not take");
    std::vector<std::string> argv{"az", "account", "get-access-token", "--output", "json", "--scope", scope};
    const std::string tenant = env_.tenant.empty() ? env_var("AZURE_TENANT_ID") : env_.tenant;
    if (!tenant.empty()) {
      if (!safe_argument(tenant))
        return tl::unexpected("tenant '" + one_line(tenant, 100) + "' is not a tenant id or domain");
      argv.insert(argv.end(), {"--tenant", tenant});
    }
    auto out = env_.run_az ? env_.run_az(argv) : run_process(argv, std::chrono::seconds(20), 1 << 20);
    if (!out) return tl::unexpected(out.error());
    const auto json = nlohmann::json::parse(*out, nullptr, false);
    if (json.is_discarded() || !json.is_object()) {
      return tl::unexpected("az account get-access-token printed no JSON: " + one_line(*out, 200));
    }
    const auto token = json.find("accessToken");
    if (token == json.end() || !token->is_string() || token->get<std::string>().empty()) {
      return tl::unexpected(std::string("az account get-access-token printed no accessToken"));
    }
    AccessToken result;
    result.token = token->get<std::string>();
    const auto epoch = json.find("expires_on");
    if (epoch != json.end() && (epoch->is_number_integer() || epoch->is_string())) {
      try {
        const long long s = epoch->is_string() ? std::stoll(epoch->get<std::string>()) : epoch->get<long long>();
        result.expires_on = Clock::wall_time(std::chrono::seconds(s));
        return result;
      } catch (const std::exception&) {
      }
    }
    const auto local = json.find("expiresOn");
    if (local != json.end() && local->is_string()) {
      if (const auto t = parse_local_time(local->get<std::string>())) {
        result.expires_on = *t;
        return result;
      }
    }
    return tl::unexpected(std::string("az account get-access-token printed no expires_on or expiresOn"));
  }
};

}  // namespace

std::unique_ptr<TokenCredential> azure_cli_credential(CredentialEnvironment env) {
  return std::make_unique<AzureCliCredential>(std::move(env));
}

}  // namespace dr::azure::detail
