// Early exits (`edgeopt exits`, BranchyNet-style): small classifier heads at points along the
// backbone, trained by distillation from the final head with the backbone frozen (so the final
// exit's outputs, and its int8 calibration, do not move), and a confidence threshold per exit
// chosen on held-out data to minimise the expected MACs within an accuracy budget.
//
// An exit point is a tensor that is the only one live at its place in the execution order (not
// inside a skip connection), so everything after it depends on it alone. The head: average pooling
// to a grid x grid map (global pooling when the map does not divide), Flatten, Gemm.
//
// The policy, for any runtime: compute the exits in order; the first whose largest softmax
// probability reaches its threshold gives the answer; when none does, the final output does. The
// multi-exit model keeps the original output first and adds one output per exit ("exit_1", ...);
// its metadata "edgeopt.exits" (JSON) holds the policy, each exit's output, tensor, threshold and
// the MACs spent when a sample leaves there (backbone up to the point plus every head evaluated).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "api/runner.h"
#include "compiler/data/dataset.h"
#include "compiler/ir/ir.h"
#include "compiler/ir/status.h"
#include "compiler/train/trainer.h"

namespace edgeopt::api {

// How sure an exit is of a sample, from its logits; a sample leaves at the first exit whose
// confidence is at least its threshold. kMaxSoftmax: the largest softmax probability. kEntropy:
// 1 - H(softmax) / ln(classes), 1 for a certain answer and 0 for a uniform one.
enum class Confidence { kMaxSoftmax, kEntropy };
StatusOr<Confidence> parseConfidence(const std::string& name);  // "max-softmax" or "entropy"
const char* confidenceName(Confidence c);                        // "max_softmax" or "entropy" (metadata)
// The confidence of one row of logits, and its top class in *predicted.
float exitConfidence(const float* logits, int64_t classes, Confidence kind, int64_t* predicted);

struct ExitOptions {
  data::DataOptions data;                           // labelled training data (never the test set)
  std::vector<std::string> points;                  // tensors to exit after; empty: by MACs
  std::vector<double> macFractions = {0.25, 0.5, 0.75};  // automatic points: nearest these shares of MACs
  // The last heldOut fraction of the loaded samples is not trained on: its first half chooses the
  // thresholds, its second half checks them.
  double heldOut = 0.3;
  double budgetPoints = 0.5;     // top-1 loss allowed against the final exit, in points
  double maxAverageMacs = -1;    // > 0: a goal (share of the model's MACs) that the choice must reach
  int grid = 4;                  // heads pool to grid x grid
  Confidence confidence = Confidence::kMaxSoftmax;
  // The heads' training (distillation from the final output): 10 epochs, learning rate 0.05,
  // weight decay 1e-4 unless set.
  train::TrainOptions optimizer = headTraining();
  static train::TrainOptions headTraining() {
    train::TrainOptions t;
    t.epochs = 10;
    t.learningRate = 0.05;
    t.weightDecay = 1e-4;
    return t;
  }
  RunnerOptions runner = runnerOptionsFor("x86");
};

// The policy a multi-exit model carries (its metadata).
struct ExitPolicy {
  struct Exit {
    std::string output, tensor;
    double threshold = 1.1;    // > 1: never taken
    int64_t macs = 0;          // spent by a sample that leaves here
    double rate = -1;          // the share of the held-out samples that left here (-1: not recorded)
  };
  std::vector<Exit> exits;     // in execution order
  Confidence confidence = Confidence::kMaxSoftmax;
  std::string finalOutput;
  int64_t finalMacs = 0;       // spent by a sample that takes no exit (every head included)
  int64_t backboneMacs = 0;    // the model without exits
};
// The policy in the model's metadata; nullopt when it has none; an error when it is malformed or
// names outputs the model does not have.
StatusOr<std::optional<ExitPolicy>> exitPolicyOf(const ir::Model& model);

// What the policy does on a set of samples: per exit, the samples that leave there and how many of
// those are right; the final output's share; the cascade's accuracy and average MACs.
struct ExitStats {
  int64_t samples = 0;
  std::vector<int64_t> taken, correct;  // per exit, then the final output last
  int64_t cascadeCorrect = 0, finalCorrect = 0;
  double averageMacs = 0;
  double cascadeMsPerSample = -1, backboneMsPerSample = -1;  // measured by evaluateExits (the runtime), else -1
  double cascadeTop1() const { return samples ? static_cast<double>(cascadeCorrect) / samples : 0; }
  // Exit e's (the final output's for e == exits) share of the samples, and the top-1 of those that
  // left there (-1 when none did).
  double rate(size_t e) const { return samples ? static_cast<double>(taken[e]) / static_cast<double>(samples) : 0; }
  double accuracy(size_t e) const { return taken[e] ? static_cast<double>(correct[e]) / static_cast<double>(taken[e]) : -1; }
  double finalTop1() const { return samples ? static_cast<double>(finalCorrect) / samples : 0; }
};
// confidences[e][i], predictions[e][i]: exit e's largest softmax probability and class for sample i
// (the final output last).
ExitStats applyExitPolicy(const ExitPolicy& policy, const std::vector<std::vector<float>>& confidences,
                          const std::vector<std::vector<int64_t>>& predictions, const std::vector<int64_t>& labels);

struct ExitReport {
  int64_t trainSamples = 0, calibrationSamples = 0, checkSamples = 0;
  ExitPolicy policy;
  std::vector<double> headHeldOutTop1;  // each head alone on the calibration half
  ExitStats calibration, check;         // the chosen thresholds on each half
  double seconds = 0;
};

// Adds the trained heads and the chosen policy to `model` (fp32 or QDQ int8: the thresholds are
// chosen on the model as given, so give the int8 model to calibrate them for int8).
Status addExits(ir::Model& model, const ExitOptions& options, ExitReport* report);

std::string exitReportText(const ExitReport& r);
// One set's figures (eval of a multi-exit model): text lines, or a JSON object.
std::string exitStatsText(const ExitPolicy& policy, const ExitStats& stats);
std::string exitStatsJson(const ExitPolicy& policy, const ExitStats& stats);
std::string exitReportJson(const ExitReport& r);

// The runtime of the policy: the backbone cut at the exit points into segments, each ending in its
// exit's head, every one on the chosen target. A batch runs segment 1 with head 1; the samples whose
// confidence passes leave with that head's logits, the rest (compacted) go on through segment 2,
// and so on; what reaches the end gets the final output. A sample's answer does not depend on the
// batch it came in.
class ExitCascade {
 public:
  static StatusOr<std::unique_ptr<ExitCascade>> create(const ir::Model& multiExit, const ExitPolicy& policy,
                                                       const RunnerOptions& runner);
  ~ExitCascade();
  // input [batch, ...]: the logits [batch, classes] each sample left with, and the exit it took
  // (exits().size() for the final output).
  StatusOr<ir::Tensor> run(const ir::Tensor& input, std::vector<int>* exitTaken);
  const ExitPolicy& policy() const { return policy_; }
  // Runs every segment once at each batch size a batch of up to maxBatch can be compacted to, so
  // that a target that plans per input shape has its plans before the first timed run.
  Status prepare(const ir::Tensor& sample, int64_t maxBatch);

 private:
  ExitCascade() = default;
  // Segment e on `carried`: {the tensor handed on, head e's logits} for e < exits, else {logits}.
  StatusOr<std::vector<ir::Tensor>> runSegment(size_t e, const ir::Tensor& carried);
  ExitPolicy policy_;
  std::vector<std::unique_ptr<ModelRunner>> segments_;  // segment e < exits also outputs head e's logits
  // For targets with one float input and output (TargetInfo::singleFloatInputOutput): segment e <
  // exits gives [rows, C*H*W + classes], the dequantized feature map it hands on followed by the
  // head's logits, and segment e > 0 quantizes that map again first (exactly the int8 tensor the
  // backbone holds there). Per segment, the map's dims {C, H, W}; empty for multi-output targets.
  std::vector<std::vector<int64_t>> packedMapDims_;
  bool padBatches_ = false;  // TargetInfo::plansPerInputShape: compacted batches padded to 1, 2, 4 or multiples of 8
};

// The tensor a head reads as the backbone holds it: in a QDQ model the int8 tensor whose
// DequantizeLinear output the exit names (what a cut there sends), else the exit's tensor.
std::string exitSentTensor(const ir::Graph& g, const std::string& tensor);
// An exit's head as a model of its own: input exitSentTensor(...), output the exit's logits.
StatusOr<ir::Model> exitHead(const ir::Model& multiExit, const ExitPolicy::Exit& exit);
// Copies `head` into g, reading g's tensor of the head's input name; the logits become an output of g.
Status attachExitHead(ir::Graph& g, const ir::Model& head);

// A cascade segment for a target with one float input and output: with quantizeInput, an int8
// graph input becomes a float input quantized again first (with the scale of its DequantizeLinear:
// the same int8 tensor); with packOutputs, the two outputs (the int8 tensor handed on, the head's
// logits) become one [N, C*H*W + classes] float output, the map dequantized. mapDims gets {C,H,W}.
Status packSegment(ir::Graph& g, bool quantizeInput, bool packOutputs, std::vector<int64_t>* mapDims);

// The model without its exits: the heads removed, the original output only, no exit metadata.
StatusOr<ir::Model> withoutExits(const ir::Model& multiExit, const ExitPolicy& policy);

// Evaluates a multi-exit model on labelled data: each batch through the ExitCascade on the target
// and through the model without exits, alternating, for the accuracy, the exit taken per sample,
// the average MACs and the time per sample of both.
StatusOr<ExitStats> evaluateExits(const ir::Model& model, const ExitPolicy& policy, const data::DataOptions& data,
                                  const RunnerOptions& runner, int64_t batch);

}  // namespace edgeopt::api
