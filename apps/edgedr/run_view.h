// What an operator sees while a run goes: on a TTY, a live view on stderr (one line per step in
// flight with its elapsed time, and a summary bar), redrawn a few times a second; otherwise one
// plain line per step event. Fed by the engine's journal events.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "dr/engine.h"

namespace edgedr {

class RunView final : public dr::EngineObserver {
 public:
  RunView(bool live, bool color, bool quiet, std::size_t total_steps);
  ~RunView() override;
  void on_event(const dr::JournalEvent& e) override;
  // Stops redrawing and clears the live lines (before a prompt or the final summary).
  void stop();
  // Runs `f` with the live view paused (a prompt on the terminal).
  template <typename F>
  void paused(F&& f) {
    std::lock_guard lock(mu_);
    clear_locked();
    f();
  }

 private:
  struct InFlight {
    std::string action;
    int attempt = 1;
    std::chrono::steady_clock::time_point since;
    std::string progress;
    bool undo = false;
  };
  void print_line(const std::string& line, const char* color = nullptr);
  void redraw_loop();
  void clear_locked();
  void draw_locked();

  bool live_, color_, quiet_;
  std::size_t total_;
  std::size_t done_ = 0, failed_ = 0, undone_ = 0;
  std::map<std::string, InFlight> in_flight_;
  std::mutex mu_;
  int drawn_lines_ = 0;
  std::atomic<bool> stop_{false};
  std::thread redraw_;
};

// The summary at the end of a run: text on stderr, or one JSON document on stdout.
void print_run_summary(const dr::RunReport& report, const std::string& format, bool color);

}  // namespace edgedr
