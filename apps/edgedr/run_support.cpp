#include "run_support.h"

#include <pwd.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "dr/journal.h"
#include "run_view.h"

namespace edgedr {

std::string approval_file(const std::string& run_dir, const std::string& step_id) {
  std::string name = step_id;
  for (char& c : name)
    if (c == '/') c = '~';
  return run_dir + "/approvals/" + name;
}

CliApprovals::CliApprovals(std::set<std::string> pre, std::string user, bool prompt, RunView* view)
    : pre_(std::move(pre)), user_(std::move(user)), prompt_(prompt), view_(view) {}

CliApprovals::~CliApprovals() {
  if (prompter_.joinable()) prompter_.detach();  // a prompt nobody answered must not hold the exit
}

std::optional<std::string> CliApprovals::approved_by(const std::string&, const std::string& step_id) {
  if (pre_.count(step_id)) return user_ + " (--approve)";
  {
    std::lock_guard lock(mu_);
    if (auto it = answered_.find(step_id); it != answered_.end()) return it->second;
  }
  if (!run_dir_.empty()) {
    std::ifstream f(approval_file(run_dir_, step_id));
    std::string who;
    if (f && std::getline(f, who)) return who.empty() ? std::string("unknown (approval file)") : who;
  }
  return std::nullopt;
}

void CliApprovals::request(const std::string& run_id, const std::string& step_id, const std::string& message) {
  std::fprintf(stderr, "approval needed for %s%s%s\n  %s\n", step_id.c_str(), message.empty() ? "" : ": ",
               message.c_str(), how_to_approve(run_id, step_id).c_str());
  if (!prompt_ || prompter_.joinable()) return;
  prompter_ = std::thread([this, step_id] {
    std::fprintf(stderr, "Approve %s? Type yes to approve: ", step_id.c_str());
    std::string answer;
    if (!std::getline(std::cin, answer)) return;
    std::lock_guard lock(mu_);
    if (answer == "yes" || answer == "y") answered_[step_id] = user_ + " (prompt)";
    else std::fprintf(stderr, "not approved; the step waits until its timeout (Ctrl-C stops the run)\n");
  });
}

std::string CliApprovals::how_to_approve(const std::string& run_id, const std::string& step_id) const {
  // The command must work as pasted: name the state directory unless it is the default one.
  std::string state_flag;
  if (!run_dir_.empty()) {
    const auto state = std::filesystem::path(run_dir_).parent_path().parent_path();
    std::string fallback;
    try {
      fallback = dr::default_state_dir();
    } catch (const std::exception&) {
    }
    if (state.string() != fallback) state_flag = " --state-dir " + state.string();
  }
  return "approve it with `edgedr approve " + run_id + " " + step_id + state_flag +
         "` from another shell, or start the run with --approve " + step_id;
}

SignalWatcher::SignalWatcher() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  thread_ = std::thread([this, set] {
    while (!stop_.load()) {
      timespec wait{0, 200'000'000};
      const int sig = sigtimedwait(&set, nullptr, &wait);
      if (sig < 0) continue;
      dr::Engine* e = engine_.load();
      ++count_;
      if (sig == SIGTERM || count_ >= 2) {
        std::fputs("\nstopping now; the run stays resumable\n", stderr);
        if (e) e->interrupt(), e->interrupt();
        else std::_Exit(130);
      } else {
        std::fputs("\nstopping: no new steps start; steps in flight finish, then on-failure applies. "
                   "Press Ctrl-C again to stop at once.\n",
                   stderr);
        if (e) e->interrupt();
        else std::_Exit(130);
      }
    }
  });
}

SignalWatcher::~SignalWatcher() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void SignalWatcher::attach(dr::Engine& engine) {
  engine_ = &engine;
  // Interrupts that came before the engine existed still count.
  for (int i = 0; i < std::min(count_, 2); ++i) engine.interrupt();
}

std::string current_user() {
  if (const passwd* pw = getpwuid(geteuid())) return pw->pw_name;
  const char* u = std::getenv("USER");
  return u ? u : "unknown";
}

std::string current_host() {
  char buf[256] = {};
  gethostname(buf, sizeof buf - 1);
  return buf;
}

int confirm(const std::string& what, bool yes) {
  if (yes) return -1;
  if (!isatty(STDIN_FILENO) || !isatty(STDERR_FILENO)) {
    std::fprintf(stderr,
                 "edgedr: %s changes things and this is not an interactive terminal; add --yes to go ahead "
                 "(nothing was sent)\n",
                 what.c_str());
    return 2;
  }
  std::fprintf(stderr, "%s.\nType yes to go ahead: ", what.c_str());
  std::string answer;
  if (!std::getline(std::cin, answer) || answer != "yes") {
    std::fprintf(stderr, "cancelled; nothing was sent\n");
    return 2;
  }
  return -1;
}

void add_run_flags(CLI::App* cmd, RunFlags& f) {
  cmd->add_flag("-y,--yes", f.yes, "Do not ask for confirmation");
  cmd->add_option("--approve", f.approve, "Approve this manual.approve step in advance (repeatable)");
  cmd->add_option("--state-dir", f.state_dir, "Runs, journals and locks (default $XDG_STATE_HOME/edgedr)")
      ->envname("EDGEDR_STATE_DIR");
  cmd->add_option("--lock-timeout", f.lock_timeout, "Wait this long for the runbook's lock (default 0s)")
      ->envname("EDGEDR_LOCK_TIMEOUT");
  cmd->add_option("-o,--output", f.output, "text, json, yaml or none")
      ->check(CLI::IsMember({"text", "json", "yaml", "none"}))
      ->envname("EDGEDR_OUTPUT");
}

}  // namespace edgedr
