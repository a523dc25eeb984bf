// How edgedr starts a command (the `exec` action, the agent's actions): in a process group of its
// own, so that a timeout or a cancel stops everything it started, and with a clean signal state,
// since edgedr blocks or handles signals (SIGINT, SIGTERM, SIGHUP) the command should not
// inherit. Header-only; the caller destroys the attributes after posix_spawn.
#pragma once

#include <signal.h>
#include <spawn.h>

namespace dr::process {

inline void init_spawn_attributes(posix_spawnattr_t& attr) {
  posix_spawnattr_init(&attr);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
}

}  // namespace dr::process
