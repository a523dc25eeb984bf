#include "journal/journal_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <utility>

#include "journal/chain.h"
#include "journal/event_json.h"
#include "journal/files.h"

namespace dr::journal {

JournalFile::JournalFile(std::string path, int fd, Clock& clock, std::vector<JournalEvent> events, std::string head)
    : path_(std::move(path)), fd_(fd), clock_(clock), events_(std::move(events)), head_(std::move(head)) {}

JournalFile::~JournalFile() {
  if (fd_ >= 0) ::close(fd_);
}

std::string JournalFile::head_hash() const {
  std::lock_guard g(mu_);
  return head_;
}

int JournalFile::swap_fd_for_test(int fd) {
  std::lock_guard g(mu_);
  const int old = fd_;
  fd_ = fd;
  return old;
}

void JournalFile::fail(const std::string& what, int err) {
  failure_ = what + ": " + errno_text(err);
  throw JournalError("journal " + path_ + ": " + failure_ + "; nothing more is written to this run's journal");
}

const JournalEvent& JournalFile::append(std::string type, Value fields, bool durable) {
  std::lock_guard g(mu_);
  // After a failed write the file may end in a partial line; anything appended after it would be
  // refused as damage on the next open, so nothing is.
  if (!failure_.empty())
    throw JournalError("journal " + path_ + ": an earlier write failed (" + failure_ + "); nothing more is written");

  const auto seq = static_cast<std::int64_t>(events_.size()) + 1;
  std::string line = serialize_event(seq, format_rfc3339(clock_.wall()), type, fields, head_);
  // Read the line back rather than keeping `fields`: events() then holds exactly what a later
  // open() reads (a NaN becomes null, invalid UTF-8 is replaced).
  ParsedLine parsed = parse_event_line(line);
  if (!parsed.event) throw std::logic_error("journal: a serialised event does not parse: " + parsed.problem);

  line.push_back('\n');
  if (const int err = write_all(fd_, line.data(), line.size()); err != 0) fail("write failed", err);
  if (durable) {
    if (::fsync(fd_) != 0) fail("fsync failed", errno);
    unsynced_ = false;
  } else {
    unsynced_ = true;
  }

  head_ = parsed.event->hash;
  events_.push_back(std::move(*parsed.event));
  return events_.back();
}

void JournalFile::sync() {
  std::lock_guard g(mu_);
  if (!failure_.empty())
    throw JournalError("journal " + path_ + ": an earlier write failed (" + failure_ + "); nothing more is written");
  if (!unsynced_) return;
  if (::fsync(fd_) != 0) fail("fsync failed", errno);
  unsynced_ = false;
}

namespace {

int open_or_throw(const std::string& path, int flags) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) throw JournalError("journal " + path + ": cannot open: " + errno_text(errno));
  return fd;
}

// Closes a descriptor on the way out of a throw.
class FdGuard {
 public:
  explicit FdGuard(int fd) : fd_(fd) {}
  ~FdGuard() {
    if (fd_ >= 0) ::close(fd_);
  }
  FdGuard(const FdGuard&) = delete;
  FdGuard& operator=(const FdGuard&) = delete;
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

}  // namespace

std::unique_ptr<RunJournal> create_journal_file(const std::string& path, const std::string& first_prev, Clock& clock) {
  const int fd = ::open(path.c_str(), O_CREAT | O_EXCL | O_APPEND | O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0) {
    const int err = errno;
    if (err == EEXIST) throw JournalError("journal " + path + " already exists: a run id is never reused");
    throw JournalError("journal " + path + ": cannot create: " + errno_text(err));
  }
  auto journal = std::make_unique<JournalFile>(path, fd, clock, std::vector<JournalEvent>{}, first_prev);
  if (auto err = fsync_dir(std::filesystem::path(path).parent_path().string()))
    throw JournalError("journal " + path + ": " + *err);
  return journal;
}

std::unique_ptr<RunJournal> open_journal_file(const std::string& path, Clock& clock) {
  const int fd = open_or_throw(path, O_RDWR | O_APPEND);
  FdGuard guard(fd);
  const auto data = read_fd(fd);
  if (!data) throw JournalError("journal " + path + ": cannot read: " + errno_text(errno));

  // A torn write is the last append cut short by a crash: at most one line, at the very end, with
  // no newline or (a block of zeros, half a record) not a whole record.
  SplitLines split = split_lines(*data);
  std::size_t keep = split.ends.empty() ? 0 : split.ends.back();
  bool torn = !split.tail.empty();
  if (!torn && !split.lines.empty() && !parse_event_line(split.lines.back()).event) {
    torn = true;
    split.lines.pop_back();
    split.ends.pop_back();
    keep = split.ends.empty() ? 0 : split.ends.back();
  }

  ChainResult chain = check_chain(split.lines, {});
  if (chain.problem) {
    const auto& p = *chain.problem;
    const std::string line = "line " + std::to_string(p.line);
    if (p.kind == ChainProblem::Kind::unreadable) {
      throw JournalError("journal " + path + ": " + line + " is damaged (" + p.detail +
                         "); it is not the last line, so this is not a torn write: refusing to continue");
    }
    throw JournalError("journal " + path + ": the hash chain is broken at " + line + " (" + p.detail +
                       "); the journal was changed after it was written: refusing to continue");
  }
  if (chain.events.empty()) {
    throw JournalError("journal " + path + " holds no complete event: the run never started (start a new run instead)");
  }

  if (torn) {
    if (::ftruncate(fd, static_cast<off_t>(keep)) != 0 || ::fsync(fd) != 0)
      throw JournalError("journal " + path + ": cannot cut the torn last line: " + errno_text(errno));
  }
  std::string head = chain.events.back().hash;
  return std::make_unique<JournalFile>(path, guard.release(), clock, std::move(chain.events), std::move(head));
}

std::unique_ptr<JournalFile> open_journal_at_path_for_test(const std::string& path, const std::string& first_prev,
                                                           Clock& clock) {
  const int fd = open_or_throw(path, O_WRONLY | O_APPEND);
  return std::make_unique<JournalFile>(path, fd, clock, std::vector<JournalEvent>{}, first_prev);
}

}  // namespace dr::journal
