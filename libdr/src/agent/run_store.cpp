// The agent's state directory: one JSON file per run, so a replayed request finds its run after a
// restart, and a crash leaves either the old or the new version of a file, never half of one.
#include <fcntl.h>
#include <openssl/rand.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>

#include "agent/agent_internal.h"
#include "dr/sha256.h"

namespace dr::agent {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

std::string errno_text(int e) {
  return std::strerror(e);
}

// write + fsync, retrying short writes and EINTR.
bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

std::optional<std::string> fsync_dir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return "cannot open " + dir + ": " + errno_text(errno);
  const int rc = ::fsync(fd);
  const int e = errno;
  ::close(fd);
  if (rc != 0) return "fsync of " + dir + " failed: " + errno_text(e);
  return std::nullopt;
}

// temp file, fsync, rename over the target, fsync of the directory: the rename is the commit.
std::optional<std::string> write_atomically(const std::string& dir, const std::string& name, std::string_view data) {
  const std::string target = dir + "/" + name, temp = dir + "/." + name + ".tmp";
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return "cannot create " + temp + ": " + errno_text(errno);
  const bool ok = write_all(fd, data) && ::fsync(fd) == 0;
  const int e = errno;
  ::close(fd);
  if (!ok) {
    ::unlink(temp.c_str());
    return "cannot write " + temp + ": " + errno_text(e);
  }
  if (::rename(temp.c_str(), target.c_str()) != 0) {
    const int re = errno;
    ::unlink(temp.c_str());
    return "cannot rename " + temp + " to " + target + ": " + errno_text(re);
  }
  return fsync_dir(dir);
}

json to_json(const RunRecord& r) {
  json j = {{"id", r.id},
            {"action", r.action},
            {"idempotency-key", r.idempotency_key},
            {"request-digest", r.request_digest},
            {"args", r.args},
            {"state", r.state},
            {"output", r.output},
            {"started", r.started}};
  j["exit-code"] = r.exit_code ? json(*r.exit_code) : json(nullptr);
  if (!r.finished.empty()) j["finished"] = r.finished;
  if (r.timed_out) j["timed-out"] = true;
  return j;
}

std::optional<RunRecord> from_json(const json& j) {
  if (!j.is_object()) return std::nullopt;
  try {
    RunRecord r;
    r.id = j.at("id").get<std::string>();
    r.action = j.at("action").get<std::string>();
    r.idempotency_key = j.value("idempotency-key", "");
    r.request_digest = j.value("request-digest", "");
    r.args = j.value("args", std::map<std::string, std::string>{});
    r.state = j.at("state").get<std::string>();
    r.output = j.value("output", "");
    r.started = j.value("started", "");
    r.finished = j.value("finished", "");
    r.timed_out = j.value("timed-out", false);
    if (const auto it = j.find("exit-code"); it != j.end() && it->is_number_integer()) r.exit_code = it->get<int>();
    return r;
  } catch (const json::exception&) {
    return std::nullopt;
  }
}

std::string random_hex(std::size_t bytes) {
  std::vector<unsigned char> buf(bytes);
  if (RAND_bytes(buf.data(), static_cast<int>(buf.size())) != 1) throw std::runtime_error("RAND_bytes failed");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (const unsigned char c : buf) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

}  // namespace

struct RunStore::Impl {
  std::string dir, runs_dir;
  int lock_fd = -1;
  std::string salt;
  mutable std::mutex mu;
  std::map<std::string, RunRecord> runs;         // by id
  std::map<std::string, std::string> id_by_key;  // idempotency key -> run id

  ~Impl() {
    if (lock_fd >= 0) ::close(lock_fd);
  }
};

tl::expected<std::unique_ptr<RunStore>, std::string> RunStore::open(const std::string& dir, const Clock& clock) {
  auto impl = std::make_unique<Impl>();
  impl->dir = dir;
  impl->runs_dir = dir + "/runs";
  std::error_code ec;
  fs::create_directories(impl->runs_dir, ec);
  if (ec) return tl::unexpected("cannot create the state directory " + impl->runs_dir + ": " + ec.message());
  ::chmod(dir.c_str(), 0700);

  const std::string lock_path = dir + "/agent.lock";
  impl->lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (impl->lock_fd < 0) return tl::unexpected("cannot open " + lock_path + ": " + errno_text(errno));
  if (::flock(impl->lock_fd, LOCK_EX | LOCK_NB) != 0) {
    std::ifstream in(lock_path);
    std::string holder;
    std::getline(in, holder);
    return tl::unexpected("the state directory " + dir + " is in use by another agent (" +
                          (holder.empty() ? std::string("holder unknown") : holder) +
                          "); give each agent its own state-dir");
  }
  const std::string holder = "pid " + std::to_string(::getpid()) + "\n";
  if (::ftruncate(impl->lock_fd, 0) == 0) (void)write_all(impl->lock_fd, holder);

  // The salt keeps request digests (kept in run files) from confirming guesses of secret arguments.
  const std::string salt_path = dir + "/salt";
  {
    std::ifstream in(salt_path);
    std::getline(in, impl->salt);
  }
  if (impl->salt.size() != 64) {
    impl->salt = random_hex(32);
    if (auto err = write_atomically(dir, "salt", impl->salt + "\n")) return tl::unexpected(*err);
  }

  auto store = std::unique_ptr<RunStore>(new RunStore());
  for (const auto& entry : fs::directory_iterator(impl->runs_dir, ec)) {
    const auto name = entry.path().filename().string();
    if (name.empty() || name[0] == '.' || entry.path().extension() != ".json") continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    auto run = from_json(json::parse(text.str(), nullptr, false));
    if (!run || run->id + ".json" != name)
      return tl::unexpected("the run file " + entry.path().string() +
                            " is damaged; move it out of the state directory (its run is then unknown to clients)");
    if (run->state == "running") {
      // The agent stopped while it ran: whether the command finished is unknown.
      run->state = "interrupted";
      run->finished = format_rfc3339(clock.wall());
      run->output += run->output.empty() || run->output.back() == '\n' ? "" : "\n";
      run->output += "[the agent stopped while this run was under way; whether it finished is unknown]";
      if (auto err = write_atomically(impl->runs_dir, name, dump_run(*run))) return tl::unexpected(*err);
      ++store->interrupted_on_open_;
    }
    if (!run->idempotency_key.empty()) impl->id_by_key[run->idempotency_key] = run->id;
    impl->runs[run->id] = std::move(*run);
  }
  if (ec) return tl::unexpected("cannot read " + impl->runs_dir + ": " + ec.message());
  store->impl_ = std::move(impl);
  return store;
}

RunStore::~RunStore() = default;

std::optional<std::string> RunStore::save(const RunRecord& run) {
  std::lock_guard lock(impl_->mu);
  if (auto err = write_atomically(impl_->runs_dir, run.id + ".json", dump_run(run))) return err;
  impl_->runs[run.id] = run;
  if (!run.idempotency_key.empty()) impl_->id_by_key[run.idempotency_key] = run.id;
  return std::nullopt;
}

std::optional<RunRecord> RunStore::find(const std::string& id) const {
  std::lock_guard lock(impl_->mu);
  const auto it = impl_->runs.find(id);
  if (it == impl_->runs.end()) return std::nullopt;
  return it->second;
}

std::optional<RunRecord> RunStore::find_by_key(const std::string& key) const {
  std::lock_guard lock(impl_->mu);
  const auto it = impl_->id_by_key.find(key);
  if (it == impl_->id_by_key.end()) return std::nullopt;
  const auto run = impl_->runs.find(it->second);
  if (run == impl_->runs.end()) return std::nullopt;
  return run->second;
}

std::vector<RunRecord> RunStore::all() const {
  std::lock_guard lock(impl_->mu);
  std::vector<RunRecord> out;
  for (const auto& [id, run] : impl_->runs) out.push_back(run);
  return out;
}

std::string RunStore::digest(const std::string& action, const std::map<std::string, std::string>& args) const {
  const json canonical = {{"action", action}, {"args", args}};  // std::map: keys in order
  return sha256_hex(impl_->salt + canonical.dump(-1, ' ', false, json::error_handler_t::replace));
}

std::string new_run_id() {
  return "r-" + random_hex(12);
}

std::string dump_run(const RunRecord& r) {
  return to_json(r).dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string wire_run(const RunRecord& r) {
  json j = to_json(r);
  j.erase("request-digest");
  j.erase("args");
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace dr::agent
