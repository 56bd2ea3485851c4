#include "kernels/ref/rnn.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace edgeopt::kernels::ref {

float rnnActivation(const RnnActivationFn& f, float x) {
  switch (f.kind) {
    case RnnActivation::kSigmoid: return x >= 0 ? 1.0f / (1.0f + std::exp(-x)) : std::exp(x) / (1.0f + std::exp(x));
    case RnnActivation::kTanh: return std::tanh(x);
    case RnnActivation::kRelu: return x > 0 ? x : 0.0f;
    case RnnActivation::kHardSigmoid: return std::clamp(f.alpha * x + f.beta, 0.0f, 1.0f);
    case RnnActivation::kLeakyRelu: return x >= 0 ? x : f.alpha * x;
    case RnnActivation::kAffine: return f.alpha * x + f.beta;
    case RnnActivation::kScaledTanh: return f.alpha * std::tanh(f.beta * x);
    case RnnActivation::kThresholdedRelu: return x > f.alpha ? x : 0.0f;
    case RnnActivation::kElu: return x >= 0 ? x : f.alpha * (std::exp(x) - 1.0f);
    case RnnActivation::kSoftsign: return x / (1.0f + std::fabs(x));
    case RnnActivation::kSoftplus: return std::log1p(std::exp(x));
  }
  return x;
}

namespace {

// out[j] = sum_k m[j, k] * v[k] for j < rows.
void matVec(const float* m, const float* v, int64_t rows, int64_t cols, float* out) {
  for (int64_t j = 0; j < rows; ++j) {
    float acc = 0;
    for (int64_t k = 0; k < cols; ++k) acc += m[j * cols + k] * v[k];
    out[j] = acc;
  }
}

}  // namespace

void f32_rnn__scalar(const RnnParams& p, const float* x, const float* w, const float* r, const float* wb,
                     const float* rb, const float* peep, const int32_t* seqLens, const float* h0,
                     const float* c0, float* y, int64_t yStepStride, int64_t yBatchStride, float* hLast,
                     float* cLast) {
  const int64_t H = p.hidden;
  const int64_t gates = p.cell == RnnCell::kRnn ? 1 : p.cell == RnnCell::kGru ? 3 : 4;
  auto act = [&](const RnnActivationFn& f, float v) {
    if (p.clip > 0) v = std::clamp(v, -p.clip, p.clip);
    return rnnActivation(f, v);
  };
  std::vector<float> xw(static_cast<size_t>(gates * H)), hr(static_cast<size_t>(gates * H));
  std::vector<float> h(static_cast<size_t>(H)), c(static_cast<size_t>(H)), tmp(static_cast<size_t>(H));
  std::vector<float> z(static_cast<size_t>(H)), reset(static_cast<size_t>(H)), resetH(static_cast<size_t>(H));  // GRU
  for (int64_t t = 0; t < p.seq; ++t)
    for (int64_t b = 0; b < p.batch; ++b)
      std::fill(y + t * yStepStride + b * yBatchStride, y + t * yStepStride + b * yBatchStride + H, 0.0f);
  for (int64_t b = 0; b < p.batch; ++b) {
    for (int64_t k = 0; k < H; ++k) {
      h[k] = h0 ? h0[b * H + k] : 0.0f;
      c[k] = c0 ? c0[b * H + k] : 0.0f;
    }
    const int64_t len = seqLens ? std::clamp<int64_t>(seqLens[b], 0, p.seq) : p.seq;
    for (int64_t s = 0; s < len; ++s) {
      const int64_t t = p.reverse ? len - 1 - s : s;
      matVec(w, x + (t * p.batch + b) * p.input, gates * H, p.input, xw.data());
      for (int64_t j = 0; j < gates * H; ++j) xw[j] += wb ? wb[j] : 0.0f;
      if (p.cell == RnnCell::kRnn) {
        matVec(r, h.data(), H, H, hr.data());
        for (int64_t k = 0; k < H; ++k) h[k] = act(p.f, xw[k] + hr[k] + (rb ? rb[k] : 0.0f));
      } else if (p.cell == RnnCell::kGru) {
        // z and r gates from H; the candidate's recurrent term depends on linear_before_reset.
        matVec(r, h.data(), 2 * H, H, hr.data());
        for (int64_t k = 0; k < H; ++k) {
          z[k] = act(p.f, xw[k] + hr[k] + (rb ? rb[k] : 0.0f));
          reset[k] = act(p.f, xw[H + k] + hr[H + k] + (rb ? rb[H + k] : 0.0f));
        }
        const float* rh = r + 2 * H * H;
        if (p.linearBeforeReset) {
          matVec(rh, h.data(), H, H, tmp.data());
          for (int64_t k = 0; k < H; ++k) tmp[k] = reset[k] * (tmp[k] + (rb ? rb[2 * H + k] : 0.0f));
        } else {
          for (int64_t k = 0; k < H; ++k) resetH[k] = reset[k] * h[k];
          matVec(rh, resetH.data(), H, H, tmp.data());
          for (int64_t k = 0; k < H; ++k) tmp[k] += rb ? rb[2 * H + k] : 0.0f;
        }
        for (int64_t k = 0; k < H; ++k) {
          const float candidate = act(p.g, xw[2 * H + k] + tmp[k]);
          h[k] = (1.0f - z[k]) * candidate + z[k] * h[k];
        }
      } else {
        matVec(r, h.data(), 4 * H, H, hr.data());
        for (int64_t j = 0; j < 4 * H; ++j) hr[j] += xw[j] + (rb ? rb[j] : 0.0f);
        for (int64_t k = 0; k < H; ++k) {
          const float i = act(p.f, hr[k] + (peep ? peep[k] * c[k] : 0.0f));
          const float f = act(p.f, hr[2 * H + k] + (peep ? peep[2 * H + k] * c[k] : 0.0f));
          const float cand = act(p.g, hr[3 * H + k]);
          c[k] = f * c[k] + i * cand;
          const float o = act(p.f, hr[H + k] + (peep ? peep[H + k] * c[k] : 0.0f));
          h[k] = o * rnnActivation(p.h, c[k]);
        }
      }
      std::copy(h.begin(), h.end(), y + t * yStepStride + b * yBatchStride);
    }
    if (hLast) std::copy(h.begin(), h.end(), hLast + b * H);
    if (cLast) std::copy(c.begin(), c.end(), cLast + b * H);
  }
}

}  // namespace edgeopt::kernels::ref
