// Small text helpers shared by the net module's files.
#pragma once

#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>

#include "dr/text.h"

namespace dr::net {

using dr::iequals;
using dr::lower;

inline std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

}  // namespace dr::net
