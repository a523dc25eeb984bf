#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <nlohmann/json.hpp>

#include "dr/journal.h"
#include "journal/files.h"
#include "journal/names.h"

namespace dr {

std::string LockHolder::str() const {
  if (holder.empty() && host.empty() && pid == 0 && run_id.empty())
    return "another process (it has not written its details yet)";
  std::string out = run_id.empty() ? "a run" : "run " + run_id;
  if (!holder.empty()) out += " by " + holder;
  if (!host.empty()) out += " on " + host;
  if (pid != 0) out += " (pid " + std::to_string(pid) + ")";
  if (!since.empty()) out += " since " + since;
  return out;
}

namespace {

std::string lock_held_message(const std::string& scope, const LockHolder& h) {
  const std::string name = scope.empty() ? "the runbook" : "runbook '" + scope + "'";
  const std::string arg = scope.empty() ? "<runbook>" : scope;
  return name + " is locked by " + h.str() + "; wait for it to finish, or if that process is gone run: edgedr unlock " +
         arg + " --force";
}

}  // namespace

LockHeld::LockHeld(LockHolder h) : LockHeld(std::string{}, std::move(h)) {}
LockHeld::LockHeld(std::string scope_name, LockHolder h)
    : std::runtime_error(lock_held_message(scope_name, h)), holder(std::move(h)), scope(std::move(scope_name)) {}

namespace {

using json = nlohmann::json;

std::string holder_json(const LockHolder& h) {
  json j = json::object();
  j["holder"] = h.holder;
  j["host"] = h.host;
  j["pid"] = h.pid;
  j["run_id"] = h.run_id;
  j["since"] = h.since;
  return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

// Whatever the file says; missing or malformed details stay empty (the holder may be between
// truncating the file and writing it).
LockHolder parse_holder(const std::string& text) {
  LockHolder h;
  const json j = json::parse(text, nullptr, false);
  if (!j.is_object()) return h;
  auto str = [&](const char* key) { return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : ""; };
  h.holder = str("holder");
  h.host = str("host");
  h.run_id = str("run_id");
  h.since = str("since");
  if (j.contains("pid") && j["pid"].is_number_integer()) h.pid = j["pid"].get<long>();
  return h;
}

LockHolder read_holder_fd(int fd) {
  auto text = journal::read_fd(fd);
  return text ? parse_holder(*text) : LockHolder{};
}

// Holds the flock for as long as it lives; the kernel drops it if the process dies first.
class FileRunLock final : public RunLock {
 public:
  explicit FileRunLock(int fd) : fd_(fd) {}
  ~FileRunLock() override {
    // Emptied first so a reader never sees a finished run's details as a live holder.
    (void)::ftruncate(fd_, 0);
    ::close(fd_);
  }
  FileRunLock(const FileRunLock&) = delete;
  FileRunLock& operator=(const FileRunLock&) = delete;

 private:
  int fd_;
};

class LocalLockService final : public LockService {
 public:
  LocalLockService(std::string state_dir, Clock& clock) : locks_dir_(std::move(state_dir) + "/locks"), clock_(clock) {}

  std::unique_ptr<RunLock> acquire(const std::string& scope, const LockHolder& me, Duration timeout) override {
    const std::string path = lock_path(scope);
    if (auto err = journal::make_dirs(locks_dir_, 0700)) throw StorageError("lock " + scope + ": " + *err);
    LockHolder details = me;
    if (details.pid == 0) details.pid = static_cast<long>(::getpid());
    if (details.since.empty()) details.since = format_rfc3339(clock_.wall());

    const auto deadline = clock_.now() + timeout;
    for (;;) {
      const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
      if (fd < 0) throw StorageError("lock " + path + ": cannot open: " + journal::errno_text(errno));
      if (::flock(fd, LOCK_EX | LOCK_NB) == 0) {
        // A force_unlock between our open() and flock() leaves us holding a removed file that
        // the next acquirer would not see; start over on the current one.
        if (!still_linked(fd, path)) {
          ::close(fd);
          continue;
        }
        const std::string text = holder_json(details);
        int err = 0;
        if (::ftruncate(fd, 0) != 0) err = errno;
        if (err == 0) {
          const ssize_t n = ::pwrite(fd, text.data(), text.size(), 0);
          if (n < 0)
            err = errno;
          else if (static_cast<std::size_t>(n) != text.size())
            err = EIO;
        }
        if (err == 0 && ::fsync(fd) != 0) err = errno;
        if (err != 0) {
          ::close(fd);
          throw StorageError("lock " + path + ": cannot write the holder: " + journal::errno_text(err));
        }
        return std::make_unique<FileRunLock>(fd);
      }
      const int err = errno;
      if (err != EWOULDBLOCK && err != EINTR) {
        ::close(fd);
        throw StorageError("lock " + path + ": flock failed: " + journal::errno_text(err));
      }
      const auto now = clock_.now();
      if (now >= deadline) {
        LockHolder holder = read_holder_fd(fd);
        ::close(fd);
        throw LockHeld(scope, std::move(holder));
      }
      ::close(fd);
      wait(std::min(deadline, now + std::chrono::milliseconds(100)));
    }
  }

  std::optional<LockHolder> holder(const std::string& scope) override {
    const std::string path = lock_path(scope);
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT) return std::nullopt;
      throw StorageError("lock " + path + ": cannot open: " + journal::errno_text(errno));
    }
    std::optional<LockHolder> out;
    if (::flock(fd, LOCK_SH | LOCK_NB) == 0)
      ::flock(fd, LOCK_UN);  // nobody holds it
    else
      out = read_holder_fd(fd);
    ::close(fd);
    return out;
  }

  std::optional<LockHolder> force_unlock(const std::string& scope) override {
    const std::string path = lock_path(scope);
    auto held = holder(scope);
    if (::unlink(path.c_str()) != 0 && errno != ENOENT)
      throw StorageError("lock " + path + ": cannot remove: " + journal::errno_text(errno));
    return held;
  }

 private:
  std::string lock_path(const std::string& scope) const {
    journal::check_file_name("lock scope", scope);
    return locks_dir_ + "/" + scope + ".lock";
  }

  static bool still_linked(int fd, const std::string& path) {
    struct stat by_fd {};
    struct stat by_path {};
    if (::fstat(fd, &by_fd) != 0 || ::stat(path.c_str(), &by_path) != 0) return false;
    return by_fd.st_dev == by_path.st_dev && by_fd.st_ino == by_path.st_ino;
  }

  // Sleeps through the injected clock, so a FakeClock makes the retries instant.
  void wait(Clock::time_point until) {
    std::mutex m;
    std::condition_variable cv;
    std::unique_lock lock(m);
    clock_.wait_until(until, cv, lock, [] { return false; });
  }

  std::string locks_dir_;
  Clock& clock_;
};

}  // namespace

std::unique_ptr<LockService> make_local_lock_service(const std::string& state_dir, Clock& clock) {
  return std::make_unique<LocalLockService>(state_dir, clock);
}

}  // namespace dr
