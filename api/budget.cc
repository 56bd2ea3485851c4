#include "api/budget.h"

#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>

#include "api/compile.h"
#include "compiler/support/text.h"
#include "targets/target.h"

namespace edgeopt::api {
namespace {

const std::map<std::string, std::string>& metricUnits() {
  static const std::map<std::string, std::string> units = {
      {"top1", "points"}, {"top5", "points"}, {"top1_drop", "points"}, {"latency", "ms"}, {"size", "B"},
      {"memory", "B"},    {"macs", "MACs"},   {"peak_rss", "MB"}};
  return units;
}

std::string trim(const std::string& s) {
  const size_t a = s.find_first_not_of(" \t"), b = s.find_last_not_of(" \t");
  return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

// The factor from `unit` to the metric's own unit; 0 when the unit does not fit the metric.
double unitFactor(const std::string& metric, const std::string& unit) {
  const std::string base = budgetUnit(metric);
  if (unit.empty()) return 1;
  if (base == "points") return unit == "%" ? 1 : 0;
  if (base == "ms") return unit == "ms" ? 1 : unit == "us" ? 1e-3 : unit == "s" ? 1e3 : 0;
  if (base == "B") {
    static const std::map<std::string, double> bytes = {{"B", 1},       {"KB", 1e3},           {"MB", 1e6},
                                                        {"GB", 1e9},    {"KiB", 1024.0},       {"MiB", 1048576.0},
                                                        {"GiB", 1073741824.0}};
    auto it = bytes.find(unit);
    return it == bytes.end() ? 0 : it->second;
  }
  if (base == "MACs") return unit == "K" ? 1e3 : unit == "M" ? 1e6 : unit == "G" ? 1e9 : 0;
  if (base == "MB") return unit == "MB" ? 1 : 0;
  return 0;
}

std::string formatValue(double v) {
  char b[64];
  std::snprintf(b, sizeof b, "%.4g", v);
  return b;
}

bool holds(double value, const std::string& op, double limit) {
  if (op == "<=") return value <= limit;
  if (op == "<") return value < limit;
  if (op == ">=") return value >= limit;
  return value > limit;
}

// The top-1 (fraction) the drop of `row` is measured from; -1 when there is none.
double referenceTop1(const CompileReport& r, const CompileEntry& row) {
  if (!r.stages.empty()) return r.stages.front().top1;
  for (const auto& e : r.entries)
    if (e.target == row.target && e.precision == "fp32" && e.top1 >= 0) return e.top1;
  for (const char* t : {"x86", "ref"})
    for (const auto& e : r.entries)
      if (e.target == t && e.precision == "fp32" && e.top1 >= 0) return e.top1;
  return -1;
}

}  // namespace

std::string budgetUnit(const std::string& metric) {
  auto it = metricUnits().find(metric);
  return it == metricUnits().end() ? "" : it->second;
}

StatusOr<std::vector<Budget>> parseBudgets(const std::string& spec) {
  std::vector<Budget> out;
  std::stringstream items(spec);
  for (std::string item; std::getline(items, item, ',');) {
    Budget b;
    b.text = trim(item);
    if (b.text.empty()) continue;
    auto bad = [&](const std::string& why) { return invalidInput("--budget '" + b.text + "': " + why); };
    const size_t opAt = b.text.find_first_of("<>");
    if (opAt == std::string::npos) return bad("expects METRIC OP VALUE with OP one of <=, <, >=, >");
    b.op = b.text.substr(opAt, b.text.size() > opAt + 1 && b.text[opAt + 1] == '=' ? 2 : 1);
    std::stringstream path(trim(b.text.substr(0, opAt)));
    std::getline(path, b.metric, '.');
    if (budgetUnit(b.metric).empty())
      return bad("unknown metric '" + b.metric + "' (top1, top5, top1_drop, latency, size, memory, macs, peak_rss)");
    for (std::string part; std::getline(path, part, '.');) {
      if (b.metric == "peak_rss") return bad("peak_rss is the compile process's and takes no target or precision");
      if (part == "fp32" || part == "int8") {
        if (!b.precision.empty()) return bad("names a precision twice");
        b.precision = part;
      } else if (targets::find(part).ok()) {
        if (!b.target.empty()) return bad("names a target twice");
        b.target = part;
      } else {
        return bad("'" + part + "' is neither a precision (fp32, int8) nor a target (" + targets::names() + ")");
      }
    }
    const std::string value = trim(b.text.substr(opAt + b.op.size()));
    size_t used = 0;
    try {
      b.limit = std::stod(value, &used);
    } catch (...) {
      return bad("'" + value + "' is not a number");
    }
    const std::string unit = trim(value.substr(used));
    const double factor = unitFactor(b.metric, unit);
    if (factor == 0 || !std::isfinite(b.limit))
      return bad("unit '" + unit + "' does not fit " + b.metric + " (in " + budgetUnit(b.metric) + "; see edgeopt compile --help)");
    b.limit *= factor;
    b.unit = unit;
    b.unitFactor = factor;
    out.push_back(b);
  }
  if (out.empty()) return invalidInput("--budget names no budget");
  return out;
}

std::vector<BudgetCheck> checkBudgets(const std::vector<Budget>& budgets, const CompileReport& r) {
  std::vector<BudgetCheck> checks;
  for (const Budget& b : budgets) {
    auto finish = [&](BudgetCheck c) {
      c.passed = c.measured && holds(c.value, b.op, b.limit);
      checks.push_back(std::move(c));
    };
    if (b.metric == "peak_rss") {
      BudgetCheck c{b, "", "", r.peakRssMb, true, false, ""};
      finish(c);
      continue;
    }
    bool any = false;
    for (const CompileEntry& e : r.entries) {
      if ((!b.target.empty() && e.target != b.target) || (!b.precision.empty() && e.precision != b.precision)) continue;
      any = true;
      BudgetCheck c{b, e.target, e.precision, 0, true, false, ""};
      if (b.metric == "top1" || b.metric == "top5") {
        const double v = b.metric == "top1" ? e.top1 : e.top5;
        c.measured = v >= 0;
        c.value = 100 * v;
        if (!c.measured) c.detail = b.metric + " was not measured (give compile --eval DATA with labels)";
      } else if (b.metric == "top1_drop") {
        const double ref = referenceTop1(r, e);
        c.measured = e.top1 >= 0 && ref >= 0;
        c.value = 100 * (ref - e.top1);
        if (!c.measured) c.detail = "top-1 was not measured for this row or an fp32 reference (give compile --eval DATA with labels)";
      } else if (b.metric == "latency") {
        c.value = e.latencyMedianMs;
        c.measured = e.latencyMedianMs > 0;
        if (e.latencyEstimated) c.detail = "an estimate, not a measurement";
        if (!c.measured) c.detail = "no latency figure for this row";
      } else if (b.metric == "size") {
        c.value = static_cast<double>(e.modelBytes);
      } else if (b.metric == "memory") {
        c.value = static_cast<double>(e.arenaBytes + e.packedWeightBytes);
      } else {
        c.value = static_cast<double>(e.macs);
      }
      finish(c);
    }
    if (!any) {
      BudgetCheck c{b, b.target, b.precision, 0, false, false, ""};
      c.detail = "the report has no " + (b.target.empty() ? std::string("") : b.target + " ") +
                 (b.precision.empty() ? std::string("") : b.precision + " ") + "result";
      finish(c);
    }
  }
  return checks;
}

std::string describeCheck(const BudgetCheck& c) {
  const Budget& b = c.budget;
  const std::string unit = b.unit.empty() || b.unit == "%" ? budgetUnit(b.metric) : b.unit;
  std::string s = b.metric + (c.target.empty() ? "" : "." + c.target) + (c.precision.empty() ? "" : "." + c.precision) + " " +
                  b.op + " " + formatValue(b.limit / b.unitFactor) + " " + unit + ": ";
  s += c.measured ? formatValue(c.value / b.unitFactor) + " " + unit : "not measured";
  if (!c.detail.empty()) s += " (" + c.detail + ")";
  return s;
}

std::string budgetJunitXml(const std::vector<BudgetCheck>& checks, const std::string& suiteName) {
  const auto escape = support::markupEscape;
  size_t failures = 0;
  for (const auto& c : checks) failures += !c.passed;
  std::string x = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  x += "<testsuites name=\"edgeopt budgets\" tests=\"" + std::to_string(checks.size()) + "\" failures=\"" +
       std::to_string(failures) + "\" errors=\"0\">\n";
  x += "  <testsuite name=\"" + escape(suiteName) + "\" tests=\"" + std::to_string(checks.size()) + "\" failures=\"" +
       std::to_string(failures) + "\" errors=\"0\" skipped=\"0\" time=\"0\">\n";
  for (const auto& c : checks) {
    const std::string cls = "edgeopt.budget" + (c.target.empty() ? std::string("") : "." + c.target) +
                            (c.precision.empty() ? std::string("") : "." + c.precision);
    x += "    <testcase classname=\"" + escape(cls) + "\" name=\"" + escape(c.budget.text) + "\" time=\"0\"";
    if (c.passed) {
      x += ">\n      <system-out>" + escape(describeCheck(c)) + "</system-out>\n    </testcase>\n";
    } else {
      x += ">\n      <failure message=\"" + escape(describeCheck(c)) + "\" type=\"budget\">" + escape(describeCheck(c)) +
           "</failure>\n    </testcase>\n";
    }
  }
  x += "  </testsuite>\n</testsuites>\n";
  return x;
}

}  // namespace edgeopt::api
