// A valijson adapter over the YAML tree, so the schema check validates the tree itself.
//
// The check used to copy the whole tree into an nlohmann::json document first: on a
// 10,000-service runbook that copy (a heap node per value and per key) and its destruction cost
// several times what valijson's own walk did. The adapter gives valijson the same view of the
// document the copy did, so results and error order are unchanged:
//   - scalars are typed as before (YAML 1.2 core for plain scalars: null, true/false, integers
//     that fit in 64 bits, other numbers as doubles, .inf as infinity, .nan as text; quoted
//     scalars are text);
//   - an object's members are visited in key order, as nlohmann::json's std::map held them
//     (valijson reports errors in the order it visits members).
// Aliases share the anchored node, where the copy duplicated it; valijson never tells the two apart.
#pragma once

#include <valijson/internal/adapter.hpp>
#include <valijson/internal/basic_adapter.hpp>
#include <valijson/internal/frozen_value.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "runbook/yaml_tree.h"

namespace dr::schema {

using MapEntry = yaml::Entry;

// Members of each map in key order, sorted the first time valijson walks that map (most maps
// are only looked up by key, never walked) and kept for the rest of one validation.
class SortedMembers {
 public:
  const std::vector<const MapEntry*>& of(const yaml::Node& map) {
    auto [it, added] = sorted_.try_emplace(&map);
    if (added) {
      auto& v = it->second;
      v.reserve(map.entries.size());
      for (const auto& e : map.entries) v.push_back(&e);
      std::sort(v.begin(), v.end(),
                [](const MapEntry* a, const MapEntry* b) { return a->first->text < b->first->text; });
    }
    return it->second;
  }

 private:
  std::unordered_map<const yaml::Node*, std::vector<const MapEntry*>> sorted_;
};

class YamlAdapter;
class YamlArrayIterator;
class YamlObjectIterator;
using YamlObjectMember = std::pair<std::string, YamlAdapter>;

// A node as the JSON value it stands for.
struct JsonScalar {
  enum class Type { null, boolean, integer, number, string, array, object };
  Type type = Type::null;
  std::int64_t integer = 0;
  double number = 0;

  static JsonScalar of(const yaml::Node* n) {
    JsonScalar s;
    if (!n || n->kind == yaml::Node::Kind::null) return s;
    if (n->is_seq()) return s.as(Type::array);
    if (n->is_map()) return s.as(Type::object);
    if (!n->plain) return s.as(Type::string);
    switch (yaml::resolve_plain(n->text)) {
      case yaml::ScalarType::null: return s;
      case yaml::ScalarType::boolean: return s.as(Type::boolean);
      case yaml::ScalarType::integer:
        if (auto v = yaml::plain_integer(n->text)) {
          s.integer = *v;
          return s.as(Type::integer);
        }
        s.number = std::strtod(n->text.c_str(), nullptr);  // too large for 64 bits: a number
        return s.as(Type::number);
      case yaml::ScalarType::number: {
        const std::string& t = n->text;
        if (t.find("inf") != std::string::npos || t.find("Inf") != std::string::npos ||
            t.find("INF") != std::string::npos) {
          s.number = t[0] == '-' ? -INFINITY : INFINITY;
          return s.as(Type::number);
        }
        if (t.find('n') != std::string::npos || t.find('N') != std::string::npos) return s.as(Type::string);  // NaN
        s.number = std::strtod(t.c_str(), nullptr);
        return s.as(Type::number);
      }
      case yaml::ScalarType::string: return s.as(Type::string);
    }
    return s.as(Type::string);
  }

 private:
  JsonScalar& as(Type t) {
    type = t;
    return *this;
  }
};

class YamlArray {
 public:
  using const_iterator = YamlArrayIterator;
  using iterator = YamlArrayIterator;

  YamlArray() = default;  // valijson's empty array
  YamlArray(const yaml::Node* seq, SortedMembers* sorted) : items_(seq->items), sorted_(sorted) {}

  YamlArrayIterator begin() const;
  YamlArrayIterator end() const;
  std::size_t size() const { return items_.size(); }

 private:
  std::span<const yaml::Node* const> items_;
  SortedMembers* sorted_ = nullptr;
};

class YamlObject {
 public:
  using const_iterator = YamlObjectIterator;
  using iterator = YamlObjectIterator;

  YamlObject() = default;  // valijson's empty object
  YamlObject(const yaml::Node* map, SortedMembers* sorted) : map_(map), sorted_(sorted) {}

  YamlObjectIterator begin() const;
  YamlObjectIterator end() const;
  YamlObjectIterator find(const std::string& name) const;
  std::size_t size() const { return map_ ? map_->entries.size() : 0; }

 private:
  const yaml::Node* map_ = nullptr;
  SortedMembers* sorted_ = nullptr;
};

// Only schema values are ever frozen (for enum and const); an instance value would stay valid
// only as long as its document, which is all one validation needs.
class YamlFrozenValue : public valijson::adapters::FrozenValue {
 public:
  YamlFrozenValue(const yaml::Node* node, SortedMembers* sorted) : node_(node), sorted_(sorted) {}
  FrozenValue* clone() const override { return new YamlFrozenValue(node_, sorted_); }
  bool equalTo(const valijson::adapters::Adapter& other, bool strict) const override;

 private:
  const yaml::Node* node_;
  SortedMembers* sorted_;
};

// What valijson's BasicAdapter reads a value through.
class YamlValue {
 public:
  YamlValue() { json_.type = JsonScalar::Type::object; }  // valijson's default: an empty object
  YamlValue(const yaml::Node* node, SortedMembers* sorted)
      : node_(node), sorted_(sorted), json_(JsonScalar::of(node)) {}

  valijson::adapters::FrozenValue* freeze() const { return new YamlFrozenValue(node_, sorted_); }

  opt::optional<YamlArray> getArrayOptional() const {
    if (!isArray()) return {};
    return opt::make_optional(YamlArray(node_, sorted_));
  }
  bool getArraySize(std::size_t& result) const {
    if (!isArray()) return false;
    result = node_->items.size();
    return true;
  }
  opt::optional<YamlObject> getObjectOptional() const {
    if (!isObject()) return {};
    return opt::make_optional(node_ ? YamlObject(node_, sorted_) : YamlObject());
  }
  bool getObjectSize(std::size_t& result) const {
    if (!isObject()) return false;
    result = node_ ? node_->entries.size() : 0;
    return true;
  }
  bool getBool(bool& result) const {
    if (!isBool()) return false;
    result = node_->text[0] == 't' || node_->text[0] == 'T';
    return true;
  }
  bool getDouble(double& result) const {
    if (!isDouble()) return false;
    result = json_.number;
    return true;
  }
  bool getInteger(std::int64_t& result) const {
    if (!isInteger()) return false;
    result = json_.integer;
    return true;
  }
  bool getString(std::string& result) const {
    if (!isString()) return false;
    result = node_->text;
    return true;
  }

  static bool hasStrictTypes() { return true; }
  bool isArray() const { return json_.type == JsonScalar::Type::array; }
  bool isBool() const { return json_.type == JsonScalar::Type::boolean; }
  bool isDouble() const { return json_.type == JsonScalar::Type::number; }
  bool isInteger() const { return json_.type == JsonScalar::Type::integer; }
  bool isNull() const { return json_.type == JsonScalar::Type::null; }
  bool isNumber() const { return isInteger() || isDouble(); }
  bool isObject() const { return json_.type == JsonScalar::Type::object; }
  bool isString() const { return json_.type == JsonScalar::Type::string; }

 private:
  const yaml::Node* node_ = nullptr;  // nullptr: the empty object of a default adapter
  SortedMembers* sorted_ = nullptr;
  JsonScalar json_;
};

class YamlAdapter
    : public valijson::adapters::BasicAdapter<YamlAdapter, YamlArray, YamlObjectMember, YamlObject, YamlValue> {
 public:
  YamlAdapter() = default;
  YamlAdapter(const yaml::Node* node, SortedMembers* sorted) : BasicAdapter(YamlValue(node, sorted)) {}
};

class YamlArrayIterator {
 public:
  using iterator_category = std::bidirectional_iterator_tag;
  using value_type = YamlAdapter;
  using difference_type = YamlAdapter;
  using pointer = YamlAdapter*;
  using reference = YamlAdapter&;

  YamlArrayIterator(std::span<const yaml::Node* const>::iterator it, SortedMembers* sorted)
      : it_(it), sorted_(sorted) {}

  YamlAdapter operator*() const { return YamlAdapter(*it_, sorted_); }
  valijson::adapters::DerefProxy<YamlAdapter> operator->() const {
    return valijson::adapters::DerefProxy<YamlAdapter>(**this);
  }
  bool operator==(const YamlArrayIterator& other) const { return it_ == other.it_; }
  bool operator!=(const YamlArrayIterator& other) const { return it_ != other.it_; }
  const YamlArrayIterator& operator++() {
    ++it_;
    return *this;
  }
  YamlArrayIterator operator++(int) {
    YamlArrayIterator before = *this;
    ++it_;
    return before;
  }
  const YamlArrayIterator& operator--() {
    --it_;
    return *this;
  }
  void advance(std::ptrdiff_t n) { it_ += n; }

 private:
  std::span<const yaml::Node* const>::iterator it_;
  SortedMembers* sorted_;
};

// Walks a map's members in key order; find() hands out a position in the order written, which
// is only ever compared with end() and read, never advanced.
class YamlObjectIterator {
 public:
  using iterator_category = std::bidirectional_iterator_tag;
  using value_type = YamlObjectMember;
  using difference_type = YamlObjectMember;
  using pointer = YamlObjectMember*;
  using reference = YamlObjectMember&;

  YamlObjectIterator(const yaml::Node* map, const std::vector<const MapEntry*>* order, std::size_t index,
                     SortedMembers* sorted)
      : map_(map), order_(order), index_(index), sorted_(sorted) {}

  YamlObjectMember operator*() const {
    const MapEntry& e = order_ ? *(*order_)[index_] : map_->entries[index_];
    return {e.first->text, YamlAdapter(e.second, sorted_)};
  }
  valijson::adapters::DerefProxy<YamlObjectMember> operator->() const {
    return valijson::adapters::DerefProxy<YamlObjectMember>(**this);
  }
  // Iterators of one object (as valijson only ever compares): the same position or both at end.
  bool operator==(const YamlObjectIterator& other) const { return index_ == other.index_; }
  bool operator!=(const YamlObjectIterator& other) const { return index_ != other.index_; }
  const YamlObjectIterator& operator++() {
    ++index_;
    return *this;
  }
  YamlObjectIterator operator++(int) {
    YamlObjectIterator before = *this;
    ++index_;
    return before;
  }
  const YamlObjectIterator& operator--() {
    --index_;
    return *this;
  }

 private:
  const yaml::Node* map_;
  const std::vector<const MapEntry*>* order_;  // key order; nullptr: the order written
  std::size_t index_;
  SortedMembers* sorted_;
};

inline YamlArrayIterator YamlArray::begin() const {
  return {items_.begin(), sorted_};
}

inline YamlArrayIterator YamlArray::end() const {
  return {items_.end(), sorted_};
}

inline YamlObjectIterator YamlObject::begin() const {
  return {map_, map_ ? &sorted_->of(*map_) : nullptr, 0, sorted_};
}

inline YamlObjectIterator YamlObject::end() const {
  return {map_, nullptr, size(), sorted_};
}

// Keys are unique (the parser refuses duplicates), so the first match is the member a std::map
// would find. Most maps are only ever searched, so they are never sorted.
inline YamlObjectIterator YamlObject::find(const std::string& name) const {
  std::size_t i = 0;
  if (map_)
    while (i < map_->entries.size() && map_->entries[i].first->text != name) ++i;
  return {map_, nullptr, i, sorted_};
}

inline bool YamlFrozenValue::equalTo(const valijson::adapters::Adapter& other, bool strict) const {
  return YamlAdapter(node_, sorted_).equalTo(other, strict);
}

}  // namespace dr::schema
