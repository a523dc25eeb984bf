#include "actions/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <utility>

#include "process/spawn_attributes.h"

extern char** environ;

namespace dr::actions {
namespace {

// A pipe holds 64 KiB by default; a chatty command blocks once it is full until the next poll
// drains it. A larger pipe keeps such a command running between polls (best effort: the limit
// is /proc/sys/fs/pipe-max-size).
constexpr int kPipeSize = 1 << 20;

struct Pipe {
  int fd[2] = {-1, -1};
  ~Pipe() {
    for (int f : fd)
      if (f >= 0) ::close(f);
  }
  int release_read() { return std::exchange(fd[0], -1); }
};

std::vector<char*> c_strings(const std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (const auto& s : strings) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

}  // namespace

void CapturedStream::drain(std::size_t cap) {
  char buf[65536];
  while (fd_ >= 0) {
    const ssize_t n = ::read(fd_, buf, sizeof buf);
    if (n > 0) {
      const std::size_t room = cap > text_.size() ? cap - text_.size() : 0;
      const std::size_t keep = std::min(room, static_cast<std::size_t>(n));
      text_.append(buf, keep);
      dropped_ += static_cast<std::size_t>(n) - keep;
    } else if (n == 0) {
      close();  // end of file: every writer has exited or closed it
    } else if (errno != EINTR) {
      if (errno != EAGAIN && errno != EWOULDBLOCK) close();
      return;
    }
  }
}

void CapturedStream::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

std::string CapturedStream::text_with_note() const {
  if (dropped_ == 0) return text_;
  std::string out = text_;
  if (!out.empty() && out.back() != '\n') out += '\n';
  return out + "... [" + std::to_string(dropped_) + " bytes dropped]";
}

std::string CapturedStream::last_line() const {
  std::size_t end = text_.find_last_not_of("\r\n \t");
  if (end == std::string::npos) return {};
  const std::size_t start = text_.rfind('\n', end);
  return text_.substr(start == std::string::npos ? 0 : start + 1,
                      end + 1 - (start == std::string::npos ? 0 : start + 1));
}

tl::expected<std::unique_ptr<ChildProcess>, int> ChildProcess::spawn(const SpawnRequest& request) {
  if (request.argv.empty()) return tl::unexpected(EINVAL);
  // O_CLOEXEC: a command spawned at the same time by another thread must not inherit our pipes,
  // or our reads would not see end of file until it exits too.
  Pipe out, err;
  if (::pipe2(out.fd, O_CLOEXEC) != 0 || ::pipe2(err.fd, O_CLOEXEC) != 0) return tl::unexpected(errno);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);  // nobody answers prompts
  posix_spawn_file_actions_adddup2(&actions, out.fd[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err.fd[1], 2);
  if (!request.cwd.empty()) posix_spawn_file_actions_addchdir_np(&actions, request.cwd.c_str());

  // Its own process group, so a timeout or a cancel stops everything the command started; a
  // clean signal state, since edgedr blocks or handles signals (SIGINT) the command should not.
  posix_spawnattr_t attr;
  process::init_spawn_attributes(attr);

  auto argv = c_strings(request.argv);
  auto envp = c_strings(request.env);
  pid_t pid = -1;
  const bool search_path = request.argv[0].find('/') == std::string::npos;
  const int rc = search_path ? ::posix_spawnp(&pid, argv[0], &actions, &attr, argv.data(), envp.data())
                             : ::posix_spawn(&pid, argv[0], &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return tl::unexpected(rc);

  for (int* fd : {&out.fd[1], &err.fd[1]}) ::close(std::exchange(*fd, -1));  // the child's ends
  for (int fd : {out.fd[0], err.fd[0]}) {
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    ::fcntl(fd, F_SETPIPE_SZ, kPipeSize);
  }
  return std::unique_ptr<ChildProcess>(new ChildProcess(pid, out.release_read(), err.release_read()));
}

ChildProcess::State ChildProcess::reap() {
  if (reaped_) return State::exited;
  int status = 0;
  pid_t r;
  do r = ::waitpid(pid_, &status, WNOHANG);
  while (r < 0 && errno == EINTR);
  if (r == 0) return State::running;
  if (r < 0) return State::lost;
  reaped_ = true;
  wait_status_ = status;
  return State::exited;
}

void ChildProcess::signal_group(int sig) const {
  ::killpg(pid_, sig);
}

}  // namespace dr::actions
