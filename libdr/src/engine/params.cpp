// A step's `with:` with its references filled in. The result may hold secrets (env and file
// values): it goes to the action and nowhere else; the journal keeps the templates.
#include "dr/interpolation.h"
#include "engine/engine_impl.h"

namespace dr {
namespace {

struct Resolver {
  const Runbook& rb;
  const std::map<std::string, std::string>& inputs;
  const std::map<std::string, std::map<std::string, std::string>>& outputs;
  SecretResolver* secrets;
  const std::string& runbook_dir;
  Operation op;
  std::string error;

  std::optional<std::string> lookup(const Reference& ref) {
    switch (ref.kind) {
      case Reference::Kind::input: {
        if (auto it = inputs.find(ref.name); it != inputs.end()) return it->second;
        if (auto it = rb.inputs.find(ref.name); it != rb.inputs.end() && it->second.default_value)
          return *it->second.default_value;
        return std::string{};  // declared, no default, not given: empty
      }
      case Reference::Kind::env:
      case Reference::Kind::file: {
        auto v = secrets ? secrets->resolve(ref, runbook_dir) : std::nullopt;
        if (!v && error.empty())
          error = ref.kind == Reference::Kind::env
                      ? "environment variable " + ref.name + " is not set (" + ref.text() + ")"
                      : "cannot read " + ref.name + " (" + ref.text() + ")";
        return v;
      }
      case Reference::Kind::step_output: {
        const std::string id = ref.service + "/" + operation_name(op) + "/" + ref.step;
        if (auto s = outputs.find(id); s != outputs.end())
          if (auto o = s->second.find(ref.output); o != s->second.end()) return o->second;
        if (error.empty()) error = ref.text() + " is not available: step " + id + " has not produced it";
        return std::nullopt;
      }
    }
    return std::nullopt;
  }
};

}  // namespace

std::optional<Value> Engine::Impl::resolve_params(const Unit& u, std::string& error) {
  Resolver r{rb_, opt_.inputs, outputs_by_step_, deps_.secrets, runbook_dir_, graph_.operation(), {}};
  Value out = resolve_references(
      u.spec->with, [&](const Reference& ref) { return r.lookup(ref); }, r.error);
  if (!r.error.empty()) {
    error = r.error;
    return std::nullopt;
  }
  return out;
}

}  // namespace dr
