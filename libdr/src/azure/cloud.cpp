// Clouds (CONTRACTS.md §5) and the per-service api-versions (§0).
#include <array>

#include <cstdlib>
#include "dr/azure.h"

namespace dr::azure {
namespace {

struct KnownCloud {
  const char* name;
  const char* arm_endpoint;
  const char* authority_host;
  const char* audience;
};

constexpr std::array<KnownCloud, 3> kClouds{{
    {"AzureCloud", "https://management.azure.com", "https://login.microsoftonline.com/",
     "https://management.core.windows.net/"},
    {"AzureUSGovernment", "https://management.usgovcloudapi.net", "https://login.microsoftonline.us/",
     "https://management.core.usgovcloudapi.net/"},
    {"AzureChinaCloud", "https://management.chinacloudapi.cn", "https://login.chinacloudapi.cn/",
     "https://management.core.chinacloudapi.cn/"},
}};

std::string without_trailing_slash(std::string s) {
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}
std::string with_trailing_slash(std::string s) {
  if (s.empty() || s.back() != '/') s.push_back('/');
  return s;
}

}  // namespace

std::string Cloud::scope() const {
  return without_trailing_slash(audience) + "/.default";
}

tl::expected<Cloud, std::string> cloud_for(const AzureSettings& settings,
                                           const std::function<const char*(const char*)>& getenv) {
  const auto env = [&](const char* name) -> std::string {
    const char* v = getenv ? getenv(name) : std::getenv(name);
    return v ? v : "";
  };
  Cloud cloud;
  cloud.name = settings.cloud.empty() ? "AzureCloud" : settings.cloud;
  if (cloud.name == "custom") {
    if (settings.arm_endpoint.empty() || settings.authority_host.empty() || settings.audience.empty()) {
      return tl::unexpected(std::string(
          "azure.cloud is 'custom' but azure.custom does not give all of arm-endpoint, authority-host and audience"));
    }
    cloud.arm_endpoint = without_trailing_slash(settings.arm_endpoint);
    cloud.authority_host = with_trailing_slash(settings.authority_host);
    cloud.audience = settings.audience;
    return cloud;
  }
  for (const auto& known : kClouds) {
    if (cloud.name == known.name) {
      cloud.arm_endpoint = known.arm_endpoint;
      cloud.authority_host = known.authority_host;
      cloud.audience = known.audience;
      if (const std::string host = env("AZURE_AUTHORITY_HOST"); !host.empty()) {
        cloud.authority_host = with_trailing_slash(host);
      }
      return cloud;
    }
  }
  std::string names;
  for (const auto& known : kClouds) names += std::string(names.empty() ? "" : ", ") + known.name;
  return tl::unexpected("unknown azure.cloud '" + cloud.name + "' (known: " + names + ", custom)");
}

ApiVersions ApiVersions::from(const AzureSettings& settings) {
  ApiVersions v;
  for (const auto& [service, version] : settings.api_versions) {
    if (service == "traffic-manager") v.traffic_manager = version;
    if (service == "site-recovery") v.site_recovery = version;
    if (service == "backup") v.backup = version;
  }
  return v;
}

}  // namespace dr::azure
