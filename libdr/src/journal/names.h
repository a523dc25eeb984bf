// Run ids and lock scopes become file names; this keeps them to one path component.
#pragma once

#include <string>

namespace dr::journal {

// Throws std::invalid_argument unless `name` is usable as a single file name.
void check_file_name(const std::string& what, const std::string& name);

}  // namespace dr::journal
