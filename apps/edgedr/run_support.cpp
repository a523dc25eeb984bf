#include "run_support.h"

#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <regex>
#include <sstream>
#include <tuple>

#include "dr/journal.h"
#include "dr/runner.h"
#include "run_view.h"

namespace edgedr {

std::string approval_file(const std::string& run_dir, const std::string& step_id) {
  std::string name = step_id;
  for (char& c : name)
    if (c == '/') c = '~';
  return run_dir + "/approvals/" + name;
}

CliApprovals::CliApprovals(std::set<std::string> pre, std::string user, bool prompt, RunView& view)
    : pre_(std::move(pre)), user_(std::move(user)), prompt_(prompt), view_(view) {}

CliApprovals::~CliApprovals() {
  {
    std::lock_guard lock(mu_);
    closing_ = true;
  }
  wake_.notify_all();
  if (asker_.joinable()) asker_.join();  // a question still open is withdrawn within 100 ms
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
  view_.note("approval needed for " + step_id + (message.empty() ? "" : ": " + message) + "\n  " +
             how_to_approve(run_id, step_id));
  if (!prompt_) return;
  std::lock_guard lock(mu_);
  if (!asked_.insert(step_id).second) return;  // asked once per step; a later attempt waits for the same answer
  to_ask_.emplace_back(run_id, step_id);
  if (!asker_.joinable()) asker_ = std::thread([this] { ask_loop(); });
  wake_.notify_one();
}

void CliApprovals::ask_loop() {
  for (;;) {
    std::string run_id, step_id;
    {
      std::unique_lock lock(mu_);
      wake_.wait(lock, [this] { return closing_.load() || !to_ask_.empty(); });
      if (closing_) return;
      std::tie(run_id, step_id) = to_ask_.front();
      to_ask_.pop_front();
    }
    if (approved_by(run_id, step_id)) continue;  // approved while it waited its turn
    const int ticket = view_.ask(step_id, "Approve " + step_id + "? Type yes to approve: ");
    const Answer answer = read_answer(ticket);
    if (answer.kind == Answer::Kind::withdrawn) {
      // What was typed answered a question that is gone: it must not reach the shell after the run.
      ::tcflush(STDIN_FILENO, TCIFLUSH);
      view_.close_question(ticket, false, "");
    } else if (answer.kind == Answer::Kind::line && answer.text == "yes") {
      {
        std::lock_guard lock(mu_);
        answered_[step_id] = user_ + " (prompt)";
      }
      view_.close_question(ticket, true, "");
    } else {
      view_.close_question(ticket, answer.kind == Answer::Kind::line,
                           "not approved; " + step_id + " waits until its timeout; " + how_to_approve(run_id, step_id) +
                               " (Ctrl-C stops the run)");
    }
  }
}

// The terminal is in canonical mode: a read returns once the operator has pressed Enter (or
// Ctrl-D), so polling never sees half an answer. Polled so a withdrawn question stops the wait.
CliApprovals::Answer CliApprovals::read_answer(int ticket) {
  std::string line;
  while (!closing_ && view_.asking(ticket)) {
    pollfd p{STDIN_FILENO, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    char buf[256];
    const ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) return {Answer::Kind::end_of_input, line};
    line.append(buf, static_cast<std::size_t>(n));
    if (const auto nl = line.find('\n'); nl != std::string::npos) return {Answer::Kind::line, line.substr(0, nl)};
  }
  return {Answer::Kind::withdrawn, {}};
}

std::string CliApprovals::how_to_approve(const std::string& run_id, const std::string& step_id) const {
  // The command must work as pasted: it names the state directory unless it is the default one.
  const std::string state =
      run_dir_.empty() ? std::string() : std::filesystem::path(run_dir_).parent_path().parent_path().string();
  const std::string ref = dr::run_reference(run_id, state);
  return "approve it with `edgedr approve " + run_id + " " + step_id + ref.substr(run_id.size()) +
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
      if (!e) {
        // Waiting for the lock or just starting: no step has been sent yet.
        say("interrupted before any step started; nothing was sent", true);
        std::_Exit(130);
      }
      if (sig == SIGTERM || count_ >= 2) {
        say("stopping now; steps in flight are left as they are and the run stays resumable");
        e->interrupt(), e->interrupt();
      } else {
        say("stopping: no new steps start; steps in flight finish, then on-failure applies. "
            "Press Ctrl-C again to stop at once.");
        e->interrupt();
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

void SignalWatcher::report_to(RunView* view) {
  std::lock_guard lock(view_mu_);
  view_ = view;
}

void SignalWatcher::say(const char* what, bool last) {
  std::lock_guard lock(view_mu_);
  if (view_ && last) view_->stop();  // the process ends without unwinding: leave no live lines behind
  if (view_)
    view_->note(what);
  else
    std::fprintf(stderr, "\n%s\n", what);
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

namespace {

class SimulatedSecrets final : public dr::SecretResolver {
 public:
  explicit SimulatedSecrets(std::unique_ptr<dr::SecretResolver> real) : real_(std::move(real)) {}
  std::optional<std::string> resolve(const dr::Reference& ref, const std::string& runbook_dir) override {
    if (auto v = real_->resolve(ref, runbook_dir)) return v;
    return "simulated-" + ref.name;
  }

 private:
  std::unique_ptr<dr::SecretResolver> real_;
};

}  // namespace

std::unique_ptr<dr::SecretResolver> make_simulated_secret_resolver(std::unique_ptr<dr::SecretResolver> real) {
  return std::make_unique<SimulatedSecrets>(std::move(real));
}

std::string format_scale(double scale) {
  const double inverse = 1.0 / scale;
  if (scale < 1 && std::abs(inverse - std::round(inverse)) < 1e-6) return "1/" + std::to_string(std::lround(inverse));
  std::ostringstream out;
  out << scale;
  return out.str();
}

std::optional<std::string> check_simulator_url(const std::string& url) {
  static const std::regex loopback(R"(^http://(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[::1\]|localhost)(:\d{1,5})?/?$)");
  if (std::regex_match(url, loopback)) return std::nullopt;
  return "--simulator " + url +
         ": expected the base URL an `edgedr sim serve` printed, plain http on a loopback "
         "address (e.g. http://127.0.0.1:8080)";
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
  auto* simulate = cmd->add_flag("--simulate", f.simulate,
                                 "Run against an in-process simulator of every target (nothing leaves loopback)");
  cmd->add_option("--world", f.world, "With --simulate: a world file laid over the derived one (faults, slow jobs)")
      ->check(CLI::ExistingFile)
      ->needs(simulate);
  cmd->add_option("--simulator", f.simulator, "Run against a running `edgedr sim serve` at this loopback URL")
      ->excludes(simulate);
  cmd->add_option("--time-scale", f.time_scale, "Simulated time per real time (default 1/60 when simulating)")
      ->check(CLI::Range(1e-6, 1.0));
}

}  // namespace edgedr
