// Bearer tokens: read from files (several at once, for rotation), re-read when a file changes,
// compared in constant time.
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <sys/stat.h>

#include <fstream>
#include <mutex>

#include "dr/agent_server.h"

namespace dr::agent {

bool token_matches(std::string_view presented, std::string_view expected) {
  // Digests make both sides the same length, so neither the compare nor an early length check
  // reveals anything about the expected token.
  unsigned char a[SHA256_DIGEST_LENGTH], b[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(presented.data()), presented.size(), a);
  SHA256(reinterpret_cast<const unsigned char*>(expected.data()), expected.size(), b);
  return !expected.empty() && CRYPTO_memcmp(a, b, sizeof a) == 0;
}

struct TokenSet::Impl {
  struct Stamp {
    bool exists = false;
    ino_t ino = 0;
    off_t size = 0;
    long long mtime_ns = 0;
    bool operator==(const Stamp&) const = default;
  };
  std::vector<std::string> files;
  mutable std::mutex mu;
  std::vector<std::string> tokens;
  std::vector<Stamp> stamps;

  static Stamp stamp_of(const std::string& file) {
    struct stat st {};
    Stamp s;
    if (::stat(file.c_str(), &st) != 0) return s;
    s.exists = true;
    s.ino = st.st_ino;
    s.size = st.st_size;
    s.mtime_ns = static_cast<long long>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec;
    return s;
  }
};

TokenSet::TokenSet(std::vector<std::string> files) : impl_(std::make_shared<Impl>()) {
  impl_->files = std::move(files);
}

std::vector<std::string> TokenSet::reload() {
  std::vector<std::string> problems, tokens;
  std::vector<Impl::Stamp> stamps;
  for (const auto& file : impl_->files) {
    stamps.push_back(Impl::stamp_of(file));
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      problems.push_back("token file " + file + " cannot be read; it accepts no token");
      continue;
    }
    std::string line;
    std::getline(in, line);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
    if (line.empty()) {
      problems.push_back("token file " + file + " is empty; it accepts no token");
      continue;
    }
    if (line.size() < 16) {
      problems.push_back("token file " + file + " holds a token shorter than 16 characters; it is not used");
      continue;
    }
    tokens.push_back(std::move(line));
  }
  std::lock_guard lock(impl_->mu);
  impl_->tokens = std::move(tokens);
  impl_->stamps = std::move(stamps);
  return problems;
}

void TokenSet::reload_if_changed() {
  bool changed = false;
  {
    std::lock_guard lock(impl_->mu);
    for (std::size_t i = 0; i < impl_->files.size() && !changed; ++i)
      changed = i >= impl_->stamps.size() || !(Impl::stamp_of(impl_->files[i]) == impl_->stamps[i]);
  }
  if (changed) reload();
}

bool TokenSet::accepts(std::string_view presented) const {
  std::lock_guard lock(impl_->mu);
  bool ok = false;
  for (const auto& t : impl_->tokens) ok |= token_matches(presented, t);  // no early exit
  return ok;
}

std::size_t TokenSet::size() const {
  std::lock_guard lock(impl_->mu);
  return impl_->tokens.size();
}

}  // namespace dr::agent
