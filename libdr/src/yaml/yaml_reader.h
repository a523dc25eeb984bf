// The part of reading a small YAML configuration file that every such file shares (the
// simulator's world file, the agent's config): positions as file:line:col, errors collected in
// Diagnostics rather than thrown, and maps whose unknown keys are errors naming the known ones.
// Each file's reader derives from this and adds its own typed values. Header-only: the modules
// that include it link yaml-cpp themselves.
#pragma once

#include <yaml-cpp/yaml.h>

#include <functional>
#include <set>
#include <string>

#include "dr/diagnostic.h"

namespace dr::yaml {

class YamlReader {
 public:
  YamlReader(std::string file, Diagnostics& diags) : file_(std::move(file)), diags_(diags) {}

  SourcePos pos(const YAML::Node& n) const {
    const auto m = n.Mark();
    return {file_, m.line + 1, m.column + 1};
  }
  void error(const YAML::Node& n, std::string message) { diags_.error(pos(n), std::move(message)); }
  void error_at(const SourcePos& p, std::string message) { diags_.error(p, std::move(message)); }

  // Calls `on_key` for each key of map `n`; unknown keys (not in `known`) are errors.
  void each(const YAML::Node& n, const std::string& what, const std::set<std::string>& known,
            const std::function<void(const std::string&, const YAML::Node&)>& on_key) {
    if (!n.IsMap()) {
      error(n, "expected a map for " + what);
      return;
    }
    for (const auto& kv : n) {
      const auto key = kv.first.Scalar();
      if (!known.count(key)) {
        std::string list;
        for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
        error(kv.first, "unknown key '" + key + "' in " + what + " (expected one of: " + list + ")");
        continue;
      }
      on_key(key, kv.second);
    }
  }

  const std::string& file() const { return file_; }

 private:
  std::string file_;
  Diagnostics& diags_;
};

}  // namespace dr::yaml
