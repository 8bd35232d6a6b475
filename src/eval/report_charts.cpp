// The report's SVG charts. See report_charts.h.
//
// Charts are inline SVG in viewBox units: a Frame places the plot area, an Axis maps values to it
// with round ticks; sizes, colours of text and grid, and dash patterns come from the style sheet.
#include "report_charts.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tenet/eval/html.h"

namespace tenet::eval::report_detail {

using html::Writer;

namespace {

constexpr const char* kSystemColors[] = {"#64748b", "#2563eb", "#d97706", "#059669", "#9333ea", "#db2777"};

struct Axis {
  double lo = 0, hi = 1;
  std::vector<double> ticks;
  int decimals = 0;
  double Map(double v, double from, double to) const { return from + (v - lo) / (hi - lo) * (to - from); }
};

double NiceStep(double raw, bool integer) {
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double norm = raw / mag;
  double step = (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag;
  if (integer) step = std::max(step, 1.0);
  return step;
}

// An axis covering [lo, hi] extended to round ticks, about `target` of them.
// Inputs are finite and within ±kPlotLimit (see Plottable).
Axis NiceAxis(double lo, double hi, int target, bool integer = false) {
  // A range too narrow for its magnitude (or empty) is widened, so that lo / step stays small.
  if (!(hi - lo > std::max(std::fabs(lo), std::fabs(hi)) * 1e-6)) {
    const double pad = lo != 0 ? std::fabs(lo) * 0.5 : 1;
    lo -= pad, hi += pad;
  }
  const double step = NiceStep((hi - lo) / target, integer);
  Axis a;
  const double first = std::floor(lo / step + 1e-9), last = std::ceil(hi / step - 1e-9);
  a.lo = first * step;
  a.hi = last * step;
  const int count = static_cast<int>(std::clamp(last - first, 0.0, 200.0));
  for (int k = 0; k <= count; ++k) a.ticks.push_back((first + k) * step);
  a.decimals = std::max(0, static_cast<int>(-std::floor(std::log10(step) + 1e-9)));
  return a;
}

struct Frame {  // the plot area inside the SVG's viewBox
  double width, height, left, right, top, bottom;
  double X0() const { return left; }
  double X1() const { return width - right; }
  double Y0() const { return height - bottom; }  // the baseline (SVG y grows downwards)
  double Y1() const { return top; }
};

void OpenSvg(Writer& w, const Frame& f, std::string_view label) {
  w.Open("svg", {{"class", "plot"},
                 {"viewBox", "0 0 " + html::Fixed(f.width, 0) + " " + html::Fixed(f.height, 0)},
                 {"role", "img"},
                 {"aria-label", std::string(label)}});
}

// Horizontal grid lines with y tick labels, the x axis line, x tick labels and axis titles.
void DrawAxes(Writer& w, const Frame& f, const Axis& x, const Axis& y, std::string_view x_title,
              std::string_view y_title, const std::vector<double>& x_ticks) {
  for (double t : y.ticks) {
    const std::string py = html::Fixed(y.Map(t, f.Y0(), f.Y1()), 1);
    w.Empty(
        "line",
        {{"class", "grid"}, {"x1", html::Fixed(f.X0(), 1)}, {"x2", html::Fixed(f.X1(), 1)}, {"y1", py}, {"y2", py}});
    w.Element(
        "text",
        {{"class", "tick"}, {"x", html::Fixed(f.X0() - 6, 1)}, {"y", py}, {"text-anchor", "end"}, {"dy", "0.32em"}},
        html::Pretty(t, y.decimals));
  }
  const std::string base = html::Fixed(f.Y0(), 1);
  w.Empty(
      "line",
      {{"class", "axis"}, {"x1", html::Fixed(f.X0(), 1)}, {"x2", html::Fixed(f.X1(), 1)}, {"y1", base}, {"y2", base}});
  for (double t : x_ticks) {
    const std::string px = html::Fixed(x.Map(t, f.X0(), f.X1()), 1);
    w.Empty("line", {{"class", "axis"}, {"x1", px}, {"x2", px}, {"y1", base}, {"y2", html::Fixed(f.Y0() + 4, 1)}});
    w.Element("text", {{"class", "tick"}, {"x", px}, {"y", html::Fixed(f.Y0() + 16, 1)}, {"text-anchor", "middle"}},
              html::Pretty(t, x.decimals));
  }
  w.Element("text",
            {{"class", "axis-title"},
             {"x", html::Fixed((f.X0() + f.X1()) / 2, 1)},
             {"y", html::Fixed(f.height - 4, 1)},
             {"text-anchor", "middle"}},
            x_title);
  const std::string cy = html::Fixed((f.Y0() + f.Y1()) / 2, 1);
  w.Element("text",
            {{"class", "axis-title"},
             {"x", "12"},
             {"y", cy},
             {"text-anchor", "middle"},
             {"transform", "rotate(-90 12 " + cy + ")"}},
            y_title);
}

// Markers (one <circle class="pt"> per point) up to this many points per series; above, the
// path's vertices alone carry the data.
constexpr size_t kMaxMarkers = 400;

}  // namespace

const char* SystemColor(size_t i) { return kSystemColors[i % (sizeof kSystemColors / sizeof *kSystemColors)]; }

void Swatch(Writer& w, const char* color, bool dashed, bool bar) {
  w.Open("svg",
         {{"class", "sw"}, {"viewBox", "0 0 22 10"}, {"width", "22"}, {"height", "10"}, {"aria-hidden", "true"}});
  if (bar) {
    w.Empty("rect", {{"x", "3"}, {"y", "1"}, {"width", "16"}, {"height", "8"}, {"rx", "1.5"}, {"fill", color}});
  } else {
    w.Empty("line", {{"x1", "1"},
                     {"y1", "5"},
                     {"x2", "21"},
                     {"y2", "5"},
                     {"stroke", color},
                     {"stroke-width", "2"},
                     {"stroke-dasharray", dashed ? "4 3" : "none"}});
    w.Empty("circle", {{"cx", "11"},
                       {"cy", "5"},
                       {"r", "2.6"},
                       {"fill", dashed ? "#fff" : color},
                       {"stroke", color},
                       {"stroke-width", "1.5"}});
  }
  w.Close();
}

void LineChart(Writer& w, const LineChartSpec& spec, const std::vector<Series>& series) {
  double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
  for (const Series& s : series) {
    for (auto [x, y] : s.points) {
      xlo = std::min(xlo, x), xhi = std::max(xhi, x), ylo = std::min(ylo, y), yhi = std::max(yhi, y);
    }
  }
  if (spec.unit_interval) ylo = std::min(ylo, 0.0), yhi = std::max(yhi, 1.0);
  if (spec.ref && yhi > ylo) ylo = std::min(ylo, *spec.ref), yhi = std::max(yhi, *spec.ref);
  const Frame f{480, 250, 52, 14, 12, 38};
  const Axis x = NiceAxis(xlo, xhi, 6, true), y = NiceAxis(ylo, yhi, 5);

  w.Open("figure", {{"class", "chart"}});
  w.Element("h3", spec.title);
  std::string keys;
  for (const Series& s : series) {
    if (!s.points.empty()) keys += (keys.empty() ? "" : " · ") + s.key;
  }
  w.Element("div", {{"class", "keys"}}, keys);
  w.Open("div", {{"class", "legend"}});
  for (const Series& s : series) {
    if (s.points.empty()) continue;
    w.Open("span");
    Swatch(w, s.color, s.dashed);
    w.Text(s.label);
    w.Element("span", {{"class", "last"}}, " " + html::Pretty(s.points.back().second, spec.value_decimals));
    w.Close();
  }
  w.Close();
  OpenSvg(w, f, spec.title);
  DrawAxes(w, f, x, y, "optimizer step", spec.y_title, x.ticks);
  if (spec.ref) {
    const std::string py = html::Fixed(y.Map(*spec.ref, f.Y0(), f.Y1()), 1);
    w.Empty("line",
            {{"class", "ref"}, {"x1", html::Fixed(f.X0(), 1)}, {"x2", html::Fixed(f.X1(), 1)}, {"y1", py}, {"y2", py}});
    w.Element("text",
              {{"class", "ref-label"},
               {"x", html::Fixed(f.X1() - 2, 1)},
               {"y", py},
               {"dy", "-0.4em"},
               {"text-anchor", "end"}},
              spec.ref_label);
  }
  for (const Series& s : series) {
    if (s.points.empty()) continue;
    std::string d;
    for (auto [px, py] : s.points) {
      d += d.empty() ? "M" : " L";
      d += html::Fixed(x.Map(px, f.X0(), f.X1()), 1) + " " + html::Fixed(y.Map(py, f.Y0(), f.Y1()), 1);
    }
    w.Empty("path", {{"class", s.dashed ? "line eval" : "line"}, {"d", d}, {"stroke", s.color}});
    if (s.points.size() > kMaxMarkers) continue;
    for (auto [px, py] : s.points) {
      w.Open("circle", {{"class", "pt"},
                        {"cx", html::Fixed(x.Map(px, f.X0(), f.X1()), 1)},
                        {"cy", html::Fixed(y.Map(py, f.Y0(), f.Y1()), 1)},
                        {"r", s.dashed ? "3.2" : "2.4"},
                        {"fill", s.dashed ? "#fff" : s.color},
                        {"stroke", s.color}});
      w.Element("title", s.label + ", step " + html::Pretty(px, 0) + ": " + html::Pretty(py, 4));
      w.Close();
    }
  }
  w.Close();  // svg
  w.Close();  // figure
}

void Histogram(Writer& w, const std::vector<HistogramGroup>& groups, std::string_view x_title) {
  double lo = INFINITY, hi = -INFINITY;
  size_t largest = 0, total = 0;
  for (const HistogramGroup& group : groups) {
    const std::vector<double>& values = group.values;
    for (double v : values) lo = std::min(lo, v), hi = std::max(hi, v);
    largest = std::max(largest, values.size());
    total += values.size();
  }
  if (!(hi - lo > std::max(std::fabs(lo), std::fabs(hi)) * 1e-6)) {
    const double pad = std::max(std::fabs(lo) * 0.1, 0.05);
    lo -= pad, hi += pad;
  }
  // Sturges' rule or the square root, whichever gives more bins, within 6..30; round widths.
  const double target = std::clamp(
      std::max(std::log2(static_cast<double>(largest)) + 1, std::sqrt(static_cast<double>(largest))), 6.0, 30.0);
  const double step = NiceStep((hi - lo) / target, false);
  const double start = std::floor(lo / step) * step;
  const size_t bins = static_cast<size_t>(std::clamp(std::floor((hi - start) / step), 0.0, 63.0)) + 1;
  std::vector<std::vector<int>> counts(groups.size(), std::vector<int>(bins, 0));
  int max_count = 0;
  for (size_t g = 0; g < groups.size(); ++g) {
    for (double v : groups[g].values) {
      const double k = std::floor((v - start) / step);
      const size_t bin = static_cast<size_t>(std::clamp(k, 0.0, static_cast<double>(bins - 1)));
      max_count = std::max(max_count, ++counts[g][bin]);
    }
  }
  const Frame f{900, 310, 52, 14, 26, 40};
  Axis x;
  x.lo = start, x.hi = start + static_cast<double>(bins) * step;
  const Axis y = NiceAxis(0, max_count, 5, true);
  const Axis xt = NiceAxis(x.lo, x.hi, 8);
  x.decimals = xt.decimals;
  std::vector<double> x_ticks;
  for (double t : xt.ticks) {
    if (t >= x.lo - step * 1e-6 && t <= x.hi + step * 1e-6) x_ticks.push_back(t);
  }

  w.Open("figure", {{"class", "chart wide"}});
  w.Open("div", {{"class", "legend"}});
  for (const HistogramGroup& group : groups) {
    const std::vector<double>& values = group.values;
    double sum = 0;
    for (double v : values) sum += v;
    w.Open("span");
    Swatch(w, group.color, false, true);
    w.Text(group.name + " answers");
    w.Element("span", {{"class", "last"}},
              " n = " + html::Integer(static_cast<int64_t>(values.size())) + ", mean " +
                  html::Signed(sum / static_cast<double>(values.size()), 2));
    w.Close();
  }
  w.Close();
  OpenSvg(w, f, "Histogram of implicit rewards, " + html::Integer(static_cast<int64_t>(total)) + " answers");
  DrawAxes(w, f, x, y, x_title, "answers", x_ticks);
  const double bin_width = (f.X1() - f.X0()) / static_cast<double>(bins);
  const double gap = bin_width * 0.12;  // between bins; a bin's bars touch
  const double bar_width = (bin_width - 2 * gap) / static_cast<double>(groups.size());
  for (size_t b = 0; b < bins; ++b) {
    const double edge = start + static_cast<double>(b) * step;
    for (size_t g = 0; g < groups.size(); ++g) {
      const double top = y.Map(counts[g][b], f.Y0(), f.Y1());
      w.Open("rect",
             {{"class", "bar"},
              {"x",
               html::Fixed(f.X0() + static_cast<double>(b) * bin_width + gap + static_cast<double>(g) * bar_width, 2)},
              {"y", html::Fixed(top, 2)},
              {"width", html::Fixed(bar_width, 2)},
              {"height", html::Fixed(f.Y0() - top, 2)},
              {"fill", groups[g].color}});
      w.Element("title", groups[g].name + ": " + html::Integer(counts[g][b]) +
                             (counts[g][b] == 1 ? " answer" : " answers") + " in [" +
                             html::Pretty(edge, x.decimals + 1) + ", " + html::Pretty(edge + step, x.decimals + 1) +
                             ")");
      w.Close();
    }
  }
  // Each group's mean as a dashed vertical line over a white halo (visible across its own bars),
  // labelled above the plot: the lowest mean to the left of its line, the others to the right.
  std::vector<std::pair<double, size_t>> means;  // (mean, index in groups)
  for (size_t g = 0; g < groups.size(); ++g) {
    double sum = 0;
    for (double v : groups[g].values) sum += v;
    means.emplace_back(sum / static_cast<double>(groups[g].values.size()), g);
  }
  std::sort(means.begin(), means.end());
  for (size_t i = 0; i < means.size(); ++i) {
    const auto [mean, g] = means[i];
    const double px = x.Map(mean, f.X0(), f.X1());
    const std::string sx = html::Fixed(px, 1), y0 = html::Fixed(f.Y0(), 1), y1 = html::Fixed(f.Y1() - 4, 1);
    w.Empty("line", {{"class", "mean-halo"}, {"x1", sx}, {"x2", sx}, {"y1", y0}, {"y2", y1}});
    w.Empty("line", {{"class", "mean"}, {"x1", sx}, {"x2", sx}, {"y1", y0}, {"y2", y1}, {"stroke", groups[g].color}});
    const bool left = i == 0 && means.size() > 1;
    w.Element("text",
              {{"class", "mean-label"},
               {"x", html::Fixed(px + (left ? -4 : 4), 1)},
               {"y", html::Fixed(f.Y1() - 6, 1)},
               {"text-anchor", left ? "end" : "start"},
               {"fill", groups[g].color}},
              "mean " + groups[g].name + " " + html::Signed(mean, 2));
  }
  w.Close();  // svg
  w.Close();  // figure
}

}  // namespace tenet::eval::report_detail
