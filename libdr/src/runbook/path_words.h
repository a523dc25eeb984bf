// Describes a location in a runbook the way an operator would say it:
// ["services","mes","failover","1","with"] -> "`with:` of step 'failover-vms' (mes/failover)".
#pragma once

#include <string>
#include <vector>

#include "runbook/yaml_tree.h"

namespace dr::schema {

std::string path_words(const std::vector<std::string>& path, const yaml::Node* root);

}  // namespace dr::schema
