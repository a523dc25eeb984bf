#include "journal/chain.h"

#include "journal/event_json.h"

namespace dr::journal {

SplitLines split_lines(std::string_view data) {
  SplitLines out;
  std::size_t start = 0;
  for (;;) {
    const auto nl = data.find('\n', start);
    if (nl == std::string_view::npos) break;
    out.lines.push_back(data.substr(start, nl - start));
    out.ends.push_back(nl + 1);
    start = nl + 1;
  }
  out.tail = data.substr(start);
  return out;
}

ChainResult check_chain(const std::vector<std::string_view>& lines, const std::string& expected_first_prev) {
  std::vector<ParsedLine> parsed;
  parsed.reserve(lines.size());
  for (auto line : lines) parsed.push_back(parse_event_line(line));

  ChainResult out;
  auto fail = [&](ChainProblem::Kind kind, std::size_t index, std::string detail) {
    out.problem = ChainProblem{kind, static_cast<int>(index + 1), std::move(detail)};
    // Keep only the events before the named line.
    out.events.resize(std::min(out.events.size(), index));
    return out;
  };
  for (std::size_t i = 0; i < parsed.size(); ++i) {
    const int n = static_cast<int>(i + 1);
    if (!parsed[i].event) return fail(ChainProblem::Kind::unreadable, i, parsed[i].problem);
    const JournalEvent& e = *parsed[i].event;
    if (i >= 1 && lines[i] == lines[i - 1]) {
      return fail(ChainProblem::Kind::broken_chain, i,
                  "a copy of line " + std::to_string(n - 1) + " (a line was duplicated here)");
    }
    // This line would continue the chain had the line before it not been there: that line was
    // inserted, however well it was forged (right seq, right prev).
    if (i >= 2 && e.seq == n - 1 && parsed[i - 2].event && e.prev == parsed[i - 2].event->hash) {
      return fail(ChainProblem::Kind::broken_chain, i - 1,
                  "inserted: line " + std::to_string(n) + " continues the chain from line " + std::to_string(n - 2) +
                      ", so this line is not part of it");
    }
    if (e.seq != n) {
      return fail(ChainProblem::Kind::broken_chain, i,
                  "seq is " + std::to_string(e.seq) + ", expected " + std::to_string(n) +
                      " (a line was deleted, inserted or moved here)");
    }
    if (i == 0) {
      if (!expected_first_prev.empty() && e.prev != expected_first_prev) {
        return fail(ChainProblem::Kind::broken_chain, i,
                    "prev is " + e.prev + ", but the runbook's content hash is " + expected_first_prev +
                        " (this journal belongs to another runbook or version)");
      }
    } else if (e.prev != parsed[i - 1].event->hash) {
      const bool next_links_here = i + 1 < parsed.size() && parsed[i + 1].event && parsed[i + 1].event->prev == e.hash;
      const bool last = i + 1 == parsed.size();
      if (next_links_here || last) {
        return fail(ChainProblem::Kind::broken_chain, i - 1,
                    "changed after it was written: line " + std::to_string(n) + " records a different hash for it" +
                        (last ? " (or line " + std::to_string(n) + "'s prev was changed)" : ""));
      }
      return fail(ChainProblem::Kind::broken_chain, i,
                  "prev does not match the hash of line " + std::to_string(n - 1) + " (this line was changed)");
    }
    out.events.push_back(e);
  }
  return out;
}

}  // namespace dr::journal
