// GET /_sim/world: the world's runtime state, for tests and for an operator watching a rehearsal.
#include "sim/sim_internal.h"

namespace dr::sim::detail {

json world_state(State& s) {
  json probes = json::array();
  for (const auto& p : s.world.probes) probes.push_back({{"url", p.url}, {"status", p.status}});
  json faults = json::array();
  for (const auto& f : s.world.faults) faults.push_back({{"name", f.name}, {"seen", f.seen}, {"hits", f.hits}});
  return {{"time", iso_time(s.wall())},
          {"traffic-manager", tm_state(s)},
          {"site-recovery", asr_state(s)},
          {"backup", backup_state(s)},
          {"agents", agent_state(s)},
          {"probes", probes},
          {"faults", faults}};
}

}  // namespace dr::sim::detail
