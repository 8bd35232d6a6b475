// Private to src/eval (the report of tenet/eval/report.h): the report's charts as inline SVG in
// viewBox units, written with html::Writer: line plots of training metrics and a grouped-bar
// histogram, with round axis ticks, legends and a <title> tooltip per point or bar; plus the
// system colours and legend swatches the tables share. Their styling lives in the style sheet
// (report_style.h), by class name.
//
// Not here: reading the metrics or rewards (report_data.h), the sections around a chart.
//
// Thread-safety: pure functions writing to the caller's Writer.
#pragma once

#include <cmath>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tenet/eval/html.h"

namespace tenet::eval::report_detail {

// The colour of the i-th system, in charts and tables alike (a fixed palette, repeating).
const char* SystemColor(size_t i);

// A short line swatch for legends, solid or dashed, with the series' marker; `bar`: a filled bar.
void Swatch(html::Writer& w, const char* color, bool dashed, bool bar = false);

// Charts leave out values beyond this magnitude (no metric or reward is near it; it keeps the
// axis arithmetic finite and exact enough). Callers filter their points with Plottable.
constexpr double kPlotLimit = 1e12;
inline bool Plottable(double v) { return std::fabs(v) <= kPlotLimit; }

struct Series {
  std::string key;  // the metrics.jsonl key, shown under the chart's title
  std::string label;
  const char* color;
  bool dashed;                                    // evaluation series: dashed line, hollow markers
  std::vector<std::pair<double, double>> points;  // (step, value), by step
};

struct LineChartSpec {
  const char* title;
  const char* y_title;
  std::optional<double> ref;  // a dashed horizontal reference line
  const char* ref_label;
  bool unit_interval;  // the y axis covers [0, 1] at least
  int value_decimals;
};

// A <figure class="chart"> with the title, the series' keys, a legend with each last value and
// the plot over "optimizer step". Series without points are left out; at least one must have some,
// all Plottable.
void LineChart(html::Writer& w, const LineChartSpec& spec, const std::vector<Series>& series);

struct HistogramGroup {
  std::string name;  // the system
  const char* color;
  std::vector<double> values;  // at least one, all Plottable
};

// A <figure class="chart wide">: grouped bars of the groups' values on shared round bins, each
// group's mean as a labelled dashed line, a legend with n and the mean. `groups` is not empty.
void Histogram(html::Writer& w, const std::vector<HistogramGroup>& groups, std::string_view x_title);

}  // namespace tenet::eval::report_detail
