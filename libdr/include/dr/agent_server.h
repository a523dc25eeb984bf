// The on-site agent server (`edgedr agent serve`, docs/agent.md, schemas/agent-api.yaml).
//
// A small HTTPS service on an edge site that runs allow-listed local commands for runbook steps.
// Its configuration names each action as an argv template whose elements are literals or exactly
// one `{arg}` placeholder, filled with the whole checked value: no shell is ever involved, so an
// argument can only ever be one argv element. Arguments are typed (string with a pattern,
// integer with bounds, enum) and checked before anything runs. Callers present a bearer token,
// compared in constant time against the token files (re-read when they change, so rotation needs
// no restart). Runs and their Idempotency-Keys are persisted in the state directory, one JSON
// file per run written atomically, so a replayed request (also after a restart) answers with
// the run it already started instead of starting a second one.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <vector>

#include "dr/clock.h"
#include "dr/diagnostic.h"
#include "dr/duration.h"

namespace dr::agent {

using namespace std::chrono_literals;

// ---- Configuration --------------------------------------------------------------------------

struct ArgSpec {
  enum class Type { string, integer, enumeration };
  std::string name;
  Type type = Type::string;
  std::string pattern;                       // string: the whole value must match (ECMAScript)
  std::optional<long long> min, max;         // integer bounds
  std::vector<std::string> values;           // enum: the allowed values
  std::optional<std::string> default_value;  // absent: the argument is required
  bool secret = false;                       // never logged, persisted or echoed in output
  SourcePos pos;
};

// An action (run in the background, polled) or a check (run while the request waits).
struct CommandSpec {
  std::string name;
  std::vector<std::string> argv;  // literals and "{arg}" elements; argv[0] is always a literal
  std::map<std::string, ArgSpec> args;
  Duration timeout = 10min;
  int concurrency = 0;            // 0: only the global limit applies
  std::size_t output_cap = 4096;  // bytes of stdout+stderr kept (the tail)
  SourcePos pos;
};

struct Limits {
  std::size_t max_body = 64 * 1024;   // request body bytes; more: 413
  std::size_t max_arg_length = 1024;  // bytes of one argument value
  int concurrency = 16;               // runs and checks at once; more: 429
  Duration retry_after = 5s;          // told to a client refused with 429
  Duration grace = 30s;               // on SIGTERM, how long running actions may still take
  Duration kill_after = 5s;           // between SIGTERM and SIGKILL of a command's process group
};

struct Config {
  std::string file;  // where it was read from, for messages
  std::string host;
  int port = 0;
  SourcePos listen_pos;
  std::string tls_cert, tls_key, tls_client_ca;  // no cert: plain HTTP, loopback only
  std::vector<std::string> token_files;
  std::string state_dir;
  std::string access_log;  // empty: stderr
  Limits limits;
  std::map<std::string, CommandSpec> actions, checks;
};

// Reads and checks a configuration file: every problem is reported with file:line:col.
// Refuses plain HTTP on an address that is not loopback.
tl::expected<Config, Diagnostics> load_config(const std::string& path);
tl::expected<Config, Diagnostics> parse_config(const std::string& yaml_text, const std::string& file_name);

bool is_loopback_address(std::string_view host);

// ---- Arguments --------------------------------------------------------------------------------

// Why a request's arguments were refused. `argument` names it; a value is never repeated here
// (it may be secret, and it is what an attacker wrote).
struct ArgumentError {
  std::string code;  // UnknownArgument, MissingArgument, InvalidArgument
  std::string argument;
  std::string message;
};

// Checks `given` (argument name -> value as sent) against `spec` and returns the argv to
// execute. Besides each argument's own type, a string value is always refused when it holds a
// control character (newline, NUL, ...), a `..` path segment, starts with '-' (it would read as
// an option), is not UTF-8, or is longer than `max_length`.
tl::expected<std::vector<std::string>, ArgumentError> build_argv(const CommandSpec& spec,
                                                                 const std::map<std::string, std::string>& given,
                                                                 std::size_t max_length);

// ---- Tokens -----------------------------------------------------------------------------------

// Equal-length SHA-256 digests of both compared with CRYPTO_memcmp: the time taken says nothing
// about how much of the token was right, nor about its length.
bool token_matches(std::string_view presented, std::string_view expected);

// The accepted tokens: the first line of each token file. Any one is accepted (rotation: put the
// new token in a second file, move the clients over, then empty or remove the old one).
class TokenSet {
 public:
  explicit TokenSet(std::vector<std::string> files);
  // Re-reads every file; returns a message per unreadable or empty file (the others stay valid).
  std::vector<std::string> reload();
  // Re-reads when a file's mtime, size or inode changed since the last read.
  void reload_if_changed();
  bool accepts(std::string_view presented) const;
  std::size_t size() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// ---- Runs -------------------------------------------------------------------------------------

struct RunRecord {
  std::string id;
  std::string action;
  std::string idempotency_key;
  std::string request_digest;               // salted SHA-256 of action + arguments: a replay must match it
  std::map<std::string, std::string> args;  // secret values replaced by "[secret]"
  std::string state = "running";            // running|succeeded|failed|cancelled|interrupted
  std::optional<int> exit_code;
  std::string output;
  bool timed_out = false;
  std::string started, finished;  // RFC 3339 UTC
};

// The state directory: `runs/<id>.json` per run (temp file, fsync, rename, directory fsync),
// `salt` for request digests, `agent.lock` held while an agent serves from it.
class RunStore {
 public:
  // Opens (creating) `dir`, takes its lock and loads every run; runs found `running` (the agent
  // stopped while they ran) are recorded as `interrupted`.
  static tl::expected<std::unique_ptr<RunStore>, std::string> open(const std::string& dir, const Clock& clock);
  ~RunStore();

  // Writes a run durably. An error message when it could not.
  std::optional<std::string> save(const RunRecord& run);
  std::optional<RunRecord> find(const std::string& id) const;
  std::optional<RunRecord> find_by_key(const std::string& key) const;
  std::vector<RunRecord> all() const;
  std::string digest(const std::string& action, const std::map<std::string, std::string>& args) const;
  std::size_t interrupted_on_open() const { return interrupted_on_open_; }

 private:
  RunStore() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::size_t interrupted_on_open_ = 0;
};

// ---- The server -------------------------------------------------------------------------------

class AgentServer {
 public:
  // `access_log` receives one line per request; it must outlive the server.
  AgentServer(Config config, Clock& clock, std::ostream& access_log);
  ~AgentServer();
  AgentServer(const AgentServer&) = delete;
  AgentServer& operator=(const AgentServer&) = delete;

  // Opens the state directory, reads the tokens, binds, and serves on a thread. Returns the
  // base URL (https://host:port or http://...), or why it could not start.
  tl::expected<std::string, std::string> start();
  // SIGHUP: re-reads the token files now.
  std::vector<std::string> reload_tokens();
  // SIGTERM: stops accepting requests, lets running actions finish for up to the grace period,
  // then stops the rest (SIGTERM, then SIGKILL to their process groups) and records them as
  // `interrupted`. Returns how many were interrupted.
  std::size_t shutdown();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dr::agent
