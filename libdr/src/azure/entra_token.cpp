// Microsoft Entra ID's token endpoint (CONTRACTS.md §4): the client-secret, client-certificate
// and workload-identity credentials all POST a form there; the environment credential picks one.
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "azure/credentials.h"

namespace dr::azure::detail {

std::string token_endpoint(const CredentialEnvironment& env, const std::string& tenant) {
  std::string host = env.authority_host.empty() ? "https://login.microsoftonline.com/" : env.authority_host;
  if (host.back() != '/') host.push_back('/');
  // AD FS (Azure Stack Hub) has no v2.0 endpoint.
  return host + tenant + (lower(tenant) == "adfs" ? "/oauth2/token" : "/oauth2/v2.0/token");
}

namespace {

// expires_on / expires_in come as numbers from Entra ID and as strings from IMDS and App Service.
std::optional<long long> json_seconds(const nlohmann::json& body, const char* key) {
  const auto it = body.find(key);
  if (it == body.end()) return std::nullopt;
  if (it->is_number_integer()) return it->get<long long>();
  if (it->is_number()) return static_cast<long long>(it->get<double>());
  if (it->is_string()) {
    try {
      std::size_t used = 0;
      const auto s = it->get<std::string>();
      const long long v = std::stoll(s, &used);
      if (used == s.size()) return v;
    } catch (const std::exception&) {
    }
  }
  return std::nullopt;
}

}  // namespace

tl::expected<AccessToken, std::string> parse_token_response(const std::string& body, Clock::wall_time now) {
  const auto json = nlohmann::json::parse(body, nullptr, false);
  if (json.is_discarded() || !json.is_object()) return tl::unexpected(std::string("the token response is not JSON"));
  const auto token = json.find("access_token");
  if (token == json.end() || !token->is_string() || token->get<std::string>().empty()) {
    return tl::unexpected(std::string("the token response has no access_token"));
  }
  AccessToken out;
  out.token = token->get<std::string>();
  if (const auto on = json_seconds(json, "expires_on")) {
    out.expires_on = Clock::wall_time(std::chrono::seconds(*on));
  } else if (const auto in = json_seconds(json, "expires_in")) {
    out.expires_on = now + std::chrono::seconds(*in);
  } else {
    return tl::unexpected(std::string("the token response has neither expires_on nor expires_in"));
  }
  return out;
}

tl::expected<AccessToken, std::string> request_entra_token(const CredentialEnvironment& env, const std::string& tenant,
                                                           const std::string& form) {
  HttpRequest request;
  request.method = "POST";
  request.url = token_endpoint(env, tenant);
  request.headers = {{"Content-Type", "application/x-www-form-urlencoded"}, {"Accept", "application/json"}};
  request.body = form;
  request.connect_timeout = std::chrono::seconds(10);
  request.total_timeout = std::chrono::seconds(30);
  HttpClient http;
  const auto response = http.send(request);
  if (!response) return tl::unexpected("token endpoint " + redact_url(request.url) + ": " + response.error().message);
  static SystemClock system;
  const Clock& clock = env.clock ? *env.clock : system;
  if (response->status == 200) return parse_token_response(response->body, clock.wall());
  // {"error":"invalid_client","error_description":"AADSTS7000215: ...\r\nTrace ID: ..."}: the
  // first line of the description carries the AADSTS code and what it means.
  std::string why = "token endpoint " + redact_url(request.url) + " answered " + std::to_string(response->status);
  const auto json = nlohmann::json::parse(response->body, nullptr, false);
  if (json.is_object()) {
    if (const auto e = json.find("error"); e != json.end() && e->is_string()) why += ": " + e->get<std::string>();
    if (const auto d = json.find("error_description"); d != json.end() && d->is_string()) {
      auto text = d->get<std::string>();
      text = text.substr(0, text.find_first_of("\r\n"));
      why += ": " + one_line(text);
    }
  }
  return tl::unexpected(why);
}

namespace {

class ClientSecretCredential final : public CachedCredential {
 public:
  ClientSecretCredential(CredentialEnvironment env, std::string tenant, std::string client_id, std::string secret,
                         std::string name)
      : CachedCredential(std::move(env)),
        tenant_(std::move(tenant)),
        client_id_(std::move(client_id)),
        secret_(std::move(secret)),
        name_(std::move(name)) {}
  std::string name() const override { return name_; }

 protected:
  tl::expected<AccessToken, std::string> fetch(const std::string& scope) override {
    const std::string form = "grant_type=client_credentials&client_id=" + form_encode(client_id_) +
                             "&client_secret=" + form_encode(secret_) + "&scope=" + form_encode(scope);
    return request_entra_token(env_, tenant_, form);
  }

 private:
  std::string tenant_, client_id_, secret_, name_;
};

// Kubernetes (and GitHub's OIDC helpers) rotate the federated token file, so it is read for every
// token request, never kept.
class WorkloadIdentityCredential final : public CachedCredential {
 public:
  using CachedCredential::CachedCredential;
  std::string name() const override { return "workload identity"; }

 protected:
  tl::expected<AccessToken, std::string> fetch(const std::string&) override;
};

tl::expected<AccessToken, std::string> WorkloadIdentityCredential::fetch(const std::string& scope) {
  const std::string tenant = env_.tenant.empty() ? env_var("AZURE_TENANT_ID") : env_.tenant;
  const std::string client_id = env_var("AZURE_CLIENT_ID");
  const std::string file = env_var("AZURE_FEDERATED_TOKEN_FILE");
  if (file.empty() || tenant.empty() || client_id.empty()) {
    return tl::unexpected(std::string(
        "not configured (needs AZURE_FEDERATED_TOKEN_FILE, AZURE_CLIENT_ID and AZURE_TENANT_ID or azure.tenant)"));
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) return tl::unexpected("cannot read AZURE_FEDERATED_TOKEN_FILE " + file);
  std::string assertion;
  constexpr std::size_t kMaxAssertion = 64 * 1024;
  assertion.resize(kMaxAssertion + 1);
  in.read(assertion.data(), static_cast<std::streamsize>(assertion.size()));
  assertion.resize(static_cast<std::size_t>(in.gcount()));
  if (assertion.size() > kMaxAssertion) return tl::unexpected("AZURE_FEDERATED_TOKEN_FILE " + file + " is over 64 KiB");
  while (!assertion.empty() && std::isspace(static_cast<unsigned char>(assertion.back()))) assertion.pop_back();
  if (assertion.empty()) return tl::unexpected("AZURE_FEDERATED_TOKEN_FILE " + file + " is empty");
  const std::string form = "grant_type=client_credentials&client_assertion_type=" +
                           form_encode("urn:ietf:params:oauth:client-assertion-type:jwt-bearer") +
                           "&client_id=" + form_encode(client_id) + "&scope=" + form_encode(scope) +
                           "&client_assertion=" + form_encode(assertion);
  return request_entra_token(env_, tenant, form);
}

// AZURE_TENANT_ID + AZURE_CLIENT_ID + AZURE_CLIENT_SECRET, or + AZURE_CLIENT_CERTIFICATE_PATH.
// Decided on each fetch, as the SDKs decide at construction, but without keeping the secret around
// when it is not used.
class EnvironmentCredential final : public TokenCredential {
 public:
  explicit EnvironmentCredential(CredentialEnvironment env) : env_(std::move(env)) {}
  std::string name() const override { return inner_ ? inner_->name() : "environment"; }
  tl::expected<AccessToken, AuthError> get_token(const std::string& scope, bool force_refresh) override {
    std::call_once(once_, [&] { inner_ = make(); });
    if (!inner_) return tl::unexpected(AuthError{"environment: " + missing_});
    return inner_->get_token(scope, force_refresh);
  }

 private:
  std::string var(const char* name) const {
    const char* v = env_.getenv ? env_.getenv(name) : std::getenv(name);
    return v ? v : "";
  }
  std::unique_ptr<TokenCredential> make() {
    const std::string tenant = env_.tenant.empty() ? var("AZURE_TENANT_ID") : env_.tenant;
    const std::string client_id = var("AZURE_CLIENT_ID");
    const std::string secret = var("AZURE_CLIENT_SECRET");
    const std::string cert = var("AZURE_CLIENT_CERTIFICATE_PATH");
    std::vector<std::string> missing;
    if (tenant.empty()) missing.push_back("AZURE_TENANT_ID");
    if (client_id.empty()) missing.push_back("AZURE_CLIENT_ID");
    if (secret.empty() && cert.empty()) missing.push_back("AZURE_CLIENT_SECRET or AZURE_CLIENT_CERTIFICATE_PATH");
    if (!missing.empty()) {
      missing_ = "not configured (unset: ";
      for (std::size_t i = 0; i < missing.size(); ++i) missing_ += (i ? ", " : "") + missing[i];
      missing_ += ")";
      return nullptr;
    }
    if (!secret.empty()) {
      return std::make_unique<ClientSecretCredential>(env_, tenant, client_id, secret, "environment (client secret)");
    }
    return client_certificate_credential(env_, tenant, client_id, cert);
  }

  CredentialEnvironment env_;
  std::once_flag once_;
  std::unique_ptr<TokenCredential> inner_;
  std::string missing_;
};

}  // namespace

std::unique_ptr<TokenCredential> environment_credential(CredentialEnvironment env) {
  return std::make_unique<EnvironmentCredential>(std::move(env));
}

std::unique_ptr<TokenCredential> workload_identity_credential(CredentialEnvironment env) {
  return std::make_unique<WorkloadIdentityCredential>(std::move(env));
}

}  // namespace dr::azure::detail

namespace dr::azure {

std::unique_ptr<TokenCredential> client_secret_credential(CredentialEnvironment env, std::string tenant,
                                                          std::string client_id, std::string secret) {
  return std::make_unique<detail::ClientSecretCredential>(std::move(env), std::move(tenant), std::move(client_id),
                                                          std::move(secret), "client secret");
}

}  // namespace dr::azure
