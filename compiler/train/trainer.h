// The built-in fine-tuner: a float graph run forward with its activations kept and backward op by
// op, SGD with Nesterov momentum, weight decay on Conv/Gemm weights only, a cosine learning-rate
// schedule, and the knowledge-distillation loss
//     alpha * T^2 * KL(softmax(teacher / T) || softmax(student / T)) + (1 - alpha) * CE(student, label)
// averaged over the batch. Deterministic given the seed (one thread, fixed order).
//
// Ops with a backward here: Conv (any group count, stride, padding, dilation 1), Gemm (transA = 0)
// and MatMul with constant 2-D weights, BatchNormalization (trained: batch statistics, running
// statistics updated with momentum 0.1 as PyTorch does; or frozen: running statistics), Relu,
// Clip, HardSigmoid, HardSwish, Sigmoid (gradients at the kinks as PyTorch's), Add and Mul of two
// computed tensors with numpy broadcasting (a squeeze-excitation scale), Concat (not along the
// batch), MaxPool and AveragePool (2-D, symmetric padding, no ceil mode; count_include_pad either
// way), GlobalAveragePool, Flatten, Reshape to [batch, features], Identity, Dropout (identity). The graph takes one float input and gives one
// [batch, classes] output (the logits). Trainable: every Conv/Gemm/MatMul weight and bias and
// every BatchNorm scale and bias; weights that are exactly zero when training starts stay zero
// (unstructured pruning masks survive).
//
// Templated on the scalar so that the gradient checks run in double; training runs in float.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "compiler/ir/ir.h"
#include "compiler/ir/status.h"

namespace edgeopt::train {

struct TrainOptions {
  int epochs = 2;
  int64_t batch = 64;
  double learningRate = 0.01;
  double momentum = 0.9;
  double weightDecay = 5e-4;
  double alpha = 0.7;        // weight of the distillation term
  double temperature = 4;    // T
  bool freezeBatchNorm = false;
  uint32_t seed = 0;
};

struct EpochLog {
  int epoch = 0;
  double loss = 0, trainTop1 = 0, heldOutTop1 = -1, seconds = 0;
};

// After every optimizer step: where training is and the epoch's mean loss so far.
struct StepLog {
  int epoch = 0, epochs = 0;
  int64_t step = 0, steps = 0;  // within the epoch, 1-based
  double loss = 0;
  // The share of the whole training done, in [0, 1].
  double fraction() const { return static_cast<double>((epoch - 1) * steps + step) / static_cast<double>(epochs * steps); }
  // "epoch 2/4, loss 0.3121" for a progress line.
  std::string describe() const {
    char text[64];
    std::snprintf(text, sizeof text, "epoch %d/%d, loss %.4f", epoch, epochs, loss);
    return text;
  }
};

// A float graph made trainable (a copy of its parameters; the graph is not touched until
// writeBack). T is float or double.
template <typename T>
class Network {
 public:
  static StatusOr<std::unique_ptr<Network>> create(const ir::Graph& graph, bool freezeBatchNorm);
  ~Network();

  // Forward on [batch, ...] samples; train = batch statistics for unfrozen BatchNorms (and their
  // running statistics updated). Returns the logits [batch, classes] row-major.
  StatusOr<std::vector<T>> forward(const std::vector<T>& input, int64_t batch, bool train);
  // Backward from d(loss)/d(logits) of the last forward; accumulates parameter gradients.
  Status backward(const std::vector<T>& dLogits);
  int64_t classes() const;
  // The per-sample dims of the input (e.g. {1, 28, 28}); forward's input is [batch, these...].
  void setSampleDims(std::vector<int64_t> dims) { sampleDims_ = std::move(dims); }

  // Parameters and their gradients, in a fixed order; decayed = a Conv/Gemm/MatMul weight.
  struct Parameter {
    std::string name;
    std::vector<T> value, grad, velocity;
    std::vector<bool> frozenZero;  // exactly zero at the start: kept zero
    bool decayed = false;
  };
  std::vector<Parameter>& parameters();
  void zeroGrad();
  // One SGD step (Nesterov momentum, decoupled from nothing: PyTorch's torch.optim.SGD semantics).
  void sgdStep(double lr, double momentum, double weightDecay);
  // The trained values (and BatchNorm running statistics) into `graph`'s initializers.
  Status writeBack(ir::Graph& graph) const;

  struct Impl;

 private:
  explicit Network(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  std::vector<int64_t> sampleDims_;
};

// Loss and d(loss)/d(logits) for a batch: KD against teacher logits (empty: plain CE).
template <typename T>
double distillationLoss(const std::vector<T>& logits, const std::vector<float>& teacher, const std::vector<int64_t>& labels,
                        int64_t classes, double alpha, double temperature, std::vector<T>* dLogits, int64_t* correct);

// Labelled samples and the teacher's logits per sample. The samples are in memory ([count,
// sample...] float in `inputs`), or streamed: `read` gives sample i when it is needed (decoded
// again every epoch; nothing held).
struct TrainingSet {
  std::vector<float> inputs;
  std::function<Status(int64_t i, float* out)> read;  // streamed when set (inputs then empty)
  std::vector<int64_t> sampleDims;  // without the batch
  std::vector<int64_t> labels;
  std::vector<float> teacherLogits;  // [count, classes], or empty
  int64_t count() const { return static_cast<int64_t>(labels.size()); }
  int64_t sampleSize() const {
    int64_t n = 1;
    for (int64_t d : sampleDims) n *= d;
    return n;
  }
  // Sample i (sampleSize() floats) into out, from memory or the stream.
  Status sample(int64_t i, float* out) const {
    if (read) return read(i, out);
    std::copy_n(inputs.data() + i * sampleSize(), sampleSize(), out);
    return Status::Ok();
  }
};

// Fine-tunes `model` in place on `train`; after each epoch `evaluateHeldOut` (if set) gives the
// held-out top-1 of the model as trained so far, and the model of the best epoch is kept (early
// stopping). Progress after every epoch via `log`, and after every step via `onStep` (if set).
Status fineTune(ir::Model& model, const TrainingSet& train, const TrainOptions& options,
                const std::function<StatusOr<double>(const ir::Model&)>& evaluateHeldOut,
                const std::function<void(const EpochLog&)>& log, const std::function<void(const StepLog&)>& onStep = nullptr);

}  // namespace edgeopt::train
