#include <immintrin.h>

#include <algorithm>

#include "kernels/ref/layout.h"
#include "kernels/x86/requantize.h"
#include "kernels/x86/requantize_avx512_inl.h"

namespace edgeopt::kernels::x86 {

namespace {
// acc = da A + db B for 16 (da, db) word pairs, exactly: with A = Ah 2^11 + Al (Al < 2^11, Ah <=
// 2^11 as A <= 2^22) and B likewise, both halves are word-pair dot products (vpmaddwd) of at most
// 2 * 255 * 2^11 in magnitude, and (high << 11) + low stays below 2^31.
inline __m512i addAccumulators(__m512i pairs, __m512i high, __m512i low) {
  return _mm512_add_epi32(_mm512_slli_epi32(_mm512_madd_epi16(pairs, high), 11), _mm512_madd_epi16(pairs, low));
}
}  // namespace

void qu8_add__avx512f(int64_t n, const uint8_t* a, int32_t a_zero_point, const uint8_t* b, int32_t b_zero_point,
                      const ref::AddRequantization& r, const ref::QuantParams& q, uint8_t* y) {
  // acc = (a - za) A + (b - zb) B is exact in int32 (quant.h); then the output stage with M = 2^-s
  // on int8-domain parameters, 64 elements per iteration.
  auto wordPair = [](int32_t first, int32_t second) {
    return _mm512_set1_epi32(static_cast<int32_t>(static_cast<uint32_t>(first) | (static_cast<uint32_t>(second) << 16)));
  };
  const __m512i high = wordPair(r.a_weight >> 11, r.b_weight >> 11);
  const __m512i low = wordPair(r.a_weight & 2047, r.b_weight & 2047);
  const __m512i za = _mm512_set1_epi16(static_cast<int16_t>(a_zero_point)), zb = _mm512_set1_epi16(static_cast<int16_t>(b_zero_point));
  const OutputStage16 stage{_mm512_setzero_si512(), _mm512_set1_ps(r.out.scale)};
  const StageBounds bounds(q.output_zero_point - 128, q.output_min - 128, q.output_max - 128);
  const ByteBounds unbounded(-128, 127);
  // 32 elements -> 32 int16 results in element order, resultOf(word pairs) giving 16 int32 results:
  // unpacklo/hi take words 0-3 / 4-7 of each 128-bit lane, and packs_epi32 puts them back.
  auto words32 = [&](__m256i av, __m256i bv, auto&& resultOf) {
    const __m512i da = _mm512_sub_epi16(_mm512_cvtepu8_epi16(av), za), db = _mm512_sub_epi16(_mm512_cvtepu8_epi16(bv), zb);
    return _mm512_packs_epi32(resultOf(_mm512_unpacklo_epi16(da, db)), resultOf(_mm512_unpackhi_epi16(da, db)));
  };
  // 64 elements at a time: two halves of 32 (int16 results in element order), narrowed with
  // saturation, bounded and stored as uint8. packs_epi16 interleaves the two halves by 8-byte
  // pieces within lanes; vpermq restores order.
  const __m512i order = _mm512_setr_epi64(0, 2, 4, 6, 1, 3, 5, 7);
  auto each64 = [&](auto&& halfOf32, const ByteBounds& byteBounds) {
    for (int64_t i = 0; i < n; i += 64) {
      const __mmask64 m = tailMask64(n - i);
      const __m512i av = _mm512_maskz_loadu_epi8(m, a + i), bv = _mm512_maskz_loadu_epi8(m, b + i);
      const __m512i w0 = halfOf32(_mm512_castsi512_si256(av), _mm512_castsi512_si256(bv));
      const __m512i w1 = halfOf32(_mm512_extracti64x4_epi64(av, 1), _mm512_extracti64x4_epi64(bv, 1));
      _mm512_mask_storeu_epi8(y + i, m, _mm512_permutexvar_epi64(order, boundedUint8(_mm512_packs_epi16(w0, w1), byteBounds)));
    }
  };
  if (r.out.scale <= 0x1p-16f) {
    // With M <= 2^-16, |acc M| < 2^15: vcvtps2dq cannot overflow, and saturating to int16, adding
    // the zero point with int16 saturation, saturating to int8 and clamping the bytes is the
    // clamp of zp + round(acc M) (every step monotone, the bounds inside int8): 7 operations per
    // 16 results instead of 10.
    constexpr int kNearest = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
    const __m512 scale = _mm512_set1_ps(r.out.scale);
    const __m512i zp = _mm512_set1_epi16(static_cast<int16_t>(q.output_zero_point - 128));
    const ByteBounds byteBounds(q.output_min - 128, q.output_max - 128);
    auto rounded = [&](__m512i pairs) {
      return _mm512_cvt_roundps_epi32(_mm512_mul_round_ps(_mm512_cvt_roundepi32_ps(addAccumulators(pairs, high, low), kNearest),
                                                          scale, kNearest),
                                      kNearest);
    };
    each64([&](__m256i av, __m256i bv) { return _mm512_adds_epi16(words32(av, bv, rounded), zp); }, byteBounds);
    return;
  }
  each64(
      [&](__m256i av, __m256i bv) {
        return words32(av, bv, [&](__m512i pairs) { return requantize16(addAccumulators(pairs, high, low), stage, bounds); });
      },
      unbounded);
}

void u8_maxpool_nhwc__avx512bw(const ref::PoolParams& p, const uint8_t* x, uint8_t* y) {
  const int64_t C = p.channels, inH = p.in[1], inW = p.in[2];
  for (int64_t oh = 0; oh < p.out[1]; ++oh) {
    const int64_t ih0 = oh * p.stride[1] - p.pad_begin[1];
    const int64_t kh0 = std::max<int64_t>(0, -ih0), kh1 = std::min(p.kernel[1], inH - ih0);
    for (int64_t ow = 0; ow < p.out[2]; ++ow) {
      const int64_t iw0 = ow * p.stride[2] - p.pad_begin[2];
      const int64_t kw0 = std::max<int64_t>(0, -iw0), kw1 = std::min(p.kernel[2], inW - iw0);
      uint8_t* out = y + (oh * p.out[2] + ow) * C;
      for (int64_t c = 0; c < C; c += 64) {
        const __mmask64 m = tailMask64(C - c);
        __m512i best = _mm512_setzero_si512();
        for (int64_t kh = kh0; kh < kh1; ++kh) {
          const uint8_t* row = x + ((ih0 + kh) * inW + iw0) * C + c;
          for (int64_t kw = kw0; kw < kw1; ++kw) best = _mm512_max_epu8(best, _mm512_maskz_loadu_epi8(m, row + kw * C));
        }
        _mm512_mask_storeu_epi8(out + c, m, best);
      }
    }
  }
}

void qu8_planes_to_pixels4__avx512bw(int64_t n, const uint8_t* const* planes, int count, uint8_t fill, uint8_t* out) {
  const __m128i filler = _mm_set1_epi8(static_cast<char>(fill));
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = tailMask16(n - i);
    __m128i p[4];
    for (int c = 0; c < 4; ++c) p[c] = c < count ? _mm_maskz_loadu_epi8(m, planes[c] + i) : filler;
    const __m128i p01l = _mm_unpacklo_epi8(p[0], p[1]), p01h = _mm_unpackhi_epi8(p[0], p[1]);
    const __m128i p23l = _mm_unpacklo_epi8(p[2], p[3]), p23h = _mm_unpackhi_epi8(p[2], p[3]);
    const __m512i pixels = _mm512_inserti64x4(
        _mm512_castsi256_si512(_mm256_setr_m128i(_mm_unpacklo_epi16(p01l, p23l), _mm_unpackhi_epi16(p01l, p23l))),
        _mm256_setr_m128i(_mm_unpacklo_epi16(p01h, p23h), _mm_unpackhi_epi16(p01h, p23h)), 1);
    const __mmask64 bytes = tailMask64(4 * (n - i));
    _mm512_mask_storeu_epi8(out + 4 * i, bytes, pixels);
  }
}

void qu8_quantize__avx512f(int64_t n, const float* x, float scale, int32_t zero_point, uint8_t* y) {
  const __m512 s = _mm512_set1_ps(scale);
  const __m512 lo = _mm512_set1_ps(-1e9f), hi = _mm512_set1_ps(1e9f);
  const __m512i zp = _mm512_set1_epi32(zero_point), zero = _mm512_setzero_si512(), top = _mm512_set1_epi32(255);
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 mask = tailMask16(n - i);
    __m512 v = _mm512_div_ps(_mm512_maskz_loadu_ps(mask, x + i), s);
    const __mmask16 nan = _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
    v = _mm512_min_ps(_mm512_max_ps(v, lo), hi);
    v = _mm512_roundscale_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);  // half to even
    __m512i r = _mm512_maskz_mov_epi32(static_cast<__mmask16>(~nan), _mm512_cvtps_epi32(v));
    r = _mm512_min_epi32(_mm512_max_epi32(_mm512_add_epi32(r, zp), zero), top);
    _mm512_mask_cvtusepi32_storeu_epi8(y + i, mask, r);
  }
}

void qu8_global_avgpool_nhwc__avx512f(int64_t batch, int64_t pixels, int64_t channels, const uint8_t* x,
                                      ref::Requantization requant, const ref::QuantParams& q, uint8_t* y) {
  const int32_t offset = static_cast<int32_t>(pixels) * q.input_zero_point;
  for (int64_t b = 0; b < batch; ++b) {
    const uint8_t* xb = x + b * pixels * channels;
    for (int64_t c0 = 0; c0 < channels; c0 += 16) {
      const int64_t n = channels - c0 < 16 ? channels - c0 : 16;
      const __mmask16 mask = tailMask16(n);
      __m512i sum = _mm512_setzero_si512();
      for (int64_t p = 0; p < pixels; ++p)
        sum = _mm512_add_epi32(sum, _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(mask, xb + p * channels + c0)));
      int32_t sums[16];
      _mm512_storeu_si512(sums, sum);
      for (int64_t k = 0; k < n; ++k)
        y[b * channels + c0 + k] = static_cast<uint8_t>(std::clamp<int64_t>(
            int64_t{ref::requantize(sums[k] - offset, requant)} + q.output_zero_point, q.output_min, q.output_max));
    }
  }
}

namespace {

// The 16x16 block of bytes at src (row stride srcStride) transposed into dst (row stride
// dstStride): four rounds of interleaving, bytes, then pairs, quads and eights of rows.
inline void transposeBlock16x16(const uint8_t* src, int64_t srcStride, uint8_t* dst, int64_t dstStride) {
  __m128i r[16], t[16];
  for (int i = 0; i < 16; ++i) r[i] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i * srcStride));
  // t[2p], t[2p+1]: rows 2p and 2p+1 interleaved, bytes 0-7 and 8-15.
  for (int p = 0; p < 8; ++p) {
    t[2 * p] = _mm_unpacklo_epi8(r[2 * p], r[2 * p + 1]);
    t[2 * p + 1] = _mm_unpackhi_epi8(r[2 * p], r[2 * p + 1]);
  }
  // r[4g + q]: rows 4g..4g+3, bytes 4q..4q+3.
  for (int g = 0; g < 4; ++g) {
    r[4 * g + 0] = _mm_unpacklo_epi16(t[4 * g], t[4 * g + 2]);
    r[4 * g + 1] = _mm_unpackhi_epi16(t[4 * g], t[4 * g + 2]);
    r[4 * g + 2] = _mm_unpacklo_epi16(t[4 * g + 1], t[4 * g + 3]);
    r[4 * g + 3] = _mm_unpackhi_epi16(t[4 * g + 1], t[4 * g + 3]);
  }
  // t[8k + m]: rows 8k..8k+7, bytes 2m and 2m+1.
  for (int k = 0; k < 2; ++k)
    for (int q = 0; q < 4; ++q) {
      t[8 * k + 2 * q] = _mm_unpacklo_epi32(r[8 * k + q], r[8 * k + 4 + q]);
      t[8 * k + 2 * q + 1] = _mm_unpackhi_epi32(r[8 * k + q], r[8 * k + 4 + q]);
    }
  // Column 2m and 2m+1 of the block, all 16 rows.
  for (int m = 0; m < 8; ++m) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + (2 * m) * dstStride), _mm_unpacklo_epi64(t[m], t[8 + m]));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + (2 * m + 1) * dstStride), _mm_unpackhi_epi64(t[m], t[8 + m]));
  }
}

inline void transposeBlock4x4(const float* src, int64_t srcStride, float* dst, int64_t dstStride) {
  __m128 r0 = _mm_loadu_ps(src), r1 = _mm_loadu_ps(src + srcStride), r2 = _mm_loadu_ps(src + 2 * srcStride),
         r3 = _mm_loadu_ps(src + 3 * srcStride);
  _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
  _mm_storeu_ps(dst, r0);
  _mm_storeu_ps(dst + dstStride, r1);
  _mm_storeu_ps(dst + 2 * dstStride, r2);
  _mm_storeu_ps(dst + 3 * dstStride, r3);
}

// One rows x cols matrix of T, whole blocks of B x B by `block`, the edges element by element.
template <typename T, int B, typename Block>
void transposeMatrix(int64_t rows, int64_t cols, const T* src, T* dst, Block block) {
  const int64_t fullRows = rows - rows % B, fullCols = cols - cols % B;
  for (int64_t i = 0; i < fullRows; i += B)
    for (int64_t j = 0; j < fullCols; j += B) block(src + i * cols + j, cols, dst + j * rows + i, rows);
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = i < fullRows ? fullCols : 0; j < cols; ++j) dst[j * rows + i] = src[i * cols + j];
}

}  // namespace

void transpose_matrices__x86(int64_t batch, int64_t rows, int64_t cols, size_t elem_size, const void* src, void* dst) {
  const int64_t matrix = rows * cols;
  for (int64_t b = 0; b < batch; ++b) {
    if (elem_size == 1) {
      transposeMatrix<uint8_t, 16>(rows, cols, static_cast<const uint8_t*>(src) + b * matrix,
                                   static_cast<uint8_t*>(dst) + b * matrix, transposeBlock16x16);
    } else if (elem_size == 4) {
      transposeMatrix<float, 4>(rows, cols, static_cast<const float*>(src) + b * matrix, static_cast<float*>(dst) + b * matrix,
                                transposeBlock4x4);
    } else {
      const size_t bytes = static_cast<size_t>(matrix) * elem_size * static_cast<size_t>(b);
      ref::transpose_matrices__scalar(1, rows, cols, elem_size, static_cast<const uint8_t*>(src) + bytes,
                                      static_cast<uint8_t*>(dst) + bytes);
    }
  }
}

void qu8_dequantize_avgpool_tiles_nhwc__avx512bw(int64_t in_h, int64_t in_w, int64_t channels, int64_t kernel_h,
                                                 int64_t kernel_w, const uint8_t* x, float scale, int32_t zero_point,
                                                 float* y) {
  const int64_t out_h = in_h / kernel_h, out_w = in_w / kernel_w, window = kernel_h * kernel_w;
  const __m512 factor = _mm512_set1_ps(scale / static_cast<float>(window));
  const __m512i offset = _mm512_set1_epi32(-static_cast<int32_t>(window) * zero_point);
  for (int64_t oy = 0; oy < out_h; ++oy)
    for (int64_t ox = 0; ox < out_w; ++ox)
      for (int64_t c = 0; c < channels; c += 16) {
        const __mmask16 lanes = channels - c >= 16 ? __mmask16(0xFFFF) : static_cast<__mmask16>((1u << (channels - c)) - 1);
        __m512i sum = offset;
        for (int64_t ky = 0; ky < kernel_h; ++ky) {
          const uint8_t* row = x + ((oy * kernel_h + ky) * in_w + ox * kernel_w) * channels + c;
          for (int64_t kx = 0; kx < kernel_w; ++kx)
            sum = _mm512_add_epi32(sum, _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(lanes, row + kx * channels)));
        }
        _mm512_mask_storeu_ps(y + (oy * out_w + ox) * channels + c, lanes, _mm512_mul_ps(_mm512_cvtepi32_ps(sum), factor));
      }
}

}  // namespace edgeopt::kernels::x86
