// Budgets: what a CI job requires of compile's figures, checked against its report (a broken
// budget makes `edgeopt compile` exit 3, with every artifact still written).
//
// Grammar: budgets separated by commas, each `METRIC OP VALUE[UNIT]`:
//   METRIC   top1 | top5 | top1_drop | latency | size | memory | macs, optionally narrowed by
//            `.TARGET` and/or `.PRECISION` in either order (latency.x86.int8, size.int8,
//            top1_drop.arm-neon); without them the budget applies to every result row. And
//            peak_rss (the compile process, no target).
//   OP       <=  <  >=  >
//   VALUE    top1, top5, top1_drop: percentage points ("91.5", "0.5%"); latency: ms (default),
//            us, s; size and memory: B (default), KB, MB, GB (powers of 1000), KiB, MiB, GiB;
//            macs: a count, or K, M, G; peak_rss: MB.
// top1_drop is the reference top-1 minus the row's: the reference is the original model's (the
// report's first stage) when compile pruned or fine-tuned, else the fp32 row of the same target,
// else the fp32 row of x86 or ref.
#pragma once

#include <string>
#include <vector>

#include "compiler/ir/status.h"

namespace edgeopt::api {

struct CompileReport;

struct Budget {
  std::string text;               // as given, trimmed
  std::string metric, target, precision, op;
  double limit = 0;               // in the metric's unit (points, ms, bytes, MACs, MB)
  std::string unit;               // the unit it was given in (messages use it); "" = the metric's
  double unitFactor = 1;          // that unit in the metric's unit
};

struct BudgetCheck {
  Budget budget;
  std::string target, precision;  // the row checked ("" for peak_rss)
  double value = 0;               // in the metric's unit; meaningless when !measured
  bool measured = false, passed = false;
  std::string detail;             // one line: what was measured, or why nothing was
};

// The unit the figures of `metric` are given in ("points", "ms", "B", "MACs", "MB").
std::string budgetUnit(const std::string& metric);

// Parses a budget list; an unknown metric, target, precision, operator or unit is an error naming
// the budget.
StatusOr<std::vector<Budget>> parseBudgets(const std::string& spec);

// Checks each budget against every report row it applies to (one check per budget x row); a
// budget that no row answers, or a figure that was not measured, fails with the reason.
std::vector<BudgetCheck> checkBudgets(const std::vector<Budget>& budgets, const CompileReport& report);

// JUnit XML (one <testcase> per check, <failure> when broken), as GitLab, Jenkins and GitHub test
// reporters read it.
std::string budgetJunitXml(const std::vector<BudgetCheck>& checks, const std::string& suiteName);

// "latency.x86.int8 <= 5 ms: 6.21 ms" for a summary line.
std::string describeCheck(const BudgetCheck& check);

}  // namespace edgeopt::api
