// Reference fp32 softmax and batch normalization (inference form).
#pragma once

#include <cstdint>

namespace edgeopt::kernels::ref {

// Softmax along the middle axis of an [outer, axis, inner] view:
// y = exp(x - max) / sum(exp(x - max)), fp32 throughout.
void f32_softmax__scalar(int64_t outer, int64_t axis, int64_t inner, const float* x, float* y);

// y[n, c, s] = (x[n, c, s] - mean[c]) / sqrt(var[c] + epsilon) * scale[c] + bias[c]
void f32_batchnorm__scalar(int64_t batch, int64_t channels, int64_t spatial, const float* x,
                           const float* scale, const float* bias, const float* mean,
                           const float* var, float epsilon, float* y);

// Layer normalization over the inner axis of an [outer, inner] view (ONNX LayerNormalization,
// stash type float32): mean = sum(x)/inner, d = x - mean, var = sum(d*d)/inner,
// inv = 1/sqrt(var + epsilon), y = d * inv * scale + bias. mean_out / inv_std_out receive one
// value per row and may be null.
void f32_layernorm__scalar(int64_t outer, int64_t inner, const float* x, const float* scale,
                           const float* bias, float epsilon, float* y, float* mean_out,
                           float* inv_std_out);

}  // namespace edgeopt::kernels::ref
