// SHA-256 as lowercase hex: runbook content hashes and the journal's hash chain.
#pragma once

#include <string>
#include <string_view>

namespace dr {

std::string sha256_hex(std::string_view data);

}  // namespace dr
