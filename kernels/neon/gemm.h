// NEON GEMM micro-kernels with packed B (weights), each computing one MR x NR tile of
// C = bias + A x B in int32 (int8) or fp32. The int8 kernels compute exact int32 accumulators;
// the output stage (qs8_requantize_rows__neon) then applies kernels/ref/quant.h's requantization,
// so A x B + requantization equals ref::qs8_gemm__scalar bit for bit. An activation zero point is
// folded into the bias at packing time (bias[n] - a_zero_point * sum_k B[k][n]), exact in int32.
//
// Packed B layouts (one panel per NR = 8 columns, columns past N and k past K zero):
//   8c4 (SDOT):          [panel][k / 4][8 columns][4 k]   int8
//   8   (SMLAL, FMLA):   [panel][k][8 columns]            int8 / fp32
// plus the panel's 8 int32 / fp32 bias values in front of its weights.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace edgeopt::kernels::neon {

constexpr size_t kGemmNr = 8;

// b is [K][N] (or [N][K] when b_transposed); bias may be null; a_zero_point is folded in.
std::vector<int8_t> qs8_pack_gemm_8c4(size_t K, size_t N, const int8_t* b, bool b_transposed, const int32_t* bias,
                                      int32_t a_zero_point);
std::vector<int8_t> qs8_pack_gemm_8(size_t K, size_t N, const int8_t* b, bool b_transposed, const int32_t* bias,
                                    int32_t a_zero_point);
std::vector<float> f32_pack_gemm_8(size_t K, size_t N, const float* b, bool b_transposed, const float* bias);
// Bytes (int8) or floats (fp32) of one packed panel for K.
size_t qs8_packed_panel_8c4(size_t K);
size_t qs8_packed_panel_8(size_t K);
size_t f32_packed_panel_8(size_t K);

// One tile: rows mr <= 4 of A (row stride a_stride elements), columns nc <= 8 of the panel; C rows
// at c_stride elements. a holds K values per row (int8, zero point folded into the panel).
void qs8_gemm_4x8c4__neondot(size_t mr, size_t nc, size_t K, const int8_t* a, size_t a_stride, const int8_t* panel,
                             int32_t* c, size_t c_stride);
void qs8_gemm_4x8__neon(size_t mr, size_t nc, size_t K, const int8_t* a, size_t a_stride, const int8_t* panel,
                        int32_t* c, size_t c_stride);
void f32_gemm_4x8__neonfma(size_t mr, size_t nc, size_t K, const float* a, size_t a_stride, const float* panel,
                           float* c, size_t c_stride);

// Whether this CPU has the ARMv8.2 dot product instructions (getauxval(AT_HWCAP)).
bool hasDotProd();

}  // namespace edgeopt::kernels::neon
