// What the agent module's files share and nobody else needs.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <tl/expected.hpp>
#include <vector>

#include "dr/agent_server.h"

namespace dr::agent {

std::string new_run_id();                // "r-" and 24 random hex digits
std::string dump_run(const RunRecord&);  // as kept in the state directory
std::string wire_run(const RunRecord&);  // as answered to clients (no digest, no arguments)

struct CommandOutcome {
  std::optional<int> exit_code;  // unset: ended by a signal
  int signal = 0;
  bool timed_out = false;
  bool stopped = false;  // stop() was called
  std::string output;    // the tail of stdout+stderr, at most the cap (plus a note of what was dropped)
};

// A command run without a shell in its own process group, stdout and stderr on one pipe (their
// interleaving as the command wrote them), stdin from /dev/null, a minimal environment, cwd /.
// Unlike actions/child_process (the exec action, which keeps the head of each stream and is
// polled by the engine), this keeps the tail, the end of a command's output being where it says
// why it failed, and blocks a thread of its own per run.
class RunningCommand {
 public:
  static tl::expected<std::unique_ptr<RunningCommand>, std::string> start(const std::vector<std::string>& argv);
  ~RunningCommand();

  // Until the command ends; at `deadline`, or once stop() is called, SIGTERM to its group and
  // SIGKILL `kill_after` later.
  CommandOutcome wait(const Clock& clock, Clock::time_point deadline, Duration kill_after, std::size_t cap);
  // From another thread: end the command as at its deadline.
  void stop() { stop_ = true; }

 private:
  RunningCommand(pid_t pid, int fd) : pid_(pid), fd_(fd) {}
  pid_t pid_;
  int fd_;
  std::atomic<bool> stop_{false};
};

}  // namespace dr::agent
