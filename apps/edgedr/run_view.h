// What an operator sees while a run goes: on a TTY, a live view on stderr (one line per step in
// flight with its elapsed time, and a summary bar), redrawn a few times a second; otherwise one
// plain line per step event. Fed by the engine's journal events.
//
// While a run goes, everything else the run commands print on stderr (the run id, approval
// requests, what Ctrl-C does) goes through the view too, so the next redraw cannot erase it, and
// a question at the terminal (an approval) freezes the view until it is answered or moot.
#pragma once

#include <optional>

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "dr/engine.h"

namespace edgedr {

class RunView final : public dr::EngineObserver {
 public:
  // total_steps 0: not known (resume, rollback); the summary bar then shows counts only.
  // `clock`: the run's clock, so elapsed times are in the run's time (simulated under --simulate).
  RunView(bool live, bool color, bool quiet, std::size_t total_steps, const dr::Clock& clock);
  ~RunView() override;
  void on_event(const dr::JournalEvent& e) override;
  // Stops redrawing, clears the live lines and closes an open question (before the final summary).
  void stop();
  // A line that stays above the live view, shown even with -q.
  void note(const std::string& line);

  // Puts `question` on the terminal for step `step_id` and returns its ticket (0 once the view has
  // stopped: nothing was asked). Until the question closes, nothing redraws and step events wait,
  // so what the operator types stays readable; notes still show, with the question asked again
  // below them. The view closes the question itself when the step finishes first.
  int ask(const std::string& step_id, const std::string& question);
  bool asking(int ticket);
  // Closes the question: `answered` when the operator's Enter already ended its line. `reply` is
  // a note to show under it (empty: none).
  void close_question(int ticket, bool answered, const std::string& reply);

 private:
  struct InFlight {
    std::string action;
    int attempt = 1;
    dr::Clock::time_point since;
    std::string progress;
    bool undo = false;
  };
  void print_line(const std::string& line, const char* color = nullptr);
  void redraw_loop();
  void clear_locked();
  void draw_locked();
  void end_question_locked(bool answered);

  bool live_, color_, quiet_;
  const dr::Clock& clock_;
  std::size_t total_;
  std::size_t done_ = 0, failed_ = 0, undone_ = 0;
  std::map<std::string, InFlight> in_flight_;
  std::mutex mu_;
  int drawn_lines_ = 0;
  std::atomic<bool> stop_{false};
  std::thread redraw_;
  // The open question, if any: its ticket (0: none), step, text, and the event lines it holds back.
  int question_ = 0, last_ticket_ = 0;
  std::string question_step_, question_text_;
  std::vector<std::pair<std::string, const char*>> held_;
};

// The summary at the end of a run: text on stderr, or one JSON document on stdout.
// `extra`: more fields for the JSON document; `exit_code`: when the command's differs from the run's.
void print_run_summary(const dr::RunReport& report, const std::string& format, bool color,
                       const nlohmann::json* extra = nullptr, std::optional<int> exit_code = std::nullopt);

}  // namespace edgedr
