#include "runtime/neon_runtime.h"

#include <cstdio>
#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/neon/elementwise.h"
#include "kernels/ref/activation.h"
#include "kernels/ref/conv.h"
#include "kernels/ref/gemm.h"
#include "kernels/ref/normalization.h"
#include "kernels/ref/pool.h"
#include "kernels/neon/gemm.h"
#include "kernels/neon/requantize.h"

namespace edgeopt_neon {

namespace ref = edgeopt::kernels::ref;
namespace neon = edgeopt::kernels::neon;

bool cpuHasDotProduct() { return neon::hasDotProd(); }

void quantize(int64_t n, const float* x, float scale, int32_t zero_point, int8_t* y) {
  ref::qs8_quantize__scalar(n, x, scale, zero_point, y);
}

void dequantize(int64_t n, const int8_t* x, float scale, int32_t zero_point, float* y) {
  ref::qs8_dequantize__scalar(n, x, scale, zero_point, y);
}

void gemmInt8(bool dot, int64_t M, int64_t K, int64_t N, const int8_t* a, const int8_t* packed,
              const ref::Requantization* requant, const ref::QuantParams& q, std::vector<int32_t>& acc, int8_t* y) {
  const size_t k = static_cast<size_t>(K), n = static_cast<size_t>(N);
  const size_t panel = dot ? neon::qs8_packed_panel_8c4(k) : neon::qs8_packed_panel_8(k);
  if (acc.size() < static_cast<size_t>(M) * n) acc.resize(static_cast<size_t>(M) * n);
  for (size_t i = 0; i < static_cast<size_t>(M); i += 4)
    for (size_t p = 0; p * neon::kGemmNr < n; ++p) {
      const size_t mr = std::min<size_t>(4, static_cast<size_t>(M) - i), nc = std::min(neon::kGemmNr, n - p * neon::kGemmNr);
      int32_t* c = acc.data() + i * n + p * neon::kGemmNr;
      if (dot)
        neon::qs8_gemm_4x8c4__neondot(mr, nc, k, a + i * k, k, packed + p * panel, c, n);
      else
        neon::qs8_gemm_4x8__neon(mr, nc, k, a + i * k, k, packed + p * panel, c, n);
    }
  neon::qs8_requantize_rows__neon(M, N, acc.data(), nullptr, requant, q, y);
}

bool readNpyF32(const std::string& path, std::vector<int64_t>* dims, std::vector<float>* data, std::string* error) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return *error = path + ": cannot open", false;
  char magic[8];
  uint16_t headerLen = 0;
  bool ok = std::fread(magic, 1, 8, f) == 8 && std::memcmp(magic, "\x93NUMPY", 6) == 0 && magic[6] == 1 &&
            std::fread(&headerLen, 2, 1, f) == 1;
  std::string header(headerLen, '\0');
  ok = ok && std::fread(header.data(), 1, headerLen, f) == headerLen;
  if (!ok || header.find("'<f4'") == std::string::npos || header.find("'fortran_order': False") == std::string::npos) {
    std::fclose(f);
    return *error = path + ": not a float32 C-order .npy (version 1)", false;
  }
  dims->clear();
  const size_t open = header.find('(', header.find("'shape'")), close = header.find(')', open);
  int64_t count = 1;
  for (size_t i = open + 1; i < close;) {
    char* end = nullptr;
    const long long d = std::strtoll(header.c_str() + i, &end, 10);
    if (end == header.c_str() + i) { ++i; continue; }
    dims->push_back(d);
    count *= d;
    i = static_cast<size_t>(end - header.c_str());
  }
  data->resize(static_cast<size_t>(count));
  ok = std::fread(data->data(), sizeof(float), data->size(), f) == data->size();
  std::fclose(f);
  if (!ok) return *error = path + ": truncated data", false;
  return true;
}

bool writeNpyF32(const std::string& path, const std::vector<int64_t>& dims, const float* data, std::string* error) {
  std::string shape = "(";
  int64_t count = 1;
  for (int64_t d : dims) {
    shape += std::to_string(d) + (dims.size() == 1 ? ",)" : ", ");
    count *= d;
  }
  if (dims.size() != 1) shape = (dims.empty() ? "(" : shape.substr(0, shape.size() - 2)) + ")";
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }";
  while ((10 + header.size() + 1) % 64) header += ' ';
  header += '\n';
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return *error = path + ": cannot open for writing", false;
  const uint16_t len = static_cast<uint16_t>(header.size());
  bool ok = std::fwrite("\x93NUMPY\x01\x00", 1, 8, f) == 8 && std::fwrite(&len, 2, 1, f) == 1 &&
            std::fwrite(header.data(), 1, header.size(), f) == header.size() &&
            std::fwrite(data, sizeof(float), static_cast<size_t>(count), f) == static_cast<size_t>(count);
  ok = std::fclose(f) == 0 && ok;
  if (!ok) return *error = path + ": write failed", false;
  return true;
}

}  // namespace edgeopt_neon

namespace edgeopt_neon {

void quantizeNchwToNhwc(int64_t batch, int64_t channels, int64_t pixels, const float* x, float scale, int32_t zero_point,
                        int8_t* y) {
  for (int64_t n = 0; n < batch; ++n)
    for (int64_t c = 0; c < channels; ++c)
      for (int64_t p = 0; p < pixels; ++p)
        y[(n * pixels + p) * channels + c] = ref::qs8_quantize(x[(n * channels + c) * pixels + p], scale, zero_point);
}

void convInt8(bool dot, const Conv2d& c, const int8_t* x, const int8_t* packed, const ref::Requantization* requant,
              const ref::QuantParams& q, std::vector<int8_t>& columns, std::vector<int32_t>& acc, int8_t* y) {
  const int64_t K = c.kernel_h * c.kernel_w * c.channels, rows = c.out_h * c.out_w;
  const bool direct = c.kernel_h == 1 && c.kernel_w == 1 && c.stride_h == 1 && c.stride_w == 1 && c.pad_top == 0 &&
                      c.pad_left == 0 && c.out_h == c.in_h && c.out_w == c.in_w;
  if (direct) {
    gemmInt8(dot, c.batch * rows, K, c.out_channels, x, packed, requant, q, acc, y);
    return;
  }
  if (columns.size() < static_cast<size_t>(rows * K)) columns.resize(static_cast<size_t>(rows * K));
  const int64_t image = c.in_h * c.in_w * c.channels;
  for (int64_t n = 0; n < c.batch; ++n) {
    const int8_t* xi = x + n * image;
    int8_t* col = columns.data();
    for (int64_t oh = 0; oh < c.out_h; ++oh)
      for (int64_t ow = 0; ow < c.out_w; ++ow)
        for (int64_t kh = 0; kh < c.kernel_h; ++kh) {
          const int64_t ih = oh * c.stride_h + kh * c.dilation_h - c.pad_top;
          for (int64_t kw = 0; kw < c.kernel_w; ++kw, col += c.channels) {
            const int64_t iw = ow * c.stride_w + kw * c.dilation_w - c.pad_left;
            if (ih < 0 || ih >= c.in_h || iw < 0 || iw >= c.in_w)
              std::memset(col, static_cast<int8_t>(c.x_zero_point), static_cast<size_t>(c.channels));
            else
              std::memcpy(col, xi + (ih * c.in_w + iw) * c.channels, static_cast<size_t>(c.channels));
          }
        }
    gemmInt8(dot, rows, K, c.out_channels, columns.data(), packed, requant, q, acc, y + n * rows * c.out_channels);
  }
}

void depthwise3x3Int8(const Conv2d& c, const int8_t* x, const int16_t* w, const int32_t* bias,
                      const ref::Requantization* requant, const ref::QuantParams& q, std::vector<int32_t>& acc, int8_t* y) {
  neon::DwConv3x3Params d;
  d.in_h = c.in_h;
  d.in_w = c.in_w;
  d.channels = c.channels;
  d.out_w = c.out_w;
  d.stride_h = c.stride_h;
  d.stride_w = c.stride_w;
  d.pad_top = c.pad_top;
  d.pad_left = c.pad_left;
  d.x_zero_point = c.x_zero_point;
  if (acc.size() < static_cast<size_t>(c.out_w * c.channels)) acc.resize(static_cast<size_t>(c.out_w * c.channels));
  const int64_t image = c.in_h * c.in_w * c.channels;
  for (int64_t n = 0; n < c.batch; ++n)
    for (int64_t oh = 0; oh < c.out_h; ++oh) {
      neon::qs8_dwconv3x3_row__neon(d, oh, x + n * image, w, bias, acc.data());
      neon::qs8_requantize_rows__neon(c.out_w, c.channels, acc.data(), nullptr, requant, q,
                                      y + (n * c.out_h + oh) * c.out_w * c.channels);
    }
}

void groupedConvInt8Reference(const Conv2d& c, int64_t groups, const int8_t* x, const int8_t* w, const int32_t* bias,
                              const ref::Requantization* requant, const ref::QuantParams& q, std::vector<int8_t>& scratch,
                              int8_t* y) {
  const int64_t inPixels = c.in_h * c.in_w, outPixels = c.out_h * c.out_w;
  const size_t need = static_cast<size_t>(c.channels * inPixels + c.out_channels * outPixels);
  if (scratch.size() < need) scratch.resize(need);
  int8_t* xc = scratch.data();
  int8_t* yc = xc + c.channels * inPixels;
  ref::ConvParams p;
  p.in_channels = c.channels;
  p.out_channels = c.out_channels;
  p.groups = groups;
  p.in[1] = c.in_h, p.in[2] = c.in_w, p.out[1] = c.out_h, p.out[2] = c.out_w;
  p.kernel[1] = c.kernel_h, p.kernel[2] = c.kernel_w, p.stride[1] = c.stride_h, p.stride[2] = c.stride_w;
  p.dilation[1] = c.dilation_h, p.dilation[2] = c.dilation_w, p.pad_begin[1] = c.pad_top, p.pad_begin[2] = c.pad_left;
  for (int64_t n = 0; n < c.batch; ++n) {
    const int8_t* xn = x + n * inPixels * c.channels;
    for (int64_t px = 0; px < inPixels; ++px)
      for (int64_t ch = 0; ch < c.channels; ++ch) xc[ch * inPixels + px] = xn[px * c.channels + ch];
    ref::qs8_conv__scalar(p, q, xc, w, bias, requant, yc);
    int8_t* yn = y + n * outPixels * c.out_channels;
    for (int64_t px = 0; px < outPixels; ++px)
      for (int64_t ch = 0; ch < c.out_channels; ++ch) yn[px * c.out_channels + ch] = yc[ch * outPixels + px];
  }
}

void gemmF32(int64_t batch, int64_t K, int64_t N, const float* a, const float* w, bool transposed, const float* bias,
             int64_t biasCount, float* y) {
  ref::GemmParams p;
  p.m = batch, p.k = K, p.n = N;
  p.a_row_stride = K, p.a_col_stride = 1;
  p.b_row_stride = transposed ? 1 : N, p.b_col_stride = transposed ? K : 1;
  p.y_row_stride = N;
  if (bias) {
    for (int64_t i = 0; i < batch; ++i)
      for (int64_t j = 0; j < N; ++j) y[i * N + j] = 1.0f * bias[biasCount == 1 ? 0 : j];
    p.accumulate = true;
  }
  ref::f32_gemm__scalar(p, a, w, y);
}

void convTransposeF32(int64_t batch, const int64_t* g, const float* x, const float* w, const float* bias, float* y) {
  ref::ConvParams p;
  p.batch = batch;
  p.groups = g[0], p.in_channels = g[1], p.in[1] = g[2], p.in[2] = g[3], p.out_channels = g[4], p.out[1] = g[5];
  p.out[2] = g[6], p.kernel[1] = g[7], p.kernel[2] = g[8], p.stride[1] = g[9], p.stride[2] = g[10];
  p.dilation[1] = g[11], p.dilation[2] = g[12], p.pad_begin[1] = g[13], p.pad_begin[2] = g[14];
  ref::f32_conv_transpose__scalar(p, x, w, bias, y);
}

void softmaxF32(int64_t outer, int64_t axis, int64_t inner, const float* x, float* y) {
  ref::f32_softmax__scalar(outer, axis, inner, x, y);
}

void poolF32(bool max, bool count_include_pad, int64_t batch, int64_t channels, const int64_t* g, const float* x,
             float* y) {
  ref::PoolParams p;
  p.batch = batch;
  p.channels = channels;
  p.in[1] = g[0], p.in[2] = g[1], p.out[1] = g[2], p.out[2] = g[3], p.kernel[1] = g[4], p.kernel[2] = g[5];
  p.stride[1] = g[6], p.stride[2] = g[7], p.pad_begin[1] = g[8], p.pad_begin[2] = g[9];
  p.dilation[1] = g[10], p.dilation[2] = g[11], p.padded_end[1] = g[12], p.padded_end[2] = g[13];
  if (max) ref::f32_maxpool__scalar(p, x, y, nullptr);
  else ref::f32_avgpool__scalar(p, count_include_pad, x, y);
}

void dequantizeNhwcToNchw(int64_t batch, int64_t channels, int64_t pixels, const int8_t* x, float scale,
                          int32_t zero_point, float* y) {
  for (int64_t n = 0; n < batch; ++n)
    for (int64_t p = 0; p < pixels; ++p)
      for (int64_t c = 0; c < channels; ++c)
        ref::qs8_dequantize__scalar(1, x + (n * pixels + p) * channels + c, scale, zero_point, y + (n * channels + c) * pixels + p);
}

void concatF32(int64_t outer, int64_t parts, const float* const* x, const int64_t* chunk, float* y) {
  for (int64_t r = 0; r < outer; ++r)
    for (int64_t i = 0; i < parts; ++i) {
      std::memcpy(y, x[i] + r * chunk[i], static_cast<size_t>(chunk[i]) * sizeof(float));
      y += chunk[i];
    }
}

namespace {
template <typename F>
void broadcastLoop(int rank, const int64_t* dims, const float* a, const int64_t* aStride, const float* b,
                   const int64_t* bStride, float* y, F f) {
  int64_t total = 1;
  for (int i = 0; i < rank; ++i) total *= dims[i];
  if (total == 0) return;
  int64_t index[kMaxBinaryRank] = {0};
  int64_t ao = 0, bo = 0;
  const int64_t inner = rank > 0 ? dims[rank - 1] : 1;
  const int64_t ai = rank > 0 ? aStride[rank - 1] : 0, bi = rank > 0 ? bStride[rank - 1] : 0;
  for (int64_t done = 0; done < total; done += inner) {
    for (int64_t j = 0; j < inner; ++j) *y++ = f(a[ao + j * ai], b[bo + j * bi]);
    // Odometer over the outer dims.
    for (int d = rank - 2; d >= 0; --d) {
      ao += aStride[d];
      bo += bStride[d];
      if (++index[d] < dims[d]) break;
      ao -= aStride[d] * dims[d];
      bo -= bStride[d] * dims[d];
      index[d] = 0;
    }
  }
}
}  // namespace

void binaryF32(BinaryOp op, int rank, const int64_t* dims, const float* a, const int64_t* aStride, const float* b,
               const int64_t* bStride, float* y) {
  switch (op) {
    case BinaryOp::kAdd: return broadcastLoop(rank, dims, a, aStride, b, bStride, y, [](float u, float v) { return u + v; });
    case BinaryOp::kSub: return broadcastLoop(rank, dims, a, aStride, b, bStride, y, [](float u, float v) { return u - v; });
    case BinaryOp::kMul: return broadcastLoop(rank, dims, a, aStride, b, bStride, y, [](float u, float v) { return u * v; });
    case BinaryOp::kDiv: return broadcastLoop(rank, dims, a, aStride, b, bStride, y, [](float u, float v) { return u / v; });
  }
}

void unaryF32(UnaryOp op, int64_t n, const float* x, float p0, float p1, float* y) {
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    switch (op) {
      case UnaryOp::kRelu: y[i] = ref::f32_relu(v); break;
      case UnaryOp::kSigmoid: y[i] = ref::f32_sigmoid(v); break;
      case UnaryOp::kTanh: y[i] = std::tanh(v); break;
      case UnaryOp::kHardSigmoid: y[i] = ref::f32_hard_sigmoid(v, p0, p1); break;
      case UnaryOp::kHardSwish: y[i] = ref::f32_hard_swish(v); break;
      case UnaryOp::kLeakyRelu: y[i] = ref::f32_leaky_relu(v, p0); break;
      case UnaryOp::kClip: y[i] = ref::f32_clip(v, p0, p1); break;
    }
  }
}

}  // namespace edgeopt_neon
