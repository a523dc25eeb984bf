#include <cerrno>

#include "dr/journal.h"
#include "journal/chain.h"
#include "journal/files.h"

namespace dr {

VerifyResult verify_journal(const std::string& path, const std::string& expected_first_prev) {
  VerifyResult out;
  const auto data = journal::read_file(path);
  if (!data) {
    out.problem = "cannot read " + path + ": " + journal::errno_text(errno);
    return out;
  }
  const journal::SplitLines split = journal::split_lines(*data);
  out.lines = split.lines.size() + (split.tail.empty() ? 0 : 1);
  if (out.lines == 0) {
    out.bad_line = 1;
    out.problem = "line 1: missing (the journal is empty: the run never started)";
    return out;
  }

  journal::ChainResult chain = journal::check_chain(split.lines, expected_first_prev);
  out.head_hash = chain.events.empty() ? std::string{} : chain.events.back().hash;
  out.events = std::move(chain.events);
  if (chain.problem) {
    out.bad_line = chain.problem->line;
    out.problem = "line " + std::to_string(out.bad_line) + ": " + chain.problem->detail;
    return out;
  }
  // A crash mid-append leaves this; open() would cut it, but verification reports it as it is.
  if (!split.tail.empty()) {
    out.bad_line = static_cast<int>(out.lines);
    out.problem = "line " + std::to_string(out.bad_line) + ": torn last line (no newline)";
    return out;
  }
  out.ok = true;
  return out;
}

}  // namespace dr
