// Paging (CONTRACTS.md §0): `{"value":[...],"nextLink":"..."}`, nextLink followed verbatim (it
// already carries the api-version and skip token).
#include <nlohmann/json.hpp>

#include "dr/azure.h"

namespace dr::azure {

tl::expected<std::vector<std::string>, ArmError> Arm::list(const std::string& path, const std::string& api_version,
                                                           Clock::time_point deadline) {
  std::vector<std::string> items;
  ArmRequest request;
  request.path = path;
  request.api_version = api_version;
  request.deadline = deadline;
  // A service that hands back the same nextLink forever must not keep us here.
  constexpr int kMaxPages = 10'000;
  for (int page = 0; page < kMaxPages; ++page) {
    auto response = send(request);
    if (!response) return tl::unexpected(response.error());
    const auto body = nlohmann::json::parse(response->body, nullptr, false);
    if (body.is_discarded() || !body.is_object()) {
      ArmError e;
      e.kind = ArmError::Kind::http;
      e.status = response->status;
      e.message = "GET " + request.path + ": the list answer is not a JSON object (request id " +
                  (response->request_id.empty() ? "none" : response->request_id) + ")";
      e.retryable = true;
      return tl::unexpected(e);
    }
    if (const auto v = body.find("value"); v != body.end() && v->is_array()) {
      for (const auto& item : *v) items.push_back(item.dump());
    }
    const auto next = body.find("nextLink");
    if (next == body.end() || !next->is_string() || next->get<std::string>().empty()) return items;
    request.path = next->get<std::string>();
    request.api_version.clear();  // absolute, verbatim
  }
  ArmError e;
  e.kind = ArmError::Kind::http;
  e.message = "GET " + path + ": more than 10000 pages; the service keeps returning a nextLink";
  return tl::unexpected(e);
}

}  // namespace dr::azure
