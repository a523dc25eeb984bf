#include "azure_setup.h"

#include <filesystem>

#include "dr/interpolation.h"

namespace edgedr {
namespace {

// The simulator's token endpoint accepts this client; nothing about it is secret.
constexpr const char* kSimTenant = "simulated-tenant";
constexpr const char* kSimClient = "edgedr-simulator";
constexpr const char* kSimSecret = "simulated-secret";

}  // namespace

std::optional<std::string> set_up_azure(const dr::Runbook& rb, const AzureSetup& setup, dr::azure::AzureContext& out) {
  out = {};
  const std::string dir = std::filesystem::path(rb.file).parent_path().string();
  std::string missing;  // the first ${env...}/${file...} that did not resolve
  const auto lookup = [&](const dr::Reference& ref) -> std::optional<std::string> {
    if (!ref.secret()) return std::nullopt;  // inputs were filled in when the runbook was loaded
    auto v = setup.secrets ? setup.secrets->resolve(ref, dir) : std::nullopt;
    // A rehearsal must run where the secrets are not: the simulator accepts any value.
    if (!v && setup.simulated) return "simulated-" + ref.name;
    if (!v && missing.empty()) missing = ref.text();
    return v;
  };
  for (const auto& [name, target] : rb.targets) {
    std::string target_error;
    out.targets[name] = dr::resolve_references(target.fields, lookup, target_error);
  }
  if (!rb.azure) {
    out.setup_error = "the runbook has no `azure:` section (cloud, subscription)";
    return std::nullopt;
  }
  const dr::AzureSettings& settings = *rb.azure;
  out.api_versions = dr::azure::ApiVersions::from(settings);

  auto cloud = dr::azure::cloud_for(settings);
  if (!cloud) return "azure.cloud: " + cloud.error();
  out.arm_endpoint = cloud->arm_endpoint;

  std::string sub_error;
  missing.clear();
  const dr::Value sub = dr::resolve_references(dr::Value::string(settings.subscription), lookup, sub_error);
  out.subscription = sub.as_string();  // when unresolved, the reference as written: plan and --dry-run show it
  if (!sub_error.empty() || !missing.empty() || sub.as_string().empty()) {
    out.arm = nullptr;
    out.setup_error = "azure.subscription: " +
                      (!sub_error.empty() ? sub_error
                       : !missing.empty() ? missing + " is not set"
                                          : std::string("empty"));
    return std::nullopt;
  }
  out.subscription = sub.as_string();
  dr::azure::CredentialEnvironment env;
  env.clock = setup.clock;
  env.authority_host = cloud->authority_host;
  env.tenant = settings.tenant;
  std::shared_ptr<dr::azure::TokenCredential> credential;
  if (setup.simulated) {
    credential = dr::azure::client_secret_credential(env, kSimTenant, kSimClient, kSimSecret);
  } else {
    credential = dr::azure::default_credential(env);
  }
  dr::azure::ArmOptions options;
  options.cloud = *cloud;
  options.credential = std::move(credential);
  options.clock = setup.clock;
  options.debug_log = setup.debug_log;
  out.arm = dr::azure::make_arm_client(std::move(options));
  return std::nullopt;
}

}  // namespace edgedr
