#include "journal/names.h"

#include <stdexcept>

namespace dr::journal {

void check_file_name(const std::string& what, const std::string& name) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos ||
      name.find('\0') != std::string::npos)
    throw std::invalid_argument(what + " '" + name + "' cannot be used as a file name");
}

}  // namespace dr::journal
