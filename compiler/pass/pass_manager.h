// Runs an explicit, ordered pipeline of passes over a model, optionally to a fixed point, and
// records what each pass did.
//
// --verify mode: the IR verifier runs after every pass, and the graph is executed with the
// reference executor on seeded random inputs before the pipeline and after every pass; the
// first pass that moves the outputs (relative to the graph before it) beyond its
// PassInfo::tolerance is named in the error.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "compiler/ir/ir.h"
#include "compiler/pass/pass.h"

namespace edgeopt::pass {

struct PassRecord {
  std::string name;
  int iteration = 1;  // 1-based pipeline iteration
  bool changed = false;
  size_t nodesBefore = 0, nodesAfter = 0;
  double milliseconds = 0;
  double maxRelativeError = -1;  // verify mode: drift of the outputs from the input model so far
};

struct PipelineOptions {
  bool verify = false;
  // Repeat the whole pipeline until no pass changes the graph, at most this many times.
  int maxIterations = 1;
  // Concrete sizes for symbolic input dims in verify mode (by input name); others become 1.
  std::map<std::string, std::vector<int64_t>> inputShapes;
  uint32_t seed = 1;
  // Called after each run of the pass named here (the last iteration's state wins).
  std::string dumpAfter;
  std::function<Status(const ir::Model&, const std::string& passName)> dump;
};

class PassManager {
 public:
  void add(std::shared_ptr<const Pass> pass) { passes_.push_back(std::move(pass)); }
  const std::vector<std::shared_ptr<const Pass>>& passes() const { return passes_; }

  // Ok, or an error naming the first pass whose prerequisites do not run before it.
  Status checkPrerequisites() const;

  // Runs the pipeline; `records` receives one entry per pass run (also on failure, up to it).
  Status run(ir::Model& model, const PipelineOptions& options, std::vector<PassRecord>* records) const;

 private:
  std::vector<std::shared_ptr<const Pass>> passes_;
};

// Random inputs for a graph: float inputs uniform in [-1, 1), integer and bool inputs zero.
StatusOr<std::vector<ir::Tensor>> randomInputs(const ir::Graph& graph,
                                               const std::map<std::string, std::vector<int64_t>>& shapes,
                                               uint32_t seed);

// max |a - b| / max |a| over every output (0 when identical); error on dtype/shape mismatch.
StatusOr<double> maxRelativeError(const std::vector<ir::Tensor>& reference,
                                  const std::vector<ir::Tensor>& actual);

}  // namespace edgeopt::pass
