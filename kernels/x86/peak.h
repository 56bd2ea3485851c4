// The machine's measured arithmetic peak on one thread: a dependency-free stream of AVX-512 VNNI
// vpdpbusd (int8) or 512-bit FMA (fp32) instructions, timed for about `seconds`. The profile's
// "% of peak" divides by these, not by a clock read from /proc (a VM's turbo clock and FMA port
// count are not visible there).
#pragma once

namespace edgeopt::kernels::x86 {

double measurePeakInt8Gops__avx512vnni(double seconds);  // 2 ops per u8 x s8 MAC
double measurePeakFp32Gflops__avx512f(double seconds);   // 2 flops per FMA
// The int8 output stage (kernels/ref/quant.h's fp32 requantization, Requantizer) over int32
// accumulators resident in L1, in G outputs/s: the other floor of an int8 layer's time besides
// its MACs (one requantization per output element).
double measureOutputStageGoutputs__avx512f(double seconds);

}  // namespace edgeopt::kernels::x86
