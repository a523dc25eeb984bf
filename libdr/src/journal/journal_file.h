// The journal file: one writer appending lines to an O_APPEND descriptor.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "dr/journal.h"

namespace dr::journal {

class JournalFile final : public RunJournal {
 public:
  // Takes ownership of `fd`. `events` were read back by open(); `head` is the hash the next line
  // links to (the last event's, or the runbook's for an empty journal).
  JournalFile(std::string path, int fd, Clock& clock, std::vector<JournalEvent> events, std::string head);
  ~JournalFile() override;
  JournalFile(const JournalFile&) = delete;
  JournalFile& operator=(const JournalFile&) = delete;

  const JournalEvent& append(std::string type, Value fields, bool durable) override;
  void sync() override;
  const std::vector<JournalEvent>& events() const override { return events_; }
  std::string head_hash() const override;

  // Test seam: replaces the descriptor appends go to and returns the old one (the caller owns
  // it), to make a write fail on demand.
  int swap_fd_for_test(int fd);

 private:
  [[noreturn]] void fail(const std::string& what, int err);

  std::string path_;
  int fd_;
  Clock& clock_;
  mutable std::mutex mu_;
  std::vector<JournalEvent> events_;
  std::string head_;
  std::string failure_;  // set after a write or fsync error: nothing more is written
  bool unsynced_ = false;  // written lines that no fsync has covered yet
};

// A new, empty journal at `path` (its directory must exist; the file must not). Fsyncs the
// directory. Throws JournalError.
std::unique_ptr<RunJournal> create_journal_file(const std::string& path, const std::string& first_prev, Clock& clock);

// An existing journal, read back and checked: a torn last line is cut off (ftruncate + fsync);
// damage anywhere else, or a broken chain, throws JournalError naming the line.
std::unique_ptr<RunJournal> open_journal_file(const std::string& path, Clock& clock);

// Test seam: a journal appending to `path` as it is (say /dev/full), without reading it.
std::unique_ptr<JournalFile> open_journal_at_path_for_test(const std::string& path, const std::string& first_prev,
                                                           Clock& clock);

}  // namespace dr::journal
