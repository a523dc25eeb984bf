// Diagnostics: located problems found while loading or checking a runbook.
//
// Loading never stops at the first problem: every module that reads user input appends to a
// Diagnostics list, and the caller prints them all at once. Each carries the file, line and
// column it is about, what was wrong, and where possible what was meant ("did you mean ...").
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace dr {

// A place in a source file. Lines and columns count from 1; 0 means "unknown".
struct SourcePos {
  std::string file;
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
