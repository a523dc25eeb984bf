// Runs a program (the Azure CLI) without a shell, with its output bounded and a time limit, so a
// hung or chatty `az` cannot stall or swell a run.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "azure/credentials.h"

extern char** environ;

namespace dr::azure::detail {
namespace {

struct Fd {
  int fd = -1;
  ~Fd() { reset(); }
  void reset() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
};

}  // namespace

tl::expected<std::string, std::string> run_process(const std::vector<std::string>& argv,
                                                   std::chrono::milliseconds timeout, std::size_t output_cap) {
  if (argv.empty()) return tl::unexpected(std::string("no program to run"));
  int out_pipe[2], err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) return tl::unexpected(std::string("pipe: ") + std::strerror(errno));
  Fd out_r{out_pipe[0]}, out_w{out_pipe[1]};
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) return tl::unexpected(std::string("pipe: ") + std::strerror(errno));
  Fd err_r{err_pipe[0]}, err_w{err_pipe[1]};

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_w.fd, 1);
  posix_spawn_file_actions_adddup2(&actions, err_w.fd, 2);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  const int rc = ::posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  out_w.reset();
  err_w.reset();
  if (rc != 0) {
    if (rc == ENOENT) return tl::unexpected("'" + argv[0] + "' is not installed or not on PATH");
    return tl::unexpected("cannot run '" + argv[0] + "': " + std::strerror(rc));
  }

  std::string out, err;
  const auto start = std::chrono::steady_clock::now();
  bool timed_out = false;
  while (out_r.fd >= 0 || err_r.fd >= 0) {
    const auto left =
        timeout - std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd fds[2] = {{out_r.fd, POLLIN, 0}, {err_r.fd, POLLIN, 0}};
    const int n = ::poll(fds, 2, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[4096];
      const ssize_t got = ::read(fds[i].fd, buf, sizeof buf);
      if (got <= 0) {
        (i == 0 ? out_r : err_r).reset();
        continue;
      }
      std::string& sink = i == 0 ? out : err;
      // Read past the cap (so the child is never blocked on a full pipe) but keep only the cap.
      if (sink.size() < output_cap)
        sink.append(buf, std::min<std::size_t>(static_cast<std::size_t>(got), output_cap - sink.size()));
    }
  }
  if (timed_out) ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  const std::string& program = argv[0];
  if (timed_out)
    return tl::unexpected("'" + program + "' did not finish within " + std::to_string(timeout.count() / 1000) + " s");
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    // Only stderr: stdout is where a token would be.
    std::string why = one_line(err, 300);
    if (why.empty())
      why = WIFEXITED(status) ? "exit status " + std::to_string(WEXITSTATUS(status)) : "killed by a signal";
    return tl::unexpected("'" + program + "' failed: " + why);
  }
  return out;
}

}  // namespace dr::azure::detail
