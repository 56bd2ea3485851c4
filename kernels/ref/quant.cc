#include "kernels/ref/quant.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>
#include <vector>

namespace edgeopt::kernels::ref {

// The int32 accumulator wraps modulo 2^32, as the x86 (vpdpbusd) and NEON (sdot/smlal) kernels'
// additions do; in C++ a signed overflow would be undefined (UBSan found one: a saturated int32
// bias on PaddleOCR det), so the reference adds as unsigned.
static inline int32_t wrappingAdd(int32_t a, int32_t b) {
  return static_cast<int32_t>(static_cast<uint32_t>(a) + static_cast<uint32_t>(b));
}

namespace {
// A subnormal M gives round(float(acc) * M) = 0 for every int32 acc (|acc * M| < 2^-95), as 0
// does: flushing it changes no result and spares every target denormal arithmetic.
float flushSubnormal(float m) { return std::fpclassify(m) == FP_SUBNORMAL ? 0.0f : m; }
}  // namespace

float convMultiplier(float input_scale, float weight_scale, float output_scale) {
  const float product = input_scale * weight_scale;
  return flushSubnormal(product / output_scale);
}

float ratioMultiplier(float input_scale, float output_scale) { return flushSubnormal(input_scale / output_scale); }

float averageMultiplier(float input_scale, float output_scale, int64_t count) {
  const float divisor = output_scale * static_cast<float>(count);
  return flushSubnormal(input_scale / divisor);
}

bool isValidMultiplier(float m) { return m == 0 || (std::isnormal(m) && m > 0); }

int32_t requantize(int32_t acc, Requantization r) {
  const float product = static_cast<float>(acc) * r.scale;
  const float rounded = std::nearbyint(product);  // the current rounding mode: to nearest, ties to even
  if (!(rounded < 2147483648.0f)) return std::numeric_limits<int32_t>::max();
  if (rounded < -2147483648.0f) return std::numeric_limits<int32_t>::min();
  return static_cast<int32_t>(rounded);
}

std::vector<int64_t> requantizationThresholds(int32_t bias, Requantization r, const QuantParams& q) {
  constexpr int64_t lowest = std::numeric_limits<int32_t>::min(), highest = std::numeric_limits<int32_t>::max();
  std::vector<int64_t> thresholds;
  for (int32_t level = q.output_min + 1; level <= q.output_max; ++level) {
    // The smallest v = acc + bias in int32 with output >= level (monotone), by bisection.
    int64_t lo = lowest, hi = highest + 1;  // output(v) >= level for v >= hi; < level below lo
    if (requantizeToOutput(static_cast<int32_t>(lowest), r, q) >= level) {
      hi = lowest;
    } else {
      while (hi - lo > 1) {
        const int64_t mid = lo + (hi - lo) / 2;
        if (requantizeToOutput(static_cast<int32_t>(mid), r, q) >= level) hi = mid;
        else lo = mid;
      }
    }
    thresholds.push_back(hi - bias);
  }
  return thresholds;
}

int8_t qs8_quantize(float x, float scale, int32_t zero_point) { return quantizeLinear<int8_t>(x, scale, zero_point); }

float qs8_dequantize(int8_t q, float scale, int32_t zero_point) {
  return static_cast<float>(static_cast<int32_t>(q) - zero_point) * scale;
}

void qs8_quantize__scalar(int64_t n, const float* x, float scale, int32_t zero_point, int8_t* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = qs8_quantize(x[i], scale, zero_point);
}

void qs8_dequantize__scalar(int64_t n, const int8_t* x, float scale, int32_t zero_point, float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = qs8_dequantize(x[i], scale, zero_point);
}

int8_t requantizeToOutput(int32_t acc, Requantization r, const QuantParams& q) {
  const int64_t v = int64_t{requantize(acc, r)} + q.output_zero_point;
  return static_cast<int8_t>(std::clamp<int64_t>(v, q.output_min, q.output_max));
}

bool quantizeAddMultipliers(float a_ratio, float b_ratio, AddRequantization* r) {
  const float largest = std::max(a_ratio, b_ratio);
  if (!(largest >= 0x1p-100f && largest <= 0x1p100f) || !(a_ratio >= 0 && b_ratio >= 0)) return false;
  int exponent = 0;
  std::frexp(largest, &exponent);  // largest in [2^(exponent-1), 2^exponent)
  const int shift = 22 - exponent;   // largest * 2^shift in [2^21, 2^22)
  r->a_weight = static_cast<int32_t>(std::nearbyint(std::ldexp(static_cast<double>(a_ratio), shift)));
  r->b_weight = static_cast<int32_t>(std::nearbyint(std::ldexp(static_cast<double>(b_ratio), shift)));
  r->out.scale = std::ldexp(1.0f, -shift);
  return true;
}

namespace {
// The Add of quant.h on int8 values or on uint8-stored ones (zero points and bounds then given in
// the uint8 domain): only differences to the zero points enter the arithmetic.
template <typename T>
T addOne(T a, T b, const AddRequantization& r, int32_t a_zero_point, int32_t b_zero_point, const QuantParams& q) {
  const int32_t acc = (a - a_zero_point) * r.a_weight + (b - b_zero_point) * r.b_weight;
  const int64_t v = int64_t{requantize(acc, r.out)} + q.output_zero_point;
  return static_cast<T>(std::clamp<int64_t>(v, q.output_min, q.output_max));
}
}  // namespace

int8_t qs8_add(int8_t a, int8_t b, const AddRequantization& r, int32_t a_zero_point, int32_t b_zero_point,
               const QuantParams& q) {
  return addOne(a, b, r, a_zero_point, b_zero_point, q);
}

QuantParams toUint8Domain(const QuantParams& q) {
  QuantParams u = q;
  u.input_zero_point += 128;
  u.output_zero_point += 128;
  u.output_min += 128;
  u.output_max += 128;
  return u;
}

void qu8_add__scalar(int64_t n, const uint8_t* a, int32_t a_zero_point, const uint8_t* b, int32_t b_zero_point,
                     const AddRequantization& r, const QuantParams& q, uint8_t* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = addOne(a[i], b[i], r, a_zero_point, b_zero_point, q);
}

void qu8_quantize__scalar(int64_t n, const float* x, float scale, int32_t zero_point, uint8_t* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = quantizeLinear<uint8_t>(x[i], scale, zero_point);
}

int8_t qs8_mul(int8_t a, int8_t b, Requantization r, int32_t a_zero_point, int32_t b_zero_point,
               const QuantParams& q) {
  return requantizeToOutput((a - a_zero_point) * (b - b_zero_point), r, q);
}

void qs8_add__scalar(int64_t n, const int8_t* a, int32_t a_zero_point, const int8_t* b, int32_t b_zero_point,
                     const AddRequantization& r, const QuantParams& q, int8_t* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = qs8_add(a[i], b[i], r, a_zero_point, b_zero_point, q);
}

void qs8_mul__scalar(int64_t n, const int8_t* a, int32_t a_zero_point, const int8_t* b, int32_t b_zero_point,
                     Requantization r, const QuantParams& q, int8_t* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = qs8_mul(a[i], b[i], r, a_zero_point, b_zero_point, q);
}

void qs8_requantize__scalar(int64_t n, const int8_t* x, float input_scale, float output_scale, const QuantParams& q,
                            int8_t* y) {
  int8_t table[256];
  for (int v = -128; v < 128; ++v) {
    const int8_t requantized = qs8_quantize(qs8_dequantize(static_cast<int8_t>(v), input_scale, q.input_zero_point),
                                            output_scale, q.output_zero_point);
    table[v + 128] = static_cast<int8_t>(std::clamp<int32_t>(requantized, q.output_min, q.output_max));
  }
  for (int64_t i = 0; i < n; ++i) y[i] = table[x[i] + 128];
}

void qs8_requantize_rows__scalar(int64_t rows, int64_t channels, const int32_t* acc, const int32_t* bias,
                                 const Requantization* requant, const QuantParams& q, uint8_t* y_uint8) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < channels; ++c) {
      const int32_t a = acc[r * channels + c] + (bias ? bias[c] : 0);
      y_uint8[r * channels + c] = static_cast<uint8_t>(requantizeToOutput(a, requant[c], q) + 128);
    }
}

std::vector<Requantization> averageRequantization(float input_scale, float output_scale, int64_t max_count) {
  std::vector<Requantization> r(static_cast<size_t>(max_count + 1));
  for (int64_t c = 1; c <= max_count; ++c) r[static_cast<size_t>(c)].scale = averageMultiplier(input_scale, output_scale, c);
  return r;
}

void qs8_conv__scalar(const ConvParams& p, const QuantParams& q, const int8_t* x, const int8_t* w,
                      const int32_t* bias, const Requantization* requant, int8_t* y) {
  // Padding stands for real zero, i.e. the input zero point: it contributes nothing, so only
  // positions inside the input are summed. int32 sums are exact, so the order does not matter.
  const int64_t cpg = p.in_channels / p.groups, mpg = p.out_channels / p.groups;
  const int64_t inPlane = p.in[0] * p.in[1] * p.in[2], outPlane = p.out[0] * p.out[1] * p.out[2];
  const int64_t ksize = p.kernel[0] * p.kernel[1] * p.kernel[2];
  std::vector<int32_t> acc(static_cast<size_t>(outPlane));
  for (int64_t n = 0; n < p.batch; ++n)
    for (int64_t m = 0; m < p.out_channels; ++m) {
      const int64_t g = m / mpg;
      std::fill(acc.begin(), acc.end(), bias ? bias[m] : 0);
      for (int64_t c = 0; c < cpg; ++c) {
        const int8_t* xc = x + (n * p.in_channels + g * cpg + c) * inPlane;
        const int8_t* wc = w + (m * cpg + c) * ksize;
        for (int64_t kd = 0; kd < p.kernel[0]; ++kd) {
          int64_t d0, d1;
          validOutputRange(kd, p.stride[0], p.dilation[0], p.pad_begin[0], p.in[0], p.out[0], &d0, &d1);
          for (int64_t kh = 0; kh < p.kernel[1]; ++kh) {
            int64_t h0, h1;
            validOutputRange(kh, p.stride[1], p.dilation[1], p.pad_begin[1], p.in[1], p.out[1], &h0, &h1);
            for (int64_t kw = 0; kw < p.kernel[2]; ++kw) {
              int64_t w0, w1;
              validOutputRange(kw, p.stride[2], p.dilation[2], p.pad_begin[2], p.in[2], p.out[2], &w0, &w1);
              const int32_t wv = wc[(kd * p.kernel[1] + kh) * p.kernel[2] + kw];
              for (int64_t od = d0; od < d1; ++od) {
                const int64_t id = od * p.stride[0] + kd * p.dilation[0] - p.pad_begin[0];
                for (int64_t oh = h0; oh < h1; ++oh) {
                  const int64_t ih = oh * p.stride[1] + kh * p.dilation[1] - p.pad_begin[1];
                  const int8_t* xrow = xc + (id * p.in[1] + ih) * p.in[2] + kw * p.dilation[2] - p.pad_begin[2];
                  int32_t* arow = acc.data() + (od * p.out[1] + oh) * p.out[2];
                  for (int64_t ow = w0; ow < w1; ++ow)
                    arow[ow] = wrappingAdd(arow[ow], (xrow[ow * p.stride[2]] - q.input_zero_point) * wv);
                }
              }
            }
          }
        }
      }
      int8_t* yp = y + (n * p.out_channels + m) * outPlane;
      for (int64_t i = 0; i < outPlane; ++i) yp[i] = requantizeToOutput(acc[static_cast<size_t>(i)], requant[m], q);
    }
}

void qs8_gemm__scalar(int64_t m, int64_t n, int64_t k, const QuantParams& q, const int8_t* a,
                      const int8_t* b, bool b_transposed, const int32_t* bias,
                      const Requantization* requant, int8_t* y) {
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      int32_t acc = bias ? bias[j] : 0;
      for (int64_t kk = 0; kk < k; ++kk)
        acc = wrappingAdd(acc, (a[i * k + kk] - q.input_zero_point) * (b_transposed ? b[j * k + kk] : b[kk * n + j]));
      y[i * n + j] = requantizeToOutput(acc, requant[j], q);
    }
}

}  // namespace edgeopt::kernels::ref
