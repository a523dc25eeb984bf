// The client-certificate credential (CONTRACTS.md §4): a JWT client assertion signed RS256 with
// the key from a PEM file that holds the private key and the certificate (and maybe its chain).
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>

#include "azure/credentials.h"

namespace dr::azure::detail {
namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

std::string der_of(X509* cert) {
  const int n = i2d_X509(cert, nullptr);
  if (n <= 0) return {};
  std::string der(static_cast<std::size_t>(n), '\0');
  auto* p = reinterpret_cast<unsigned char*>(der.data());
  i2d_X509(cert, &p);
  return der;
}

int password_callback(char* buf, int size, int, void* user) {
  const auto* password = static_cast<const std::string*>(user);
  if (!password || password->empty()) return 0;
  const int n = std::min(size, static_cast<int>(password->size()));
  std::copy_n(password->data(), n, buf);
  return n;
}

class ClientCertificateCredential final : public CachedCredential {
 public:
  ClientCertificateCredential(CredentialEnvironment env, std::string tenant, std::string client_id, std::string path)
      : CachedCredential(std::move(env)),
        tenant_(std::move(tenant)),
        client_id_(std::move(client_id)),
        path_(std::move(path)) {}
  std::string name() const override { return "environment (client certificate)"; }

 protected:
  tl::expected<AccessToken, std::string> fetch(const std::string& scope) override {
    auto assertion = make_assertion();
    if (!assertion) return tl::unexpected(assertion.error());
    const std::string form =
        "grant_type=client_credentials&client_id=" + form_encode(client_id_) +
        "&client_assertion_type=" + form_encode("urn:ietf:params:oauth:client-assertion-type:jwt-bearer") +
        "&client_assertion=" + form_encode(*assertion) + "&scope=" + form_encode(scope);
    return request_entra_token(env_, tenant_, form);
  }

 private:
  // Read per token request, so a renewed certificate file is picked up without a restart.
  tl::expected<std::string, std::string> make_assertion() {
    std::ifstream in(path_, std::ios::binary);
    if (!in) return tl::unexpected("cannot read AZURE_CLIENT_CERTIFICATE_PATH " + path_);
    constexpr std::size_t kMaxPem = 1 << 20;
    std::string pem(kMaxPem + 1, '\0');
    in.read(pem.data(), static_cast<std::streamsize>(pem.size()));
    pem.resize(static_cast<std::size_t>(in.gcount()));
    if (pem.size() > kMaxPem) return tl::unexpected("certificate file " + path_ + " is over 1 MiB");
    const std::string password = env_var("AZURE_CLIENT_CERTIFICATE_PASSWORD");

    std::unique_ptr<BIO, BioFree> key_bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    std::unique_ptr<EVP_PKEY, KeyFree> key(
        PEM_read_bio_PrivateKey(key_bio.get(), nullptr, password_callback, const_cast<std::string*>(&password)));
    ERR_clear_error();
    if (!key) {
      return tl::unexpected("certificate file " + path_ +
                            " holds no private key this process can read (PEM with the key and the certificate; "
                            "AZURE_CLIENT_CERTIFICATE_PASSWORD if the key is encrypted)");
    }
    if (EVP_PKEY_base_id(key.get()) != EVP_PKEY_RSA) {
      return tl::unexpected("certificate file " + path_ +
                            ": the key is not RSA (Entra ID client assertions use RS256)");
    }
    std::unique_ptr<BIO, BioFree> cert_bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    std::vector<std::string> chain;
    while (X509* raw = PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr)) {
      std::unique_ptr<X509, X509Free> cert(raw);
      // The leaf is the certificate of the private key; the rest is its chain.
      const bool leaf = X509_check_private_key(cert.get(), key.get()) == 1;
      auto der = der_of(cert.get());
      if (leaf) {
        chain.insert(chain.begin(), std::move(der));
      } else {
        chain.push_back(std::move(der));
      }
    }
    ERR_clear_error();
    if (chain.empty()) return tl::unexpected("certificate file " + path_ + " holds no certificate");

    unsigned char sha1[EVP_MAX_MD_SIZE];
    unsigned int sha1_len = 0;
    EVP_Digest(chain.front().data(), chain.front().size(), sha1, &sha1_len, EVP_sha1(), nullptr);

    nlohmann::json header{{"alg", "RS256"},
                          {"typ", "JWT"},
                          {"x5t", base64url(std::string_view(reinterpret_cast<char*>(sha1), sha1_len))}};
    if (lower(env_var("AZURE_CLIENT_SEND_CERTIFICATE_CHAIN")) == "true" ||
        env_var("AZURE_CLIENT_SEND_CERTIFICATE_CHAIN") == "1") {
      auto x5c = nlohmann::json::array();
      for (const auto& der : chain) x5c.push_back(base64(der));
      header["x5c"] = x5c;
    }
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(clock().wall().time_since_epoch()).count();
    const nlohmann::json claims{{"aud", token_endpoint(env_, tenant_)},
                                {"iss", client_id_},
                                {"sub", client_id_},
                                {"jti", uuid_v4()},
                                {"nbf", now},
                                {"exp", now + 600}};
    const std::string signing_input = base64url(header.dump()) + "." + base64url(claims.dump());

    std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
    std::size_t sig_len = 0;
    if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()) != 1 ||
        EVP_DigestSign(ctx.get(), nullptr, &sig_len, reinterpret_cast<const unsigned char*>(signing_input.data()),
                       signing_input.size()) != 1) {
      ERR_clear_error();
      return tl::unexpected("cannot sign the client assertion with the key in " + path_);
    }
    std::string signature(sig_len, '\0');
    if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &sig_len,
                       reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size()) != 1) {
      ERR_clear_error();
      return tl::unexpected("cannot sign the client assertion with the key in " + path_);
    }
    signature.resize(sig_len);
    return signing_input + "." + base64url(signature);
  }

  std::string tenant_, client_id_, path_;
};

}  // namespace

std::unique_ptr<TokenCredential> client_certificate_credential(CredentialEnvironment env, std::string tenant,
                                                               std::string client_id, std::string pem_path) {
  return std::make_unique<ClientCertificateCredential>(std::move(env), std::move(tenant), std::move(client_id),
                                                       std::move(pem_path));
}

}  // namespace dr::azure::detail
