// The runbook: a typed model of a runbook file, and the loader that builds it.
//
// load_runbook() reads YAML (with includes), checks it against schemas/runbook.schema.json
// (compiled into the binary), then checks what a schema cannot: names that must exist, action
// parameters against the catalogue, interpolation references, literal secrets. Every problem in
// every file is reported in one pass, each with file:line:col. Hostile input (huge files, alias
// bombs, deep nesting, invalid UTF-8, NUL bytes) is refused with a located error in bounded time
// and memory.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dr/catalogue.h"
#include "dr/diagnostic.h"
#include "dr/duration.h"
#include "dr/value.h"

namespace dr {

enum class Operation { failover, failback, drill, backup, restore };
inline constexpr Operation kOperations[] = {Operation::failover, Operation::failback, Operation::drill,
                                            Operation::backup, Operation::restore};
const char* operation_name(Operation op);
std::optional<Operation> parse_operation(std::string_view name);

enum class OnFailure { rollback, pause };
const char* on_failure_name(OnFailure f);

enum class Backoff { fixed, exponential };

struct RetryPolicy {
  int attempts = 1;  // total tries, including the first
  Duration interval{std::chrono::seconds(10)};
  Backoff backoff = Backoff::fixed;
  std::optional<Duration> max_interval;
};

// A reference inside a string: ${env.NAME}, ${file.PATH}, ${inputs.NAME},
// ${steps.SERVICE.STEP.OUTPUT}.
struct Reference {
  enum class Kind { env, file, input, step_output };
  Kind kind = Kind::env;
  std::string name;     // env var, file path, input name, or "service.step.output"
  std::string service;  // step_output only
  std::string step;     // step_output only
  std::string output;   // step_output only
  SourcePos pos;        // where the reference is written
  bool secret() const { return kind == Kind::env || kind == Kind::file; }
  std::string text() const;  // "${env.NAME}"
};

struct Target {
  std::string name;
  TargetKind kind = TargetKind::agent;
  Value fields;  // the kind's map: resource-group, profile, vault, url, token, ...
  SourcePos pos;
};

struct Input {
  std::string name;
  std::string description;
  std::optional<std::string> default_value;
  std::vector<std::string> allowed;  // empty: any value
  bool required = false;
  SourcePos pos;
};

// What a step's undo is: the action's built-in inverse, nothing, or an explicit step.
struct StepSpec;
struct UndoSpec {
  enum class Kind { builtin, none, explicit_step };
  Kind kind = Kind::builtin;
  std::shared_ptr<const StepSpec> step;  // explicit_step only
};

struct StepSpec {
  std::string id;       // "historian/failover/stop-ingest", or "preflight/<name>"
  std::string service;  // empty for preflight steps
  std::string name;
  std::optional<Operation> operation;  // empty for preflight steps
  std::string action;
  Value with;  // a map; strings may hold ${...} references
  Duration timeout{std::chrono::minutes(10)};
  RetryPolicy retry;
  std::vector<std::pair<std::string, std::string>> when;  // input name -> required value
  bool continue_on_error = false;
  bool idempotent = false;
  std::optional<Duration> expect;
  std::string description;
  UndoSpec undo;
  std::vector<Reference> step_refs;      // ${steps...} used in `with:`; each adds a dependency
  std::vector<Operation> preflight_for;  // preflight only: the operations it runs before; empty = all
  SourcePos pos;

  bool is_preflight() const { return !operation.has_value(); }
  // Whether this preflight step runs before `op`.
  bool preflight_applies(Operation op) const;
};

struct Service {
  std::string name;
  std::string description;
  std::optional<int> tier;
  std::vector<std::string> depends_on;
  std::vector<SourcePos> depends_on_pos;
  std::map<Operation, std::vector<StepSpec>> operations;
  SourcePos pos;

  const std::vector<StepSpec>& steps(Operation op) const;
};

struct Objectives {
  std::optional<Duration> rto, rpo;
};

struct AzureSettings {
  std::string cloud = "AzureCloud";
  std::string subscription;  // may hold ${...}
  std::string tenant;
  std::string arm_endpoint, authority_host, audience;  // custom clouds
  std::map<std::string, std::string> api_versions;     // service -> api-version
  SourcePos pos;
};

struct Runbook {
  std::string name;
  std::string description;
  std::string owner;
  std::string file;          // the top-level file as given
  std::string content_hash;  // SHA-256 (hex) of the canonical content of every file read
  Objectives objectives;
  OnFailure on_failure = OnFailure::rollback;
  int concurrency = 16;
  std::map<std::string, Input> inputs;
  std::optional<AzureSettings> azure;
  std::map<std::string, Target> targets;
  std::vector<StepSpec> preflight;
  std::vector<Service> services;                                  // in the order written
  std::map<std::string, std::size_t, std::less<>> service_index;  // name -> index in services

  const Service* service(std::string_view name) const;
  const Target* target(std::string_view name) const;
};

struct LoadOptions {
  const Catalogue* catalogue = nullptr;       // nullptr: Catalogue::v1()
  std::map<std::string, std::string> inputs;  // --input k=v
  // Environment lookup, so tests need not touch the process environment. nullptr: getenv.
  const char* (*getenv)(const char*) = nullptr;
  // At run time an unset ${env.X} or unreadable ${file.P} is an error; for validate and plan it
  // is a warning, since secrets are often absent where runbooks are checked.
  bool require_secrets = false;
};

struct LoadResult {
  std::optional<Runbook> runbook;  // set when there are no errors
  Diagnostics diagnostics;
};

LoadResult load_runbook(const std::string& path, const LoadOptions& options = {});

// Loads from text, as if read from `name` (used by the fuzzer and tests). Includes are
// resolved relative to the directory of `name`.
LoadResult load_runbook_text(const std::string& name, std::string_view text, const LoadOptions& options = {});

// Limits that keep hostile input harmless.
inline constexpr std::size_t kMaxRunbookBytes = 16u << 20;   // 16 MiB per file
inline constexpr std::size_t kMaxExpandedNodes = 4'000'000;  // after alias expansion
// Nesting after alias expansion. yaml-cpp's guard stops direct nesting at 500 levels, but an alias
// to a deep node inside another deep node multiplies the depth; code that walks the tree
// recursively (schema check, model build) must never see that. A runbook needs about 10.
inline constexpr std::size_t kMaxExpandedDepth = 256;
inline constexpr int kMaxIncludeDepth = 16;

// The JSON Schema the loader validates against (schemas/runbook.schema.json).
std::string_view runbook_schema();

}  // namespace dr
