#include "dr/catalogue.h"

#include <algorithm>

namespace dr {

const char* target_kind_name(TargetKind k) {
  switch (k) {
    case TargetKind::traffic_manager: return "traffic-manager";
    case TargetKind::site_recovery: return "site-recovery";
    case TargetKind::backup: return "backup";
    case TargetKind::agent: return "agent";
  }
  return "?";
}

const ParamSpec* ActionSpec::param(std::string_view n) const {
  for (const auto& p : params)
    if (p.name == n) return &p;
  return nullptr;
}

std::vector<std::string> ActionSpec::param_names() const {
  std::vector<std::string> out;
  for (const auto& p : params) out.push_back(p.name);
  return out;
}

Catalogue::Catalogue(std::vector<ActionSpec> actions) : actions_(std::move(actions)) {
  std::sort(actions_.begin(), actions_.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
}

const ActionSpec* Catalogue::find(std::string_view name) const {
  auto it = std::lower_bound(actions_.begin(), actions_.end(), name,
                             [](const ActionSpec& a, std::string_view n) { return a.name < n; });
  return it != actions_.end() && it->name == name ? &*it : nullptr;
}

std::vector<std::string> Catalogue::names() const {
  std::vector<std::string> out;
  for (const auto& a : actions_) out.push_back(a.name);
  return out;
}

}  // namespace dr
