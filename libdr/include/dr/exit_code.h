// Exit codes: an interface for scripts and CI (cli.md). Never renumber.
#pragma once

namespace dr::exit_code {

inline constexpr int ok = 0;
inline constexpr int step_failed_rolled_back = 1;
inline constexpr int usage = 2;
inline constexpr int not_found = 3;
inline constexpr int operator_needed = 4;
inline constexpr int objective_missed = 5;
inline constexpr int lock_held = 75;
inline constexpr int auth_failed = 77;
inline constexpr int invalid_runbook = 78;
inline constexpr int interrupted = 130;

}  // namespace dr::exit_code
