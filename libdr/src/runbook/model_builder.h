// Builds the typed Runbook from checked YAML documents, and checks what the schema cannot:
// names that must exist (targets, services, inputs, step outputs), action parameters against
// the catalogue, interpolation syntax and references, literal secrets, default step names.
//
// The schema has already reported shape errors, so the builder reads defensively: a node of
// the wrong kind is skipped silently rather than reported twice.
#pragma once

#include <string>
#include <vector>

#include "dr/catalogue.h"
#include "dr/interpolation.h"
#include "dr/runbook.h"
#include "runbook/yaml_tree.h"

namespace dr::model {

class ModelBuilder {
 public:
  ModelBuilder(const LoadOptions& options, const Catalogue& catalogue, Diagnostics& diag);

  // Shared definitions: inputs, azure, targets. Called for every included file (in load order)
  // and then for the runbook itself; a name defined twice is an error.
  void add_definitions(const yaml::Document& doc);
  // The runbook's own body: metadata, objectives, preflight, services. Called once, last.
  void add_body(const yaml::Document& doc);
  // Cross-reference checks (depends-on, step outputs, --input values) and the result.
  Runbook finish();

 private:
  // step_builder.cpp
  StepSpec build_step(const yaml::Document& doc, const yaml::Node& node, const std::string& service,
                      std::optional<Operation> op, std::vector<std::string>& used_names, bool is_undo,
                      const std::string& parent_id);
  void check_params(const yaml::Document& doc, const yaml::Node* with, const yaml::Node& step_node,
                    const ActionSpec& action, const std::string& where, StepSpec& step);
  void check_param_value(const yaml::Document& doc, const yaml::Node& value, const ParamSpec& p,
                         const ActionSpec& action, const std::string& where);
  void check_strings(const yaml::Document& doc, const yaml::Node& node, const std::string& where,
                     std::vector<Reference>* step_refs);
  void missing_secret(const SourcePos& pos, const std::string& what, const Reference& ref, const std::string& where);
  void check_literal_secrets(const yaml::Document& doc, const yaml::Node& node, const std::string& where);
  void check_step_refs(const StepSpec& step, const Service* own_service, std::size_t own_index);

  // model_builder.cpp
  void add_inputs(const yaml::Document& doc, const yaml::Node& inputs);
  void add_targets(const yaml::Document& doc, const yaml::Node& targets);
  void add_azure(const yaml::Document& doc, const yaml::Node& azure);
  void add_services(const yaml::Document& doc, const yaml::Node& services);
  void apply_cli_inputs();
  const char* env(const std::string& name) const;

  const LoadOptions& options_;
  const Catalogue& catalogue_;
  Diagnostics& diag_;
  Runbook rb_;
  struct MissingSecret {
    std::size_t diagnostic;  // index into diag_
    std::size_t more_uses;
  };
  std::map<std::string, MissingSecret> missing_secrets_;
};

// A yaml node as a Value (plain scalars typed per YAML 1.2 core).
Value to_value(const yaml::Document& doc, const yaml::Node& node);

}  // namespace dr::model
