// ONNX's recurrent layers (RNN, GRU, LSTM), one direction, float32: the numerical definition.
// Time-major: x is [seq, batch, input]. Weights as ONNX stores them for one direction: w is
// [gates * hidden, input], r is [gates * hidden, hidden], wb / rb are [gates * hidden] (null: zero),
// with the gates in ONNX's order: RNN i; GRU z, r, h; LSTM i, o, f, c (peepholes p: i, o, f).
// Sample b runs seqLens[b] steps (null: seq), backwards when `reverse`; y gets H after each step
// at its time index and zeros past the sample's length; hLast (and cLast for LSTM) the final state.
#pragma once

#include <cstdint>

namespace edgeopt::kernels::ref {

enum class RnnActivation {
  kSigmoid, kTanh, kRelu, kHardSigmoid, kLeakyRelu, kAffine, kScaledTanh, kThresholdedRelu, kElu,
  kSoftsign, kSoftplus
};

struct RnnActivationFn {
  RnnActivation kind = RnnActivation::kSigmoid;
  float alpha = 0, beta = 0;
};

float rnnActivation(const RnnActivationFn& f, float x);

enum class RnnCell { kRnn, kGru, kLstm };

struct RnnParams {
  RnnCell cell = RnnCell::kLstm;
  int64_t seq = 0, batch = 0, input = 0, hidden = 0;
  bool reverse = false;
  float clip = 0;                  // > 0: gate pre-activations are clamped to [-clip, clip]
  bool linearBeforeReset = false;  // GRU
  RnnActivationFn f, g, h;         // RNN: f; GRU: f (gates), g (candidate); LSTM: f, g, h
};

// y[t, b, :] lives at y + t * yStepStride + b * yBatchStride (elements).
void f32_rnn__scalar(const RnnParams& p, const float* x, const float* w, const float* r, const float* wb,
                     const float* rb, const float* peep, const int32_t* seqLens, const float* h0,
                     const float* c0, float* y, int64_t yStepStride, int64_t yBatchStride, float* hLast,
                     float* cLast);

}  // namespace edgeopt::kernels::ref
