// Reading a journal back: splitting it into lines and checking the hash chain. Shared by
// RunStore::open() (which then cuts a torn tail) and verify_journal() (which only reports).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dr/journal.h"

namespace dr::journal {

struct SplitLines {
  std::vector<std::string_view> lines;  // complete lines, without their newline
  std::vector<std::size_t> ends;        // offset just past each complete line's newline
  std::string_view tail;                // bytes after the last newline (a torn write), or empty
};
SplitLines split_lines(std::string_view data);

struct ChainProblem {
  enum class Kind { unreadable, broken_chain };
  Kind kind = Kind::unreadable;
  int line = 0;        // 1-based: the first line that is not what was written
  std::string detail;  // "not valid JSON (byte 3)", "seq is 5, expected 4 (...)"
};

struct ChainResult {
  std::vector<JournalEvent> events;  // every line before `problem->line`
  std::optional<ChainProblem> problem;
};

// Parses `lines` and checks seq 1..n and each prev against the previous line's hash (and the
// first against `expected_first_prev` when it is not empty). A prev that does not match could be
// an edit of either line; the line after decides: when it still links to the line holding the
// bad prev, that line is intact and the one before it was edited, so that is the line named.
ChainResult check_chain(const std::vector<std::string_view>& lines, const std::string& expected_first_prev);

}  // namespace dr::journal
