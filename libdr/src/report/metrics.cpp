// Prometheus text exposition format (version 0.0.4) for a drill, meant for node_exporter's
// textfile collector: hence the atomic write, since the collector may read at any moment.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "dr/clock.h"
#include "dr/report.h"
#include "report/text_out.h"

namespace dr::report {
namespace {

// Label values escape backslash, double quote and newline (the exposition format's rules).
std::string label_value(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::optional<double> epoch_seconds(const std::string& ts) {
  auto t = parse_rfc3339(ts);
  if (!t) return std::nullopt;
  return std::chrono::duration<double>(t->time_since_epoch()).count();
}

class Exposition {
 public:
  void family(const char* name, const char* help) {
    out_ += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " gauge\n";
  }
  void sample(const char* name, const std::string& labels, double value) {
    out_ += std::string(name) + "{" + labels + "} " + detail::num(value) + "\n";
  }
  std::string str() const { return out_; }

 private:
  std::string out_;
};

}  // namespace

std::string prometheus_metrics(const RunRecord& run, const std::vector<RunRecord>& history) {
  const std::string rb = "runbook=\"" + label_value(run.runbook) + "\"";
  Exposition m;

  m.family("edgedr_drill_last_run_timestamp_seconds", "When the last run of the runbook ended (Unix time).");
  if (auto t = epoch_seconds(run.finished.empty() ? run.started : run.finished))
    m.sample("edgedr_drill_last_run_timestamp_seconds", rb, *t);

  // 0 when no run ever succeeded, so `time() - metric > 30d` alerts on a runbook that never did.
  std::optional<double> last_success;
  auto consider = [&](const RunRecord& r) {
    if (r.runbook != run.runbook || r.operation != run.operation || !r.succeeded()) return;
    if (auto t = epoch_seconds(r.finished)) last_success = std::max(last_success.value_or(*t), *t);
  };
  for (const auto& r : history) consider(r);
  consider(run);
  m.family("edgedr_drill_last_success_timestamp_seconds",
           "When a run of the runbook last succeeded within its objectives (Unix time; 0: never).");
  m.sample("edgedr_drill_last_success_timestamp_seconds", rb, last_success.value_or(0));

  m.family("edgedr_drill_rto_seconds",
           "Measured RTO of the last run: run start to the last verification step passing.");
  if (run.score.rto_seconds) m.sample("edgedr_drill_rto_seconds", rb, *run.score.rto_seconds);
  m.family("edgedr_drill_rto_objective_seconds", "The runbook's RTO objective.");
  if (run.objectives.rto_seconds) m.sample("edgedr_drill_rto_objective_seconds", rb, *run.objectives.rto_seconds);
  m.family("edgedr_drill_rpo_seconds", "Measured RPO of the last run: age of the oldest recovery point used.");
  if (run.score.rpo_seconds) m.sample("edgedr_drill_rpo_seconds", rb, *run.score.rpo_seconds);
  m.family("edgedr_drill_rpo_objective_seconds", "The runbook's RPO objective.");
  if (run.objectives.rpo_seconds) m.sample("edgedr_drill_rpo_objective_seconds", rb, *run.objectives.rpo_seconds);

  m.family("edgedr_drill_success", "1 when the last run succeeded within its objectives, else 0.");
  m.sample("edgedr_drill_success", rb, run.succeeded() ? 1 : 0);

  m.family("edgedr_step_duration_seconds", "How long each step of the last run took.");
  for (const auto& s : run.steps)
    if (!s.started.empty() && !s.finished.empty() && s.outcome != "skipped")
      m.sample("edgedr_step_duration_seconds", rb + ",step=\"" + label_value(s.id) + "\"", std::max(0.0, s.seconds));
  return m.str();
}

void write_file_atomically(const std::string& path, const std::string& content) {
  namespace fs = std::filesystem;
  const fs::path target(path);
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  auto fail = [&](const std::string& what) {
    throw std::runtime_error("cannot write " + path + ": " + what + ": " + std::strerror(errno));
  };
  std::string tmp = (dir / ("." + target.filename().string() + ".XXXXXX")).string();
  const int fd = ::mkstemp(tmp.data());
  if (fd < 0) fail("cannot create a temporary file in " + dir.string());
  auto give_up = [&](const std::string& what) {
    const int saved = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    errno = saved;
    fail(what);
  };
  // mkstemp makes the file 0600; a metrics or report file is for others to read.
  if (::fchmod(fd, 0644) != 0) give_up("chmod " + tmp);
  std::size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) give_up("write " + tmp);
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) give_up("fsync " + tmp);
  if (::close(fd) != 0) {
    const int saved = errno;
    ::unlink(tmp.c_str());
    errno = saved;
    fail("close " + tmp);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int saved = errno;
    ::unlink(tmp.c_str());
    errno = saved;
    fail("rename " + tmp);
  }
  // The rename is durable only once the directory is on disk.
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) fail("open directory " + dir.string());
  if (::fsync(dfd) != 0) {
    const int saved = errno;
    ::close(dfd);
    errno = saved;
    fail("fsync directory " + dir.string());
  }
  ::close(dfd);
}

}  // namespace dr::report
