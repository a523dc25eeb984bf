// Filling the AzureContext from a loaded runbook: targets and subscription with their references
// resolved, the cloud, a credential and the ARM pipeline.
#include <filesystem>

#include "dr/azure_actions.h"
#include "dr/interpolation.h"

namespace dr::azure {
namespace {

// The simulator's token endpoint accepts this client; nothing about it is secret.
constexpr const char* kSimTenant = "simulated-tenant";
constexpr const char* kSimClient = "edgedr-simulator";
constexpr const char* kSimSecret = "simulated-secret";

}  // namespace

std::optional<std::string> set_up_azure(const Runbook& rb, const AzureSetup& setup, AzureContext& out) {
  out = {};
  const std::string dir = std::filesystem::path(rb.file).parent_path().string();
  std::string missing;  // the first ${env...}/${file...} that did not resolve
  const auto lookup = [&](const Reference& ref) -> std::optional<std::string> {
    if (!ref.secret()) return std::nullopt;  // inputs were filled in when the runbook was loaded
    auto v = setup.secret ? setup.secret(ref, dir) : std::nullopt;
    // A rehearsal must run where the secrets are not: the simulator accepts any value.
    if (!v && setup.simulated) return "simulated-" + ref.name;
    if (!v && missing.empty()) missing = ref.text();
    return v;
  };
  for (const auto& [name, target] : rb.targets) {
    std::string target_error;
    out.targets[name] = resolve_references(target.fields, lookup, target_error);
  }
  if (!rb.azure) {
    out.setup_error = "the runbook has no `azure:` section (cloud, subscription)";
    return std::nullopt;
  }
  const AzureSettings& settings = *rb.azure;
  out.api_versions = ApiVersions::from(settings);

  auto cloud = cloud_for(settings);
  if (!cloud) return "azure.cloud: " + cloud.error();
  out.arm_endpoint = cloud->arm_endpoint;

  std::string sub_error;
  missing.clear();
  const Value sub = resolve_references(Value::string(settings.subscription), lookup, sub_error);
  out.subscription = sub.as_string();  // when unresolved, the reference as written: plan and --dry-run show it
  if (!sub_error.empty() || !missing.empty() || sub.as_string().empty()) {
    out.arm = nullptr;
    out.setup_error = "azure.subscription: " + (!sub_error.empty() ? sub_error
                                                : !missing.empty() ? missing + " is not set"
                                                                   : std::string("empty"));
    return std::nullopt;
  }
  out.subscription = sub.as_string();
  CredentialEnvironment env;
  env.clock = setup.clock;
  env.authority_host = cloud->authority_host;
  env.tenant = settings.tenant;
  std::shared_ptr<TokenCredential> credential;
  if (setup.simulated) {
    credential = client_secret_credential(env, kSimTenant, kSimClient, kSimSecret);
  } else {
    credential = default_credential(env);
  }
  out.credential = credential;
  out.token_scope = cloud->scope();
  ArmOptions options;
  options.cloud = *cloud;
  options.credential = std::move(credential);
  options.clock = setup.clock;
  options.debug_log = setup.debug_log;
  out.arm = make_arm_client(std::move(options));
  return std::nullopt;
}

}  // namespace dr::azure
