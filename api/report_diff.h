// `edgeopt report A/report.json B/report.json`: two compile reports side by side, row by row
// (target x precision), with what got worse marked. Worse means: top-1/top-5 down by 0.05 points
// or more; latency up by more than 10 % (the noise of a shared machine: compare runs from one
// machine); model size, memory or MACs up at all. Stage rows (prune / fine-tune) and the
// quantization settings (calibrator, samples) are compared too.
#pragma once

#include <string>
#include <vector>

#include "compiler/ir/status.h"

namespace edgeopt::api {

struct DiffCell {
  std::string metric;          // "top1", "latency_ms", "model_bytes", "memory_bytes", "macs"
  double a = 0, b = 0;         // NaN: absent in that report
  int verdict = 0;             // -1 worse in B, 0 same (within tolerance) or not comparable, +1 better
};

struct DiffRow {
  std::string key;             // "x86 int8", "stage pruned"
  bool inA = false, inB = false;
  std::vector<DiffCell> cells;
};

struct ReportDiff {
  std::string modelA, modelB;
  std::vector<std::pair<std::string, std::pair<std::string, std::string>>> settings;  // name -> (A, B), where they differ
  std::vector<DiffRow> rows;
  int regressions = 0;
};

// Reads two report.json files (schema edgeopt.report/1) and compares them.
StatusOr<ReportDiff> diffReportFiles(const std::string& pathA, const std::string& pathB);

// A table for the terminal (color: ANSI red for worse, green for better; otherwise the words
// "worse" / "better" mark them), and JSON.
std::string reportDiffText(const ReportDiff& d, bool color);
std::string reportDiffJson(const ReportDiff& d);
// One self-contained page: the same table (worse in red, better in green) and bar charts of
// latency and top-1, A against B.
std::string reportDiffHtml(const ReportDiff& d);

}  // namespace edgeopt::api
