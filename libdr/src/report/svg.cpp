// The HTML report's pictures, as inline SVG (no scripts, no external assets): a run's timeline
// and a runbook's RTO trend.
#include "report/svg.h"

#include <algorithm>
#include <cmath>

#include "report/text_out.h"

namespace dr::report::detail {
namespace {

// A round step for about `count` ticks over [0, max].
double tick_step(double max, int count) {
  if (max <= 0) return 1;
  const double raw = max / count;
  const double mag = std::pow(10, std::floor(std::log10(raw)));
  for (double f : {1.0, 2.0, 5.0, 10.0})
    if (raw <= f * mag) return f * mag;
  return 10 * mag;
}

std::string n(double v) {
  return num(v);
}

std::string step_class(const StepRecord& s) {
  std::string c = "bar ";
  if (s.outcome == "succeeded")
    c += "ok";
  else if (s.outcome == "failed" || s.outcome == "needs-check")
    c += "failed";
  else
    c += "other";
  if (s.critical) c += " critical";
  return c;
}

}  // namespace

std::string timeline_svg(const RunRecord& r, int index) {
  constexpr double label_w = 300, plot_w = 600, row_h = 22, top = 28, right_pad = 20;
  double max_t = 0;
  for (const auto& s : r.steps) max_t = std::max(max_t, s.end_offset);
  for (const auto& u : r.undos) max_t = std::max(max_t, u.end_offset);
  if (max_t <= 0) max_t = 1;
  const std::size_t rows = r.steps.size() + r.undos.size();
  const double height = top + row_h * static_cast<double>(std::max<std::size_t>(rows, 1)) + 10;
  const double width = label_w + plot_w + right_pad;
  auto x = [&](double t) { return label_w + plot_w * std::clamp(t, 0.0, max_t) / max_t; };

  std::string o = "<svg class=\"timeline\" id=\"timeline-" + std::to_string(index) +
                  "\" xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" width=\"" + n(width) + "\" height=\"" +
                  n(height) + "\" viewBox=\"0 0 " + n(width) + " " + n(height) + "\">\n";
  o += "<title>" + xml_escape("Timeline of run " + r.run_id + ": steps and undos on a time axis in seconds") +
       "</title>\n";
  const double step = tick_step(max_t, 6);
  for (double t = 0; t <= max_t + step / 1000; t += step) {
    o += "<line class=\"grid\" x1=\"" + n(x(t)) + "\" y1=\"" + n(top - 6) + "\" x2=\"" + n(x(t)) + "\" y2=\"" +
         n(height - 6) + "\"/>";
    o += "<text class=\"tick\" x=\"" + n(x(t)) + "\" y=\"" + n(top - 10) + "\" text-anchor=\"middle\">" +
         xml_escape(human_seconds(t)) + "</text>\n";
  }
  double y = top;
  auto bar = [&](const std::string& label, const std::string& cls, double start, double end, const std::string& tip) {
    o += "<text class=\"label\" x=\"" + n(label_w - 8) + "\" y=\"" + n(y + row_h * 0.68) + "\" text-anchor=\"end\">" +
         xml_escape(label) + "</text>";
    const double w = std::max(2.0, x(end) - x(start));
    o += "<rect class=\"" + cls + "\" x=\"" + n(x(start)) + "\" y=\"" + n(y + 4) + "\" width=\"" + n(w) +
         "\" height=\"" + n(row_h - 8) + "\"><title>" + xml_escape(tip) + "</title></rect>\n";
    y += row_h;
  };
  for (const auto& s : r.steps)
    bar(s.id, step_class(s), s.start_offset, s.end_offset,
        s.id + " (" + s.action + "): " + s.outcome + ", " + human_seconds(s.seconds) + " from +" +
            human_seconds(s.start_offset) + (s.critical ? ", on the critical path" : ""));
  for (const auto& u : r.undos)
    bar("undo " + u.step,
        std::string("bar undo") + (u.outcome == "failed"      ? " failed"
                                   : u.outcome == "succeeded" ? ""
                                                              : " other"),
        u.start_offset, u.end_offset,
        "undo of " + u.step + " (" + u.action + "): " + u.outcome + ", " + human_seconds(u.seconds));
  return o + "</svg>\n";
}

std::string trend_svg(const Trend& t, int index) {
  constexpr double left = 70, plot_w = 620, plot_h = 200, top = 20, bottom = 40, right = 60;
  double max_v = 0;
  for (const auto& p : t.points) {
    max_v = std::max(max_v, p.rto_seconds.value_or(0));
    max_v = std::max(max_v, p.rto_objective_seconds.value_or(0));
  }
  if (max_v <= 0) max_v = 1;
  max_v *= 1.1;
  const double width = left + plot_w + right, height = top + plot_h + bottom;
  const std::size_t count = t.points.size();
  auto x = [&](std::size_t i) {
    return count <= 1 ? left + plot_w / 2 : left + plot_w * static_cast<double>(i) / static_cast<double>(count - 1);
  };
  auto y = [&](double v) { return top + plot_h - plot_h * v / max_v; };

  std::string o = "<svg class=\"trend\" id=\"trend-" + std::to_string(index) +
                  "\" xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" width=\"" + n(width) + "\" height=\"" +
                  n(height) + "\" viewBox=\"0 0 " + n(width) + " " + n(height) + "\">\n";
  o += "<title>" + xml_escape("RTO per run of " + t.runbook + " " + t.operation + " against the objective") +
       "</title>\n";
  const double step = tick_step(max_v, 5);
  for (double v = 0; v <= max_v; v += step)
    o += "<line class=\"grid\" x1=\"" + n(left) + "\" y1=\"" + n(y(v)) + "\" x2=\"" + n(left + plot_w) + "\" y2=\"" +
         n(y(v)) + "\"/><text class=\"tick\" x=\"" + n(left - 6) + "\" y=\"" + n(y(v) + 4) + "\" text-anchor=\"end\">" +
         xml_escape(human_seconds(v)) + "</text>\n";
  // The objective as a line (a step line when it changed between runs).
  std::string objective;
  for (std::size_t i = 0; i < count; ++i)
    if (const auto& v = t.points[i].rto_objective_seconds) {
      const double x0 = count <= 1 ? left : (i == 0 ? x(i) : (x(i - 1) + x(i)) / 2);
      const double x1 = count <= 1 ? left + plot_w : (i + 1 == count ? x(i) : (x(i) + x(i + 1)) / 2);
      objective += n(x0) + "," + n(y(*v)) + " " + n(x1) + "," + n(y(*v)) + " ";
    }
  if (!objective.empty()) o += "<polyline class=\"objective\" points=\"" + objective + "\"/>\n";
  std::string line;
  for (std::size_t i = 0; i < count; ++i)
    if (t.points[i].rto_seconds) line += n(x(i)) + "," + n(y(*t.points[i].rto_seconds)) + " ";
  if (!line.empty()) o += "<polyline class=\"rto\" points=\"" + line + "\"/>\n";
  for (std::size_t i = 0; i < count; ++i) {
    const TrendPoint& p = t.points[i];
    const std::string tip = p.run_id + " (" + p.status + "): RTO " + human_seconds(p.rto_seconds) +
                            (p.rto_objective_seconds ? ", objective " + human_seconds(*p.rto_objective_seconds) : "") +
                            (p.missed ? ", missed" : "");
    if (p.rto_seconds)
      o += "<circle class=\"point" + std::string(p.missed ? " missed" : "") + "\" cx=\"" + n(x(i)) + "\" cy=\"" +
           n(y(*p.rto_seconds)) + "\" r=\"5\"><title>" + xml_escape(tip) + "</title></circle>\n";
    else  // not measured: a cross on the axis
      o += "<text class=\"unmeasured\" x=\"" + n(x(i)) + "\" y=\"" + n(top + plot_h - 4) +
           "\" text-anchor=\"middle\">&#215;<title>" + xml_escape(tip) + "</title></text>\n";
    o += "<text class=\"tick\" x=\"" + n(x(i)) + "\" y=\"" + n(top + plot_h + 18) + "\" text-anchor=\"middle\">" +
         xml_escape(p.started.substr(0, 10)) + "</text>\n";
  }
  o += "<line class=\"axis\" x1=\"" + n(left) + "\" y1=\"" + n(top + plot_h) + "\" x2=\"" + n(left + plot_w) +
       "\" y2=\"" + n(top + plot_h) + "\"/>\n";
  return o + "</svg>\n";
}

}  // namespace dr::report::detail
