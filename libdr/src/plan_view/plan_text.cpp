// The plan as an operator reads it: one line per step, grouped by wave, then the critical path
// and the verdict against the RTO objective.
#include <algorithm>
#include <string>
#include <vector>

#include "dr/plan_view.h"

namespace dr {
namespace {

// Wide columns stop aligning rather than push every line off the screen.
constexpr std::size_t kMaxIdWidth = 56;
constexpr std::size_t kMaxTargetWidth = 40;

class Painter {
 public:
  explicit Painter(bool on) : on_(on) {}
  std::string bold(const std::string& s) const { return wrap("1", s); }
  std::string dim(const std::string& s) const { return wrap("2", s); }
  std::string red(const std::string& s) const { return wrap("1;31", s); }
  std::string green(const std::string& s) const { return wrap("32", s); }
  std::string yellow(const std::string& s) const { return wrap("33", s); }

 private:
  std::string wrap(const char* code, const std::string& s) const {
    return on_ ? "\x1b[" + std::string(code) + "m" + s + "\x1b[0m" : s;
  }
  bool on_;
};

// Pads before colouring, so escape codes never count as width.
std::string pad(const std::string& s, std::size_t width) {
  return s.size() >= width ? s : s + std::string(width - s.size(), ' ');
}

std::string plural(std::size_t n, const char* word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

}  // namespace

std::string render_plan_text(const Runbook& runbook, const StepGraph& graph, const PlanTextOptions& options) {
  const Painter paint(options.colour);
  const PlanVerdict verdict = plan_verdict(runbook, graph, options.concurrency);
  std::vector<bool> critical(graph.nodes().size(), false);
  for (int n : graph.critical_path()) critical[static_cast<std::size_t>(n)] = true;

  std::string out = paint.bold("Plan for " + runbook.name + ": " + operation_name(graph.operation()) + ", ");
  if (graph.step_count() == 0) return out + paint.bold("no steps") + "\n";
  out += paint.bold(plural(graph.step_count(), "step") + " in " + plural(graph.waves().size(), "wave")) + " " +
         paint.dim("(concurrency " + std::to_string(verdict.concurrency) + ")") + "\n";

  std::size_t id_w = 0, action_w = 0, target_w = 0;
  std::vector<std::string> targets(graph.nodes().size());
  for (const auto& wave : graph.waves()) {
    for (int n : wave) {
      const StepSpec& step = *graph.node(n).step;
      targets[static_cast<std::size_t>(n)] = describe_target(step);
      id_w = std::max(id_w, std::min(step.id.size(), kMaxIdWidth));
      action_w = std::max(action_w, step.action.size());
      target_w = std::max(target_w, std::min(targets[static_cast<std::size_t>(n)].size(), kMaxTargetWidth));
    }
  }

  for (std::size_t w = 0; w < graph.waves().size(); ++w) {
    out += "\n" + paint.bold("Wave " + std::to_string(w + 1)) + "\n";
    for (int n : graph.waves()[w]) {
      const GraphNode& node = graph.node(n);
      const bool on_path = critical[static_cast<std::size_t>(n)];
      out += on_path ? "  " + paint.yellow("*") + " " : "    ";
      out += pad(node.label, id_w) + "  " + pad(node.step->action, action_w) + "  " +
             pad(targets[static_cast<std::size_t>(n)], target_w) + "  " + format_duration(node.expected);
      out += "\n";
    }
  }

  out += "\n" + paint.bold("Critical path") + " (" + paint.yellow("*") + "), " +
         format_duration(graph.critical_duration()) + ": ";
  for (std::size_t i = 0; i < graph.critical_path().size(); ++i)
    out += (i ? " -> " : "") + graph.node(graph.critical_path()[i]).label;
  out += "\n";
  if (verdict.expected > graph.critical_duration())
    out += "With at most " + plural(static_cast<std::size_t>(verdict.concurrency), "step") +
           " at a time, steps queue and the run takes longer than its critical path.\n";

  out += paint.bold("Expected duration: " + format_duration(verdict.expected)) + "; ";
  if (!verdict.rto) return out + "no RTO objective set\n";
  out += "RTO objective: " + format_duration(*verdict.rto) + " (";
  out += verdict.within_rto() ? paint.green("within")
                              : paint.red("EXCEEDS by " + format_duration(verdict.expected - *verdict.rto));
  return out + ")\n";
}

}  // namespace dr
