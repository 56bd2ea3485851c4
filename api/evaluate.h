// Accuracy of a model on labelled data (`edgeopt eval`): streams the data in batches through the
// chosen target (reference executor by default) and counts top-1 / top-5 hits and the confusion matrix.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "api/runner.h"
#include "compiler/data/dataset.h"
#include "compiler/ir/ir.h"
#include "compiler/ir/status.h"

namespace edgeopt::api {

struct EvalOptions {
  data::DataOptions data;
  int64_t batchSize = 32;  // a model with a fixed batch dimension uses that instead
  bool keepPredictions = false;
  RunnerOptions runner;  // target (ref or x86) and threads
  std::function<void(int64_t done, int64_t total)> progress;  // called after each batch
};

struct EvalResult {
  int64_t samples = 0;
  int64_t classes = 0;
  int64_t top1Correct = 0;
  int64_t top5Correct = -1;                    // -1 when there are fewer than 5 classes
  std::vector<std::vector<int64_t>> confusion;  // [true class][predicted class]
  std::vector<int64_t> predictions;             // top-1 per sample in evaluation order (if kept)
  double seconds = 0;
};

// The model's first input receives the samples ([batch, sample dims...], float32); its first
// output must be [batch, classes] (trailing 1s allowed). Errors name the file/sample: a sample
// whose shape does not match the model input, a label outside [0, classes), data without labels.
StatusOr<EvalResult> evaluate(const ir::Model& model, const EvalOptions& options);
// The same with a runner already made for `model` (options.runner is then not used).
StatusOr<EvalResult> evaluate(const ir::Model& model, ModelRunner& runner, const EvalOptions& options);

// The batch size a model's first input fixes (a known first dimension), or nullopt when symbolic.
std::optional<int64_t> fixedBatch(const ir::Graph& graph);

// Checks that a data source's samples fit the model's (single, float32) input below the batch
// dimension; the error names the first sample and the shapes.
Status checkSamplesFitInput(const ir::Model& model, const data::DataSource& source);

std::string evalResultJson(const EvalResult& result, const std::string& modelPath, const std::string& dataPath);
std::string evalResultText(const EvalResult& result);

}  // namespace edgeopt::api
