// Audit reports: what a run's journal proves about it, scored and rendered.
//
// read_run() verifies a journal's hash chain (a broken chain is an error naming the file and
// line: a report never presents a tampered journal as evidence) and turns its events into a
// RunRecord: who ran which runbook version, when, every step with its times, attempts, outcome
// and outputs, the undos, approvals, rollbacks, the objectives the run was given and its Score
// (measured RTO and RPO against those objectives, docs/report.md "Scoring").
//
// The renderers are pure functions of records: Markdown and a self-contained HTML page for
// people, a JSON document for tools (schemas/report.schema.json), JUnit XML for CI, and the
// Prometheus text format for alerting on drills that stop running or start failing. The module
// reads no clock and talks to no network; the only files it touches are the journals it is given
// and the file write_file_atomically() is asked to write.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <utility>
#include <vector>

#include "dr/journal.h"

namespace dr::report {

// What the runbook asked for (run.started `objectives`); absent in journals older than drills.
struct Objectives {
  std::optional<double> rto_seconds, rpo_seconds;
};

// verify_journal's verdict, kept with the record so every report prints the head hash.
struct ChainCheck {
  bool ok = false;
  std::size_t lines = 0;
  std::string head_hash;
  int bad_line = 0;  // 1-based; 0 when ok
  std::string problem;
};

// A forward step: the operation's own steps, not their undos.
struct StepRecord {
  std::string id;       // SERVICE/OPERATION/STEP
  std::string service;  // text before the first '/'
  std::string action;
  // succeeded | failed | needs-check (nobody knows whether it happened) | skipped | in-flight
  // (the journal ends while it runs) | not-run
  std::string outcome;
  std::string started, finished;  // RFC 3339 (first intent, last outcome); empty when unknown
  double start_offset = 0;        // seconds from the run's start
  double end_offset = 0;          // start_offset when it never finished
  double seconds = 0;             // end_offset - start_offset
  int attempts = 0;
  std::string error;  // the last failure's error (also after a later success)
  std::string skip_reason;
  std::vector<std::pair<std::string, std::string>> outputs;  // as text, in journal order
  bool verification = false;                                 // http.probe or agent.check
  bool undone = false;                                       // its undo succeeded
  bool critical = false;                                     // on the critical path (critical_path())
};

struct UndoRecord {
  std::string step;  // the step being undone
  std::string action;
  std::string outcome;  // succeeded | failed | skipped | in-flight
  std::string started, finished;
  double start_offset = 0, end_offset = 0, seconds = 0;
  int attempts = 0;
  std::string error;  // undo.failed's error, or undo.skipped's reason
};

struct Approval {
  std::string step, message, requested, by, granted;  // granted/by empty while waiting
};

struct Rollback {
  std::string reason;
  bool cleanup = false;  // a drill's guaranteed cleanup, not a failure's rollback
  std::string started, finished;
  std::string outcome;  // complete | incomplete | unfinished (no rollback.finished)
};

// A later `edgedr resume` or `edgedr rollback` of the run (run.resumed): who continued it, when.
struct Resume {
  std::string at, user, host;
  bool rollback = false;  // `edgedr rollback RUN` rather than `edgedr resume RUN`
};

struct ServiceRto {
  std::string service;
  std::optional<double> seconds;  // none when one of its verification steps did not succeed
};

struct Score {
  Objectives objectives;
  std::optional<double> rto_seconds;  // measured
  // How the RTO was measured, or why not, in a sentence ("last verification step passed",
  // "no verification step: time to the last forward step that succeeded", ...).
  std::string rto_basis;
  std::optional<double> rpo_seconds;  // measured: the largest `rpo` output of a succeeded step
  std::string rpo_step;               // the step that reported it
  bool rto_missed = false;            // objective set and (not measured or over it)
  bool rpo_missed = false;            // objective set, measured and over it
  int verification_steps = 0, verification_passed = 0;
  std::vector<ServiceRto> services;  // services with verification steps, in first-seen order
  bool missed() const { return rto_missed || rpo_missed; }
};

struct RunRecord {
  std::string journal;  // the file read
  std::string run_id, runbook, file, content_hash, operation, user, host;
  bool simulated = false;
  std::string started, finished;  // RFC 3339; finished: run.finished's ts, else the last event's
  // succeeded | rolled-back | paused | interrupted | rollback-incomplete | running-or-crashed
  // (describe_journal's words), plus why it stopped and what to do next.
  std::string status, reason, next;
  std::optional<double> seconds;  // run.finished `seconds` (engine clock); none when unfinished
  ChainCheck chain;
  std::vector<StepRecord> steps;  // in the order they first appear
  std::vector<UndoRecord> undos;  // in the order they ran
  std::vector<Approval> approvals;
  std::vector<Rollback> rollbacks;
  std::vector<Resume> resumes;
  Objectives objectives;
  Score score;  // score(*this), filled in by read_run/record_from_events
  // A run that did what it was asked: status succeeded and no objective missed.
  bool succeeded() const { return status == "succeeded" && !score.missed(); }
};

// Reads and verifies one journal. Errors: the file cannot be read, the chain is broken
// ("<path>:<line>: <problem>; the journal was changed after it was written ..."), or it holds
// no run.started event.
tl::expected<RunRecord, std::string> read_run(const std::string& journal_path);

// The earlier runs of `runbook`'s `operation` in a store's listing (RunStore::list()), read with
// read_run, oldest first, leaving out `except_run_id`: the history prometheus_metrics() takes.
// A journal that fails to read is left out, and its error appended to `problems` when given.
std::vector<RunRecord> read_history(const std::vector<RunSummary>& runs, const std::string& runbook,
                                    const std::string& operation, const std::string& except_run_id = {},
                                    std::vector<std::string>* problems = nullptr);

// The record of already-verified events (read_run's second half; tests build journals in memory).
RunRecord record_from_events(const std::vector<JournalEvent>& events, const ChainCheck& chain,
                             const std::string& journal_path = {});

// Scores a record per docs/report.md "Scoring" (uses steps and objectives only).
Score score(const RunRecord& run);

// Step ids on the critical path, first to last: from the forward step that finished last, walk
// back to the step that finished latest at or before it started, and so on.
std::vector<std::string> critical_path(const RunRecord& run);

// One point of a trend: a run's measured RTO against its objective.
struct TrendPoint {
  std::string run_id, started, status;
  std::optional<double> rto_seconds, rto_objective_seconds;
  bool missed = false;
};
struct Trend {
  std::string runbook, operation;
  std::vector<TrendPoint> points;  // oldest first
};
// Runs grouped by runbook and operation, groups in first-seen order, points by start time.
std::vector<Trend> trends(const std::vector<RunRecord>& runs);

// Which journals `edgedr report` reads from a run store's listing.
struct Selection {
  std::string since;  // RFC 3339; runs started at or after it (empty: all)
  std::string runbook, operation;
};
std::vector<RunSummary> select_runs(const std::vector<RunSummary>& runs, const Selection& selection);

enum class Format { markdown, html, json, junit };
std::optional<Format> parse_format(std::string_view name);  // md|markdown|html|json|junit

std::string markdown(const std::vector<RunRecord>& runs);
// One self-contained page: inline CSS (with a print stylesheet), an SVG timeline per run and an
// SVG RTO trend per runbook; no scripts, no external assets; all text escaped.
std::string html(const std::vector<RunRecord>& runs);
// The "edgedr.report/v1" document (schemas/report.schema.json), ending in a newline.
std::string json(const std::vector<RunRecord>& runs);
// <testsuites>: a <testsuite> per run, a <testcase> per forward step and one `objectives` case.
std::string junit_xml(const std::vector<RunRecord>& runs);
std::string render(Format format, const std::vector<RunRecord>& runs);

// The Prometheus text format for `run` (a drill, usually), labelled runbook="...". `history`:
// earlier runs; those of the same runbook and operation give the last success timestamp.
std::string prometheus_metrics(const RunRecord& run, const std::vector<RunRecord>& history);

// Writes `content` to a temporary file in the same directory, fsyncs it, renames it over `path`
// and fsyncs the directory, so a reader (node_exporter's textfile collector) sees the old file or
// the new one, never half of one. Throws std::runtime_error naming the path and the reason.
void write_file_atomically(const std::string& path, const std::string& content);

}  // namespace dr::report
