#include "api/svg_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "compiler/support/text.h"

namespace edgeopt::api::svg {

std::string escape(const std::string& text) { return support::markupEscape(text); }

std::string number(double value, int digits) {
  if (!std::isfinite(value)) return "-";
  char b[64];
  const double magnitude = value == 0 ? 0 : std::floor(std::log10(std::fabs(value)));
  const int decimals = std::max(0, digits - 1 - static_cast<int>(magnitude));
  std::snprintf(b, sizeof b, "%.*f", std::min(decimals, 9), value);
  std::string s = b;
  if (s.find('.') != std::string::npos) {
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
  }
  return s == "-0" ? "0" : s;
}

const char* seriesColor(size_t index) {
  // Okabe & Ito's palette (without its yellow and black).
  static const char* kColors[] = {"#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00"};
  return kColors[index % (sizeof kColors / sizeof kColors[0])];
}

namespace {

std::string px(double v) { return number(std::round(v * 10) / 10, 6); }

// Ticks covering [lo, hi] at 1, 2, 2.5 or 5 times a power of ten, about `count` of them.
std::vector<double> linearTicks(double lo, double hi, int count) {
  if (!(hi > lo)) hi = lo + 1;
  const double raw = (hi - lo) / count, power = std::pow(10.0, std::floor(std::log10(raw)));
  double step = power;
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0})
    if (raw <= m * power) {
      step = m * power;
      break;
    }
  std::vector<double> ticks;
  for (double t = std::floor(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push_back(std::fabs(t) < step * 1e-9 ? 0 : t);
  if (ticks.back() < hi) ticks.push_back(ticks.back() + step);
  return ticks;
}

// Powers of ten covering [lo, hi] (lo > 0), with 2 and 5 between them over fewer than three decades.
std::vector<double> logTicks(double lo, double hi) {
  const int first = static_cast<int>(std::floor(std::log10(lo))), last = static_cast<int>(std::ceil(std::log10(hi)));
  std::vector<double> ticks;
  for (int k = first; k <= last; ++k) {
    ticks.push_back(std::pow(10.0, k));
    if (last - first < 3 && k < last)
      for (double m : {2.0, 5.0}) ticks.push_back(m * std::pow(10.0, k));
  }
  std::sort(ticks.begin(), ticks.end());
  return ticks;
}

std::string text(double x, double y, const std::string& s, const std::string& attrs = "") {
  return "<text x=\"" + px(x) + "\" y=\"" + px(y) + "\"" + (attrs.empty() ? "" : " " + attrs) + ">" + escape(s) + "</text>";
}

std::string marker(size_t shape, double x, double y, const std::string& color, bool hollow, const std::string& tooltip) {
  const std::string paint = hollow ? "fill=\"white\" stroke=\"" + color + "\" stroke-width=\"2\"" : "fill=\"" + color + "\" stroke=\"white\"";
  const std::string title = tooltip.empty() ? "" : "<title>" + escape(tooltip) + "</title>";
  const double r = 6;
  if (shape % 3 == 1)
    return "<rect x=\"" + px(x - r) + "\" y=\"" + px(y - r) + "\" width=\"" + px(2 * r) + "\" height=\"" + px(2 * r) + "\" " + paint + ">" +
           title + "</rect>";
  if (shape % 3 == 2)
    return "<polygon points=\"" + px(x) + "," + px(y - r - 1) + " " + px(x + r + 1) + "," + px(y) + " " + px(x) + "," + px(y + r + 1) + " " +
           px(x - r - 1) + "," + px(y) + "\" " + paint + ">" + title + "</polygon>";
  return "<circle cx=\"" + px(x) + "\" cy=\"" + px(y) + "\" r=\"" + px(r) + "\" " + paint + ">" + title + "</circle>";
}

std::string open(const std::string& name, double width, double height, const std::string& title) {
  return "<svg class=\"plot\" data-plot=\"" + escape(name) + "\" width=\"" + px(width) + "\" height=\"" + px(height) +
         "\" viewBox=\"0 0 " + px(width) + " " + px(height) + "\" role=\"img\" aria-label=\"" + escape(title) + "\">" +
         text(8, 18, title, "class=\"plot-title\"");
}

const char* kStyle = R"(<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2330;margin:0;background:#f6f7f9}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #d9dde3;padding-bottom:4px}
.sub{color:#5b6372;margin:0 0 16px}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:12px 0}
.card{background:#fff;border:1px solid #d9dde3;border-radius:6px;padding:10px 14px;min-width:150px}
.card b{display:block;font-size:18px}.card span{color:#5b6372;font-size:12px}
table{border-collapse:collapse;background:#fff;margin:8px 0;font-variant-numeric:tabular-nums;display:block;overflow-x:auto;width:max-content;max-width:100%}
th,td{border:1px solid #d9dde3;padding:4px 8px;text-align:right;white-space:nowrap}th{background:#eef0f4}
td:first-child,th:first-child,td.l{text-align:left}
.pass{color:#0a6b3d;font-weight:600}.fail{color:#b00020;font-weight:700}
tr.fail-row td{background:#fde8ec}.worse{background:#fde8ec;color:#b00020;font-weight:600}.better{background:#e6f6ee;color:#0a6b3d}
figure{background:#fff;border:1px solid #d9dde3;border-radius:6px;margin:10px 0;padding:8px;display:inline-block}
figcaption{color:#5b6372;font-size:12px;max-width:820px;margin-top:4px}
svg.plot{font:12px system-ui,sans-serif;display:block}svg .plot-title{font-weight:600;font-size:13px}
svg .grid{stroke:#e3e6eb}svg .frame{fill:none;stroke:#9aa1ad}svg .marker{stroke:#b00020;stroke-dasharray:4 3}
svg .marker-label{fill:#b00020;font-size:11px}svg .bar-value,svg .unit{fill:#5b6372;font-size:11px}
code{background:#eef0f4;padding:0 3px;border-radius:3px}ul{margin:4px 0}
</style>)";

}  // namespace

std::string page(const std::string& title, const std::string& body) {
  return "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">"
         "<title>" + escape(title) + "</title>\n" + kStyle + "</head>\n<body><main>\n" + body + "</main></body></html>\n";
}

std::string scatter(const ScatterPlot& p) {
  const double width = 720, height = 400, left = 64, right = 200, top = 36, bottom = 52;
  const double plotW = width - left - right, plotH = height - top - bottom;
  double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
  for (const auto& pt : p.points) {
    xlo = std::min(xlo, pt.x), xhi = std::max(xhi, pt.x);
    ylo = std::min(ylo, pt.y), yhi = std::max(yhi, pt.y);
  }
  if (p.points.empty()) xlo = ylo = 0, xhi = yhi = 1;
  const bool logX = xlo > 0 && (p.logX || xhi / xlo > 20);
  std::vector<double> xt;
  if (logX) {
    xt = logTicks(xlo, xhi);
    while (xt.size() > 2 && xt[1] <= xlo) xt.erase(xt.begin());
    while (xt.size() > 2 && xt[xt.size() - 2] >= xhi) xt.pop_back();
  } else {
    const double pad = (xhi - xlo) * 0.08 + (xhi == xlo ? std::max(std::fabs(xhi) * 0.1, 1e-3) : 0);
    xt = linearTicks(std::max(0.0, xlo - pad), xhi + pad, 5);
  }
  const double ypad = (yhi - ylo) * 0.1 + (yhi == ylo ? std::max(std::fabs(yhi) * 0.01, 0.5) : 0);
  const std::vector<double> yt = linearTicks(ylo - ypad, yhi + ypad, 5);
  const double x0 = xt.front(), x1 = xt.back(), y0 = yt.front(), y1 = yt.back();
  auto sx = [&](double x) {
    return left + plotW * (logX ? (std::log10(x) - std::log10(x0)) / (std::log10(x1) - std::log10(x0)) : (x - x0) / (x1 - x0));
  };
  auto sy = [&](double y) { return top + plotH * (1 - (y - y0) / (y1 - y0)); };

  std::string s = open(p.name, width, height, p.title);
  s += "<g class=\"axes\">";
  for (double t : xt)
    s += "<line x1=\"" + px(sx(t)) + "\" x2=\"" + px(sx(t)) + "\" y1=\"" + px(top) + "\" y2=\"" + px(top + plotH) + "\" class=\"grid\"/>" +
         text(sx(t), top + plotH + 16, number(t, 3), "text-anchor=\"middle\"");
  for (double t : yt)
    s += "<line x1=\"" + px(left) + "\" x2=\"" + px(left + plotW) + "\" y1=\"" + px(sy(t)) + "\" y2=\"" + px(sy(t)) + "\" class=\"grid\"/>" +
         text(left - 6, sy(t) + 4, number(t, 4), "text-anchor=\"end\"");
  s += "<rect x=\"" + px(left) + "\" y=\"" + px(top) + "\" width=\"" + px(plotW) + "\" height=\"" + px(plotH) + "\" class=\"frame\"/>";
  s += text(left + plotW / 2, height - 10, p.xLabel + (logX ? " (log scale)" : ""), "text-anchor=\"middle\"");
  s += text(14, top + plotH / 2, p.yLabel, "text-anchor=\"middle\" transform=\"rotate(-90 14 " + px(top + plotH / 2) + ")\"");
  s += "</g><g class=\"marks\">";
  // Labels go beside their point (left of it in the right third, clear of the legend), at the
  // first height that overlaps no label placed before (about 6.5 px per character at 12 px).
  struct Box {
    double x0, y0, x1, y1;
  };
  std::vector<Box> placed;
  for (const auto& pt : p.points) {
    const double x = sx(pt.x), y = sy(pt.y);
    s += marker(pt.shape, x, y, seriesColor(pt.series), pt.hollow, pt.tooltip);
    if (pt.label.empty()) continue;
    const bool toLeft = x > left + plotW * 0.66;
    const double w = 6.5 * static_cast<double>(pt.label.size()), lx = toLeft ? x - 9 - w : x + 9;
    double ly = y - 7;
    for (double dy : {-7.0, 17.0, -21.0, 31.0, -35.0, 45.0}) {
      ly = y + dy;
      const Box b{lx, ly - 11, lx + w, ly + 2};
      if (std::none_of(placed.begin(), placed.end(),
                       [&](const Box& o) { return b.x0 < o.x1 && o.x0 < b.x1 && b.y0 < o.y1 && o.y0 < b.y1; }))
        break;
    }
    placed.push_back({lx, ly - 11, lx + w, ly + 2});
    s += text(lx, ly, pt.label, "class=\"point-label\"");
  }
  s += "</g><g class=\"legend\">";
  double ly = top + 8;
  for (size_t i = 0; i < p.series.size(); ++i, ly += 20)
    s += "<rect x=\"" + px(width - right + 16) + "\" y=\"" + px(ly - 6) + "\" width=\"12\" height=\"12\" fill=\"" + seriesColor(i) + "\"/>" +
         text(width - right + 34, ly + 4, p.series[i]);
  ly += 6;
  for (size_t i = 0; i < p.shapes.size(); ++i, ly += 20)
    s += marker(i, width - right + 22, ly, "#555", false, "") + text(width - right + 34, ly + 4, p.shapes[i]);
  if (!p.hollowMeans.empty()) s += marker(0, width - right + 22, ly, "#555", true, "") + text(width - right + 34, ly + 4, p.hollowMeans);
  return s + "</g></svg>";
}

std::string barChart(const BarChart& c) {
  const size_t nSeries = std::max<size_t>(1, c.series.size());
  const double labelW = 280, plotW = 380, valueW = 60, barH = 14, gap = 8, top = (c.series.size() > 1 ? 54 : 36) + (c.markers.size() > 1 ? 12 : 0), axisH = 40;
  const double groupH = nSeries * barH + gap;
  const double width = labelW + plotW + valueW, height = top + groupH * static_cast<double>(c.bars.size()) + axisH;
  double hi = c.maxValue;
  if (hi <= 0) {
    for (const auto& b : c.bars)
      for (double v : b.values) hi = std::max(hi, v);
    for (const auto& m : c.markers) hi = std::max(hi, m.value);
  }
  const std::vector<double> ticks = linearTicks(0, hi > 0 ? hi : 1, 4);
  const double end = c.maxValue > 0 ? c.maxValue : ticks.back();
  auto sx = [&](double v) { return labelW + plotW * std::clamp(v, 0.0, end) / end; };

  std::string s = open(c.name, width, height, c.title);
  if (c.series.size() > 1) {
    double lx = labelW;
    for (size_t i = 0; i < c.series.size(); ++i) {
      s += "<rect x=\"" + px(lx) + "\" y=\"28\" width=\"12\" height=\"12\" fill=\"" + seriesColor(i) + "\"/>" + text(lx + 16, 38, c.series[i]);
      lx += 30 + 6.5 * static_cast<double>(c.series[i].size());
    }
  }
  const double bottomY = top + groupH * static_cast<double>(c.bars.size());
  s += "<g class=\"axes\">";
  for (double t : ticks) {
    if (t > end * (1 + 1e-9)) break;
    s += "<line x1=\"" + px(sx(t)) + "\" x2=\"" + px(sx(t)) + "\" y1=\"" + px(top - 4) + "\" y2=\"" + px(bottomY) + "\" class=\"grid\"/>" +
         text(sx(t), bottomY + 16, number(t, 3), "text-anchor=\"middle\"");
  }
  s += text(labelW + plotW / 2, bottomY + 32, c.unit, "text-anchor=\"middle\" class=\"unit\"") + "</g><g class=\"marks\">";
  for (size_t b = 0; b < c.bars.size(); ++b) {
    const Bar& bar = c.bars[b];
    const double y = top + groupH * static_cast<double>(b);
    std::string label = bar.label;
    // About 6.5 px per character at 12 px: longer labels keep their end (where names differ).
    if (label.size() > 40) label = "…" + label.substr(label.size() - 39);
    s += "<text x=\"" + px(labelW - 8) + "\" y=\"" + px(y + nSeries * barH / 2 + 4) + "\" text-anchor=\"end\"><title>" + escape(bar.label) +
         "</title>" + escape(label) + "</text>";
    for (size_t i = 0; i < bar.values.size() && i < nSeries; ++i) {
      const double v = bar.values[i], by = y + barH * static_cast<double>(i);
      const std::string color = !bar.color.empty() && nSeries == 1 ? bar.color : seriesColor(i);
      // A bar is at least a pixel wide, so that a zero is still a visible mark.
      const double w = std::max(1.0, sx(v) - labelW);
      const std::string tip = (bar.tooltip.empty() ? bar.label : bar.tooltip) + (c.series.size() > 1 ? " — " + c.series[i] : "") + ": " +
                              number(v, 4) + (c.unit.empty() ? "" : " " + c.unit);
      s += "<rect x=\"" + px(labelW) + "\" y=\"" + px(by + 1) + "\" width=\"" + px(w) + "\" height=\"" + px(barH - 2) + "\" fill=\"" + color +
           "\"><title>" + escape(tip) + "</title></rect>";
      s += text(labelW + w + 4, by + barH - 3, number(v, 3), "class=\"bar-value\"");
    }
  }
  s += "</g><g class=\"markers\">";
  for (size_t i = 0; i < c.markers.size(); ++i) {
    const auto& m = c.markers[i];
    const double ly = top - 6 - 11 * static_cast<double>(i % 2);  // neighbours' labels on two lines
    s += "<line x1=\"" + px(sx(m.value)) + "\" x2=\"" + px(sx(m.value)) + "\" y1=\"" + px(ly) + "\" y2=\"" + px(bottomY) +
         "\" class=\"marker\"/>" + text(sx(m.value) + 3, ly - 1, m.label, "class=\"marker-label\"");
  }
  return s + "</g></svg>";
}

}  // namespace edgeopt::api::svg
