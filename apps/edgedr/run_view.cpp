#include "run_view.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "dr/duration.h"

namespace edgedr {
namespace {

std::string field(const dr::JournalEvent& e, const char* key) {
  const dr::Value* v = e.fields.find(key);
  return v ? v->to_text() : std::string{};
}

std::string elapsed(dr::Clock::time_point::duration d) {
  return dr::format_duration(std::chrono::duration_cast<dr::Duration>(d) / 1000 * 1000);
}

std::string clock_time(const std::string& ts) {
  return ts.size() >= 19 ? ts.substr(11, 8) : ts;
}

// The terminal's width: a live line must not wrap, or clearing it would leave half of it behind.
std::size_t terminal_columns() {
  winsize ws{};
  if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20) return ws.ws_col;
  return 80;
}

// The first `width` characters of `line` (UTF-8: continuation bytes take no column).
std::string fit(const std::string& line, std::size_t width) {
  std::size_t columns = 0;
  for (std::size_t i = 0; i < line.size(); ++i) {
    if ((static_cast<unsigned char>(line[i]) & 0xC0) != 0x80 && ++columns > width) return line.substr(0, i);
  }
  return line;
}

}  // namespace

RunView::RunView(bool live, bool color, bool quiet, std::size_t total_steps, const dr::Clock& clock)
    : live_(live), color_(color), quiet_(quiet), clock_(clock), total_(total_steps) {
  if (live_) redraw_ = std::thread([this] { redraw_loop(); });
}

RunView::~RunView() {
  stop();
}

void RunView::stop() {
  if (stop_.exchange(true)) return;
  if (redraw_.joinable()) redraw_.join();
  std::lock_guard lock(mu_);
  if (question_) end_question_locked(false);
  clear_locked();
  std::fflush(stderr);
}

void RunView::print_line(const std::string& line, const char* color) {
  // Called with mu_ held.
  if (quiet_ && !color) return;
  if (question_) {
    held_.emplace_back(line, color);
    return;
  }
  clear_locked();
  if (color && color_)
    std::fprintf(stderr, "%s%s\033[0m\n", color, line.c_str());
  else
    std::fprintf(stderr, "%s\n", line.c_str());
  if (live_ && !stop_.load()) draw_locked();
  std::fflush(stderr);
}

void RunView::note(const std::string& line) {
  std::lock_guard lock(mu_);
  if (question_) {
    // Above the question, then the question again: a Ctrl-C has emptied the typed line anyway.
    std::fprintf(stderr, "\r\033[2K%s\n%s", line.c_str(), question_text_.c_str());
  } else {
    clear_locked();
    std::fprintf(stderr, "%s\n", line.c_str());
    if (live_ && !stop_.load()) draw_locked();
  }
  std::fflush(stderr);
}

int RunView::ask(const std::string& step_id, const std::string& question) {
  std::lock_guard lock(mu_);
  if (stop_.load() || question_) return 0;
  clear_locked();
  std::fputs(question.c_str(), stderr);
  std::fflush(stderr);
  question_ = ++last_ticket_;
  question_step_ = step_id;
  question_text_ = question;
  return question_;
}

bool RunView::asking(int ticket) {
  std::lock_guard lock(mu_);
  return ticket != 0 && question_ == ticket;
}

void RunView::close_question(int ticket, bool answered, const std::string& reply) {
  std::lock_guard lock(mu_);
  if (ticket == 0 || question_ != ticket) return;
  end_question_locked(answered);
  if (!reply.empty()) {
    clear_locked();
    std::fprintf(stderr, "%s\n", reply.c_str());
    if (live_ && !stop_.load()) draw_locked();
  }
  std::fflush(stderr);
}

void RunView::end_question_locked(bool answered) {
  if (!answered) std::fputc('\n', stderr);  // end the question's line; Enter did not
  question_ = 0;
  question_step_.clear();
  auto held = std::move(held_);
  held_.clear();
  for (const auto& [line, color] : held) print_line(line, color);
  if (live_ && !stop_.load() && drawn_lines_ == 0) draw_locked();
}

void RunView::on_event(const dr::JournalEvent& e) {
  std::lock_guard lock(mu_);
  const std::string step = field(e, "step");
  const std::string t = clock_time(e.ts);
  const bool undo = e.type.rfind("undo.", 0) == 0;
  const std::string what = (undo ? "undo " : "") + step;
  // A question about a step that has finished (approved from another shell, timed out) is moot.
  const bool finished = e.type == "step.succeeded" || e.type == "step.skipped" ||
                        (e.type == "step.failed" && field(e, "final") == "true");
  if (question_ && finished && step == question_step_) end_question_locked(false);
  if (e.type == "step.intent" || e.type == "undo.intent") {
    in_flight_[what] = {field(e, "action"), std::atoi(field(e, "attempt").c_str()), clock_.now(), "", undo};
    const std::string attempt = field(e, "attempt") == "1" ? "" : " (attempt " + field(e, "attempt") + ")";
    if (!live_) print_line(t + " start " + what + " [" + field(e, "action") + "]" + attempt);
  } else if (e.type == "step.progress" || e.type == "undo.progress") {
    if (auto it = in_flight_.find(what); it != in_flight_.end()) it->second.progress = field(e, "message");
    if (!live_) print_line(t + "   " + what + ": " + field(e, "message"));
  } else if (e.type == "step.succeeded" || e.type == "undo.succeeded") {
    auto it = in_flight_.find(what);
    const std::string took = it == in_flight_.end() ? "" : " (" + elapsed(clock_.now() - it->second.since) + ")";
    in_flight_.erase(what);
    undo ? ++undone_ : ++done_;
    print_line(t + " ok    " + what + took, "\033[32m");
  } else if (e.type == "step.failed" || e.type == "undo.failed") {
    const bool final = field(e, "final") == "true";
    if (final) in_flight_.erase(what), ++failed_;
    print_line(t + (final ? " FAIL  " : " retry ") + what + ": " + field(e, "error"), final ? "\033[31m" : "\033[33m");
  } else if (e.type == "step.retry") {
    if (!live_)
      print_line(t + "   " + what + ": next attempt in " +
                 dr::format_duration(dr::Duration{std::atoll(field(e, "after_ms").c_str())}));
  } else if (e.type == "step.skipped" || e.type == "undo.skipped") {
    if (!undo) ++done_;
    in_flight_.erase(what);
    if (!live_ || !undo) print_line(t + " skip  " + what + ": " + field(e, "reason"));
  } else if (e.type == "approval.requested") {
    // The open question already says so.
    if (!(question_ && step == question_step_)) print_line(t + " WAIT  " + step + ": waiting for approval", "\033[33m");
  } else if (e.type == "rollback.started") {
    if (field(e, "drill_passed") == "true")
      print_line(t + " cleaning up: every drill step passed; undoing them all");
    else if (field(e, "cleanup") == "true")
      print_line(t + " cleaning up after a failed drill: " + field(e, "reason"), "\033[33m");
    else
      print_line(t + " rolling back: " + field(e, "reason"), "\033[33m");
  } else if (e.type == "run.paused") {
    print_line(t + " paused: " + field(e, "reason"), "\033[33m");
  } else if (e.type == "run.interrupted") {
    print_line(t + " interrupted", "\033[33m");
  }
}

void RunView::clear_locked() {
  if (!live_) return;
  // From the line under the live view (where a Ctrl-C echoes "^C"), up over each live line.
  std::fputs("\r\033[2K", stderr);
  for (int i = 0; i < drawn_lines_; ++i) std::fputs("\033[1A\033[2K", stderr);
  drawn_lines_ = 0;
}

void RunView::draw_locked() {
  const auto now = clock_.now();
  const std::size_t width = terminal_columns() - 1;  // a full line would wrap on some terminals
  int lines = 0;
  for (const auto& [id, f] : in_flight_) {
    if (lines >= 12) break;
    std::string line = "  " + std::string(f.undo ? "undo " : "") + (f.undo ? id.substr(5) : id) + " [" + f.action +
                       "] " + elapsed(now - f.since);
    if (f.attempt > 1) line += " attempt " + std::to_string(f.attempt);
    if (!f.progress.empty()) line += " - " + f.progress;
    std::fprintf(stderr, "%s\n", fit(line, width).c_str());
    ++lines;
  }
  if (in_flight_.size() > 12) std::fprintf(stderr, "  ... and %zu more\n", in_flight_.size() - 12), ++lines;
  std::string summary;
  if (total_) {
    const std::size_t bar = 30, filled = bar * std::min(done_, total_) / total_;
    summary = "[" + std::string(filled, '#') + std::string(bar - filled, '.') + "] " + std::to_string(done_) + "/" +
              std::to_string(total_) + " done";
  } else {
    summary = std::to_string(done_) + " done";
  }
  summary += ", " + std::to_string(in_flight_.size()) + " running, " + std::to_string(failed_) + " failed";
  if (undone_) summary += ", " + std::to_string(undone_) + " undone";
  std::fprintf(stderr, "%s\n", fit(summary, width).c_str());
  drawn_lines_ = lines + 1;
}

void RunView::redraw_loop() {
  while (!stop_.load()) {
    {
      std::lock_guard lock(mu_);
      if (!question_) {
        clear_locked();
        draw_locked();
        std::fflush(stderr);
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
}

void print_run_summary(const dr::RunReport& r, const std::string& format, bool color, const nlohmann::json* extra,
                       std::optional<int> exit_code) {
  if (format == "json") {
    nlohmann::json steps = nlohmann::json::array();
    for (const auto& s : r.steps) {
      nlohmann::json j{
          {"id", s.id},           {"action", s.action},   {"status", s.status},     {"attempts", s.attempts},
          {"seconds", s.seconds}, {"started", s.started}, {"finished", s.finished}, {"error", s.error},
          {"outputs", s.outputs}};
      steps.push_back(std::move(j));
    }
    nlohmann::json doc{{"run_id", r.run_id},
                       {"runbook", r.runbook},
                       {"operation", dr::operation_name(r.operation)},
                       {"status", dr::run_status_name(r.status)},
                       {"exit_code", exit_code.value_or(r.exit_code())},
                       {"message", r.message},
                       {"started", r.started},
                       {"finished", r.finished},
                       {"seconds", r.seconds},
                       {"steps", steps}};
    if (extra)
      for (const auto& [k, v] : extra->items()) doc[k] = v;
    std::cout << doc.dump(2) << "\n";
    return;
  }
  if (format == "none") return;
  std::size_t ok = 0, failed = 0, undone = 0, skipped = 0, not_run = 0;
  for (const auto& s : r.steps) {
    if (s.status == "succeeded")
      ++ok;
    else if (s.status == "failed")
      ++failed;
    else if (s.status == "undone")
      ++undone;
    else if (s.status == "skipped")
      ++skipped;
    else
      ++not_run;
  }
  const bool good = r.status == dr::RunStatus::succeeded;
  const char* c = !color ? "" : good ? "\033[32m" : "\033[31m";
  std::fprintf(stderr, "%s%s %s of '%s': %s%s\n", c, r.run_id.c_str(), dr::operation_name(r.operation),
               r.runbook.c_str(), dr::run_status_name(r.status), color ? "\033[0m" : "");
  std::fprintf(stderr, "  %zu succeeded, %zu failed, %zu undone, %zu skipped, %zu not run; %s\n", ok, failed, undone,
               skipped, not_run,
               dr::format_duration(dr::Duration{static_cast<std::int64_t>(r.seconds * 1000)}).c_str());
  if (!r.message.empty()) std::fprintf(stderr, "  %s\n", r.message.c_str());
}

}  // namespace edgedr
