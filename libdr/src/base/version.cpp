#include "dr/version.h"

namespace dr {

std::string version() {
  return EDGEDR_VERSION;
}
std::string version_line() {
  return std::string("edgedr ") + EDGEDR_VERSION + " (git " + EDGEDR_GIT_SHA + ")";
}

}  // namespace dr
