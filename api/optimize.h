// Graph optimization for `edgeopt optimize` and the C++ API: runs the cleanup pipeline (or a
// named list of passes) over a model and reports what each pass did.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "compiler/ir/ir.h"
#include "compiler/ir/status.h"
#include "compiler/pass/pass_manager.h"

namespace edgeopt::api {

struct OptimizeOptions {
  std::vector<std::string> passes;  // empty: the default pipeline (passes/registry.h)
  bool verify = false;              // IR verifier + reference-executor equivalence after every pass
  int maxIterations = 4;            // repeat the pipeline until nothing changes, at most this often
  std::map<std::string, std::vector<int64_t>> inputShapes;  // for --verify's random inputs
  // When set, the model is exported to dumpPath after the pass named dumpAfter.
  std::string dumpAfter, dumpPath;
};

struct OptimizeReport {
  std::vector<pass::PassRecord> passes;
  size_t nodesBefore = 0, nodesAfter = 0;
  std::map<std::string, int64_t> opsBefore, opsAfter;
};

// Optimizes `model` in place. On failure `report` still holds the passes that ran, and no dump
// file is left behind.
Status optimize(ir::Model& model, const OptimizeOptions& options, OptimizeReport* report);

// The per-pass table `edgeopt optimize` prints.
std::string optimizeReportTable(const OptimizeReport& report, bool verify);
// The same as JSON, with the files written (dumpPath "" when none).
std::string optimizeReportJson(const OptimizeReport& report, const std::string& output, const std::string& dumpPath);

// "name: description" for every known pass, in default pipeline order.
std::vector<std::string> describePasses();

}  // namespace edgeopt::api
