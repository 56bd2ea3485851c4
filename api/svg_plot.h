// Plots as inline SVG for edgeopt's HTML reports: no script, no network, nothing but markup a
// browser draws. Every plot is an <svg class="plot" data-plot=NAME> whose data marks (points,
// bars) are the children of its <g class="marks">, each with a <title> tooltip: what the report
// test looks for when it asks a browser whether every plot was drawn.
#pragma once

#include <string>
#include <vector>

namespace edgeopt::api::svg {

// A whole HTML page around `body`, with the style sheet edgeopt's reports share.
std::string page(const std::string& title, const std::string& body);

// Text for HTML/SVG content or attribute values (& < > " ' escaped).
std::string escape(const std::string& text);

// A number with `digits` significant digits, trailing zeros dropped ("0.0312", "14.1", "1200").
std::string number(double value, int digits = 3);

// Colors by index: a palette readable on white and by people with the common color deficiencies.
const char* seriesColor(size_t index);

struct ScatterPoint {
  double x = 0, y = 0;
  size_t series = 0;     // color (ScatterPlot::series)
  size_t shape = 0;      // 0 circle, 1 square, 2 diamond (ScatterPlot::shapes)
  bool hollow = false;   // e.g. an estimate rather than a measurement
  std::string label;     // written beside the point
  std::string tooltip;
};

struct ScatterPlot {
  std::string name, title, xLabel, yLabel;
  bool logX = false;                // used when the x values span more than a factor 20 as well
  std::vector<std::string> series;  // legend entries by color
  std::vector<std::string> shapes;  // legend entries by shape
  std::string hollowMeans;          // legend entry for hollow points ("" = none)
  std::vector<ScatterPoint> points;
};
std::string scatter(const ScatterPlot& plot);

struct Bar {
  std::string label, tooltip;
  std::vector<double> values;  // one per BarChart::series
  std::string color;           // one-series charts: this bar's color ("" = the series color)
};

// Horizontal bars, grouped when there are several series; values from 0 (negative values are
// drawn as 0 and labelled with their value).
struct BarChart {
  std::string name, title, unit;
  std::vector<std::string> series;  // at least one
  std::vector<Bar> bars;
  struct Marker {
    double value = 0;
    std::string label;
  };
  std::vector<Marker> markers;      // vertical reference lines (a threshold, a capacity)
  double maxValue = 0;              // > 0: the axis end (e.g. 100 for percentages)
};
std::string barChart(const BarChart& chart);

}  // namespace edgeopt::api::svg
