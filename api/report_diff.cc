#include "api/report_diff.h"

#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>

#include "api/svg_plot.h"
#include "compiler/support/files.h"

namespace edgeopt::api {
namespace {

constexpr double kAbsent = std::numeric_limits<double>::quiet_NaN();

StatusOr<nlohmann::json> readReport(const std::string& path) {
  EDGEOPT_ASSIGN_OR_RETURN(const std::string text, support::readFile(path));
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return invalidInput(path + ": not JSON");
  if (j.value("schema", "") != "edgeopt.report/1")
    return invalidInput(path + ": not an edgeopt compile report (schema '" + j.value("schema", std::string("none")) +
                        "', expected 'edgeopt.report/1')");
  if (!j.contains("results") || !j["results"].is_array()) return invalidInput(path + ": has no results");
  return j;
}

double number(const nlohmann::json& j, std::initializer_list<const char*> path) {
  const nlohmann::json* at = &j;
  for (const char* k : path) {
    if (!at->is_object() || !at->contains(k)) return kAbsent;
    at = &(*at)[k];
  }
  return at->is_number() ? at->get<double>() : kAbsent;
}

// Row key -> metric -> value, for one report.
std::map<std::string, std::map<std::string, double>> rowsOf(const nlohmann::json& j) {
  std::map<std::string, std::map<std::string, double>> rows;
  for (const auto& r : j["results"]) {
    auto& m = rows[r.value("target", "?") + " " + r.value("precision", "?")];
    m["top1"] = number(r, {"accuracy", "top1"});
    m["latency_ms"] = number(r, {"latency_ms", "median"});
    m["model_bytes"] = number(r, {"model_bytes"});
    const double arena = number(r, {"memory_bytes", "arena"}), packed = number(r, {"memory_bytes", "packed_weights"});
    m["memory_bytes"] = arena + packed;
    m["macs"] = number(r, {"macs"});
  }
  if (j.contains("stages"))
    for (const auto& s : j["stages"]) {
      auto& m = rows["stage " + s.value("stage", "?")];
      m["top1"] = number(s, {"top1"});
      m["model_bytes"] = number(s, {"model_bytes"});
      m["macs"] = number(s, {"macs"});
    }
  return rows;
}

// -1 when b is worse than a beyond the metric's tolerance, +1 when better, else 0.
int verdictOf(const std::string& metric, double a, double b) {
  if (std::isnan(a) || std::isnan(b)) return 0;
  if (metric == "top1") return b - a <= -0.0005 ? -1 : b - a >= 0.0005 ? 1 : 0;
  if (metric == "latency_ms") return b > a * 1.10 ? -1 : b < a / 1.10 ? 1 : 0;
  return b > a ? -1 : b < a ? 1 : 0;
}

std::string settingOf(const nlohmann::json& j, const char* section, const char* key) {
  if (!j.contains(section) || !j[section].contains(key)) return "-";
  const auto& v = j[section][key];
  return v.is_string() ? v.get<std::string>() : v.dump();
}

std::string formatCell(const std::string& metric, double v) {
  if (std::isnan(v)) return "-";
  char b[48];
  if (metric == "top1") std::snprintf(b, sizeof b, "%.2f%%", 100 * v);
  else if (metric == "latency_ms") std::snprintf(b, sizeof b, "%.4g ms", v);
  else if (metric == "macs") std::snprintf(b, sizeof b, "%.4g M", v / 1e6);
  else std::snprintf(b, sizeof b, "%.1f KB", v / 1024);
  return b;
}

// B - A in the metric's terms: points for top-1, percent for latency and MACs, bytes for sizes.
std::string formatDelta(const std::string& metric, double a, double b) {
  if (std::isnan(a) || std::isnan(b)) return "";
  char s[48];
  if (metric == "top1") std::snprintf(s, sizeof s, "%+.2f pt", 100 * (b - a));
  else if (metric == "latency_ms" || metric == "macs") std::snprintf(s, sizeof s, "%+.1f %%", a > 0 ? 100 * (b - a) / a : 0.0);
  else std::snprintf(s, sizeof s, "%+.0f B", b - a);
  return s;
}

}  // namespace

StatusOr<ReportDiff> diffReportFiles(const std::string& pathA, const std::string& pathB) {
  EDGEOPT_ASSIGN_OR_RETURN(const nlohmann::json a, readReport(pathA));
  EDGEOPT_ASSIGN_OR_RETURN(const nlohmann::json b, readReport(pathB));
  ReportDiff d;
  d.modelA = a.value("model", "");
  d.modelB = b.value("model", "");
  for (const char* key : {"calibrator", "calibration_samples"}) {
    const std::string sa = settingOf(a, "quantization", key), sb = settingOf(b, "quantization", key);
    if (sa != sb) d.settings.push_back({std::string("quantization ") + key, {sa, sb}});
  }
  if (d.modelA != d.modelB) d.settings.push_back({"model", {d.modelA, d.modelB}});
  const auto rowsA = rowsOf(a), rowsB = rowsOf(b);
  std::vector<std::string> keys;
  for (const auto& [k, v] : rowsA) keys.push_back(k);
  for (const auto& [k, v] : rowsB)
    if (!rowsA.count(k)) keys.push_back(k);
  for (const std::string& k : keys) {
    DiffRow row;
    row.key = k;
    row.inA = rowsA.count(k) > 0;
    row.inB = rowsB.count(k) > 0;
    for (const char* metric : {"top1", "latency_ms", "model_bytes", "memory_bytes", "macs"}) {
      const double va = row.inA && rowsA.at(k).count(metric) ? rowsA.at(k).at(metric) : kAbsent;
      const double vb = row.inB && rowsB.at(k).count(metric) ? rowsB.at(k).at(metric) : kAbsent;
      if (std::isnan(va) && std::isnan(vb)) continue;
      DiffCell c{metric, va, vb, verdictOf(metric, va, vb)};
      d.regressions += c.verdict < 0;
      row.cells.push_back(c);
    }
    d.rows.push_back(row);
  }
  return d;
}

std::string reportDiffText(const ReportDiff& d, bool color) {
  std::string s = "A: " + d.modelA + "\nB: " + d.modelB + "\n";
  for (const auto& [name, values] : d.settings) s += name + ": " + values.first + " -> " + values.second + "\n";
  char line[256];
  std::snprintf(line, sizeof line, "\n%-18s %-13s %14s %14s %11s\n", "row", "metric", "A", "B", "B - A");
  s += line;
  for (const auto& row : d.rows) {
    if (!row.inA || !row.inB) {
      s += row.key + ": only in " + (row.inA ? "A" : "B") + "\n";
      continue;
    }
    for (const auto& c : row.cells) {
      const char* mark = c.verdict < 0 ? (color ? "\033[31mworse\033[0m" : "worse") : c.verdict > 0 ? (color ? "\033[32mbetter\033[0m" : "better") : "";
      std::snprintf(line, sizeof line, "%-18s %-13s %14s %14s %11s  %s\n", row.key.c_str(), c.metric.c_str(), formatCell(c.metric, c.a).c_str(),
                    formatCell(c.metric, c.b).c_str(), formatDelta(c.metric, c.a, c.b).c_str(), mark);
      s += line;
    }
  }
  s += "\n" + std::to_string(d.regressions) + " figure(s) worse in B (top-1 down >= 0.05 points, latency up > 10 %, size/memory/MACs up).\n";
  return s;
}

std::string reportDiffHtml(const ReportDiff& d) {
  using svg::escape;
  std::string b = "<h1>edgeopt report diff</h1>\n<p class=\"sub\">A: <code>" + escape(d.modelA) + "</code><br>B: <code>" + escape(d.modelB) +
                  "</code></p>\n<p>" + (d.regressions ? "<span class=\"fail\">" + std::to_string(d.regressions) + " figure(s) worse in B</span>"
                                                         : std::string("<span class=\"pass\">nothing worse in B</span>")) +
                  " (worse: top-1 down by 0.05 points or more, latency up by more than 10 %, size, memory or MACs up at all).</p>\n";
  if (!d.settings.empty()) {
    b += "<h2>Settings that differ</h2>\n<table><tr><th>setting</th><th>A</th><th>B</th></tr>\n";
    for (const auto& [name, values] : d.settings)
      b += "<tr><td>" + escape(name) + "</td><td>" + escape(values.first) + "</td><td>" + escape(values.second) + "</td></tr>\n";
    b += "</table>\n";
  }
  b += "<h2>Rows</h2>\n<table><tr><th>row</th><th>figure</th><th>A</th><th>B</th><th>B − A</th><th></th></tr>\n";
  svg::BarChart latency, accuracy;
  latency.name = "diff-latency", latency.title = "Latency, A against B", latency.unit = "ms", latency.series = {"A", "B"};
  accuracy.name = "diff-top1", accuracy.title = "Top-1, A against B", accuracy.unit = "%", accuracy.series = {"A", "B"};
  for (const auto& row : d.rows) {
    if (!row.inA || !row.inB) {
      b += "<tr><td>" + escape(row.key) + "</td><td colspan=\"5\">only in " + (row.inA ? "A" : "B") + "</td></tr>\n";
      continue;
    }
    for (const auto& c : row.cells) {
      const char* cls = c.verdict < 0 ? "worse" : c.verdict > 0 ? "better" : "";
      b += std::string("<tr><td>") + escape(row.key) + "</td><td>" + escape(c.metric) + "</td><td>" + escape(formatCell(c.metric, c.a)) +
           "</td><td class=\"" + cls + "\">" + escape(formatCell(c.metric, c.b)) + "</td><td class=\"" + cls + "\">" +
           escape(formatDelta(c.metric, c.a, c.b)) + "</td><td class=\"" + cls + "\">" + (c.verdict < 0 ? "worse" : c.verdict > 0 ? "better" : "") +
           "</td></tr>\n";
      if (std::isnan(c.a) || std::isnan(c.b)) continue;
      if (c.metric == "latency_ms") latency.bars.push_back({row.key, "", {c.a, c.b}, ""});
      if (c.metric == "top1") accuracy.bars.push_back({row.key, "", {100 * c.a, 100 * c.b}, ""});
    }
  }
  b += "</table>\n";
  for (const auto* chart : {&latency, &accuracy})
    if (!chart->bars.empty()) b += "<figure>" + svg::barChart(*chart) + "</figure>\n";
  return svg::page("edgeopt report diff", b);
}

std::string reportDiffJson(const ReportDiff& d) {
  nlohmann::json j;
  j["a"] = d.modelA;
  j["b"] = d.modelB;
  nlohmann::json settings = nlohmann::json::object();
  for (const auto& [name, values] : d.settings) settings[name] = {{"a", values.first}, {"b", values.second}};
  j["settings_differ"] = settings;
  nlohmann::json rows = nlohmann::json::array();
  auto num = [](double v) { return std::isnan(v) ? nlohmann::json(nullptr) : nlohmann::json(v); };
  for (const auto& r : d.rows) {
    nlohmann::json cells = nlohmann::json::array();
    for (const auto& c : r.cells)
      cells.push_back({{"metric", c.metric}, {"a", num(c.a)}, {"b", num(c.b)},
                       {"verdict", c.verdict < 0 ? "worse" : c.verdict > 0 ? "better" : "same"}});
    rows.push_back({{"row", r.key}, {"in_a", r.inA}, {"in_b", r.inB}, {"figures", cells}});
  }
  j["rows"] = rows;
  j["worse"] = d.regressions;
  return j.dump(2);
}

}  // namespace edgeopt::api
