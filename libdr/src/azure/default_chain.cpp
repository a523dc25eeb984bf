// DefaultAzureCredential's chain (CONTRACTS.md §4, cli.md "Credentials"): environment, workload
// identity, managed identity, Azure CLI; AZURE_TOKEN_CREDENTIALS narrows it. The first credential
// that gives a token is the one used from then on, as the SDKs do, so a run does not flip
// identities halfway through.
#include <mutex>

#include "azure/credentials.h"

namespace dr::azure::detail {
namespace {

struct Link {
  const char* selector;  // the AZURE_TOKEN_CREDENTIALS value that selects it alone
  bool dev;              // a developer credential, left out by "prod"
  std::unique_ptr<TokenCredential> (*make)(CredentialEnvironment);
};

constexpr Link kChain[] = {
    {"environmentcredential", false, environment_credential},
    {"workloadidentitycredential", false, workload_identity_credential},
    {"managedidentitycredential", false, managed_identity_credential},
    {"azureclicredential", true, azure_cli_credential},
};

class DefaultCredential final : public TokenCredential {
 public:
  explicit DefaultCredential(CredentialEnvironment env) {
    const char* raw = env.getenv ? env.getenv("AZURE_TOKEN_CREDENTIALS") : std::getenv("AZURE_TOKEN_CREDENTIALS");
    const std::string choice = lower(raw ? raw : "");
    for (const auto& link : kChain) {
      const bool wanted =
          choice.empty() || (choice == "prod" && !link.dev) || (choice == "dev" && link.dev) || choice == link.selector;
      if (wanted) chain_.push_back(link.make(env));
    }
    if (chain_.empty()) {
      setup_error_ = "AZURE_TOKEN_CREDENTIALS='" + one_line(raw ? raw : "", 60) +
                     "' is not dev, prod, EnvironmentCredential, WorkloadIdentityCredential, "
                     "ManagedIdentityCredential or AzureCliCredential";
    }
  }

  std::string name() const override {
    std::lock_guard g(mu_);
    return chosen_ ? chosen_->name() : "default chain";
  }

  tl::expected<AccessToken, AuthError> get_token(const std::string& scope, bool force_refresh) override {
    if (!setup_error_.empty()) return tl::unexpected(AuthError{setup_error_});
    TokenCredential* chosen = nullptr;
    {
      std::lock_guard g(mu_);
      chosen = chosen_;
    }
    if (chosen) return chosen->get_token(scope, force_refresh);
    std::string reasons;
    for (const auto& credential : chain_) {
      auto token = credential->get_token(scope, force_refresh);
      if (token) {
        std::lock_guard g(mu_);
        if (!chosen_) chosen_ = credential.get();
        return token;
      }
      reasons += (reasons.empty() ? "" : "; ") + token.error().message;
    }
    return tl::unexpected(AuthError{"no Azure credential gave a token: " + reasons +
                                    ". Set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET (or "
                                    "AZURE_CLIENT_CERTIFICATE_PATH), run on a machine with a managed identity, or "
                                    "sign in with `az login` (see docs/azure.md)"});
  }

 private:
  std::vector<std::unique_ptr<TokenCredential>> chain_;
  std::string setup_error_;
  mutable std::mutex mu_;
  TokenCredential* chosen_ = nullptr;
};

}  // namespace
}  // namespace dr::azure::detail

namespace dr::azure {

std::unique_ptr<TokenCredential> default_credential(CredentialEnvironment env) {
  return std::make_unique<detail::DefaultCredential>(std::move(env));
}

}  // namespace dr::azure
