// placeholder until plan_view lands
#include "cli.h"
namespace edgedr {
void add_plan(CLI::App&, Context&, CommandRunner&) {}
}  // namespace edgedr
