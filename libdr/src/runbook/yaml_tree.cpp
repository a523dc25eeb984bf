#include "runbook/yaml_tree.h"

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/parser.h>

#include <algorithm>
#include <charconv>
#include <climits>
#include <cstdio>
#include <istream>
#include <map>
#include <streambuf>
#include <unordered_set>

#include "dr/runbook.h"

namespace dr::yaml {

const Node* Node::find(std::string_view key) const {
  for (const auto& [k, v] : entries)
    if (k->is_scalar() && k->text == key) return v;
  return nullptr;
}

namespace {

std::string hex_byte(unsigned char c) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02X", c);
  return buf;
}

// Checks bytes before yaml-cpp sees them: its reader is not built for hostile input, and an
// operator deserves "line 3, column 7: invalid UTF-8" rather than a parser's confusion.
bool check_bytes(const std::string& file, std::string_view text, Diagnostics& diag) {
  if (text.size() > kMaxRunbookBytes) {
    diag.error({file, 0, 0}, "file is " + std::to_string(text.size() >> 20) + " MiB; a runbook file may be at most " +
                                 std::to_string(kMaxRunbookBytes >> 20) + " MiB (split it with `include:`)");
    return false;
  }
  int line = 1, col = 1;
  std::size_t i = 0;
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  while (i < text.size()) {
    unsigned char c = s[i];
    if (c == '\n') {
      ++line, col = 1, ++i;
      continue;
    }
    if (c < 0x80) {
      if (c == 0) {
        diag.error({file, line, col}, "NUL byte in the file; a runbook must be UTF-8 text");
        return false;
      }
      if (c < 0x20 && c != '\t' && c != '\r') {
        diag.error({file, line, col}, "control character " + hex_byte(c) + " is not allowed in a runbook");
        return false;
      }
      ++i, ++col;
      continue;
    }
    int len = (c >= 0xC2 && c <= 0xDF) ? 2 : (c >= 0xE0 && c <= 0xEF) ? 3 : (c >= 0xF0 && c <= 0xF4) ? 4 : 0;
    bool ok = len > 0 && i + len <= text.size();
    for (int k = 1; ok && k < len; ++k) ok = (s[i + k] & 0xC0) == 0x80;
    if (ok && len == 3) {
      // Overlong forms and UTF-16 surrogates are not UTF-8.
      ok = !(c == 0xE0 && s[i + 1] < 0xA0) && !(c == 0xED && s[i + 1] >= 0xA0);
    }
    if (ok && len == 4) ok = !(c == 0xF0 && s[i + 1] < 0x90) && !(c == 0xF4 && s[i + 1] >= 0x90);
    if (!ok) {
      diag.error({file, line, col}, "invalid UTF-8 (byte " + hex_byte(c) + "); a runbook must be UTF-8 text");
      return false;
    }
    i += static_cast<std::size_t>(len);
    ++col;
  }
  return true;
}

// `{ token: ${env.X} }` is a YAML error (the braces of ${} close the flow map); the parser's
// message does not say so, so point at the likely cause.
std::string flow_hint(std::string_view text, int line0) {
  for (int l = std::max(0, line0 - 1); l <= line0; ++l) {
    std::size_t start = 0;
    for (int i = 0; i < l && start != std::string_view::npos; ++i) {
      start = text.find('\n', start);
      if (start != std::string_view::npos) ++start;
    }
    if (start == std::string_view::npos) continue;
    const std::string_view row = text.substr(start, text.find('\n', start) - start);
    const auto ref = row.find("${");
    if (ref != std::string_view::npos && row.find_first_of("{[") < ref && ref > 0 && row[ref - 1] != '"' &&
        row[ref - 1] != '\'')
      return " (a ${...} value inside { } or [ ] must be quoted, e.g. token: \"${env.TOKEN}\")";
  }
  return {};
}

}  // namespace

class Builder : public YAML::EventHandler {
 public:
  Builder(Document& doc, Diagnostics& diag) : doc_(doc), diag_(diag) {}

  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}

  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    Node& n = make(mark, Node::Kind::null);
    finish(n, anchor);
  }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    auto it = anchors_.find(anchor);
    if (it == anchors_.end()) {  // yaml-cpp rejects unknown aliases itself; be safe anyway
      error(mark, "alias to an unknown anchor");
      Node& n = make(mark, Node::Kind::null);
      attach(&n);
      return;
    }
    if (open_.count(it->second)) {
      error(mark, "an alias refers to a node that contains it (recursive alias)");
      Node& n = make(mark, Node::Kind::null);
      attach(&n);
      return;
    }
    attach(it->second);
  }
  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    Node& n = make(mark, Node::Kind::scalar);
    n.text = value;
    // yaml-cpp gives "?" for a plain scalar and "!" for a quoted one. Explicit tags (!!str)
    // are treated as quoted: a runbook has no use for typed tags.
    n.plain = tag == "?";
    if (n.plain && resolve_plain(value) == ScalarType::null) n.kind = Node::Kind::null;
    finish(n, anchor);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    Node& n = make(mark, Node::Kind::sequence);
    open(n, anchor);
  }
  void OnSequenceEnd() override { close(); }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    Node& n = make(mark, Node::Kind::map);
    open(n, anchor);
  }
  void OnMapEnd() override { close(); }

  const Node* root() const { return root_; }
  bool failed() const { return failed_; }

 private:
  // Below this many keys a map is searched for a duplicate key directly; above, through a set.
  static constexpr std::size_t kKeysScanned = 16;

  // An open sequence or map. Its children wait in children_ (from first_child on) until it
  // closes, and then move into it at their final size: growing each node's vector one child at
  // a time was most of the cost of building a large tree.
  struct Frame {
    Node* node;
    std::size_t first_child;
    bool anchored;
    const Node* pending_key = nullptr;
    std::unordered_set<std::string_view> keys;  // a large map's keys (views of its key nodes' text)
  };

  Node& make(const YAML::Mark& mark, Node::Kind kind) {
    Node& n = doc_.nodes_.add(1)[0];
    n.kind = kind;
    n.line = mark.line + 1;
    n.column = mark.column + 1;
    return n;
  }
  void error(const YAML::Mark& mark, std::string msg) {
    diag_.error({doc_.file_, mark.line + 1, mark.column + 1}, std::move(msg));
    failed_ = true;
  }
  void finish(Node& n, YAML::anchor_t anchor) {
    if (anchor) anchors_[anchor] = &n;
    attach(&n);
  }
  void open(Node& n, YAML::anchor_t anchor) {
    // Only an anchored node can be reached by an alias, so only those are tracked as open.
    if (anchor) {
      anchors_[anchor] = &n;
      open_.insert(&n);
    }
    stack_.push_back({&n, children_.size(), anchor != 0});
  }
  void close() {
    Frame f = std::move(stack_.back());
    stack_.pop_back();
    if (f.anchored) open_.erase(f.node);
    const auto first = children_.begin() + static_cast<std::ptrdiff_t>(f.first_child);
    const auto count = static_cast<std::size_t>(children_.end() - first);
    if (f.node->kind == Node::Kind::sequence) {
      const auto items = doc_.items_.add(count);
      std::copy(first, children_.end(), items.begin());
      f.node->items = items;
    } else {
      const auto entries = doc_.entries_.add(count / 2);
      for (std::size_t i = 0; i < entries.size(); ++i) entries[i] = {first[2 * i], first[2 * i + 1]};
      f.node->entries = entries;
    }
    children_.erase(first, children_.end());
    attach(f.node);
  }
  static_assert(2 * (kMaxExpandedNodes + 1) <= UINT32_MAX, "Node::expanded holds the sum of two saturated counts");
  void add_expanded(Node* parent, const Node* child) {
    parent->expanded = static_cast<std::uint32_t>(
        std::min<std::size_t>(std::size_t{parent->expanded} + child->expanded, kMaxExpandedNodes + 1));
    parent->depth = static_cast<std::uint32_t>(std::max<std::size_t>(
        parent->depth, std::min<std::size_t>(std::size_t{child->depth} + 1, kMaxExpandedDepth + 1)));
  }
  // Whether a map already has this key: its earlier keys are every other child of the frame.
  bool seen_key(Frame& f, const Node* key) {
    const auto first = children_.begin() + static_cast<std::ptrdiff_t>(f.first_child);
    const auto keys = static_cast<std::size_t>(children_.end() - first) / 2;
    if (keys < kKeysScanned) {
      for (auto it = first; it < children_.end(); it += 2)
        if ((*it)->kind == Node::Kind::scalar && (*it)->text == key->text) return true;
      return false;
    }
    if (f.keys.empty())
      for (auto it = first; it < children_.end(); it += 2)
        if ((*it)->kind == Node::Kind::scalar) f.keys.insert((*it)->text);
    return !f.keys.insert(key->text).second;
  }
  void attach(const Node* n) {
    if (stack_.empty()) {
      if (root_) {
        failed_ = true;
        diag_.error({doc_.file_, n->line, n->column},
                    "a second YAML document; a runbook file holds exactly one document (remove the '---')");
      }
      root_ = n;
      return;
    }
    Frame& f = stack_.back();
    add_expanded(f.node, n);
    if (f.node->kind == Node::Kind::sequence) {
      children_.push_back(n);
      return;
    }
    if (!f.pending_key) {
      f.pending_key = n;
      return;
    }
    const Node* key = f.pending_key;
    f.pending_key = nullptr;
    if (key->kind != Node::Kind::scalar) {
      failed_ = true;
      diag_.error({doc_.file_, key->line, key->column}, "a map key must be plain text, not a list or a map");
    } else if (seen_key(f, key)) {
      failed_ = true;
      diag_.error({doc_.file_, key->line, key->column},
                  "duplicate key '" + key->text + "' (YAML would silently keep only one of them)");
    }
    children_.push_back(key);
    children_.push_back(n);
  }

  Document& doc_;
  Diagnostics& diag_;
  std::vector<Frame> stack_;
  std::vector<const Node*> children_;  // of the open nodes, innermost last
  std::map<YAML::anchor_t, const Node*> anchors_;
  std::unordered_set<const Node*> open_;  // open nodes that have an anchor
  const Node* root_ = nullptr;
  bool failed_ = false;
};

// yaml-cpp reads from a std::istream; this one reads the text where it is rather than a copy.
class TextBuf : public std::streambuf {
 public:
  explicit TextBuf(std::string_view text) {
    // The get area is only read (no putback into it), so the const_cast writes nothing.
    char* p = const_cast<char*>(text.data());
    setg(p, p, p + text.size());
  }
};

Document parse(const std::string& file, std::string_view text, Diagnostics& diag) {
  Document doc;
  doc.file_ = file;
  if (!check_bytes(file, text, diag)) return doc;
  if (text.size() >= 3 && text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // BOM

  TextBuf buf(text);
  std::istream in(&buf);
  Builder builder(doc, diag);
  try {
    YAML::Parser parser(in);
    while (parser.HandleNextDocument(builder)) {
      if (builder.failed()) break;
    }
  } catch (const YAML::DeepRecursion& e) {
    diag.error({file, e.mark.line + 1, e.mark.column + 1},
               "nesting is deeper than " + std::to_string(e.depth() - 1) + " levels; a runbook does not need that");
    return doc;
  } catch (const YAML::Exception& e) {
    diag.error({file, e.mark.line + 1, e.mark.column + 1},
               "YAML syntax error: " + e.msg + flow_hint(text, e.mark.line));
    return doc;
  }
  if (builder.failed()) return doc;
  const Node* root = builder.root();
  if (!root || root->kind == Node::Kind::null) {
    diag.error({file, 1, 1}, "the file is empty; expected a runbook map starting with `edgedr: 1`");
    return doc;
  }
  if (root->depth > kMaxExpandedDepth) {
    diag.error({file, root->line, root->column},
               "the document nests deeper than " + std::to_string(kMaxExpandedDepth) +
                   " levels through aliases (an alias inside a deep list that an alias repeats?); refusing to read it");
    return doc;
  }
  if (root->expanded > kMaxExpandedNodes) {
    diag.error({file, root->line, root->column}, "the document expands to more than " +
                                                     std::to_string(kMaxExpandedNodes) +
                                                     " nodes through aliases (an alias bomb?); refusing to read it");
    return doc;
  }
  doc.root_ = root;
  return doc;
}

std::optional<std::int64_t> plain_integer(std::string_view t) {
  if (resolve_plain(t) != ScalarType::integer) return std::nullopt;
  bool neg = false;
  if (t[0] == '+' || t[0] == '-') neg = t[0] == '-', t.remove_prefix(1);
  int base = 10;
  if (t.size() > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'o')) base = t[1] == 'x' ? 16 : 8, t.remove_prefix(2);
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v, base);
  if (ec != std::errc() || p != t.data() + t.size()) return std::nullopt;
  if (v > static_cast<std::uint64_t>(INT64_MAX) + (neg ? 1 : 0)) return std::nullopt;
  return neg ? static_cast<std::int64_t>(0 - v) : static_cast<std::int64_t>(v);
}

ScalarType resolve_plain(std::string_view t) {
  if (t.empty() || t == "~" || t == "null" || t == "Null" || t == "NULL") return ScalarType::null;
  if (t == "true" || t == "True" || t == "TRUE" || t == "false" || t == "False" || t == "FALSE")
    return ScalarType::boolean;
  auto all = [](std::string_view s, auto pred) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [&](char c) { return pred(static_cast<unsigned char>(c)); });
  };
  std::string_view body = t;
  if (body[0] == '+' || body[0] == '-') body.remove_prefix(1);
  if (all(body, [](unsigned char c) { return std::isdigit(c); })) return ScalarType::integer;
  if (t.size() > 2 && t[0] == '0' && t[1] == 'x' && all(t.substr(2), [](unsigned char c) { return std::isxdigit(c); }))
    return ScalarType::integer;
  if (t.size() > 2 && t[0] == '0' && t[1] == 'o' &&
      all(t.substr(2), [](unsigned char c) { return c >= '0' && c <= '7'; }))
    return ScalarType::integer;
  if (body == ".inf" || body == ".Inf" || body == ".INF" || t == ".nan" || t == ".NaN" || t == ".NAN")
    return ScalarType::number;
  // [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
  std::size_t i = 0, digits = 0;
  while (i < body.size() && std::isdigit(static_cast<unsigned char>(body[i]))) ++i, ++digits;
  if (i < body.size() && body[i] == '.') {
    ++i;
    while (i < body.size() && std::isdigit(static_cast<unsigned char>(body[i]))) ++i, ++digits;
  }
  if (digits == 0) return ScalarType::string;
  if (i < body.size() && (body[i] == 'e' || body[i] == 'E')) {
    ++i;
    if (i < body.size() && (body[i] == '+' || body[i] == '-')) ++i;
    std::size_t exp = 0;
    while (i < body.size() && std::isdigit(static_cast<unsigned char>(body[i]))) ++i, ++exp;
    if (exp == 0) return ScalarType::string;
  }
  return i == body.size() ? ScalarType::number : ScalarType::string;
}

}  // namespace dr::yaml
