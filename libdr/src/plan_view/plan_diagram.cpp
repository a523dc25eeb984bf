// The plan as a picture: Graphviz DOT and Mermaid. Both draw every node and edge of the graph,
// join nodes included, since they are what keeps a picture of a large runbook readable (one
// edge into a service's end instead of one from every step of it).
#include <string>
#include <vector>

#include "dr/plan_view.h"

namespace dr {
namespace {

std::vector<bool> critical_nodes(const StepGraph& graph) {
  std::vector<bool> critical(graph.nodes().size(), false);
  for (int n : graph.critical_path()) critical[static_cast<std::size_t>(n)] = true;
  return critical;
}

// The inside of a DOT double-quoted string.
std::string dot_quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

// Mermaid ids allow only [A-Za-z0-9_]; the node index prefix keeps "a-b" and "a_b" apart.
std::string mermaid_id(const StepGraph& graph, int n) {
  std::string out = "n" + std::to_string(n) + "_";
  for (char c : graph.node(n).label) {
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    out += plain ? c : '_';
  }
  return out;
}

// Text inside a quoted Mermaid label: quotes and angle brackets as entity codes.
std::string mermaid_text(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '"': out += "#quot;"; break;
      case '<': out += "#lt;"; break;
      case '>': out += "#gt;"; break;
      case '\n': out += ' '; break;
      default: out += c;
    }
  }
  return out;
}

std::string step_details(const GraphNode& n) {
  std::string details = n.step->action;
  if (const std::string target = describe_target(*n.step); !target.empty()) details += "  " + target;
  return details + "  " + format_duration(n.expected);
}

}  // namespace

std::string render_plan_dot(const Runbook& runbook, const StepGraph& graph) {
  const auto critical = critical_nodes(graph);
  std::string out = "digraph edgedr_plan {\n";
  out += "  label=" + dot_quote(runbook.name + " " + operation_name(graph.operation())) + ";\n";
  out += "  labelloc=t;\n  rankdir=TB;\n";
  out += "  node [shape=box, style=rounded, fontname=\"Helvetica\", fontsize=10];\n";
  out += "  edge [arrowsize=0.6];\n";
  for (int n : graph.topological_order()) {
    const GraphNode& node = graph.node(n);
    out += "  " + dot_quote(node.label) + " [";
    if (node.is_step()) {
      out += "label=" + dot_quote(node.label + "\n" + step_details(node));
      if (critical[static_cast<std::size_t>(n)]) out += ", style=\"rounded,bold\", penwidth=2.5";
    } else {
      out += "shape=point, width=0.08, label=\"\", tooltip=" + dot_quote(node.label);
    }
    out += "];\n";
  }
  for (int n : graph.topological_order())
    for (int d : graph.node(n).deps)
      out += "  " + dot_quote(graph.node(d).label) + " -> " + dot_quote(graph.node(n).label) + ";\n";
  return out + "}\n";
}

std::string render_plan_mermaid(const Runbook& runbook, const StepGraph& graph) {
  const auto critical = critical_nodes(graph);
  // A comment rather than front-matter `title:`, which older Mermaid renderers reject.
  std::string out = "flowchart TD\n  %% " + mermaid_text(runbook.name + " " + operation_name(graph.operation())) + "\n";
  std::string critical_ids, join_ids;
  auto add_to = [](std::string& list, const std::string& id) { list += (list.empty() ? "" : ",") + id; };
  for (int n : graph.topological_order()) {
    const GraphNode& node = graph.node(n);
    const std::string id = mermaid_id(graph, n);
    if (node.is_step()) {
      out += "  " + id + "[\"" + mermaid_text(node.label) + "<br/>" + mermaid_text(step_details(node)) + "\"]\n";
      if (critical[static_cast<std::size_t>(n)]) add_to(critical_ids, id);
    } else {
      out += "  " + id + "((\" \"))\n";
      add_to(join_ids, id);
    }
  }
  for (int n : graph.topological_order())
    for (int d : graph.node(n).deps) out += "  " + mermaid_id(graph, d) + " --> " + mermaid_id(graph, n) + "\n";
  out += "  classDef critical stroke-width:3px,font-weight:bold\n";
  out += "  classDef join fill:#888,stroke:#888\n";
  if (!critical_ids.empty()) out += "  class " + critical_ids + " critical\n";
  if (!join_ids.empty()) out += "  class " + join_ids + " join\n";
  return out;
}

}  // namespace dr
