// Inline SVG pictures for the HTML report.
#pragma once

#include <string>

#include "dr/report.h"

namespace dr::report::detail {

// Steps (and then undos, styled apart) as bars on a time axis in seconds from the run's start;
// the critical path is highlighted. The element has class "timeline" and id "timeline-INDEX".
std::string timeline_svg(const RunRecord& run, int index);
// RTO per run, oldest first, with the objective as a line; missed runs marked. Class "trend".
std::string trend_svg(const Trend& trend, int index);

}  // namespace dr::report::detail
