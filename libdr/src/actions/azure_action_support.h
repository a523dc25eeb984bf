// What the Azure actions share: target resolution against AzureContext, ARM request helpers,
// lenient JSON reading, header lookup and the mapping of ArmError to a step's failure.
//
// The ARM pipeline's own LRO helpers (lro_from, poll_lro) belong to module `azure`; the actions
// follow their services' specific chains (ASR job names, Backup operation -> job) with the small
// helpers here instead.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "actions/action_support.h"
#include "dr/azure_actions.h"
#include "dr/text.h"

namespace dr::actions::az {

using json = nlohmann::json;
using azure::Arm;
using azure::ArmError;
using azure::ArmRequest;
using azure::ArmResponse;
using azure::AzureContext;

std::shared_ptr<Action> make_traffic_manager_action(std::string name, std::shared_ptr<AzureContext> context);
std::shared_ptr<Action> make_site_recovery_action(std::string name, std::shared_ptr<AzureContext> context);
std::shared_ptr<Action> make_backup_action(std::string name, std::shared_ptr<AzureContext> context);

// A step's `target` resolved against the context: where its resource lives and how to reach it.
struct Resolved {
  Arm* arm = nullptr;                              // null when only describing (no client yet)
  std::string endpoint;                            // "https://management.azure.com"
  std::string subscription, resource_group, name;  // name: the profile or the vault
  std::string base;                                // "/subscriptions/S/resourceGroups/RG/providers/PROVIDER/NAME"
  std::string error;                               // non-empty: unusable (no target, no client, missing field)
};

// `name_field` is "profile" or "vault"; `provider` is e.g. "Microsoft.Network/trafficmanagerprofiles".
// With `need_arm`, a missing client is an error (the context's setup_error).
Resolved resolve_target(const AzureContext& context, const StepCall& call, const char* name_field, const char* provider,
                        bool need_arm = true);

// The full URL of `path` for describe().
std::string full_url(const Resolved& r, const std::string& path, const std::string& api_version);

// A request carrying the call's deadline and cancellation flag.
ArmRequest request(const StepCall& call, std::string method, std::string path, std::string api_version,
                   std::optional<std::string> body = std::nullopt);

// GET `path` and parse the body as a JSON object.
tl::expected<json, ArmError> get_json(Arm& arm, const StepCall& call, const std::string& path,
                                      const std::string& api_version);

// GET a list, each item parsed; items that are not JSON objects are left out.
tl::expected<std::vector<json>, ArmError> list_json(Arm& arm, const StepCall& call, const std::string& path,
                                                    const std::string& api_version);

json parse_object(std::string_view text);  // a JSON object, or an empty object

// Lenient readers: the services' schemas mark almost nothing required.
std::string text_at(const json& j, std::initializer_list<const char*> path);
std::optional<std::int64_t> int_at(const json& j, std::initializer_list<const char*> path);

std::optional<std::string> header_of(const ArmResponse& response, std::string_view name);
// Retry-After (seconds) of a response, else `fallback`.
Duration retry_after_of(const ArmResponse& response, Duration fallback);

// The path of an absolute URL ARM handed out, from "/subscriptions" (case-insensitively), without
// the query; the URL itself when it has no such part.
std::string path_of_url(const std::string& url);
// The segment after `marker` ("operationresults/") up to '?', '/' or the end; empty when absent.
std::string segment_after(const std::string& url, std::string_view marker);
// The last path segment of a URL, before any query.
std::string last_segment(const std::string& url);

// A step failure from an ARM error: auth and 4xx other than 408/409/429 are not retryable; a
// request that may have arrived is ambiguous. `what` says what the step was doing.
StepResult fail_from(const ArmError& e, const std::string& what = {});
Reconciliation operator_needed(std::string reason);

// Journaled handles are Value maps of strings and integers.
std::string handle_text(const Value& handle, std::string_view key);
std::int64_t handle_int(const Value& handle, std::string_view key, std::int64_t fallback);

// An RFC 3339 time from a service (7-digit fractions, a missing zone taken as UTC).
std::optional<Clock::wall_time> service_time(const std::string& text);

// For a reconcile: remote work that started at or after this is taken for the step's own. The
// intent's time less 5 minutes (Azure's clock and ours may disagree a little); an hour back when
// the engine gave no intent time.
Clock::wall_time reconcile_since(const StepCall& call);

}  // namespace dr::actions::az
