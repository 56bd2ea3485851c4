#include <sys/auxv.h>

#include <cstring>

#include "kernels/neon/gemm.h"

#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1 << 20)
#endif

namespace edgeopt::kernels::neon {
namespace {
size_t roundUp(size_t v, size_t m) { return (v + m - 1) / m * m; }

template <typename T>
T weightAt(const T* b, bool transposed, size_t K, size_t N, size_t k, size_t n) {
  if (k >= K || n >= N) return T(0);
  return transposed ? b[n * K + k] : b[k * N + n];
}

// Bias with the activation zero point folded in: bias[n] - zp * sum_k B[k][n].
std::vector<int32_t> foldedBias(size_t K, size_t N, const int8_t* b, bool transposed, const int32_t* bias, int32_t zp) {
  std::vector<int32_t> out(roundUp(N, kGemmNr), 0);
  for (size_t n = 0; n < N; ++n) {
    int32_t sum = 0;
    for (size_t k = 0; k < K; ++k) sum += weightAt(b, transposed, K, N, k, n);
    out[n] = (bias ? bias[n] : 0) - zp * sum;
  }
  return out;
}
}  // namespace

size_t qs8_packed_panel_8c4(size_t K) { return kGemmNr * sizeof(int32_t) + roundUp(K, 4) * kGemmNr; }
size_t qs8_packed_panel_8(size_t K) { return kGemmNr * sizeof(int32_t) + K * kGemmNr; }
size_t f32_packed_panel_8(size_t K) { return kGemmNr + K * kGemmNr; }

namespace {
// Panels of 8 columns: the 8 folded int32 biases, then [K / kBlock][8 columns][kBlock] weights.
std::vector<int8_t> packInt8(size_t K, size_t N, const int8_t* b, bool transposed, const int32_t* bias, int32_t zp,
                             size_t kBlock, size_t panel) {
  const size_t panels = roundUp(N, kGemmNr) / kGemmNr;
  std::vector<int8_t> out(panels * panel, 0);
  const std::vector<int32_t> folded = foldedBias(K, N, b, transposed, bias, zp);
  for (size_t p = 0; p < panels; ++p) {
    int8_t* dst = out.data() + p * panel;
    std::memcpy(dst, folded.data() + p * kGemmNr, kGemmNr * sizeof(int32_t));
    dst += kGemmNr * sizeof(int32_t);
    for (size_t k0 = 0; k0 < roundUp(K, kBlock); k0 += kBlock)
      for (size_t n = 0; n < kGemmNr; ++n)
        for (size_t t = 0; t < kBlock; ++t) *dst++ = weightAt(b, transposed, K, N, k0 + t, p * kGemmNr + n);
  }
  return out;
}
}  // namespace

std::vector<int8_t> qs8_pack_gemm_8c4(size_t K, size_t N, const int8_t* b, bool b_transposed, const int32_t* bias,
                                      int32_t a_zero_point) {
  return packInt8(K, N, b, b_transposed, bias, a_zero_point, 4, qs8_packed_panel_8c4(K));
}

std::vector<int8_t> qs8_pack_gemm_8(size_t K, size_t N, const int8_t* b, bool b_transposed, const int32_t* bias,
                                    int32_t a_zero_point) {
  return packInt8(K, N, b, b_transposed, bias, a_zero_point, 1, qs8_packed_panel_8(K));
}

std::vector<float> f32_pack_gemm_8(size_t K, size_t N, const float* b, bool b_transposed, const float* bias) {
  const size_t panels = roundUp(N, kGemmNr) / kGemmNr, panel = f32_packed_panel_8(K);
  std::vector<float> out(panels * panel, 0.0f);
  for (size_t p = 0; p < panels; ++p) {
    float* dst = out.data() + p * panel;
    for (size_t n = 0; n < kGemmNr; ++n) *dst++ = bias && p * kGemmNr + n < N ? bias[p * kGemmNr + n] : 0.0f;
    for (size_t k = 0; k < K; ++k)
      for (size_t n = 0; n < kGemmNr; ++n) *dst++ = weightAt(b, b_transposed, K, N, k, p * kGemmNr + n);
  }
  return out;
}

bool hasDotProd() { return (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0; }

}  // namespace edgeopt::kernels::neon
