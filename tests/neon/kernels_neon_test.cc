// NEON kernels (kernels/neon) against their scalar twins in kernels/ref, bit-exact for int8;
// built for aarch64 and run under qemu-aarch64 (tests/neon/run.sh).
#include <gtest/gtest.h>

#include <random>

#include "kernels/neon/requantize.h"
#include "tests/unit/requantize_tester.h"

namespace edgeopt::kernels {
namespace {

TEST(KernelsNeonTest, RequantizeRowsMatchesScalar) {
  for (int64_t c : {1, 3, 4, 7, 8, 15, 16, 17, 31, 32, 33, 64, 100})
    for (int64_t r : {1, 2, 5})
      for (bool bias : {false, true})
        RequantizeRowsTester().rows(r).channels(c).withBias(bias).relu(c % 2 == 0).seed(static_cast<uint32_t>(c * 10 + r)).test<int8_t>(
            neon::qs8_requantize_rows__neon);
  std::mt19937 rng(42);
  std::uniform_int_distribution<int> d(1, 300);
  for (int trial = 0; trial < 100; ++trial)
    RequantizeRowsTester().rows(d(rng) % 40 + 1).channels(d(rng)).seed(static_cast<uint32_t>(trial)).test<int8_t>(
        neon::qs8_requantize_rows__neon);
}

}  // namespace
}  // namespace edgeopt::kernels
