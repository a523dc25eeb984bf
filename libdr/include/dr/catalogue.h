// The action catalogue: what each action is called, which `with:` parameters it takes, what it
// outputs, its built-in undo and how long it typically takes.
//
// This is pure data. The runbook loader checks every step against it (so a wrong or missing
// parameter is a load error, not a run-time surprise), the graph uses the typical durations for
// the critical path, and the action implementations (module `actions`) register against the
// same names.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dr/duration.h"

namespace dr {

// Kinds of target a runbook's `targets:` can hold.
enum class TargetKind { traffic_manager, site_recovery, backup, agent };
const char* target_kind_name(TargetKind k);  // "traffic-manager", ...

enum class ParamType {
  string,   // any scalar text
  integer,  // whole number, optionally bounded
  boolean,
  duration,      // "90s", "15m", see dr/duration.h
  url,           // http:// or https://
  string_list,   // a list of strings (exec's command)
  string_map,    // a map of string to scalar (env, headers, agent args)
  object,        // a free-form map passed through (a restore's Azure properties)
  status_codes,  // one HTTP status or a list of them
  target,        // the name of an entry in `targets:`, of `target_kind`
};

struct ParamSpec {
  std::string name;
  ParamType type = ParamType::string;
  bool required = false;
  std::vector<std::string> allowed;  // for strings: the accepted values (empty: any)
  std::optional<std::int64_t> min, max;
  std::optional<TargetKind> target_kind;  // for ParamType::target
  std::string default_text;               // shown in docs and plan; empty when none
  std::string description;
};

// How an action's remote work proceeds; drives the engine's polling.
enum class AsyncKind { none, poll, long_running_job, agent_operation, process, approval };

struct ActionSpec {
  std::string name;     // "traffic-manager.disable-endpoint"
  std::string summary;  // one line for docs and plan
  std::vector<ParamSpec> params;
  // Groups of parameters of which exactly one must be given (e.g. {plan, item}).
  std::vector<std::vector<std::string>> exactly_one_of;
  std::vector<std::string> outputs;  // names usable as ${steps.<service>.<step>.<output>}
  std::string builtin_undo;          // action name of the built-in inverse; empty when none
  bool mutating = true;              // false: read-only, allowed in `preflight`
  AsyncKind async = AsyncKind::none;
  Duration typical{0};  // expected duration for the critical path
  // A step's timeout when it sets none. Long operations (failover, restore) get room for their
  // slow cases; `wait` gets its duration plus this.
  Duration default_timeout{std::chrono::minutes(10)};
  std::string duration_param;  // when set, this parameter's value is the expected duration

  const ParamSpec* param(std::string_view name) const;
  std::vector<std::string> param_names() const;
};

class Catalogue {
 public:
  // The v1 catalogue of runbook-format.md §5.
  static const Catalogue& v1();

  const ActionSpec* find(std::string_view name) const;
  std::vector<std::string> names() const;
  const std::vector<ActionSpec>& actions() const { return actions_; }

  explicit Catalogue(std::vector<ActionSpec> actions);

 private:
  std::vector<ActionSpec> actions_;
};

}  // namespace dr
