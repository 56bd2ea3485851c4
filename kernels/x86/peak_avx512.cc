#include <immintrin.h>

#include <chrono>
#include <vector>

#include "kernels/ref/quant.h"
#include "kernels/x86/peak.h"
#include "kernels/x86/requantize.h"

namespace edgeopt::kernels::x86 {

namespace {
template <typename Body>
double timeLoop(double seconds, double opsPerIteration, Body body) {
  const auto start = std::chrono::steady_clock::now();
  double elapsed = 0;
  long iterations = 0;
  do {
    body(100000);
    iterations += 100000;
    elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  } while (elapsed < seconds);
  return static_cast<double>(iterations) * opsPerIteration / elapsed / 1e9;
}
}  // namespace

// 12 independent accumulators hide the instruction latency; the results feed a volatile sink so
// the loops are not removed.
double measurePeakInt8Gops__avx512vnni(double seconds) {
  __m512i acc[12];
  for (int i = 0; i < 12; ++i) acc[i] = _mm512_set1_epi32(i);
  const __m512i a = _mm512_set1_epi8(3), b = _mm512_set1_epi8(5);
  const double gops = timeLoop(seconds, 12.0 * 64 * 2, [&](long n) {
    for (long k = 0; k < n; ++k)
      for (int i = 0; i < 12; ++i) acc[i] = _mm512_dpbusd_epi32(acc[i], a, b);
  });
  volatile int sink = 0;
  for (int i = 0; i < 12; ++i) sink = sink + _mm512_reduce_add_epi32(acc[i]);
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
