// Diagnostics: located problems found while loading or checking a runbook.
//
// Loading never stops at the first problem: every module that reads user input appends to a
// Diagnostics list, and the caller prints them all at once. Each carries the file, line and
// column it is about, what was wrong, and where possible what was meant ("did you mean ...").
#pragma once

#include <compare>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace dr {

// The name of a source file, as positions hold it. Every value and step of a runbook carries a
// position (a 10,000-service runbook has hundreds of thousands), so they share one copy of the
// name rather than each allocating its own. Reads as the std::string it stands for.
class SourceFile {
 public:
  SourceFile() = default;
  SourceFile(std::string name);  // implicit, so that a position reads {"rb.yaml", 3, 5}
  SourceFile(const char* name) : SourceFile(std::string(name)) {}

  const std::string& str() const;
  operator const std::string&() const { return str(); }
  bool empty() const { return str().empty(); }

  friend bool operator==(const SourceFile& a, const SourceFile& b) { return a.name_ == b.name_ || a.str() == b.str(); }
  friend std::strong_ordering operator<=>(const SourceFile& a, const SourceFile& b) { return a.str() <=> b.str(); }

 private:
  std::shared_ptr<const std::string> name_;  // null: no name
};

// A place in a source file. Lines and columns count from 1; 0 means "unknown".
struct SourcePos {
  SourceFile file;
  int line = 0;
  int column = 0;

  // "file:line:col", or just "file" when the line is unknown.
  std::string str() const;
  bool operator==(const SourcePos&) const = default;
};

enum class Severity { error, warning };

struct Diagnostic {
  Severity severity = Severity::error;
  SourcePos pos;
  std::string message;     // what is wrong and what was expected
  std::string suggestion;  // a near name, without quotes; empty when there is none

  // "file:line:col: error: message (did you mean 'x'?)"
  std::string str() const;
};

class Diagnostics {
 public:
  void error(SourcePos pos, std::string message, std::string suggestion = {});
  void warning(SourcePos pos, std::string message, std::string suggestion = {});
  void add(Diagnostic d);
  void append(const Diagnostics& other);
  // Appends text to the message of the diagnostic at `index` (inside its closing parenthesis
  // when the message ends with one).
  void annotate(std::size_t index, const std::string& text);

  bool has_errors() const { return errors_ > 0; }
  std::size_t error_count() const { return errors_; }
  const std::vector<Diagnostic>& all() const { return items_; }

  // Sorted by file, line, column, with exact duplicates removed (two checks may see one fault).
  void sort_and_dedupe();

 private:
  std::vector<Diagnostic> items_;
  std::size_t errors_ = 0;
};

}  // namespace dr
