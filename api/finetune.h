// `edgeopt finetune` and the C++ API: knowledge-distillation fine-tuning of a (pruned) student
// from its uncompressed teacher with the built-in trainer (compiler/train/trainer.h). The
// training data is loaded into memory; its last `heldOut` fraction is never trained on and picks
// the epoch kept (early stopping). The teacher's logits are computed once (no augmentation) on
// the x86 target, as are the held-out accuracies.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "compiler/data/dataset.h"
#include "compiler/ir/ir.h"
#include "compiler/ir/status.h"
#include "compiler/train/trainer.h"

namespace edgeopt::api {

struct FinetuneOptions {
  data::DataOptions data;     // labelled training data (never the test set)
  double heldOut = 0.1;       // fraction of the loaded samples held out, in [0, 0.5]
  train::TrainOptions optimizer;
  std::string target = "x86";  // runs the teacher and the held-out evaluation
};

struct FinetuneResult {
  int64_t trainSamples = 0, heldOutSamples = 0;
  double teacherHeldOutTop1 = -1, studentHeldOutTop1Before = -1, studentHeldOutTop1After = -1;
  std::vector<train::EpochLog> epochs;
  double seconds = 0;
};

// teacher may be null (plain cross-entropy on the labels).
Status finetuneModel(ir::Model& student, const ir::Model* teacher, const FinetuneOptions& options, FinetuneResult* result,
                     const std::function<void(const train::EpochLog&)>& progress = nullptr);
std::string finetuneResultJson(const FinetuneResult& r);

}  // namespace edgeopt::api
