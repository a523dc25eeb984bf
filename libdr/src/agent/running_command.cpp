// Runs one configured command (agent_internal.h): spawn, collect the output's tail, end it at
// its deadline or on request by signalling its whole process group.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "agent/agent_internal.h"
#include "process/spawn_attributes.h"

namespace dr::agent {
namespace {

constexpr Duration kTick = std::chrono::milliseconds(50);
// After the command has exited, how long its children may keep the pipe open before the
// output is taken as it is.
constexpr Duration kDrainAfterExit = std::chrono::seconds(1);

std::vector<char*> c_strings(const std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (const auto& s : strings) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

}  // namespace

tl::expected<std::unique_ptr<RunningCommand>, std::string> RunningCommand::start(const std::vector<std::string>& argv) {
  if (argv.empty() || argv[0].empty()) return tl::unexpected(std::string("empty command"));
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return tl::unexpected(std::string("pipe: ") + std::strerror(errno));

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 2);
  posix_spawn_file_actions_addchdir_np(&actions, "/");
  // Its own process group (a timeout or cancel reaches everything it started) and a clean signal
  // state (the agent blocks SIGTERM, SIGINT and SIGHUP for its sigwait thread).
  posix_spawnattr_t attr;
  process::init_spawn_attributes(attr);

  // The agent's own environment (it may hold secrets of its own) is not passed on.
  const std::vector<std::string> env = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                                        "LANG=C.UTF-8", "HOME=/"};
  auto cargv = c_strings(argv);
  auto cenv = c_strings(env);
  pid_t pid = -1;
  const bool search = argv[0].find('/') == std::string::npos;
  const int rc = search ? ::posix_spawnp(&pid, cargv[0], &actions, &attr, cargv.data(), cenv.data())
                        : ::posix_spawn(&pid, cargv[0], &actions, &attr, cargv.data(), cenv.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  ::close(fds[1]);
  if (rc != 0) {
    ::close(fds[0]);
    return tl::unexpected("cannot start " + argv[0] + ": " + std::strerror(rc));
  }
  ::fcntl(fds[0], F_SETFL, ::fcntl(fds[0], F_GETFL) | O_NONBLOCK);
  return std::unique_ptr<RunningCommand>(new RunningCommand(pid, fds[0]));
}

RunningCommand::~RunningCommand() {
  if (fd_ >= 0) ::close(fd_);
}

CommandOutcome RunningCommand::wait(const Clock& clock, Clock::time_point deadline, Duration kill_after,
                                    std::size_t cap) {
  CommandOutcome out;
  std::string buf;
  std::size_t total = 0;
  bool exited = false;
  int status = 0;
  std::optional<Clock::time_point> termed, exited_at;
  bool killed = false;
  const auto read_some = [&] {
    char chunk[16384];
    for (;;) {
      const ssize_t n = ::read(fd_, chunk, sizeof chunk);
      if (n > 0) {
        total += static_cast<std::size_t>(n);
        buf.append(chunk, static_cast<std::size_t>(n));
        if (buf.size() > 2 * cap + sizeof chunk) buf.erase(0, buf.size() - cap);  // keep the tail only
        continue;
      }
      if (n == 0 || (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)) {
        ::close(fd_);
        fd_ = -1;
      }
      if (n < 0 && errno == EINTR) continue;
      return;
    }
  };
  while (true) {
    const auto now = clock.now();
    if (!exited) {
      pid_t r;
      do r = ::waitpid(pid_, &status, WNOHANG);
      while (r < 0 && errno == EINTR);
      if (r == pid_ || r < 0) {
        exited = true;
        exited_at = now;
      }
    }
    if (exited && (fd_ < 0 || now - *exited_at >= kDrainAfterExit)) break;
    if (!exited) {
      if (!termed && (stop_ || now >= deadline)) {
        out.timed_out = !stop_ && now >= deadline;
        out.stopped = stop_;
        ::killpg(pid_, SIGTERM);
        termed = now;
      } else if (termed && !killed && now - *termed >= kill_after) {
        ::killpg(pid_, SIGKILL);
        killed = true;
      }
    }
    if (fd_ >= 0) {
      pollfd p{fd_, POLLIN, 0};
      ::poll(&p, 1, static_cast<int>(kTick.count()));
      read_some();
    } else {
      ::usleep(static_cast<useconds_t>(std::chrono::duration_cast<std::chrono::microseconds>(kTick).count()));
    }
  }
  // Whatever of the group is left after a timeout or stop goes with it.
  if (termed) ::killpg(pid_, SIGKILL);
  if (WIFEXITED(status)) out.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) out.signal = WTERMSIG(status);
  if (buf.size() > cap) buf.erase(0, buf.size() - cap);
  if (total > buf.size()) out.output = "[" + std::to_string(total - buf.size()) + " earlier bytes dropped]\n";
  out.output += buf;
  return out;
}

}  // namespace dr::agent
