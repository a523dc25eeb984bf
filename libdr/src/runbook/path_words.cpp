#include "runbook/path_words.h"

#include <charconv>

namespace dr::schema {
namespace {

// A step's words: its name when it has one, else its position.
std::string step_words(const yaml::Node* steps, const std::string& index, const std::string& where) {
  std::size_t i = 0;
  std::from_chars(index.data(), index.data() + index.size(), i);
  const yaml::Node* step = steps && steps->is_seq() && i < steps->items.size() ? steps->items[i] : nullptr;
  const yaml::Node* name = step && step->is_map() ? step->find("name") : nullptr;
  if (name && name->is_scalar()) return "step '" + name->text + "' (" + where + ")";
  return "step " + std::to_string(i + 1) + " of " + where;
}

}  // namespace

std::string path_words(const std::vector<std::string>& path, const yaml::Node* root) {
  if (path.empty()) return "the runbook";
  const auto child = [](const yaml::Node* n, const std::string& k) { return n && n->is_map() ? n->find(k) : nullptr; };
  std::string base;
  std::size_t used = 0;
  const yaml::Node* services = child(root, "services");
  if (path[0] == "services" && path.size() >= 2) {
    base = "service '" + path[1] + "'";
    used = 2;
    if (path.size() >= 4) {
      base = step_words(child(child(services, path[1]), path[2]), path[3], path[1] + "/" + path[2]);
      used = 4;
      if (path.size() >= 5 && path[4] == "undo") base = "the undo of " + base, used = 5;
    } else if (path.size() == 3) {
      base = "'" + path[2] + "' of service '" + path[1] + "'";
      used = 3;
    }
  } else if (path[0] == "preflight" && path.size() >= 2) {
    base = step_words(child(root, "preflight"), path[1], "preflight");
    used = 2;
  } else if ((path[0] == "targets" || path[0] == "inputs") && path.size() >= 2) {
    base = (path[0] == "targets" ? "target '" : "input '") + path[1] + "'";
    used = 2;
  } else {
    base = "the runbook";
    used = 0;
  }
  if (used >= path.size()) return base;
  std::string rest;
  for (std::size_t i = used; i < path.size(); ++i) rest += (rest.empty() ? "" : ".") + path[i];
  return "'" + rest + "' of " + base;
}

}  // namespace dr::schema
