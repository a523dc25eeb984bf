// Values of a runbook's free-form parts (a step's `with:`, an input default), each remembering
// where it was written so later checks can point at it.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "dr/diagnostic.h"

namespace dr {

class Value {
 public:
  enum class Kind { null, boolean, integer, number, string, list, map };
  using Entry = std::pair<std::string, Value>;

  Value() = default;
  static Value null(SourcePos pos = {});
  static Value boolean(bool b, SourcePos pos = {});
  static Value integer(std::int64_t i, SourcePos pos = {});
  static Value number(double d, SourcePos pos = {});
  static Value string(std::string s, SourcePos pos = {});
  static Value list(std::vector<Value> items, SourcePos pos = {});
  static Value map(std::vector<Entry> entries, SourcePos pos = {});

  Kind kind() const { return kind_; }
  bool is_null() const { return kind_ == Kind::null; }
  bool is_string() const { return kind_ == Kind::string; }
  bool is_map() const { return kind_ == Kind::map; }
  bool is_list() const { return kind_ == Kind::list; }
  bool is_scalar() const { return kind_ != Kind::list && kind_ != Kind::map; }

  bool as_bool() const { return b_; }
  std::int64_t as_int() const { return i_; }
  double as_number() const { return kind_ == Kind::integer ? static_cast<double>(i_) : d_; }
  const std::string& as_string() const { return s_; }
  const std::vector<Value>& items() const { return items_; }
  const std::vector<Entry>& entries() const { return entries_; }
  std::vector<Entry>& entries() { return entries_; }

  // The entry with this key in a map, or nullptr.
  const Value* find(std::string_view key) const;

  // A scalar as the text it stands for ("true", "42", "latest"); lists and maps as compact
  // flow YAML. Used for plan output and for comparing `when:` conditions.
  std::string to_text() const;

  const SourcePos& pos() const { return pos_; }
  static const char* kind_name(Kind k);

 private:
  Kind kind_ = Kind::null;
  bool b_ = false;
  std::int64_t i_ = 0;
  double d_ = 0;
  std::string s_;
  std::vector<Value> items_;
  std::vector<Entry> entries_;
  SourcePos pos_;
};

}  // namespace dr
