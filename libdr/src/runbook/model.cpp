#include "dr/runbook.h"

#include <algorithm>

namespace dr {

const char* operation_name(Operation op) {
  switch (op) {
    case Operation::failover: return "failover";
    case Operation::failback: return "failback";
    case Operation::drill: return "drill";
    case Operation::backup: return "backup";
    case Operation::restore: return "restore";
  }
  return "?";
}

std::optional<Operation> parse_operation(std::string_view name) {
  for (Operation op : kOperations)
    if (name == operation_name(op)) return op;
  return std::nullopt;
}

bool StepSpec::preflight_applies(Operation op) const {
  return preflight_for.empty() || std::find(preflight_for.begin(), preflight_for.end(), op) != preflight_for.end();
}

const char* on_failure_name(OnFailure f) {
  return f == OnFailure::rollback ? "rollback" : "pause";
}

const std::vector<StepSpec>& Service::steps(Operation op) const {
  static const std::vector<StepSpec> kNone;
  auto it = operations.find(op);
  return it == operations.end() ? kNone : it->second;
}

const Service* Runbook::service(std::string_view name) const {
  auto it = service_index.find(name);
  return it == service_index.end() ? nullptr : &services[it->second];
}

const Target* Runbook::target(std::string_view name) const {
  auto it = targets.find(std::string(name));
  return it == targets.end() ? nullptr : &it->second;
}

}  // namespace dr
