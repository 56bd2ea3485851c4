#include <immintrin.h>

#include <cstdint>

#include <algorithm>
#include <chrono>
#include <vector>

#include "kernels/ref/quant.h"
#include "kernels/x86/peak.h"
#include "kernels/x86/requantize.h"

namespace edgeopt::kernels::x86 {

namespace {
// The best rate over five slices of `seconds`: a peak is the fastest the CPU runs the loop, and
// on a shared machine a slice that another process interrupted only lowers that slice's rate.
template <typename Body>
double timeLoop(double seconds, double opsPerIteration, Body body) {
  double best = 0;
  for (int slice = 0; slice < 5; ++slice) {
    const auto start = std::chrono::steady_clock::now();
    double elapsed = 0;
    long iterations = 0;
    do {
      body(20000);
      iterations += 20000;
      elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    } while (elapsed < seconds / 5);
    best = std::max(best, static_cast<double>(iterations) * opsPerIteration / elapsed / 1e9);
  }
  return best;
}

// acc + the dot products of a's unsigned and b's signed byte quadruples, as the GEMM kernel issues
// it (inline asm: GCC 12 copies the intrinsic's accumulator around the instruction).
inline __m512i dpbusd(__m512i acc, __m512i a, __m512i b) {
  asm("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(a), "v"(b));
  return acc;
}
}  // namespace

// 12 independent accumulators hide the instruction latency; the results feed a volatile sink so
// the loops are not removed.
double measurePeakInt8Gops__avx512vnni(double seconds) {
  __m512i acc0 = _mm512_set1_epi32(0), acc1 = acc0, acc2 = acc0, acc3 = acc0, acc4 = acc0, acc5 = acc0,
          acc6 = acc0, acc7 = acc0, acc8 = acc0, acc9 = acc0, acc10 = acc0, acc11 = acc0;
  const __m512i a = _mm512_set1_epi8(3), b = _mm512_set1_epi8(5);
  const double gops = timeLoop(seconds, 12.0 * 64 * 2, [&](long n) {
    for (long k = 0; k < n; ++k) {
      acc0 = dpbusd(acc0, a, b), acc1 = dpbusd(acc1, a, b), acc2 = dpbusd(acc2, a, b), acc3 = dpbusd(acc3, a, b);
      acc4 = dpbusd(acc4, a, b), acc5 = dpbusd(acc5, a, b), acc6 = dpbusd(acc6, a, b), acc7 = dpbusd(acc7, a, b);
      acc8 = dpbusd(acc8, a, b), acc9 = dpbusd(acc9, a, b), acc10 = dpbusd(acc10, a, b), acc11 = dpbusd(acc11, a, b);
    }
  });
  // Unsigned: the accumulators wrap after billions of products, and a signed sum of them would be
  // undefined (UBSan found it).
  volatile uint32_t sink = 0;
  for (__m512i v : {acc0, acc1, acc2, acc3, acc4, acc5, acc6, acc7, acc8, acc9, acc10, acc11})
    sink = sink + static_cast<uint32_t>(_mm512_reduce_add_epi32(v));
  return gops;
}

double measurePeakFp32Gflops__avx512f(double seconds) {
  __m512 acc[12];
  for (int i = 0; i < 12; ++i) acc[i] = _mm512_set1_ps(static_cast<float>(i));
  const __m512 a = _mm512_set1_ps(0.999f), b = _mm512_set1_ps(0.001f);
  const double gflops = timeLoop(seconds, 12.0 * 16 * 2, [&](long n) {
    for (long k = 0; k < n; ++k)
      for (int i = 0; i < 12; ++i) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
  });
  volatile float sink = 0;
  for (int i = 0; i < 12; ++i) sink = sink + _mm512_reduce_add_ps(acc[i]);
  return gflops;
}

double measureOutputStageGoutputs__avx512f(double seconds) {
  // 64 pixels x 128 channels: 32 KB of accumulators, typical multipliers, ReLU bounds.
  constexpr int64_t kRows = 64, kChannels = 128;
  std::vector<ref::Requantization> requant(kChannels);
  std::vector<int32_t> bias(kChannels), acc(kRows * kChannels);
  for (int64_t c = 0; c < kChannels; ++c) {
    requant[static_cast<size_t>(c)].scale = 0.002f + 0.0001f * static_cast<float>(c);
    bias[static_cast<size_t>(c)] = static_cast<int32_t>(c * 37 % 1000) - 500;
  }
  for (size_t i = 0; i < acc.size(); ++i) acc[i] = static_cast<int32_t>(i * 2654435761u % 200000) - 100000;
  ref::QuantParams q;
  q.output_zero_point = -20;
  q.output_min = -20;
  const Requantizer requantizer(kChannels, bias.data(), requant.data(), q);
  std::vector<uint8_t> y(acc.size());
  const double gOutputs = timeLoop(seconds, static_cast<double>(kRows * kChannels) / 1000.0, [&](long n) {
    for (long k = 0; k < n / 1000; ++k) requantizer.run(kRows, acc.data(), y.data());
  });
  volatile uint8_t sink = y[0];
  (void)sink;
  return gOutputs;
}

}  // namespace edgeopt::kernels::x86
