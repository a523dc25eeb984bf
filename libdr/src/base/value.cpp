#include "dr/value.h"

#include <cmath>
#include <cstdio>

namespace dr {

Value Value::null(SourcePos pos) {
  Value v;
  v.pos_ = std::move(pos);
  return v;
}
Value Value::boolean(bool b, SourcePos pos) {
  Value v = null(std::move(pos));
  v.kind_ = Kind::boolean, v.b_ = b;
  return v;
}
Value Value::integer(std::int64_t i, SourcePos pos) {
  Value v = null(std::move(pos));
  v.kind_ = Kind::integer, v.i_ = i;
  return v;
}
Value Value::number(double d, SourcePos pos) {
  Value v = null(std::move(pos));
  v.kind_ = Kind::number, v.d_ = d;
  return v;
}
Value Value::string(std::string s, SourcePos pos) {
  Value v = null(std::move(pos));
  v.kind_ = Kind::string, v.s_ = std::move(s);
  return v;
}
Value Value::list(std::vector<Value> items, SourcePos pos) {
  Value v = null(std::move(pos));
  v.kind_ = Kind::list, v.items_ = std::move(items);
  return v;
}
Value Value::map(std::vector<Entry> entries, SourcePos pos) {
  Value v = null(std::move(pos));
  v.kind_ = Kind::map, v.entries_ = std::move(entries);
  return v;
}

const Value* Value::find(std::string_view key) const {
  for (const auto& [k, v] : entries_)
    if (k == key) return &v;
  return nullptr;
}

std::string Value::to_text() const {
  switch (kind_) {
    case Kind::null: return "null";
    case Kind::boolean: return b_ ? "true" : "false";
    case Kind::integer: return std::to_string(i_);
    case Kind::number: {
      if (std::isinf(d_)) return d_ > 0 ? ".inf" : "-.inf";
      if (std::isnan(d_)) return ".nan";
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.17g", d_);
      return buf;
    }
    case Kind::string: return s_;
    case Kind::list: {
      std::string out = "[";
      for (std::size_t i = 0; i < items_.size(); ++i) out += (i ? ", " : "") + items_[i].to_text();
      return out + "]";
    }
    case Kind::map: {
      std::string out = "{";
      for (std::size_t i = 0; i < entries_.size(); ++i)
        out += (i ? ", " : "") + entries_[i].first + ": " + entries_[i].second.to_text();
      return out + "}";
    }
  }
  return {};
}

const char* Value::kind_name(Kind k) {
  switch (k) {
    case Kind::null: return "null";
    case Kind::boolean: return "true/false";
    case Kind::integer: return "a whole number";
    case Kind::number: return "a number";
    case Kind::string: return "text";
    case Kind::list: return "a list";
    case Kind::map: return "a map";
  }
  return "?";
}

}  // namespace dr
