#include "run_view.h"

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

std::string elapsed(std::chrono::steady_clock::duration d) {
  return dr::format_duration(std::chrono::duration_cast<dr::Duration>(d) / 1000 * 1000);
}

std::string clock_time(const std::string& ts) { return ts.size() >= 19 ? ts.substr(11, 8) : ts; }

}  // namespace

RunView::RunView(bool live, bool color, bool quiet, std::size_t total_steps)
    : live_(live), color_(color), quiet_(quiet), total_(total_steps) {
  if (live_) redraw_ = std::thread([this] { redraw_loop(); });
}

RunView::~RunView() { stop(); }

void RunView::stop() {
  if (stop_.exchange(true)) return;
  if (redraw_.joinable()) redraw_.join();
  std::lock_guard lock(mu_);
  clear_locked();
}

void RunView::print_line(const std::string& line, const char* color) {
  // Called with mu_ held.
  if (quiet_ && !color) return;
  clear_locked();
  if (color && color_) std::fprintf(stderr, "%s%s\033[0m\n", color, line.c_str());
  else std::fprintf(stderr, "%s\n", line.c_str());
  if (live_) draw_locked();
  std::fflush(stderr);
}

void RunView::on_event(const dr::JournalEvent& e) {
  std::lock_guard lock(mu_);
  const std::string step = field(e, "step");
  const std::string t = clock_time(e.ts);
  const bool undo = e.type.rfind("undo.", 0) == 0;
  const std::string what = (undo ? "undo " : "") + step;
  if (e.type == "step.intent" || e.type == "undo.intent") {
    in_flight_[what] = {field(e, "action"), std::atoi(field(e, "attempt").c_str()), std::chrono::steady_clock::now(), "",
                        undo};
    const std::string attempt = field(e, "attempt") == "1" ? "" : " (attempt " + field(e, "attempt") + ")";
    if (!live_) print_line(t + " start " + what + " [" + field(e, "action") + "]" + attempt);
  } else if (e.type == "step.progress" || e.type == "undo.progress") {
    if (auto it = in_flight_.find(what); it != in_flight_.end()) it->second.progress = field(e, "message");
    if (!live_) print_line(t + "   " + what + ": " + field(e, "message"));
  } else if (e.type == "step.succeeded" || e.type == "undo.succeeded") {
    auto it = in_flight_.find(what);
    const std::string took = it == in_flight_.end() ? "" : " (" + elapsed(std::chrono::steady_clock::now() - it->second.since) + ")";
    in_flight_.erase(what);
    undo ? ++undone_ : ++done_;
    print_line(t + " ok    " + what + took, "\033[32m");
  } else if (e.type == "step.failed" || e.type == "undo.failed") {
    const bool final = field(e, "final") == "true";
    if (final) in_flight_.erase(what), ++failed_;
    print_line(t + (final ? " FAIL  " : " retry ") + what + ": " + field(e, "error"), final ? "\033[31m" : "\033[33m");
  } else if (e.type == "step.retry") {
    if (!live_) print_line(t + "   " + what + ": next attempt in " + dr::format_duration(dr::Duration{std::atoll(field(e, "after_ms").c_str())}));
  } else if (e.type == "step.skipped" || e.type == "undo.skipped") {
    if (!undo) ++done_;
    in_flight_.erase(what);
    if (!live_ || !undo) print_line(t + " skip  " + what + ": " + field(e, "reason"));
  } else if (e.type == "approval.requested") {
    print_line(t + " WAIT  " + step + ": waiting for approval", "\033[33m");
  } else if (e.type == "rollback.started") {
    print_line(t + " rolling back: " + field(e, "reason"), "\033[33m");
  } else if (e.type == "run.paused") {
    print_line(t + " paused: " + field(e, "reason"), "\033[33m");
  } else if (e.type == "run.interrupted") {
    print_line(t + " interrupted", "\033[33m");
  }
}

void RunView::clear_locked() {
  for (int i = 0; i < drawn_lines_; ++i) std::fputs("\033[1A\033[2K", stderr);
  drawn_lines_ = 0;
}

void RunView::draw_locked() {
  const auto now = std::chrono::steady_clock::now();
  int lines = 0;
  for (const auto& [id, f] : in_flight_) {
    if (lines >= 12) break;
    std::string line = "  " + std::string(f.undo ? "undo " : "") + (f.undo ? id.substr(5) : id) + " [" + f.action + "] " +
                       elapsed(now - f.since);
    if (f.attempt > 1) line += " attempt " + std::to_string(f.attempt);
    if (!f.progress.empty()) line += " - " + f.progress;
    std::fprintf(stderr, "%s\n", line.substr(0, 160).c_str());
    ++lines;
  }
  if (in_flight_.size() > 12) std::fprintf(stderr, "  ... and %zu more\n", in_flight_.size() - 12), ++lines;
  const std::size_t width = 30, filled = total_ ? width * std::min(done_, total_) / total_ : width;
  std::fprintf(stderr, "[%s%s] %zu/%zu done, %zu running, %zu failed%s\n", std::string(filled, '#').c_str(),
               std::string(width - filled, '.').c_str(), done_, total_, in_flight_.size(), failed_,
               undone_ ? (", " + std::to_string(undone_) + " undone").c_str() : "");
  drawn_lines_ = lines + 1;
}

void RunView::redraw_loop() {
  while (!stop_.load()) {
    {
      std::lock_guard lock(mu_);
      clear_locked();
      draw_locked();
      std::fflush(stderr);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
}

void print_run_summary(const dr::RunReport& r, const std::string& format, bool color) {
  if (format == "json") {
    nlohmann::json steps = nlohmann::json::array();
    for (const auto& s : r.steps) {
      nlohmann::json j{{"id", s.id},           {"action", s.action},         {"status", s.status},
                       {"attempts", s.attempts}, {"seconds", s.seconds},     {"started", s.started},
                       {"finished", s.finished}, {"error", s.error}};
      steps.push_back(std::move(j));
    }
    nlohmann::json doc{{"run_id", r.run_id},
                       {"runbook", r.runbook},
                       {"operation", dr::operation_name(r.operation)},
                       {"status", dr::run_status_name(r.status)},
                       {"exit_code", r.exit_code()},
                       {"message", r.message},
                       {"started", r.started},
                       {"finished", r.finished},
                       {"seconds", r.seconds},
                       {"steps", steps}};
    std::cout << doc.dump(2) << "\n";
    return;
  }
  if (format == "none") return;
  std::size_t ok = 0, failed = 0, undone = 0, skipped = 0, not_run = 0;
  for (const auto& s : r.steps) {
    if (s.status == "succeeded") ++ok;
    else if (s.status == "failed") ++failed;
    else if (s.status == "undone") ++undone;
    else if (s.status == "skipped") ++skipped;
    else ++not_run;
  }
  const bool good = r.status == dr::RunStatus::succeeded;
  const char* c = !color ? "" : good ? "\033[32m" : "\033[31m";
  std::fprintf(stderr, "%s%s %s of '%s': %s%s\n", c, r.run_id.c_str(), dr::operation_name(r.operation),
               r.runbook.c_str(), dr::run_status_name(r.status), color ? "\033[0m" : "");
  std::fprintf(stderr, "  %zu succeeded, %zu failed, %zu undone, %zu skipped, %zu not run; %s\n", ok, failed, undone,
               skipped, not_run, dr::format_duration(dr::Duration{static_cast<std::int64_t>(r.seconds * 1000)}).c_str());
  if (!r.message.empty()) std::fprintf(stderr, "  %s\n", r.message.c_str());
}

}  // namespace edgedr
