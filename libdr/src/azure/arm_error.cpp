// ARM error bodies to one line (CONTRACTS.md §0): common-types ErrorResponse and TM's CloudError
// (`{"error":{"code","message",...}}`), bare `{"code","message"}` (some resource providers, with
// either capitalisation), `{"message"}`, and whatever else comes back.
#include <nlohmann/json.hpp>

#include "azure/credentials.h"
#include "dr/azure.h"

namespace dr::azure {
namespace {

std::string field(const nlohmann::json& object, const char* lower_name, const char* upper_name) {
  for (const char* name : {lower_name, upper_name}) {
    if (const auto it = object.find(name); it != object.end() && it->is_string()) return it->get<std::string>();
  }
  return {};
}

std::string code_and_message(const nlohmann::json& object) {
  const std::string code = detail::one_line(field(object, "code", "Code"), 120);
  const std::string message = detail::one_line(field(object, "message", "Message"), 400);
  if (!code.empty() && !message.empty()) return code + ": " + message;
  return code.empty() ? message : code;
}

}  // namespace

std::string arm_error_text(std::string_view body) {
  const auto json = nlohmann::json::parse(body, nullptr, false);
  if (json.is_discarded() || !json.is_object()) return {};
  for (const char* key : {"error", "Error"}) {
    if (const auto e = json.find(key); e != json.end()) {
      if (e->is_object()) return code_and_message(*e);
      // Entra ID's {"error":"invalid_client","error_description":"..."}.
      if (e->is_string()) {
        const std::string description = detail::one_line(field(json, "error_description", "error_description"), 300);
        return e->get<std::string>() + (description.empty() ? "" : ": " + description);
      }
    }
  }
  return code_and_message(json);
}

}  // namespace dr::azure
