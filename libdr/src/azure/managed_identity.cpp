// Managed identity (CONTRACTS.md §4): App Service (IDENTITY_ENDPOINT + IDENTITY_HEADER), Azure Arc
// (IDENTITY_ENDPOINT + IMDS_ENDPOINT, with its key-file challenge: the case of edge servers), else
// the VM's IMDS. `resource` is the scope without "/.default"; IMDS sends its numbers as strings.
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "azure/credentials.h"

namespace dr::azure::detail {
namespace {

std::string resource_of(const std::string& scope) {
  constexpr std::string_view suffix = "/.default";
  if (scope.size() >= suffix.size() && scope.compare(scope.size() - suffix.size(), suffix.size(), suffix) == 0) {
    return scope.substr(0, scope.size() - suffix.size());
  }
  return scope;
}

std::string with_query(const std::string& url, const std::string& query) {
  return url + (url.find('?') == std::string::npos ? "?" : "&") + query;
}

class ManagedIdentityCredential final : public CachedCredential {
 public:
  using CachedCredential::CachedCredential;
  std::string name() const override { return "managed identity"; }

 protected:
  tl::expected<AccessToken, std::string> fetch(const std::string& scope) override {
    const std::string identity_endpoint = env_var("IDENTITY_ENDPOINT");
    if (!identity_endpoint.empty() && !env_var("IDENTITY_HEADER").empty()) return app_service(identity_endpoint, scope);
    if (!identity_endpoint.empty() && !env_var("IMDS_ENDPOINT").empty()) return arc(identity_endpoint, scope);
    return imds(scope);
  }

 private:
  tl::expected<AccessToken, std::string> answer(const std::string& what,
                                                const tl::expected<HttpResponse, HttpError>& r) {
    if (!r) return tl::unexpected(what + ": " + r.error().message);
    if (r->status != 200) {
      // IMDS says why in {"error":"invalid_request","error_description":"Identity not found"}.
      return tl::unexpected(what + " answered " + std::to_string(r->status) + ": " + one_line(r->body, 200));
    }
    auto token = parse_token_response(r->body, clock().wall());
    if (!token) return tl::unexpected(what + ": " + token.error());
    return token;
  }

  std::string client_query() const {
    const std::string client_id = env_var("AZURE_CLIENT_ID");
    return client_id.empty() ? "" : "&client_id=" + form_encode(client_id);
  }

  tl::expected<AccessToken, std::string> imds(const std::string& scope) {
    HttpRequest request;
    request.url = env_.imds_endpoint +
                  "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=" + form_encode(resource_of(scope)) +
                  client_query();
    request.headers = {{"Metadata", "true"}};
    // Off Azure nothing answers at 169.254.169.254: fail fast so the chain moves on to the CLI.
    request.connect_timeout = std::chrono::seconds(1);
    request.total_timeout = std::chrono::seconds(10);
    HttpClient http;
    return answer("IMDS " + env_.imds_endpoint, http.send(request));
  }

  tl::expected<AccessToken, std::string> app_service(const std::string& endpoint, const std::string& scope) {
    HttpRequest request;
    request.url =
        with_query(endpoint, "api-version=2019-08-01&resource=" + form_encode(resource_of(scope)) + client_query());
    request.headers = {{"X-IDENTITY-HEADER", env_var("IDENTITY_HEADER")}};
    request.connect_timeout = std::chrono::seconds(5);
    request.total_timeout = std::chrono::seconds(20);
    HttpClient http;
    return answer("App Service identity endpoint " + redact_url(endpoint), http.send(request));
  }

  // Arc answers the first request with 401 and `WWW-Authenticate: Basic realm=<key file>`; only
  // a process that can read that root-owned file can prove it runs on the machine.
  tl::expected<AccessToken, std::string> arc(const std::string& endpoint, const std::string& scope) {
    const std::string what = "Azure Arc identity endpoint " + redact_url(endpoint);
    HttpRequest request;
    request.url = with_query(endpoint, "api-version=2019-11-01&resource=" + form_encode(resource_of(scope)));
    request.headers = {{"Metadata", "true"}};
    request.connect_timeout = std::chrono::seconds(5);
    request.total_timeout = std::chrono::seconds(20);
    HttpClient http;
    const auto challenge = http.send(request);
    if (!challenge) return tl::unexpected(what + ": " + challenge.error().message);
    if (challenge->status != 401) return answer(what, challenge);
    const auto header = challenge->header("WWW-Authenticate").value_or("");
    const auto eq = header.find('=');
    if (lower(header).rfind("basic realm", 0) != 0 || eq == std::string::npos) {
      return tl::unexpected(what + " answered 401 without a Basic realm challenge");
    }
    auto key = read_key_file(header.substr(eq + 1));
    if (!key) return tl::unexpected(what + ": " + key.error());
    request.headers.push_back({"Authorization", "Basic " + *key});
    return answer(what, http.send(request));
  }

  tl::expected<std::string, std::string> read_key_file(std::string path) const {
    namespace fs = std::filesystem;
    if (path.size() >= 2 && path.front() == '"' && path.back() == '"') path = path.substr(1, path.size() - 2);
    // The challenge names any file; only the agent's token directory and .key files are read,
    // so a hostile endpoint cannot make us send /etc/shadow.
    std::error_code ec;
    const fs::path file = fs::weakly_canonical(path, ec);
    const fs::path dir = fs::weakly_canonical(env_.arc_key_directory, ec);
    if (ec || file.parent_path() != dir || file.extension() != ".key") {
      return tl::unexpected("the challenge's key file " + path + " is not a .key file in " + env_.arc_key_directory);
    }
    struct stat st {};
    if (::stat(file.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
      return tl::unexpected("the challenge's key file " + path + " does not exist");
    }
    constexpr off_t kMaxKey = 4096;
    if (st.st_size > kMaxKey) return tl::unexpected("the challenge's key file " + path + " is over 4096 bytes");
    std::ifstream in(file, std::ios::binary);
    std::string key((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!in.good() && !in.eof()) return tl::unexpected("cannot read the challenge's key file " + path);
    while (!key.empty() && std::isspace(static_cast<unsigned char>(key.back()))) key.pop_back();
    if (key.empty() || key.size() > static_cast<std::size_t>(kMaxKey)) {
      return tl::unexpected("the challenge's key file " + path + " is empty");
    }
    return key;
  }
};

}  // namespace

std::unique_ptr<TokenCredential> managed_identity_credential(CredentialEnvironment env) {
  return std::make_unique<ManagedIdentityCredential>(std::move(env));
}

}  // namespace dr::azure::detail
