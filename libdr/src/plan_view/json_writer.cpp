#include "plan_view/json_writer.h"

#include <charconv>
#include <nlohmann/json.hpp>

namespace dr::plan_json {
namespace {

constexpr std::size_t kIndent = 2;  // dump(2)
constexpr std::size_t kFlushAt = 64 << 10;

// Printable ASCII other than the two characters JSON escapes: written as is, as nlohmann does.
bool plain_ascii(std::string_view s) {
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7F || c == '"' || c == '\\') return false;
  }
  return true;
}

}  // namespace

void JsonWriter::flush() {
  if (!sink_ || out_.empty()) return;
  sink_->write(out_.data(), static_cast<std::streamsize>(out_.size()));
  out_.clear();
}

void JsonWriter::newline_indent(std::size_t depth) {
  if (sink_ && out_.size() >= kFlushAt) flush();
  out_ += '\n';
  out_.append(depth * kIndent, ' ');
}

void JsonWriter::before_value() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (levels_.empty()) return;  // the document itself
  Level& l = levels_.back();
  if (!l.empty) out_ += ',';
  l.empty = false;
  newline_indent(levels_.size());
}

void JsonWriter::key(std::string_view k) {
  Level& l = levels_.back();
  if (!l.empty) out_ += ',';
  l.empty = false;
  newline_indent(levels_.size());
  string(k);
  out_ += ": ";
  after_key_ = true;
}

void JsonWriter::open(char opening) {
  before_value();
  out_ += opening;
  levels_.push_back({});
}

// nlohmann prints an empty container as "{}" or "[]", a full one with its closing bracket on a
// line of its own.
void JsonWriter::close(char closing) {
  const bool empty = levels_.back().empty;
  levels_.pop_back();
  if (!empty) newline_indent(levels_.size());
  out_ += closing;
}

void JsonWriter::string(std::string_view s) {
  if (plain_ascii(s)) {
    out_ += '"';
    out_ += s;
    out_ += '"';
    return;
  }
  out_ += nlohmann::json(std::string(s)).dump();  // escapes, and throws on invalid UTF-8, as before
}

void JsonWriter::value(std::string_view s) {
  before_value();
  string(s);
}

void JsonWriter::value(std::int64_t i) {
  before_value();
  char buf[24];
  out_.append(buf, std::to_chars(buf, buf + sizeof buf, i).ptr);
}

void JsonWriter::value(std::size_t n) {
  before_value();
  char buf[24];
  out_.append(buf, std::to_chars(buf, buf + sizeof buf, n).ptr);
}

void JsonWriter::value(double d) {
  before_value();
  out_ += nlohmann::json(d).dump();  // nlohmann's shortest round-trip form ("4183.5", "1e-05")
}

void JsonWriter::value(bool b) {
  before_value();
  out_ += b ? "true" : "false";
}

void JsonWriter::null() {
  before_value();
  out_ += "null";
}

}  // namespace dr::plan_json
