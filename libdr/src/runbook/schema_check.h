// Validation of a YAML tree against schemas/runbook.schema.json with valijson, and translation
// of valijson's errors into located messages an operator can act on.
#pragma once

#include "dr/diagnostic.h"
#include "runbook/yaml_tree.h"

namespace dr::schema {

enum class DocumentKind { runbook, fragment };  // a top-level runbook, or a file named in include:

// Appends one located error per problem to `diag`; returns false when there were any.
bool check(const yaml::Document& doc, DocumentKind kind, Diagnostics& diag);

}  // namespace dr::schema
