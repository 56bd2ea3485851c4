#include <immintrin.h>

#include "kernels/x86/dwconv.h"
#include "kernels/x86/requantize_avx512_inl.h"

namespace edgeopt::kernels::x86 {

void qu8_dwconv3x3_row__avx512f(const DwConv3x3Params& p, int64_t oh, const uint8_t* x, const int32_t* w,
                                const int32_t* bias, int32_t* acc) {
  const int64_t C = p.channels;
  const __m512i zp = _mm512_set1_epi32(p.x_zero_point);
  const int64_t ih0 = oh * p.stride_h - p.pad_top;
  const int64_t kh0 = ih0 < 0 ? -ih0 : 0, kh1 = ih0 + 3 > p.in_h ? p.in_h - ih0 : 3;
  for (int64_t ow = 0; ow < p.out_w; ++ow) {
    const int64_t iw0 = ow * p.stride_w - p.pad_left;
    const int64_t kw0 = iw0 < 0 ? -iw0 : 0, kw1 = iw0 + 3 > p.in_w ? p.in_w - iw0 : 3;
    int32_t* out = acc + ow * C;
    for (int64_t c0 = 0; c0 < C; c0 += 16) {
      const __mmask16 mask = tailMask16(C - c0);
      __m512i sum = bias ? _mm512_maskz_loadu_epi32(mask, bias + c0) : _mm512_setzero_si512();
      for (int64_t kh = kh0; kh < kh1; ++kh) {
        const uint8_t* row = x + ((ih0 + kh) * p.in_w + iw0) * C + c0;
        const int32_t* wr = w + kh * 3 * C + c0;
        for (int64_t kw = kw0; kw < kw1; ++kw) {
          const __m512i xv = _mm512_sub_epi32(_mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(mask, row + kw * C)), zp);
          sum = _mm512_add_epi32(sum, _mm512_mullo_epi32(xv, _mm512_maskz_loadu_epi32(mask, wr + kw * C)));
        }
      }
      _mm512_mask_storeu_epi32(out + c0, mask, sum);
    }
  }
}

}  // namespace edgeopt::kernels::x86
