// The version of this build, as `edgedr --version` prints it.
#pragma once

#include <string>

namespace dr {

std::string version();       // "0.1.0"
std::string version_line();  // "edgedr 0.1.0 (git 0123abcd)"

}  // namespace dr
