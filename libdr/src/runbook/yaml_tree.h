// A YAML document as a tree that remembers where each node was written.
//
// Built from yaml-cpp's event parser rather than YAML::Node: it is faster, it keeps the marks of
// keys as well as values, it sees duplicate keys (YAML::Node silently keeps one), and it lets us
// bound alias expansion before anything walks the tree. Aliases share the anchored node.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dr/diagnostic.h"

namespace dr::yaml {

struct Node;
using Entry = std::pair<const Node*, const Node*>;  // a map's key and value

// A node is small and owns nothing but its text: children are views into the document's arenas.
// A large runbook has hundreds of thousands of nodes, and the memory they touch (page faults,
// most of all) was much of the cost of loading one.
struct Node {
  enum class Kind : std::uint8_t { null, scalar, sequence, map };
  Kind kind = Kind::null;
  bool plain = false;                  // an unquoted scalar: its type (int, bool, null) is resolved per YAML 1.2 core
  std::uint32_t expanded = 1;          // nodes after alias expansion, saturating at kMaxExpandedNodes + 1
  std::uint32_t depth = 1;             // levels after alias expansion, saturating at kMaxExpandedDepth + 1
  int line = 0, column = 0;            // 1-based
  std::string text;                    // scalar text
  std::span<const Node* const> items;  // sequence
  std::span<const Entry> entries;      // map: key, value

  bool is_map() const { return kind == Kind::map; }
  bool is_seq() const { return kind == Kind::sequence; }
  bool is_scalar() const { return kind == Kind::scalar; }
  const Node* find(std::string_view key) const;  // map value by scalar key, or nullptr
};

// Storage whose elements never move: chunks, each twice the size of the one before, so a small
// file costs little and a large one a few hundred allocations (std::deque, used before,
// allocated every four nodes). A chunk stays under glibc's mmap threshold (128 KiB), so the
// memory of a freed document is reused by what is built after it rather than returned to the
// system and faulted in again.
template <typename T>
class Arena {
 public:
  // `n` elements in a row.
  std::span<T> add(std::size_t n) {
    if (n == 0) return {};
    if (capacity_ - used_ < n) {
      capacity_ = std::max(n, chunks_.empty() ? kFirstChunk : std::min(2 * capacity_, kLargestChunk));
      chunks_.push_back(std::make_unique_for_overwrite<T[]>(capacity_));
      used_ = 0;
    }
    T* first = chunks_.back().get() + used_;
    used_ += n;
    return {first, n};
  }

 private:
  static constexpr std::size_t kFirstChunk = 16;
  static constexpr std::size_t kLargestChunk = (96u << 10) / sizeof(T);
  std::vector<std::unique_ptr<T[]>> chunks_;
  std::size_t capacity_ = 0;
  std::size_t used_ = 0;
};

// Nodes point into the arena, so a Document moves but never copies (a copy would keep pointers
// into the original's arena).
class Document {
 public:
  Document() = default;
  Document(Document&&) = default;
  Document& operator=(Document&&) = default;
  Document(const Document&) = delete;
  Document& operator=(const Document&) = delete;

  const Node* root() const { return root_; }
  const std::string& file() const { return file_; }
  SourcePos pos(const Node* n) const { return {file_, n ? n->line : 0, n ? n->column : 0}; }  // shares the name

 private:
  friend class Builder;
  friend Document parse(const std::string&, std::string_view, Diagnostics&);
  SourceFile file_;
  Arena<Node> nodes_;
  Arena<const Node*> items_;
  Arena<Entry> entries_;
  const Node* root_ = nullptr;
};

// Parses `text` (named `file` in diagnostics). On any error the document's root is null and the
// errors are in `diag`. Checks, before the YAML parser sees a byte: size, UTF-8, NUL and control
// characters. Then: syntax (with yaml-cpp's depth guard), one document only, duplicate keys,
// non-scalar keys, recursive aliases, and the node count after alias expansion.
Document parse(const std::string& file, std::string_view text, Diagnostics& diag);

// Type resolution of a plain scalar under the YAML 1.2 core schema.
enum class ScalarType { null, boolean, integer, number, string };
ScalarType resolve_plain(std::string_view text);

// The value of a plain integer scalar (decimal, 0x hex, 0o octal; a leading zero is still
// decimal, as YAML 1.2 says). nullopt when it is not an integer or does not fit in 64 bits.
std::optional<std::int64_t> plain_integer(std::string_view text);

}  // namespace dr::yaml
