// A local command run without a shell and without a waiting thread: spawned into its own
// process group with its output on non-blocking pipes, then looked at from time to time.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <tl/expected.hpp>
#include <vector>

namespace dr::actions {

// One output stream of a child, kept up to a cap; what does not fit is read and counted.
class CapturedStream {
 public:
  explicit CapturedStream(int fd = -1) : fd_(fd) {}
  ~CapturedStream() { close(); }
  CapturedStream(const CapturedStream&) = delete;
  CapturedStream& operator=(const CapturedStream&) = delete;

  // Reads whatever is buffered now, without blocking; closes the pipe at end of file.
  void drain(std::size_t cap);
  void close();

  const std::string& text() const { return text_; }
  std::size_t dropped() const { return dropped_; }
  // The text, followed by "... [N bytes dropped]" when the cap cut it.
  std::string text_with_note() const;
  // The last non-empty line, for an error message.
  std::string last_line() const;

 private:
  int fd_;
  std::string text_;
  std::size_t dropped_ = 0;
};

struct SpawnRequest {
  std::vector<std::string> argv;  // argv[0] without a slash is searched for in PATH
  std::vector<std::string> env;   // "NAME=value", the child's whole environment
  std::string cwd;                // empty: the parent's
};

class ChildProcess {
 public:
  // On failure, the errno of the spawn (ENOENT when the program does not exist).
  static tl::expected<std::unique_ptr<ChildProcess>, int> spawn(const SpawnRequest& request);

  pid_t pid() const { return pid_; }  // also the process group id
  CapturedStream& out() { return out_; }
  CapturedStream& err() { return err_; }

  enum class State { running, exited, lost };
  // Reaps the child if it has ended (never blocks). `lost`: the child can no longer be waited
  // for (SIGCHLD set to SIG_IGN reaps children behind our back).
  State reap();
  // The raw wait status, once exited.
  int wait_status() const { return wait_status_; }

  // Signals the whole group: the command and everything it started.
  void signal_group(int sig) const;

 private:
  ChildProcess(pid_t pid, int out_fd, int err_fd) : pid_(pid), out_(out_fd), err_(err_fd) {}

  pid_t pid_;
  CapturedStream out_, err_;
  bool reaped_ = false;
  int wait_status_ = 0;
};

}  // namespace dr::actions
