// ${env.NAME} and ${file.PATH} at run time. File contents are trimmed of surrounding whitespace
// (a token file usually ends with a newline that is not part of the token).
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "dr/engine.h"

namespace dr {
namespace {

class ProcessSecrets final : public SecretResolver {
 public:
  std::optional<std::string> resolve(const Reference& ref, const std::string& runbook_dir) override {
    if (ref.kind == Reference::Kind::env) {
      const char* v = std::getenv(ref.name.c_str());
      return v ? std::optional<std::string>(v) : std::nullopt;
    }
    if (ref.kind != Reference::Kind::file) return std::nullopt;
    std::filesystem::path p(ref.name);
    if (p.is_relative()) p = std::filesystem::path(runbook_dir) / p;
    std::ifstream in(p, std::ios::binary);
    if (!in) return std::nullopt;
    std::ostringstream ss;
    ss << in.rdbuf();
    std::string s = ss.str();
    const auto b = s.find_first_not_of(" \t\r\n");
    const auto e = s.find_last_not_of(" \t\r\n");
    return b == std::string::npos ? std::string{} : s.substr(b, e - b + 1);
  }
};

}  // namespace

std::unique_ptr<SecretResolver> make_process_secret_resolver() { return std::make_unique<ProcessSecrets>(); }

}  // namespace dr
