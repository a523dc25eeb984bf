// dr::Value as JSON, for any nlohmann::basic_json type (json, or ordered_json to keep a map's keys
// in the order written). Header-only so the modules that use it (journal, actions) keep nlohmann
// as their own dependency; base does not link it.
#pragma once

#include "dr/value.h"

namespace dr {

template <class Json>
Json value_as_json(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::null: return nullptr;
    case Value::Kind::boolean: return v.as_bool();
    case Value::Kind::integer: return v.as_int();
    case Value::Kind::number: return v.as_number();
    case Value::Kind::string: return v.as_string();
    case Value::Kind::list: {
      auto out = Json::array();
      for (const auto& item : v.items()) out.push_back(value_as_json<Json>(item));
      return out;
    }
    case Value::Kind::map: {
      auto out = Json::object();
      for (const auto& [key, item] : v.entries()) out[key] = value_as_json<Json>(item);
      return out;
    }
  }
  return nullptr;
}

}  // namespace dr
