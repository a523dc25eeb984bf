// `exec`: run a local command (argv, no shell) without a waiting thread. submit() spawns it and
// returns its pid as the handle; each poll() drains its output pipes and checks whether it ended.
//
// Environment: the command inherits edgedr's environment plus the step's `env:`, except the
// credentials edgedr itself runs with: AZURE_CLIENT_SECRET, AZURE_CLIENT_CERTIFICATE_PASSWORD and
// EDGEDR_AGENT_TOKEN*. A command that needs one names it in `env:`, so a runbook reader sees
// which commands get which secrets.
//
// A pid means nothing to another process: after a crash, a resumed run cannot follow a command
// started before it, and says so (reconcile() stops for an operator unless the step is
// idempotent, which is the default behaviour of Action).
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>

#include "actions/action_support.h"
#include "actions/child_process.h"

extern char** environ;

namespace dr::actions {
namespace {

using namespace std::chrono_literals;

constexpr std::size_t kDefaultOutputCap = 64 * 1024;
// Most commands a runbook runs finish in milliseconds; a step in a chain waits for the poll
// that notices, so the first polls come quickly and back off (2, 4, 8 ... 500 ms).
constexpr Duration kFirstPoll = 2ms;
constexpr Duration kMaxPoll = 500ms;
constexpr Duration kPollWhileStopping = 50ms;
// How long a command gets to exit after SIGTERM before SIGKILL.
constexpr Duration kKillGrace = 2s;

bool scrubbed(std::string_view name) {
  return name == "AZURE_CLIENT_SECRET" || name == "AZURE_CLIENT_CERTIFICATE_PASSWORD" ||
         name.starts_with("EDGEDR_AGENT_TOKEN");
}

std::vector<std::string> child_environment(const Value* extra) {
  std::map<std::string, std::string, std::less<>> added;
  if (extra && extra->is_map())
    for (const auto& [name, value] : extra->entries()) added[name] = value.to_text();
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e) {
    const std::string_view entry(*e);
    const std::string_view name = entry.substr(0, entry.find('='));
    if (scrubbed(name) || added.count(name)) continue;
    env.emplace_back(entry);
  }
  for (const auto& [name, value] : added) env.push_back(name + "=" + value);
  return env;
}

std::size_t output_cap(const StepCall& call) {
  const Value* v = call.param("output-cap");
  if (v && v->kind() == Value::Kind::integer && v->as_int() >= 0) return static_cast<std::size_t>(v->as_int());
  return kDefaultOutputCap;
}

struct Running {
  std::unique_ptr<ChildProcess> process;
  std::string program;
  std::string started;  // RFC 3339, also in the handle: with the pid, it names this process
  Clock::time_point started_at;
  std::size_t cap = kDefaultOutputCap;
  int polls = 0;
  enum class Stop { none, timed_out, cancelled } stop = Stop::none;
  Clock::time_point term_sent_at;
  Duration ran_for{0};
  bool kill_sent = false;
};

StepResult finish(Running& r) {
  ChildProcess& p = *r.process;
  const int status = p.wait_status();
  if (r.stop != Running::Stop::none) {
    // The leader is gone; whatever it started may not be.
    p.signal_group(SIGKILL);
    if (r.stop == Running::Stop::cancelled) return StepResult::fail("cancelled; its process group was stopped", false);
    return StepResult::fail("timed out after " + format_duration(r.ran_for) + "; its process group was stopped", false);
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
    return StepResult::ok({{"exit-code", "0"},
                           {"stdout", valid_utf8(p.out().text_with_note())},
                           {"stderr", valid_utf8(p.err().text_with_note())}});
  if (WIFEXITED(status)) {
    const std::string last = valid_utf8(p.err().last_line().substr(0, 300));
    return StepResult::fail("command exited with status " + std::to_string(WEXITSTATUS(status)) +
                            (last.empty() ? "" : ": " + last));
  }
  const int sig = WTERMSIG(status);
  return StepResult::fail("command was killed by signal " + std::to_string(sig) + " (" + strsignal(sig) + ")");
}

class ExecAction final : public Action {
 public:
  StepResult submit(const StepCall& call) override {
    SpawnRequest request;
    if (const Value* command = call.param("command"); command && command->is_list())
      for (const Value& arg : command->items()) request.argv.push_back(arg.to_text());
    if (request.argv.empty() || request.argv[0].empty())
      return StepResult::fail("exec needs a command: a list of program and arguments", false);
    request.cwd = call.param_text("cwd");
    if (struct stat st{}; !request.cwd.empty() && (::stat(request.cwd.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)))
      return StepResult::fail(
          "cannot run '" + request.argv[0] + "': working directory '" + request.cwd + "' is not a directory", false);
    request.env = child_environment(call.param("env"));

    auto spawned = ChildProcess::spawn(request);
    if (!spawned) {
      const int e = spawned.error();
      // A missing or unrunnable program stays that way; a lack of resources may not.
      const bool retryable = e != ENOENT && e != EACCES && e != ENOEXEC && e != ENOTDIR && e != EISDIR;
      return StepResult::fail("cannot run '" + request.argv[0] + "': " + std::strerror(e), retryable);
    }

    Clock& clock = clock_of(call);
    Running r;
    r.process = std::move(*spawned);
    r.program = request.argv[0];
    r.started = format_rfc3339(clock.wall());
    r.started_at = clock.now();
    r.cap = output_cap(call);
    const pid_t pid = r.process->pid();
    Value handle = Value::map(
        {{"pid", Value::integer(pid)}, {"pgid", Value::integer(pid)}, {"started", Value::string(r.started)}});
    std::string progress = running_text(r);
    {
      std::lock_guard lock(mu_);
      running_[pid] = std::move(r);
    }
    return StepResult::wait(std::move(handle), poll_delay(call, kFirstPoll), std::move(progress));
  }

  StepResult poll(const StepCall& call, const Value& handle) override {
    std::lock_guard lock(mu_);
    auto it = find(handle);
    if (it == running_.end()) {
      auto r = StepResult::fail("the process from before the restart cannot be followed (" + describe_handle(handle) +
                                    "); check whether it finished by hand",
                                false);
      r.ambiguous = true;
      return r;
    }
    Running& r = it->second;
    const auto state = r.process->reap();  // reap first: a drain after it sees all the output
    r.process->out().drain(r.cap);
    r.process->err().drain(r.cap);
    if (state == ChildProcess::State::exited) {
      StepResult result = finish(r);
      running_.erase(it);
      return result;
    }
    if (state == ChildProcess::State::lost) {
      running_.erase(it);
      return StepResult::fail("lost track of the process (is SIGCHLD ignored?); check by hand whether it finished",
                              false);
    }

    Clock& clock = clock_of(call);
    if (r.stop == Running::Stop::none && deadline_passed(call)) {
      r.stop = Running::Stop::timed_out;
      r.ran_for = std::chrono::duration_cast<Duration>(clock.now() - r.started_at);
      stop(r, clock);
    } else if (r.stop != Running::Stop::none && !r.kill_sent && clock.now() - r.term_sent_at >= kKillGrace) {
      r.process->signal_group(SIGKILL);
      r.kill_sent = true;
    }
    if (r.stop != Running::Stop::none)
      return StepResult::wait(handle, kPollWhileStopping, "stopping " + r.program + " (pid " + pid_text(r) + ")");

    // Short commands answer fast; long ones are looked at less often.
    const Duration next = std::min<Duration>(kMaxPoll, kFirstPoll * (1 << std::min(r.polls++, 8)));
    return StepResult::wait(handle, poll_delay(call, next), running_text(r));
  }

  // SIGTERM now; the next polls reap the command, or SIGKILL it after a grace period.
  void cancel(const StepCall& call, const Value& handle) override {
    std::lock_guard lock(mu_);
    auto it = find(handle);
    if (it == running_.end() || it->second.stop != Running::Stop::none) return;
    it->second.stop = Running::Stop::cancelled;
    stop(it->second, clock_of(call));
  }

  bool blocking() const override { return false; }

  std::vector<std::string> describe(const StepCall& call) const override {
    std::string line = "run";
    if (const Value* command = call.param("command"); command && command->is_list())
      for (const Value& arg : command->items()) line += " " + quoted(arg.to_text());
    if (auto cwd = call.param_text("cwd"); !cwd.empty()) line += " in " + cwd;
    return {line};
  }

 private:
  std::map<pid_t, Running>::iterator find(const Value& handle) {
    const Value* pid = handle.find("pid");
    const Value* started = handle.find("started");
    if (!pid || pid->kind() != Value::Kind::integer || !started) return running_.end();
    auto it = running_.find(static_cast<pid_t>(pid->as_int()));
    // The start time guards against a pid this process reused for another command.
    if (it == running_.end() || it->second.started != started->to_text()) return running_.end();
    return it;
  }

  static void stop(Running& r, Clock& clock) {
    r.process->signal_group(SIGTERM);
    r.term_sent_at = clock.now();
  }

  static std::string pid_text(const Running& r) { return std::to_string(r.process->pid()); }
  static std::string running_text(const Running& r) { return "running " + r.program + " (pid " + pid_text(r) + ")"; }
  static std::string describe_handle(const Value& handle) {
    const Value* pid = handle.find("pid");
    const Value* started = handle.find("started");
    return "pid " + (pid ? pid->to_text() : std::string("?")) + ", started " +
           (started ? started->to_text() : std::string("?"));
  }
  static std::string quoted(const std::string& arg) {
    if (!arg.empty() && arg.find_first_of(" \t\n'\"\\$`") == std::string::npos) return arg;
    std::string out = "'";
    for (char c : arg) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
  }

  std::mutex mu_;  // poll and cancel may come from different threads
  std::map<pid_t, Running> running_;
};

}  // namespace

std::shared_ptr<Action> make_exec_action() {
  return std::make_shared<ExecAction>();
}

}  // namespace dr::actions
