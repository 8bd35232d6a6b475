// Private to src/eval (the report of tenet/eval/report.h): the report's one inline style sheet.
// System font stack, tabular figures, light cards; the classes the sections (report.cpp) and the
// SVG charts (report_charts.h) write; narrow screens; print: black on white, no clamps, no
// toggles, rows and charts kept whole where they fit.
//
// Thread-safety: a constant.
#pragma once

#include "tenet/eval/html.h"

namespace tenet::eval::report_detail {

// The style sheet's text (for inside <style>), a compile-time constant of ours: Trusted markup.
html::Trusted StyleSheet();

}  // namespace tenet::eval::report_detail
