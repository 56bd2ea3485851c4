// Latency of a model on a target (`edgeopt bench`): warm-up runs, then timed runs on seeded random
// inputs; median / p90 / min latency, throughput, peak memory and, for a target with a per-step
// view (x86), the profile: which primitive or kernel ran, its share of the time, achieved GOP/s
// against the peak the target measures on this machine.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "api/runner.h"
#include "compiler/ir/ir.h"
#include "compiler/ir/status.h"

namespace edgeopt::api {

struct BenchOptions {
  RunnerOptions runner;
  std::map<std::string, std::vector<int64_t>> inputShapes;  // by input name; symbolic dims default to 1
  int warmup = 5;
  int iters = 50;
};

struct StepProfile {
  std::string node, op, kernel;
  double medianMs = 0;
  double share = 0;       // of the summed step medians
  double gops = 0;        // 2 * MACs / time, 0 without MACs
  double peakShare = 0;   // gops against the measured peak of its precision (0 when unknown)
  int64_t macs = 0;       // multiply-accumulates (conv, gemm), else 0
  int64_t outputs = 0;    // elements the step writes
};

struct BenchResult {
  std::string target;
  int threads = 1;
  std::vector<std::vector<int64_t>> inputDims;
  int64_t batch = 1;
  int iters = 0;
  double medianMs = 0, p90Ms = 0, minMs = 0;
  double throughput = 0;      // samples (first input's batch) per second at the median
  double peakRssMb = 0;       // process high-water mark, includes the model and plan
  int64_t arenaBytes = 0;     // the target's intermediates arena (0: not reported)
  int64_t weightBytes = 0;    // the target's packed weights (0: not reported)
  double peakGopsInt8 = 0, peakGopsFp32 = 0;  // measured peak x threads (0: unknown)
  double outputStageGoutputs = 0;  // measured int8 output-stage rate x threads, G outputs/s
  std::vector<StepProfile> steps;  // in the target's step order (empty: no per-step view)
};

// The runner lowers a QDQ model for its target (ModelRunner::create).
StatusOr<BenchResult> benchmark(const ir::Model& model, const BenchOptions& options);
// The same with a runner already made for `model` with options.runner.
StatusOr<BenchResult> benchmark(const ir::Model& model, ModelRunner& runner, const BenchOptions& options);

std::string benchResultText(const BenchResult& r, int topSteps);
std::string benchResultJson(const BenchResult& r);

}  // namespace edgeopt::api
