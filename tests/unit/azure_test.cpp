#include <doctest/doctest.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "azure/credentials.h"
#include "azure/pipeline_parts.h"
#include "dr/azure.h"
#include "unit/local_http_server.h"
#include "unit/test_support.h"

using namespace dr;
using namespace dr::azure;
using namespace std::chrono_literals;
using Json = nlohmann::json;

namespace {

// ---- shared fixtures ----------------------------------------------------------------------

// Environment variables for one test, handed to the credentials instead of the process's.
struct FakeEnv {
  std::map<std::string, std::string> vars;
  std::function<const char*(const char*)> getenv() {
    return [this](const char* name) -> const char* {
      const auto it = vars.find(name);
      return it == vars.end() ? nullptr : it->second.c_str();
    };
  }
};

std::string header_of(const httplib::Headers& headers, const std::string& name) {
  const auto it = headers.find(name);  // httplib::Headers compares names case-insensitively
  return it == headers.end() ? "" : it->second;
}

std::string url_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 2 < s.size()) {
      out.push_back(static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

// A form body as ordered name/value pairs, decoded.
std::vector<std::pair<std::string, std::string>> form_fields(const std::string& body) {
  std::vector<std::pair<std::string, std::string>> out;
  std::size_t start = 0;
  while (start <= body.size()) {
    const auto end = std::min(body.find('&', start), body.size());
    const auto pair = body.substr(start, end - start);
    const auto eq = pair.find('=');
    out.emplace_back(url_decode(pair.substr(0, eq)), eq == std::string::npos ? "" : url_decode(pair.substr(eq + 1)));
    start = end + 1;
  }
  return out;
}

std::map<std::string, std::string> form_map(const std::string& body) {
  std::map<std::string, std::string> out;
  for (auto& [k, v] : form_fields(body)) out[k] = v;
  return out;
}

// What a loopback server saw, for assertions after the call.
struct Seen {
  std::mutex mu;
  std::vector<std::string> methods, paths, bodies, queries;
  std::vector<httplib::Headers> headers;
  void add(const httplib::Request& req) {
    std::lock_guard g(mu);
    methods.push_back(req.method);
    paths.push_back(req.path);
    bodies.push_back(req.body);
    std::string q;
    for (const auto& [k, v] : req.params) q += (q.empty() ? "" : "&") + k + "=" + v;
    queries.push_back(q);
    headers.push_back(req.headers);
  }
  std::size_t count() {
    std::lock_guard g(mu);
    return methods.size();
  }
};

std::string token_json(const std::string& token, int expires_in = 3599) {
  return Json{
      {"token_type", "Bearer"}, {"expires_in", expires_in}, {"ext_expires_in", expires_in}, {"access_token", token}}
      .dump();
}

// A token endpoint at /{tenant}/oauth2/v2.0/token handing out tok-1, tok-2, ...
struct TokenServer {
  test::LocalHttpServer<> http;
  Seen seen;
  std::atomic<int> issued{0};
  int fail_status = 0;
  TokenServer() {
    http.server.Post(R"(/([^/]+)/oauth2/v2\.0/token)", [this](const httplib::Request& req, httplib::Response& res) {
      seen.add(req);
      if (fail_status) {
        res.status = fail_status;
        res.set_content(
            R"({"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.\r\nTrace ID: 1","error_codes":[7000215]})",
            "application/json");
        return;
      }
      res.set_content(token_json("tok-" + std::to_string(++issued)), "application/json");
    });
    http.start();
  }
  CredentialEnvironment env(FakeClock& clock, FakeEnv& fake) {
    CredentialEnvironment e;
    e.getenv = fake.getenv();
    e.clock = &clock;
    e.authority_host = http.url("/");
    e.imds_endpoint = "http://127.0.0.1:1";  // nothing listens on port 1: fails at once
    e.run_az = [](const std::vector<std::string>&) -> tl::expected<std::string, std::string> {
      return tl::unexpected(std::string("az is stubbed out: please run 'az login'"));
    };
    return e;
  }
};

const std::string kScope = "https://management.core.windows.net/.default";

}  // namespace

// ---- client secret ----------------------------------------------------------------------------

TEST_CASE("a client-secret credential posts the form to the tenant's v2.0 token endpoint") {
  TokenServer tokens;
  FakeClock clock;
  FakeEnv fake;
  const std::string secret = "s3cr&t=+/ value";
  auto credential = client_secret_credential(tokens.env(clock, fake), "tenant-1", "client-1", secret);
  const auto token = credential->get_token(kScope);
  REQUIRE(token);
  CHECK(token->token == "tok-1");
  CHECK(token->expires_on == clock.wall() + 3599s);
  REQUIRE(tokens.seen.count() == 1);
  CHECK(tokens.seen.paths[0] == "/tenant-1/oauth2/v2.0/token");
  CHECK(header_of(tokens.seen.headers[0], "Content-Type") == "application/x-www-form-urlencoded");
  const auto fields = form_fields(tokens.seen.bodies[0]);
  REQUIRE(fields.size() == 4);
  CHECK(fields[0] == std::pair<std::string, std::string>{"grant_type", "client_credentials"});
  CHECK(fields[1] == std::pair<std::string, std::string>{"client_id", "client-1"});
  CHECK(fields[2] == std::pair<std::string, std::string>{"client_secret", secret});
  CHECK(fields[3] == std::pair<std::string, std::string>{"scope", kScope});
  // The secret's reserved characters are percent-encoded on the wire.
  CHECK(tokens.seen.bodies[0].find("s3cr%26t%3D%2B%2F%20value") != std::string::npos);
}

TEST_CASE("tokens are cached per scope and refreshed five minutes before they expire, or when forced") {
  TokenServer tokens;
  FakeClock clock;
  FakeEnv fake;
  auto credential = client_secret_credential(tokens.env(clock, fake), "t", "c", "s");
  REQUIRE(credential->get_token(kScope)->token == "tok-1");
  REQUIRE(credential->get_token(kScope)->token == "tok-1");
  CHECK(tokens.issued == 1);
  REQUIRE(credential->get_token("https://vault.azure.net/.default")->token == "tok-2");  // another scope
  clock.advance(3599s - 5min - 1s);
  CHECK(credential->get_token(kScope)->token == "tok-1");
  clock.advance(1s);
  CHECK(credential->get_token(kScope)->token == "tok-3");
  CHECK(credential->get_token(kScope, true)->token == "tok-4");
  CHECK(tokens.issued == 4);
}

TEST_CASE("a rejected client secret gives the AADSTS reason and never the secret") {
  TokenServer tokens;
  tokens.fail_status = 401;
  FakeClock clock;
  FakeEnv fake;
  auto credential = client_secret_credential(tokens.env(clock, fake), "t", "c", "VERY-SECRET-VALUE");
  const auto token = credential->get_token(kScope);
  REQUIRE_FALSE(token);
  CHECK(token.error().message.find("401") != std::string::npos);
  CHECK(token.error().message.find("invalid_client: AADSTS7000215: Invalid client secret provided.") !=
        std::string::npos);
  CHECK(token.error().message.find("Trace ID") == std::string::npos);
  CHECK(token.error().message.find("VERY-SECRET-VALUE") == std::string::npos);
}

// ---- client certificate ---------------------------------------------------------------------

namespace {

struct TestCertificate {
  std::string pem;  // key then certificate
  std::string der;  // the certificate
  EVP_PKEY* key = nullptr;
  ~TestCertificate() { EVP_PKEY_free(key); }
};

std::unique_ptr<TestCertificate> make_certificate(const std::string& password = "") {
  auto out = std::make_unique<TestCertificate>();
  out->key = EVP_RSA_gen(2048);
  X509* cert = X509_new();
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  X509_set_pubkey(cert, out->key);
  X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("edgedr-test"), -1, -1, 0);
  X509_set_issuer_name(cert, X509_get_subject_name(cert));
  X509_sign(cert, out->key, EVP_sha256());
  BIO* bio = BIO_new(BIO_s_mem());
  if (password.empty()) {
    PEM_write_bio_PrivateKey(bio, out->key, nullptr, nullptr, 0, nullptr, nullptr);
  } else {
    PEM_write_bio_PKCS8PrivateKey(bio, out->key, EVP_aes_256_cbc(), password.data(), static_cast<int>(password.size()),
                                  nullptr, nullptr);
  }
  PEM_write_bio_X509(bio, cert);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  out->pem.assign(data, static_cast<std::size_t>(n));
  BIO_free(bio);
  const int len = i2d_X509(cert, nullptr);
  out->der.resize(static_cast<std::size_t>(len));
  auto* p = reinterpret_cast<unsigned char*>(out->der.data());
  i2d_X509(cert, &p);
  X509_free(cert);
  return out;
}

std::string base64url_decode(std::string s) {
  for (char& c : s) {
    if (c == '-') c = '+';
    if (c == '_') c = '/';
  }
  while (s.size() % 4) s.push_back('=');
  std::string out(s.size(), '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(s.data()), static_cast<int>(s.size()));
  out.resize(static_cast<std::size_t>(n));
  while (s.size() >= 2 && s.back() == '=') {  // EVP_DecodeBlock counts padding as zero bytes
    s.pop_back();
    out.pop_back();
  }
  return out;
}

void check_assertion(const std::string& jwt, const TestCertificate& cert, const std::string& audience,
                     FakeClock& clock) {
  const auto dot1 = jwt.find('.');
  const auto dot2 = jwt.find('.', dot1 + 1);
  REQUIRE(dot2 != std::string::npos);
  const auto header = Json::parse(base64url_decode(jwt.substr(0, dot1)));
  const auto claims = Json::parse(base64url_decode(jwt.substr(dot1 + 1, dot2 - dot1 - 1)));
  CHECK(header["alg"] == "RS256");
  CHECK(header["typ"] == "JWT");
  unsigned char sha1[20];
  unsigned int len = 0;
  EVP_Digest(cert.der.data(), cert.der.size(), sha1, &len, EVP_sha1(), nullptr);
  CHECK(header["x5t"] == detail::base64url(std::string_view(reinterpret_cast<char*>(sha1), len)));
  CHECK(claims["aud"] == audience);
  CHECK(claims["iss"] == "client-1");
  CHECK(claims["sub"] == "client-1");
  CHECK(claims["jti"].get<std::string>().size() == 36);
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(clock.wall().time_since_epoch()).count();
  CHECK(claims["nbf"] == now);
  CHECK(claims["exp"] == now + 600);
  // The signature verifies with the certificate's public key.
  const std::string input = jwt.substr(0, dot2);
  const std::string signature = base64url_decode(jwt.substr(dot2 + 1));
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  REQUIRE(EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, cert.key) == 1);
  CHECK(EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                         reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1);
  EVP_MD_CTX_free(ctx);
}

}  // namespace

TEST_CASE("the environment credential with a certificate signs an RS256 client assertion") {
  test::TempDir dir;
  TokenServer tokens;
  FakeClock clock;
  for (const std::string password : {"", "pem-pass"}) {
    CAPTURE(password);
    const auto cert = make_certificate(password);
    FakeEnv fake;
    fake.vars = {{"AZURE_TENANT_ID", "tenant-1"},
                 {"AZURE_CLIENT_ID", "client-1"},
                 {"AZURE_CLIENT_CERTIFICATE_PATH", dir.write("cert.pem", cert->pem)}};
    if (!password.empty()) fake.vars["AZURE_CLIENT_CERTIFICATE_PASSWORD"] = password;
    auto credential = detail::environment_credential(tokens.env(clock, fake));
    const auto token = credential->get_token(kScope);
    REQUIRE_MESSAGE(token, token.error().message);
    CHECK(credential->name() == "environment (client certificate)");
    const auto form = form_map(tokens.seen.bodies.back());
    CHECK(form.at("grant_type") == "client_credentials");
    CHECK(form.at("client_id") == "client-1");
    CHECK(form.at("scope") == kScope);
    CHECK(form.at("client_assertion_type") == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
    CHECK(form.count("client_secret") == 0);
    check_assertion(form.at("client_assertion"), *cert, tokens.http.url("/tenant-1/oauth2/v2.0/token"), clock);
  }
}

TEST_CASE("a certificate whose key is encrypted and no password is given is a clear error") {
  test::TempDir dir;
  TokenServer tokens;
  FakeClock clock;
  const auto cert = make_certificate("pem-pass");
  FakeEnv fake;
  fake.vars = {{"AZURE_TENANT_ID", "t"},
               {"AZURE_CLIENT_ID", "c"},
               {"AZURE_CLIENT_CERTIFICATE_PATH", dir.write("cert.pem", cert->pem)}};
  auto credential = detail::environment_credential(tokens.env(clock, fake));
  const auto token = credential->get_token(kScope);
  REQUIRE_FALSE(token);
  CHECK(token.error().message.find("AZURE_CLIENT_CERTIFICATE_PASSWORD") != std::string::npos);
  CHECK(tokens.seen.count() == 0);
}

// ---- workload identity ----------------------------------------------------------------------

TEST_CASE("workload identity re-reads the federated token file on every token request") {
  test::TempDir dir;
  TokenServer tokens;
  FakeClock clock;
  FakeEnv fake;
  const auto file = dir.write("token", "assertion-one\n");
  fake.vars = {{"AZURE_TENANT_ID", "tenant-w"}, {"AZURE_CLIENT_ID", "client-w"}, {"AZURE_FEDERATED_TOKEN_FILE", file}};
  auto credential = detail::workload_identity_credential(tokens.env(clock, fake));
  REQUIRE(credential->get_token(kScope));
  dir.write("token", "assertion-two");  // Kubernetes rotated it
  REQUIRE(credential->get_token(kScope, true));
  REQUIRE(tokens.seen.count() == 2);
  CHECK(tokens.seen.paths[0] == "/tenant-w/oauth2/v2.0/token");
  const auto fields = form_fields(tokens.seen.bodies[0]);
  REQUIRE(fields.size() == 5);
  CHECK(fields[0].first == "grant_type");
  CHECK(fields[1] == std::pair<std::string, std::string>{"client_assertion_type",
                                                         "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"});
  CHECK(fields[2] == std::pair<std::string, std::string>{"client_id", "client-w"});
  CHECK(fields[3] == std::pair<std::string, std::string>{"scope", kScope});
  CHECK(fields[4] == std::pair<std::string, std::string>{"client_assertion", "assertion-one"});
  CHECK(form_map(tokens.seen.bodies[1]).at("client_assertion") == "assertion-two");
}

// ---- managed identity -----------------------------------------------------------------------

TEST_CASE("managed identity asks IMDS with Metadata: true and reads numbers sent as strings") {
  test::LocalHttpServer<> imds;
  Seen seen;
  imds.server.Get("/metadata/identity/oauth2/token", [&](const httplib::Request& req, httplib::Response& res) {
    seen.add(req);
    res.set_content(
        R"({"access_token":"mi-token","expires_in":"86399","expires_on":"1767312000","resource":"https://management.core.windows.net","token_type":"Bearer"})",
        "application/json");
  });
  imds.start();
  FakeClock clock;
  FakeEnv fake;
  fake.vars = {{"AZURE_CLIENT_ID", "user-assigned-1"}};
  CredentialEnvironment env;
  env.getenv = fake.getenv();
  env.clock = &clock;
  env.imds_endpoint = imds.url("");
  auto credential = detail::managed_identity_credential(env);
  const auto token = credential->get_token(kScope);
  REQUIRE_MESSAGE(token, token.error().message);
  CHECK(token->token == "mi-token");
  CHECK(token->expires_on == Clock::wall_time(std::chrono::seconds(1767312000)));
  REQUIRE(seen.count() == 1);
  CHECK(header_of(seen.headers[0], "Metadata") == "true");
  CHECK(seen.queries[0] ==
        "api-version=2018-02-01&client_id=user-assigned-1&resource=https://management.core.windows.net");
}

TEST_CASE("managed identity on Azure Arc answers the key-file challenge") {
  test::TempDir dir;
  const auto key_file = dir.write("tokens/abc.key", "arc-secret-key\n");
  test::LocalHttpServer<> arc;
  Seen seen;
  std::string realm = key_file;
  arc.server.Get("/metadata/identity/oauth2/token", [&](const httplib::Request& req, httplib::Response& res) {
    seen.add(req);
    if (!req.has_header("Authorization")) {
      res.status = 401;
      res.set_header("WWW-Authenticate", "Basic realm=" + realm);
      return;
    }
    CHECK(req.get_header_value("Authorization") == "Basic arc-secret-key");
    res.set_content(R"({"access_token":"arc-token","expires_on":"1767312000","token_type":"Bearer"})",
                    "application/json");
  });
  arc.start();
  FakeClock clock;
  FakeEnv fake;
  fake.vars = {{"IDENTITY_ENDPOINT", arc.url("/metadata/identity/oauth2/token")}, {"IMDS_ENDPOINT", arc.url("")}};
  CredentialEnvironment env;
  env.getenv = fake.getenv();
  env.clock = &clock;
  env.arc_key_directory = dir.file("tokens");

  SUBCASE("a key file in the agent's directory is sent back") {
    auto credential = detail::managed_identity_credential(env);
    const auto token = credential->get_token(kScope);
    REQUIRE_MESSAGE(token, token.error().message);
    CHECK(token->token == "arc-token");
    REQUIRE(seen.count() == 2);
    CHECK(seen.queries[0] == "api-version=2019-11-01&resource=https://management.core.windows.net");
    CHECK(header_of(seen.headers[0], "Metadata") == "true");
  }
  SUBCASE("a challenge naming a file elsewhere is refused and nothing is sent") {
    realm = dir.write("elsewhere.key", "not for you");
    auto credential = detail::managed_identity_credential(env);
    const auto token = credential->get_token(kScope);
    REQUIRE_FALSE(token);
    CHECK(token.error().message.find("is not a .key file in") != std::string::npos);
    CHECK(seen.count() == 1);
  }
  SUBCASE("a missing or oversized key file is refused") {
    realm = dir.file("tokens/missing.key");
    auto credential = detail::managed_identity_credential(env);
    auto token = credential->get_token(kScope);
    REQUIRE_FALSE(token);
    CHECK(token.error().message.find("does not exist") != std::string::npos);
    realm = dir.write("tokens/big.key", std::string(5000, 'k'));
    token = credential->get_token(kScope);
    REQUIRE_FALSE(token);
    CHECK(token.error().message.find("over 4096 bytes") != std::string::npos);
    CHECK(seen.count() == 2);
  }
}

TEST_CASE("managed identity on App Service sends X-IDENTITY-HEADER with api-version 2019-08-01") {
  test::LocalHttpServer<> app;
  Seen seen;
  app.server.Get("/msi/token", [&](const httplib::Request& req, httplib::Response& res) {
    seen.add(req);
    res.set_content(R"({"access_token":"app-token","expires_on":"1767312000","resource":"x","token_type":"Bearer"})",
                    "application/json");
  });
  app.start();
  FakeClock clock;
  FakeEnv fake;
  fake.vars = {{"IDENTITY_ENDPOINT", app.url("/msi/token")}, {"IDENTITY_HEADER", "header-secret"}};
  CredentialEnvironment env;
  env.getenv = fake.getenv();
  env.clock = &clock;
  auto credential = detail::managed_identity_credential(env);
  const auto token = credential->get_token(kScope);
  REQUIRE_MESSAGE(token, token.error().message);
  CHECK(token->token == "app-token");
  REQUIRE(seen.count() == 1);
  CHECK(header_of(seen.headers[0], "X-IDENTITY-HEADER") == "header-secret");
  CHECK(seen.queries[0] == "api-version=2019-08-01&resource=https://management.core.windows.net");
}

TEST_CASE("managed identity gives up quickly when nothing answers at the IMDS address") {
  FakeClock clock;
  FakeEnv fake;
  CredentialEnvironment env;
  env.getenv = fake.getenv();
  env.clock = &clock;
  env.imds_endpoint = "http://127.0.0.1:1";
  auto credential = detail::managed_identity_credential(env);
  const auto started = std::chrono::steady_clock::now();
  const auto token = credential->get_token(kScope);
  REQUIRE_FALSE(token);
  CHECK(std::chrono::steady_clock::now() - started < 3s);
  CHECK(token.error().message.rfind("managed identity: IMDS", 0) == 0);
}

// ---- Azure CLI ----------------------------------------------------------------------------

TEST_CASE("the Azure CLI credential runs az as argv and prefers expires_on") {
  FakeClock clock;
  FakeEnv fake;
  fake.vars = {{"AZURE_TENANT_ID", "tenant-cli"}};
  std::vector<std::vector<std::string>> calls;
  std::string output =
      R"({"accessToken":"cli-token","expiresOn":"2000-01-01 00:00:00.000000","expires_on":1767312000,"tokenType":"Bearer"})";
  CredentialEnvironment env;
  env.getenv = fake.getenv();
  env.clock = &clock;
  env.run_az = [&](const std::vector<std::string>& argv) -> tl::expected<std::string, std::string> {
    calls.push_back(argv);
    return output;
  };
  auto credential = detail::azure_cli_credential(env);
  auto token = credential->get_token(kScope);
  REQUIRE_MESSAGE(token, token.error().message);
  CHECK(token->token == "cli-token");
  CHECK(token->expires_on == Clock::wall_time(std::chrono::seconds(1767312000)));
  REQUIRE(calls.size() == 1);
  CHECK(calls[0] == std::vector<std::string>{"az", "account", "get-access-token", "--output", "json", "--scope", kScope,
                                             "--tenant", "tenant-cli"});

  output = R"({"accessToken":"old-cli","expiresOn":"2026-06-01 10:00:00.000000"})";  // an older CLI
  token = credential->get_token(kScope, true);
  REQUIRE(token);
  CHECK(token->token == "old-cli");
  CHECK(token->expires_on > clock.wall());

  output = "ERROR: Please run 'az login' to setup account.";
  token = credential->get_token(kScope, true);
  REQUIRE_FALSE(token);
  CHECK(token.error().message.find("Please run 'az login'") != std::string::npos);
}

TEST_CASE("the real process runner captures stdout, reports failures and stops a hung program") {
  auto out = detail::run_process({"sh", "-c", "printf '{\"a\":1}'; echo oops >&2"}, 5s, 1024);
  REQUIRE(out);
  CHECK(*out == "{\"a\":1}");
  out = detail::run_process({"sh", "-c", "echo token-on-stdout; echo 'ERROR: not logged in' >&2; exit 1"}, 5s, 1024);
  REQUIRE_FALSE(out);
  CHECK(out.error().find("ERROR: not logged in") != std::string::npos);
  CHECK(out.error().find("token-on-stdout") == std::string::npos);
  out = detail::run_process({"sh", "-c", "head -c 100000 /dev/zero | tr '\\0' x"}, 5s, 1000);
  REQUIRE(out);
  CHECK(out->size() == 1000);
  const auto started = std::chrono::steady_clock::now();
  out = detail::run_process({"sleep", "30"}, 300ms, 1024);
  REQUIRE_FALSE(out);
  CHECK(out.error().find("did not finish") != std::string::npos);
  CHECK(std::chrono::steady_clock::now() - started < 5s);
  out = detail::run_process({"edgedr-no-such-program-az"}, 1s, 1024);
  REQUIRE_FALSE(out);
  CHECK(out.error().find("not on PATH") != std::string::npos);
}

// ---- the default chain ----------------------------------------------------------------------

TEST_CASE("the default chain tries environment, workload, managed identity, CLI and remembers the first success") {
  TokenServer tokens;
  FakeClock clock;
  FakeEnv fake;
  test::LocalHttpServer<> imds;
  std::atomic<int> imds_calls{0};
  imds.server.Get("/metadata/identity/oauth2/token", [&](const httplib::Request&, httplib::Response& res) {
    ++imds_calls;
    res.status = 400;
    res.set_content(R"({"error":"invalid_request","error_description":"Identity not found"})", "application/json");
  });
  imds.start();
  auto env = tokens.env(clock, fake);
  env.imds_endpoint = imds.url("");
  int az_calls = 0;
  env.run_az = [&](const std::vector<std::string>&) -> tl::expected<std::string, std::string> {
    ++az_calls;
    return std::string(R"({"accessToken":"cli-token","expires_on":1767312000})");
  };

  SUBCASE("nothing configured but the CLI") {
    auto chain = default_credential(env);
    auto token = chain->get_token(kScope);
    REQUIRE_MESSAGE(token, token.error().message);
    CHECK(token->token == "cli-token");
    CHECK(imds_calls == 1);
    CHECK(chain->name() == "Azure CLI");
    token = chain->get_token(kScope, true);  // straight to the CLI now
    REQUIRE(token);
    CHECK(imds_calls == 1);
    CHECK(az_calls == 2);
  }
  SUBCASE("the environment comes first when it is configured") {
    fake.vars = {{"AZURE_TENANT_ID", "t"}, {"AZURE_CLIENT_ID", "c"}, {"AZURE_CLIENT_SECRET", "s"}};
    auto chain = default_credential(env);
    const auto token = chain->get_token(kScope);
    REQUIRE(token);
    CHECK(token->token == "tok-1");
    CHECK(imds_calls == 0);
    CHECK(az_calls == 0);
    CHECK(chain->name() == "environment (client secret)");
  }
  SUBCASE("AZURE_TOKEN_CREDENTIALS=prod leaves the CLI out") {
    fake.vars = {{"AZURE_TOKEN_CREDENTIALS", "prod"}};
    auto chain = default_credential(env);
    const auto token = chain->get_token(kScope);
    REQUIRE_FALSE(token);
    CHECK(az_calls == 0);
    CHECK(token.error().message.find("managed identity") != std::string::npos);
    CHECK(token.error().message.find("Azure CLI:") == std::string::npos);
  }
  SUBCASE("AZURE_TOKEN_CREDENTIALS=dev keeps only the CLI, and a name selects one credential") {
    fake.vars = {{"AZURE_TOKEN_CREDENTIALS", "dev"}};
    REQUIRE(default_credential(env)->get_token(kScope));
    CHECK(imds_calls == 0);
    fake.vars = {{"AZURE_TOKEN_CREDENTIALS", "ManagedIdentityCredential"}};
    const auto token = default_credential(env)->get_token(kScope);
    REQUIRE_FALSE(token);
    CHECK(imds_calls == 1);
    CHECK(az_calls == 1);
    fake.vars = {{"AZURE_TOKEN_CREDENTIALS", "nonsense"}};
    CHECK(default_credential(env)->get_token(kScope).error().message.find("is not dev, prod") != std::string::npos);
  }
}

TEST_CASE("when every credential fails, one error names each and why, and no secret") {
  TokenServer tokens;
  tokens.fail_status = 401;
  test::TempDir dir;
  FakeClock clock;
  FakeEnv fake;
  fake.vars = {{"AZURE_TENANT_ID", "t"},
               {"AZURE_CLIENT_ID", "c"},
               {"AZURE_CLIENT_SECRET", "DISTINCTIVE-SECRET-42"},
               {"AZURE_FEDERATED_TOKEN_FILE", dir.write("fed", "DISTINCTIVE-ASSERTION-43")}};
  auto chain = default_credential(tokens.env(clock, fake));
  const auto token = chain->get_token(kScope);
  REQUIRE_FALSE(token);
  const auto& message = token.error().message;
  CHECK(message.find("environment (client secret): token endpoint") != std::string::npos);
  CHECK(message.find("workload identity: token endpoint") != std::string::npos);
  CHECK(message.find("managed identity: IMDS") != std::string::npos);
  CHECK(message.find("Azure CLI: az is stubbed out") != std::string::npos);
  CHECK(message.find("DISTINCTIVE-SECRET-42") == std::string::npos);
  CHECK(message.find("DISTINCTIVE-ASSERTION-43") == std::string::npos);
  CHECK(message.find('\n') == std::string::npos);
}

// ---- the ARM pipeline -------------------------------------------------------------------------

namespace {

class FakeCredential final : public TokenCredential {
 public:
  explicit FakeCredential(Clock& clock) : clock_(clock) {}
  tl::expected<AccessToken, AuthError> get_token(const std::string&, bool force_refresh) override {
    ++calls;
    if (force_refresh) ++forced;
    return AccessToken{"arm-token-" + std::to_string(forced.load() + 1), clock_.wall() + 1h};
  }
  std::string name() const override { return "fake"; }
  std::atomic<int> calls{0}, forced{0};

 private:
  Clock& clock_;
};

struct ArmBench {
  FakeClock clock;
  test::LocalHttpServer<> http;
  Seen seen;
  std::shared_ptr<FakeCredential> credential = std::make_shared<FakeCredential>(clock);
  std::vector<std::string> log;
  std::mutex log_mu;

  ArmOptions options() {
    ArmOptions o;
    o.cloud.name = "custom";
    o.cloud.arm_endpoint = http.url("");
    o.cloud.authority_host = http.url("/");
    o.cloud.audience = "https://management.core.windows.net/";
    o.credential = credential;
    o.clock = &clock;
    o.debug_log = [this](const std::string& line) {
      std::lock_guard g(log_mu);
      log.push_back(line);
    };
    return o;
  }
  std::shared_ptr<Arm> client() {
    if (!http.server.is_running()) http.start();
    return make_arm_client(options());
  }
};

ArmRequest get(const std::string& path) {
  ArmRequest r;
  r.path = path;
  r.api_version = "2026-09-01";
  return r;
}

}  // namespace

TEST_CASE("P9: three 429s with Retry-After: 2 mean three waits of 2 s, then success, with one request id") {
  ArmBench bench;
  std::atomic<int> hits{0};
  bench.http.server.Get("/subscriptions/sub-1/thing", [&](const httplib::Request& req, httplib::Response& res) {
    bench.seen.add(req);
    if (++hits <= 3) {
      res.status = 429;
      res.set_header("Retry-After", "2");
      res.set_content(R"({"error":{"code":"TooManyRequests","message":"slow down"}})", "application/json");
      return;
    }
    res.set_header("x-ms-request-id", "rid-ok");
    res.set_content(R"({"ok":true})", "application/json");
  });
  auto arm = bench.client();
  const auto start = bench.clock.now();
  const auto response = arm->send(get("/subscriptions/sub-1/thing"));
  REQUIRE_MESSAGE(response, response.error().message);
  CHECK(response->status == 200);
  CHECK(response->attempts == 4);
  CHECK(response->request_id == "rid-ok");
  CHECK(bench.clock.now() - start == 6s);
  REQUIRE(bench.seen.count() == 4);
  std::set<std::string> ids;
  for (const auto& h : bench.seen.headers) ids.insert(header_of(h, "x-ms-client-request-id"));
  CHECK(ids.size() == 1);
  CHECK(*ids.begin() == response->client_request_id);
  CHECK(response->client_request_id.size() == 36);
  CHECK(header_of(bench.seen.headers[0], "Authorization") == "Bearer arm-token-1");
  CHECK(bench.seen.queries[0] == "api-version=2026-09-01");
}

TEST_CASE("a 400 is tried once and becomes one line with code, message and request id") {
  ArmBench bench;
  std::atomic<int> hits{0};
  bench.http.server.Patch(R"(/subscriptions/sub-1/.*)", [&](const httplib::Request& req, httplib::Response& res) {
    ++hits;
    CHECK(req.get_header_value("Content-Type") == "application/json");
    res.status = 400;
    res.set_header("x-ms-request-id", "rid-400");
    res.set_content(R"({"error":{"code":"BadRequest","message":"Priority must be unique.\nSee docs."}})",
                    "application/json");
  });
  auto arm = bench.client();
  ArmRequest request = get("/subscriptions/sub-1/profiles/p1");
  request.method = "PATCH";
  request.body = R"({"properties":{}})";
  const auto response = arm->send(request);
  REQUIRE_FALSE(response);
  CHECK(hits == 1);
  CHECK(response.error().kind == ArmError::Kind::http);
  CHECK(response.error().status == 400);
  CHECK(response.error().code == "BadRequest");
  CHECK(response.error().request_id == "rid-400");
  CHECK_FALSE(response.error().retryable);
  CHECK(response.error().message ==
        "PATCH /subscriptions/sub-1/profiles/p1: 400 Bad Request: BadRequest: Priority must be unique. See docs. "
        "(request id rid-400)");
}

TEST_CASE("the deadline holds across retries") {
  ArmBench bench;
  std::atomic<int> hits{0};
  bench.http.server.Get("/subscriptions/s/x", [&](const httplib::Request&, httplib::Response& res) {
    ++hits;
    res.status = 503;
    res.set_header("Retry-After", "10");
  });
  auto arm = bench.client();
  auto request = get("/subscriptions/s/x");
  const auto start = bench.clock.now();
  request.deadline = start + 15s;
  const auto response = arm->send(request);
  REQUIRE_FALSE(response);
  CHECK(hits == 2);  // at 0 s and 10 s; a third at 20 s would be late
  CHECK(bench.clock.now() - start == 10s);
  CHECK(response.error().kind == ArmError::Kind::deadline);
  CHECK(response.error().status == 503);
  CHECK(response.error().message.find("503 Service Unavailable") != std::string::npos);
  CHECK(response.error().message.find("would pass the call's deadline") != std::string::npos);
}

TEST_CASE("without a server hint, retries back off exponentially with jitter; retry-after-ms wins over Retry-After") {
  ArmBench bench;
  std::atomic<int> hits{0};
  bool hint = false;
  bench.http.server.Get("/x", [&](const httplib::Request&, httplib::Response& res) {
    if (++hits % 3 == 0) return;  // every third try succeeds
    res.status = 500;
    if (hint) {
      res.set_header("retry-after-ms", "1500");
      res.set_header("Retry-After", "9");
    }
  });
  auto arm = bench.client();
  auto start = bench.clock.now();
  REQUIRE(arm->send(get("/x")));
  const auto waited = bench.clock.now() - start;
  CHECK(waited >= 800ms * 0.8 + 1600ms * 0.8);
  CHECK(waited <= 800ms * 1.3 + 1600ms * 1.3);
  hint = true;
  start = bench.clock.now();
  REQUIRE(arm->send(get("/x")));
  CHECK(bench.clock.now() - start == 3s);
}

TEST_CASE("retry delays: server hints, HTTP-dates, and the capped backoff") {
  const auto now = Clock::wall_time(std::chrono::seconds(784111777));  // Sun, 06 Nov 1994 08:49:37 GMT
  CHECK(detail::server_retry_delay({{"Retry-After", "7"}}, now) == Duration(7s));
  CHECK(detail::server_retry_delay({{"x-ms-retry-after-ms", "250"}}, now) == Duration(250ms));
  CHECK(detail::server_retry_delay({{"Retry-After", "Sun, 06 Nov 1994 08:50:07 GMT"}}, now) == Duration(30s));
  CHECK(detail::server_retry_delay({{"Retry-After", "soon"}}, now) == std::nullopt);
  CHECK(detail::server_retry_delay({}, now) == std::nullopt);
  for (int i = 0; i < 50; ++i) {
    const auto d = detail::backoff_delay(3, 800ms, 60s);
    CHECK(d >= 2560ms);
    CHECK(d <= 4160ms);
    CHECK(detail::backoff_delay(20, 800ms, 60s) == 60s);
  }
  CHECK(detail::subscription_of("https://management.azure.com/Subscriptions/ABC-1/resourceGroups/x?a=b") == "abc-1");
  CHECK(detail::subscription_of("/subscriptions/abc-2") == "abc-2");
  CHECK(detail::subscription_of("/providers/Microsoft.Network/operations") == "");
}

TEST_CASE("a 401 invalid_token refreshes the token once; other 401s and 403s are auth errors") {
  ArmBench bench;
  std::atomic<int> hits{0};
  bool always_reject = false;
  bench.http.server.Get("/x", [&](const httplib::Request& req, httplib::Response& res) {
    ++hits;
    if (always_reject || req.get_header_value("Authorization") == "Bearer arm-token-1") {
      res.status = 401;
      res.set_header("WWW-Authenticate",
                     R"(Bearer authorization_uri="https://login", error="invalid_token", error_description="revoked")");
      return;
    }
    res.set_content("{}", "application/json");
  });
  bench.http.server.Get("/forbidden", [&](const httplib::Request&, httplib::Response& res) {
    ++hits;
    res.status = 403;
    res.set_content(R"({"error":{"code":"AuthorizationFailed","message":"no access"}})", "application/json");
  });
  auto arm = bench.client();
  auto response = arm->send(get("/x"));
  REQUIRE_MESSAGE(response, response.error().message);
  CHECK(hits == 2);
  CHECK(bench.credential->forced == 1);

  always_reject = true;
  hits = 0;
  response = arm->send(get("/x"));
  REQUIRE_FALSE(response);
  CHECK(hits == 2);
  CHECK(response.error().kind == ArmError::Kind::auth);

  hits = 0;
  response = arm->send(get("/forbidden"));
  REQUIRE_FALSE(response);
  CHECK(hits == 1);
  CHECK(response.error().kind == ArmError::Kind::auth);
  CHECK(response.error().message.find("403 Forbidden: AuthorizationFailed: no access") != std::string::npos);
}

namespace {

// Accepts connections and closes them unanswered: a transport error on every try.
struct ClosingServer {
  int fd = -1;
  int port = 0;
  std::atomic<int> accepted{0};
  std::atomic<bool> stop{false};
  std::thread thread;
  ClosingServer() {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    port = ntohs(addr.sin_port);
    ::listen(fd, 16);
    thread = std::thread([this] {
      while (!stop) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 20) <= 0) continue;
        const int c = ::accept(fd, nullptr, nullptr);
        if (c < 0) continue;
        ++accepted;
        char buf[4096];
        (void)::recv(c, buf, sizeof buf, 0);  // the request arrived; the answer never comes
        ::close(c);
      }
    });
  }
  ~ClosingServer() {
    stop = true;
    thread.join();
    ::close(fd);
  }
};

}  // namespace

TEST_CASE("a transport error is retried, except on a non-idempotent POST, which is reported ambiguous") {
  ClosingServer server;
  FakeClock clock;
  ArmOptions options;
  options.cloud.arm_endpoint = "http://127.0.0.1:" + std::to_string(server.port);
  options.cloud.audience = "https://management.core.windows.net/";
  options.credential = std::make_shared<FakeCredential>(clock);
  options.clock = &clock;
  auto arm = make_arm_client(options);

  auto response = arm->send(get("/subscriptions/s/x"));
  REQUIRE_FALSE(response);
  CHECK(response.error().kind == ArmError::Kind::transport);
  CHECK_FALSE(response.error().ambiguous);
  CHECK(server.accepted == 4);

  ArmRequest post = get("/subscriptions/s/recoveryPlans/rp/unplannedFailover");
  post.method = "POST";
  post.body = "{}";
  response = arm->send(post);
  REQUIRE_FALSE(response);
  CHECK(server.accepted == 5);
  CHECK(response.error().kind == ArmError::Kind::transport);
  CHECK(response.error().ambiguous);
  CHECK_FALSE(response.error().retryable);

  post.retry_unsafe_on_transport_error = true;
  response = arm->send(post);
  REQUIRE_FALSE(response);
  CHECK(server.accepted == 9);
}

TEST_CASE("client-side buckets pace writes per subscription so a server with the same limit never answers 429") {
  ArmBench bench;
  // The server enforces the same bucket on the same clock.
  std::mutex mu;
  double tokens = 5;
  auto updated = bench.clock.now();
  int throttled = 0, served = 0;
  bench.http.server.Patch(R"(/subscriptions/sub-a/.*)", [&](const httplib::Request&, httplib::Response& res) {
    std::lock_guard g(mu);
    const auto now = bench.clock.now();
    tokens = std::min(5.0, tokens + std::chrono::duration<double>(now - updated).count() * 10);
    updated = now;
    if (tokens < 1 - 1e-9) {
      ++throttled;
      res.status = 429;
      res.set_header("Retry-After", "1");
      return;
    }
    tokens -= 1;
    ++served;
    res.set_content("{}", "application/json");
  });
  bench.http.server.Patch(R"(/subscriptions/sub-b/.*)", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content("{}", "application/json");
  });
  bench.http.start();
  auto options = bench.options();
  options.write_capacity = 5;
  options.write_refill = 10;
  auto arm = make_arm_client(options);
  ArmRequest request = get("/subscriptions/sub-a/endpoints/e");
  request.method = "PATCH";
  request.body = "{}";
  const auto start = bench.clock.now();
  for (int i = 0; i < 20; ++i) {
    const auto response = arm->send(request);
    REQUIRE_MESSAGE(response, response.error().message);
  }
  CHECK(bench.clock.now() - start >= 1500ms);
  CHECK(bench.clock.now() - start < 1600ms);
  CHECK(throttled == 0);
  CHECK(served == 20);
  // Another subscription has its own bucket; reads have theirs.
  const auto before = bench.clock.now();
  request.path = "/subscriptions/sub-b/endpoints/e";
  REQUIRE(arm->send(request));
  CHECK(bench.clock.now() == before);
}

TEST_CASE("list follows nextLink verbatim across pages") {
  ArmBench bench;
  bench.http.server.Get("/subscriptions/s/items", [&](const httplib::Request& req, httplib::Response& res) {
    bench.seen.add(req);
    if (req.has_param("$skiptoken")) {
      res.set_content(R"({"value":[{"n":3}]})", "application/json");
      return;
    }
    res.set_content(Json{{"value", {{{"n", 1}}, {{"n", 2}}}},
                         {"nextLink", bench.http.url("/subscriptions/s/items?api-version=2026-05-01&$skiptoken=abc")}}
                        .dump(),
                    "application/json");
  });
  auto arm = bench.client();
  const auto items = arm->list("/subscriptions/s/items", "2026-05-01");
  REQUIRE(items);
  REQUIRE(items->size() == 3);
  CHECK(Json::parse((*items)[2])["n"] == 3);
  REQUIRE(bench.seen.count() == 2);
  CHECK(bench.seen.queries[1] == "$skiptoken=abc&api-version=2026-05-01");
}

TEST_CASE("resource names are percent-encoded in the path; Backup's semicolons and encoded paths stay as they are") {
  // Traffic Manager's own example profile has an endpoint named "My external endpoint".
  CHECK(detail::path_encode("/p/ExternalEndpoints/My external endpoint") ==
        "/p/ExternalEndpoints/My%20external%20endpoint");
  CHECK(detail::path_encode("/containers/IaasVMContainer;iaasvmcontainerv2;rg;vm") ==
        "/containers/IaasVMContainer;iaasvmcontainerv2;rg;vm");
  CHECK(detail::path_encode("/a%20b/c?#\"\xc3\xa9") == "/a%20b/c%3F%23%22%C3%A9");

  ArmBench bench;
  std::vector<std::string> targets;
  std::mutex mu;
  bench.http.server.Get(R"(/subscriptions/s/.*)", [&](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard g(mu);
    targets.push_back(req.target);
    res.set_content("{}", "application/json");
  });
  auto arm = bench.client();
  const auto response = arm->send(get("/subscriptions/s/profiles/p/ExternalEndpoints/My external endpoint"));
  REQUIRE_MESSAGE(response, response.error().message);
  REQUIRE(targets.size() == 1);
  CHECK(targets[0] == "/subscriptions/s/profiles/p/ExternalEndpoints/My%20external%20endpoint?api-version=2026-09-01");
}

TEST_CASE("absolute URLs are followed only on the ARM endpoint's origin, so the token goes nowhere else") {
  ArmBench bench;
  std::atomic<int> hits{0};
  bench.http.server.Get("/op", [&](const httplib::Request&, httplib::Response& res) {
    ++hits;
    res.set_content("{}", "application/json");
  });
  auto arm = bench.client();
  CHECK(arm->send(get(bench.http.url("/op"))));
  CHECK(hits == 1);
  const auto elsewhere = arm->send(get("http://localhost:" + std::to_string(bench.http.port()) + "/op"));
  REQUIRE_FALSE(elsewhere);
  CHECK(elsewhere.error().message.find("not on the ARM endpoint") != std::string::npos);
  CHECK(hits == 1);
}

TEST_CASE("the debug log names method, URL, status and ids, and never the token") {
  ArmBench bench;
  bench.http.server.Get("/subscriptions/s/x", [&](const httplib::Request&, httplib::Response& res) {
    res.set_header("x-ms-request-id", "rid-log");
    res.set_content("{}", "application/json");
  });
  auto arm = bench.client();
  const auto response = arm->send(get("/subscriptions/s/x"));
  REQUIRE(response);
  REQUIRE(bench.log.size() == 2);
  CHECK(bench.log[0].find("GET " + bench.http.url("/subscriptions/s/x?api-version=2026-09-01")) != std::string::npos);
  CHECK(bench.log[1].find("200 GET") != std::string::npos);
  CHECK(bench.log[1].find("request id rid-log") != std::string::npos);
  CHECK(bench.log[1].find(response->client_request_id) != std::string::npos);
  CHECK(bench.log[1].find("attempt 1") != std::string::npos);
  for (const auto& line : bench.log) {
    CHECK(line.find("arm-token") == std::string::npos);
    CHECK(line.find("Bearer") == std::string::npos);
  }
}

TEST_CASE("the debug log of a whole chain and pipeline run carries neither the token nor the client secret") {
  TokenServer tokens;
  ArmBench bench;
  bench.http.server.Get("/subscriptions/s/x", [&](const httplib::Request& req, httplib::Response& res) {
    CHECK(req.get_header_value("Authorization") == "Bearer tok-1");
    res.set_content("{}", "application/json");
  });
  FakeEnv fake;
  fake.vars = {{"AZURE_TENANT_ID", "t"}, {"AZURE_CLIENT_ID", "c"}, {"AZURE_CLIENT_SECRET", "DISTINCTIVE-SECRET-77"}};
  bench.http.start();
  auto options = bench.options();
  options.credential = default_credential(tokens.env(bench.clock, fake));
  auto arm = make_arm_client(options);
  const auto response = arm->send(get("/subscriptions/s/x"));
  REQUIRE_MESSAGE(response, response.error().message);
  REQUIRE_FALSE(bench.log.empty());
  for (const auto& line : bench.log) {
    CHECK(line.find("tok-1") == std::string::npos);
    CHECK(line.find("DISTINCTIVE-SECRET-77") == std::string::npos);
  }
}

// ---- error bodies ---------------------------------------------------------------------------

TEST_CASE("arm_error_text reads TM CloudError, common ErrorResponse, bare messages, and shrugs at garbage") {
  CHECK(
      arm_error_text(R"({"error":{"code":"BadRequest","message":"The priority 1 is in use.","target":"priority"}})") ==
      "BadRequest: The priority 1 is in use.");
  CHECK(
      arm_error_text(
          R"({"error":{"code":"InvalidTemplate","message":"Bad.","details":[{"code":"X","message":"y"}],"additionalInfo":[{"type":"t","info":{}}]}})") ==
      "InvalidTemplate: Bad.");
  CHECK(arm_error_text(R"({"Code":"NotFound","Message":"Vault missing"})") == "NotFound: Vault missing");
  CHECK(arm_error_text(R"({"message":"only a message"})") == "only a message");
  CHECK(arm_error_text("<html>502 Bad Gateway</html>") == "");
  CHECK(arm_error_text("") == "");
  CHECK(arm_error_text("[1,2]") == "");
}

// ---- long-running operations ------------------------------------------------------------------

TEST_CASE("lro_from reads Azure-AsyncOperation, Location and Retry-After") {
  ArmResponse accepted;
  accepted.status = 202;
  accepted.headers = {
      {"azure-asyncoperation", "https://m/op?api-version=1"}, {"Location", "https://m/result"}, {"Retry-After", "15"}};
  auto lro = lro_from(accepted);
  REQUIRE(lro);
  CHECK(lro->kind == Lro::Kind::async_operation);
  CHECK(lro->url == "https://m/op?api-version=1");
  CHECK(lro->location == "https://m/result");
  CHECK(lro->retry_after == 15s);

  accepted.headers = {{"Location", "https://m/result"}};
  lro = lro_from(accepted);
  REQUIRE(lro);
  CHECK(lro->kind == Lro::Kind::location);
  CHECK(lro->url == "https://m/result");
  CHECK(lro->retry_after == 30s);

  accepted.status = 200;
  CHECK_FALSE(lro_from(accepted));
  accepted.status = 202;
  accepted.headers.clear();
  CHECK_FALSE(lro_from(accepted));
}

TEST_CASE("poll_lro follows an async operation's status, case-insensitively") {
  ArmBench bench;
  std::string status_body;
  bench.http.server.Get("/op", [&](const httplib::Request&, httplib::Response& res) {
    res.set_header("Retry-After", "5");
    res.set_content(status_body, "application/json");
  });
  auto arm = bench.client();
  Lro lro;
  lro.kind = Lro::Kind::async_operation;
  lro.url = bench.http.url("/op");
  status_body = R"({"status":"InProgress"})";
  auto s = poll_lro(*arm, lro);
  REQUIRE(s);
  CHECK(s->state == LroStatus::State::running);
  CHECK(s->retry_after == 5s);
  status_body = R"({"status":"succeeded"})";
  CHECK(poll_lro(*arm, lro)->state == LroStatus::State::succeeded);
  status_body = R"({"status":"Failed","error":{"code":"JobFailed","message":"the VM did not boot"}})";
  s = poll_lro(*arm, lro);
  CHECK(s->state == LroStatus::State::failed);
  CHECK(s->error == "JobFailed: the VM did not boot");
  status_body = R"({"status":"Cancelled"})";
  CHECK(poll_lro(*arm, lro)->state == LroStatus::State::cancelled);
  status_body = R"({"status":"Canceled"})";
  CHECK(poll_lro(*arm, lro)->state == LroStatus::State::cancelled);
  status_body = "not json";
  CHECK_FALSE(poll_lro(*arm, lro));
}

TEST_CASE("poll_lro on a Location: 202 runs, 200/204 succeed with the body, 4xx fails") {
  ArmBench bench;
  int status = 202;
  bench.http.server.Get("/result", [&](const httplib::Request&, httplib::Response& res) {
    res.status = status;
    if (status == 200) res.set_content(R"({"id":"done"})", "application/json");
    if (status == 409)
      res.set_content(R"({"error":{"code":"Conflict","message":"restore failed"}})", "application/json");
  });
  auto arm = bench.client();
  Lro lro;
  lro.kind = Lro::Kind::location;
  lro.url = bench.http.url("/result");
  CHECK(poll_lro(*arm, lro)->state == LroStatus::State::running);
  status = 200;
  auto s = poll_lro(*arm, lro);
  CHECK(s->state == LroStatus::State::succeeded);
  CHECK(s->body == R"({"id":"done"})");
  status = 204;
  CHECK(poll_lro(*arm, lro)->state == LroStatus::State::succeeded);
  status = 409;
  s = poll_lro(*arm, lro);
  REQUIRE(s);
  CHECK(s->state == LroStatus::State::failed);
  CHECK(s->error.find("409 Conflict: Conflict: restore failed") != std::string::npos);
}

TEST_CASE("the spec examples' LRO headers parse with lro_from") {
  const char* shared_env = std::getenv("EDGEDR_SHARED");
  const std::filesystem::path shared = shared_env ? shared_env : std::string(EDGEDR_SOURCE_DIR) + "/../shared";
  const auto example = shared / "azure-specs/backup/examples/Common/TriggerBackup_Post.json";
  if (!std::filesystem::exists(example)) {
    MESSAGE("skipped: " << example.string() << " is not here");
    return;
  }
  const auto spec = Json::parse(std::ifstream(example));
  ArmResponse accepted;
  accepted.status = 202;
  for (const auto& [name, value] : spec["responses"]["202"]["headers"].items()) {
    accepted.headers.emplace_back(name, value.is_string() ? value.get<std::string>() : value.dump());
  }
  const auto lro = lro_from(accepted);
  REQUIRE(lro);
  CHECK(lro->kind == Lro::Kind::async_operation);
  CHECK(lro->url.find("/operationsStatus/") != std::string::npos);
  CHECK(lro->location.find("/operationResults/") != std::string::npos);
  CHECK(lro->retry_after == 60s);
}

TEST_CASE("a cancel stops the wait between retries") {
  ArmBench bench;
  std::atomic<bool> cancelled{false};
  std::atomic<int> hits{0};
  bench.http.server.Get("/x", [&](const httplib::Request&, httplib::Response& res) {
    ++hits;
    cancelled = true;  // the operator pressed Ctrl-C while the server said "come back in 100 s"
    res.status = 429;
    res.set_header("Retry-After", "100");
  });
  auto arm = bench.client();
  auto request = get("/x");
  request.cancelled = &cancelled;
  const auto start = bench.clock.now();
  const auto response = arm->send(request);
  REQUIRE_FALSE(response);
  CHECK(response.error().kind == ArmError::Kind::cancelled);
  CHECK(hits == 1);
  CHECK(bench.clock.now() - start < 1s);
}

TEST_CASE("the metadata service's plain-http address is allowed, other link-local hosts are not") {
  CHECK_FALSE(check_url("http://169.254.169.254/metadata/identity/oauth2/token"));
  CHECK(check_url("http://169.254.169.253/metadata/identity/oauth2/token"));
}
