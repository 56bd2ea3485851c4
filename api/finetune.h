// `edgeopt finetune` and the C++ API: knowledge-distillation fine-tuning of a (pruned) student
// from its uncompressed teacher with the built-in trainer (compiler/train/trainer.h). The
// training data is loaded into memory, or streamed from its files when larger than
// FinetuneOptions::inMemoryBytes; its last `heldOut` fraction is never trained on and picks the
// epoch kept (early stopping). The teacher's logits are computed once (no augmentation) on the
// x86 target, as are the held-out accuracies.
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
  // An external trainer instead of the built-in one: a command line (split on spaces, no shell)
  // in which {job} is replaced by the job folder. See hookProtocol below.
  std::string hook;
  int hookTimeoutSeconds = 3600;
  // Training samples up to this many bytes (float32, preprocessed) are decoded once and held in
  // memory; a larger set is streamed: decoded from its files again every epoch.
  int64_t inMemoryBytes = int64_t{1} << 30;
};

// The hook protocol (versioned: request "edgeopt.finetune-request/1", result
// "edgeopt.finetune-result/1"). edgeopt writes the job folder:
//   student.onnx, teacher.onnx (teacher absent: plain cross-entropy)
//   train_x.npy [n, ...] float32, train_y.npy [n] int64, teacher_logits.npy [n, classes] float32,
//   held_x.npy, held_y.npy (the preprocessed samples: the hook does no preprocessing)
//   request.json: epochs, batch, seed, optimizer (sgd, lr, momentum, nesterov, weight_decay,
//     weight_decay_on, schedule "cosine"), loss (alpha, temperature), trainable (initializer
//     names), running_statistics (BatchNorm means/variances it may update), keep_zero_weights
//     (weights whose exact zeros must stay zero); nothing else may change
// runs the command in its own process group with the job folder's path in place of {job}
// (stdout and stderr to hook.stdout / hook.stderr there), shows each line the hook appends to
// progress.jsonl ({"epoch", "loss", "held_out_top1"}), and on exit 0 reads student_out.onnx (the
// student's graph with trained initializer values) and result.json ({"schema",
// "teacher_held_out_top1", "student_held_out_top1", "epochs": [...]}). It refuses a changed
// graph, non-finite values, a lost zero, or a teacher held-out accuracy more than 0.5 points
// from edgeopt's own. On a timeout the process group gets SIGTERM, then SIGKILL after 5 s; the
// group is always ended when the hook returns. The job folder is removed afterwards.

struct FinetuneResult {
  int64_t trainSamples = 0, heldOutSamples = 0;
  bool streamed = false;  // the samples were read from their files every epoch (FinetuneOptions::inMemoryBytes)
  double teacherHeldOutTop1 = -1, studentHeldOutTop1Before = -1, studentHeldOutTop1After = -1;
  std::vector<train::EpochLog> epochs;
  double seconds = 0;
};

// What fine-tuning reports while it runs (either may be empty).
struct FinetuneProgress {
  std::function<void(const train::EpochLog&)> epoch;  // after every epoch (built-in trainer or hook)
  std::function<void(const train::StepLog&)> step;    // after every step (built-in trainer only)
};

// teacher may be null (plain cross-entropy on the labels).
Status finetuneModel(ir::Model& student, const ir::Model* teacher, const FinetuneOptions& options, FinetuneResult* result,
                     const FinetuneProgress& progress = {});
std::string finetuneResultJson(const FinetuneResult& r);

}  // namespace edgeopt::api
