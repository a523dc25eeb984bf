// libFuzzer harness for the runbook loader: arbitrary bytes as a runbook file.
//
// The loader promises (dr/runbook.h) that hostile input is refused with a located error in
// bounded time and memory, so the only failures here are crashes, sanitizer reports, leaks,
// timeouts and out-of-memory, plus the few states the result must never be in, checked below.
// The environment is faked (every ${env.X} is unset) so a run does not depend on the machine.
// `include:` lines still read real files relative to the working directory; scripts/fuzz runs
// the fuzzer from an empty directory.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "dr/runbook.h"

namespace {

const char* no_environment(const char*) {
  return nullptr;
}

[[noreturn]] void impossible(const char* what) {
  std::fprintf(stderr, "runbook_loader_fuzz: impossible state: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  dr::LoadOptions options;
  options.getenv = no_environment;
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  const dr::LoadResult result = dr::load_runbook_text("fuzz.yaml", text, options);
  const dr::Diagnostics& diag = result.diagnostics;

  if (result.runbook && diag.has_errors()) impossible("a runbook was returned together with errors");
  if (!result.runbook && !diag.has_errors()) impossible("no runbook and no error to say why");

  std::size_t errors = 0;
  for (const dr::Diagnostic& d : diag.all()) {
    if (d.severity == dr::Severity::error) ++errors;
    if (d.message.empty()) impossible("a diagnostic without a message");
    if (d.pos.line < 0 || d.pos.column < 0) impossible("a diagnostic at a negative line or column");
    (void)d.str();
  }
  if (errors != diag.error_count()) impossible("error_count() disagrees with the diagnostics");

  if (result.runbook) {
    const dr::Runbook& rb = *result.runbook;
    if (rb.name.empty()) impossible("a valid runbook without a name");
    if (rb.content_hash.size() != 64) impossible("a content hash that is not SHA-256 hex");
    if (rb.service_index.size() != rb.services.size()) impossible("service_index and services disagree");
    for (const auto& [name, index] : rb.service_index) {
      if (index >= rb.services.size() || rb.services[index].name != name)
        impossible("service_index points at the wrong service");
    }
    for (const dr::Service& s : rb.services) {
      for (const std::string& dep : s.depends_on)
        if (!rb.service(dep)) impossible("depends-on names a service that does not exist");
      for (const auto& [op, steps] : s.operations)
        for (const dr::StepSpec& step : steps)
          if (step.action.empty()) impossible("a step without an action");
    }
  }
  return 0;
}
