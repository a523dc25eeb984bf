#include "dr/diagnostic.h"

#include <algorithm>
#include <tuple>

namespace dr {

SourceFile::SourceFile(std::string name) : name_(std::make_shared<const std::string>(std::move(name))) {}

const std::string& SourceFile::str() const {
  static const std::string none;
  return name_ ? *name_ : none;
}

std::string SourcePos::str() const {
  if (line <= 0) return file;
  return file.str() + ":" + std::to_string(line) + ":" + std::to_string(column > 0 ? column : 1);
}

std::string Diagnostic::str() const {
  std::string out = pos.str();
  if (!out.empty()) out += ": ";
  out += severity == Severity::error ? "error: " : "warning: ";
  out += message;
  if (!suggestion.empty()) out += " (did you mean '" + suggestion + "'?)";
  return out;
}

void Diagnostics::error(SourcePos pos, std::string message, std::string suggestion) {
  add({Severity::error, std::move(pos), std::move(message), std::move(suggestion)});
}

void Diagnostics::warning(SourcePos pos, std::string message, std::string suggestion) {
  add({Severity::warning, std::move(pos), std::move(message), std::move(suggestion)});
}

void Diagnostics::add(Diagnostic d) {
  if (d.severity == Severity::error) ++errors_;
  items_.push_back(std::move(d));
}

void Diagnostics::append(const Diagnostics& other) {
  for (const auto& d : other.items_) add(d);
}

void Diagnostics::annotate(std::size_t index, const std::string& text) {
  if (index >= items_.size()) return;
  std::string& m = items_[index].message;
  if (!m.empty() && m.back() == ')')
    m.insert(m.size() - 1, text);
  else
    m += text;
}

void Diagnostics::sort_and_dedupe() {
  auto key = [](const Diagnostic& d) {
    return std::tie(d.pos.file, d.pos.line, d.pos.column, d.severity, d.message, d.suggestion);
  };
  std::stable_sort(items_.begin(), items_.end(), [&](const Diagnostic& a, const Diagnostic& b) {
    return std::tie(a.pos.file, a.pos.line, a.pos.column) < std::tie(b.pos.file, b.pos.line, b.pos.column);
  });
  items_.erase(std::unique(items_.begin(), items_.end(),
                           [&](const Diagnostic& a, const Diagnostic& b) { return key(a) == key(b); }),
               items_.end());
  errors_ = static_cast<std::size_t>(
      std::count_if(items_.begin(), items_.end(), [](const Diagnostic& d) { return d.severity == Severity::error; }));
}

}  // namespace dr
