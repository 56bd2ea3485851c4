#include <arm_neon.h>

#include <algorithm>
#include <cstring>

#include "kernels/neon/elementwise.h"
#include "kernels/neon/mca.h"
#include "kernels/neon/requantize.h"

namespace edgeopt::kernels::neon {

namespace {
// The valid tap range [k0, k1) of a 3-tap window starting at input index i0 of an axis of length n.
inline void tapRange(int64_t i0, int64_t n, int64_t* k0, int64_t* k1) {
  *k0 = i0 < 0 ? -i0 : 0;
  *k1 = i0 + 3 > n ? n - i0 : 3;
}
}  // namespace

void qs8_dwconv3x3_row__neon(const DwConv3x3Params& p, int64_t oh, const int8_t* x, const int16_t* w,
                             const int32_t* bias, int32_t* acc) {
  const int64_t C = p.channels;
  const int64_t ih0 = oh * p.stride_h - p.pad_top;
  int64_t kh0, kh1;
  tapRange(ih0, p.in_h, &kh0, &kh1);
  const int8x8_t zp = vdup_n_s8(static_cast<int8_t>(p.x_zero_point));
  for (int64_t ow = 0; ow < p.out_w; ++ow) {
    const int64_t iw0 = ow * p.stride_w - p.pad_left;
    int64_t kw0, kw1;
    tapRange(iw0, p.in_w, &kw0, &kw1);
    int32_t* out = acc + ow * C;
    int64_t c = 0;
    const bool interior = kh0 == 0 && kh1 == 3 && kw0 == 0 && kw1 == 3;
    for (; c + 8 <= C; c += 8) {
      int32x4_t lo = bias ? vld1q_s32(bias + c) : vdupq_n_s32(0), hi = bias ? vld1q_s32(bias + c + 4) : vdupq_n_s32(0);
      if (interior) {
        // All nine taps inside the image: straight-line code.
        EDGEOPT_MCA_BEGIN("qs8_dwconv3x3_row__neon");
        // One accumulator pair per kernel row: three independent chains instead of one.
        const int8_t* xc = x + (ih0 * p.in_w + iw0) * C + c;
        int32x4_t plo[3] = {lo, vdupq_n_s32(0), vdupq_n_s32(0)}, phi[3] = {hi, vdupq_n_s32(0), vdupq_n_s32(0)};
#pragma GCC unroll 9
        for (int t = 0; t < 9; ++t) {
          const int16x8_t xd = vsubl_s8(vld1_s8(xc + ((t / 3) * p.in_w + t % 3) * C), zp);
          const int16x8_t wv = vld1q_s16(w + t * C + c);
          plo[t / 3] = vmlal_s16(plo[t / 3], vget_low_s16(xd), vget_low_s16(wv));
          phi[t / 3] = vmlal_s16(phi[t / 3], vget_high_s16(xd), vget_high_s16(wv));
        }
        lo = vaddq_s32(vaddq_s32(plo[0], plo[1]), plo[2]);
        hi = vaddq_s32(vaddq_s32(phi[0], phi[1]), phi[2]);
        EDGEOPT_MCA_END();
      } else {
        for (int64_t kh = kh0; kh < kh1; ++kh)
          for (int64_t kw = kw0; kw < kw1; ++kw) {
            const int16x8_t xd = vsubl_s8(vld1_s8(x + ((ih0 + kh) * p.in_w + iw0 + kw) * C + c), zp);
            const int16x8_t wv = vld1q_s16(w + (kh * 3 + kw) * C + c);
            lo = vmlal_s16(lo, vget_low_s16(xd), vget_low_s16(wv));
            hi = vmlal_s16(hi, vget_high_s16(xd), vget_high_s16(wv));
          }
      }
      vst1q_s32(out + c, lo);
      vst1q_s32(out + c + 4, hi);
    }
    for (; c < C; ++c) {
      int32_t s = bias ? bias[c] : 0;
      for (int64_t kh = kh0; kh < kh1; ++kh)
        for (int64_t kw = kw0; kw < kw1; ++kw)
          s += (x[((ih0 + kh) * p.in_w + iw0 + kw) * C + c] - p.x_zero_point) * w[(kh * 3 + kw) * C + c];
      out[c] = s;
    }
  }
}

void f32_dwconv3x3_row__neon(const DwConv3x3Params& p, int64_t oh, const float* x, const float* w,
                             const float* bias, float* y) {
  const int64_t C = p.channels;
  const int64_t ih0 = oh * p.stride_h - p.pad_top;
  int64_t kh0, kh1;
  tapRange(ih0, p.in_h, &kh0, &kh1);
  for (int64_t ow = 0; ow < p.out_w; ++ow) {
    const int64_t iw0 = ow * p.stride_w - p.pad_left;
    int64_t kw0, kw1;
    tapRange(iw0, p.in_w, &kw0, &kw1);
    float* out = y + ow * C;
    int64_t c = 0;
    const bool interior = kh0 == 0 && kh1 == 3 && kw0 == 0 && kw1 == 3;
    for (; c + 4 <= C; c += 4) {
      float32x4_t s = bias ? vld1q_f32(bias + c) : vdupq_n_f32(0.0f);
      if (interior) {
        EDGEOPT_MCA_BEGIN("f32_dwconv3x3_row__neon");
        const float* xc = x + (ih0 * p.in_w + iw0) * C + c;
        float32x4_t part[3] = {s, vdupq_n_f32(0.0f), vdupq_n_f32(0.0f)};
#pragma GCC unroll 9
        for (int t = 0; t < 9; ++t)
          part[t / 3] = vfmaq_f32(part[t / 3], vld1q_f32(xc + ((t / 3) * p.in_w + t % 3) * C), vld1q_f32(w + t * C + c));
        s = vaddq_f32(vaddq_f32(part[0], part[1]), part[2]);
        EDGEOPT_MCA_END();
      } else {
        for (int64_t kh = kh0; kh < kh1; ++kh)
          for (int64_t kw = kw0; kw < kw1; ++kw)
            s = vfmaq_f32(s, vld1q_f32(x + ((ih0 + kh) * p.in_w + iw0 + kw) * C + c), vld1q_f32(w + (kh * 3 + kw) * C + c));
      }
      vst1q_f32(out + c, s);
    }
    for (; c < C; ++c) {
      float s = bias ? bias[c] : 0.0f;
      for (int64_t kh = kh0; kh < kh1; ++kh)
        for (int64_t kw = kw0; kw < kw1; ++kw) s += x[((ih0 + kh) * p.in_w + iw0 + kw) * C + c] * w[(kh * 3 + kw) * C + c];
      out[c] = s;
    }
  }
}

void qs8_add__neon(int64_t n, const int8_t* a, int32_t a_zero_point, const int8_t* b, int32_t b_zero_point,
                   const ref::AddRequantization& r, const ref::QuantParams& q, int8_t* y) {
  const int16x8_t za = vdupq_n_s16(static_cast<int16_t>(a_zero_point)), zb = vdupq_n_s16(static_cast<int16_t>(b_zero_point));
  const int32x4_t weightA = vdupq_n_s32(r.a_weight), weightB = vdupq_n_s32(r.b_weight);
  const float32x4_t scale = vdupq_n_f32(r.out.scale);
  const int16x8_t zp = vdupq_n_s16(static_cast<int16_t>(q.output_zero_point));
  const int8x16_t lo = vdupq_n_s8(static_cast<int8_t>(q.output_min)), hi = vdupq_n_s8(static_cast<int8_t>(q.output_max));
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const int8x16_t av = vld1q_s8(a + i), bv = vld1q_s8(b + i);
    const int16x8_t da[2] = {vsubq_s16(vmovl_s8(vget_low_s8(av)), za), vsubq_s16(vmovl_s8(vget_high_s8(av)), za)};
    const int16x8_t db[2] = {vsubq_s16(vmovl_s8(vget_low_s8(bv)), zb), vsubq_s16(vmovl_s8(vget_high_s8(bv)), zb)};
    int32x4_t u[4];
    for (int h = 0; h < 4; ++h) {
      const int16x8_t xa = da[h / 2], xb = db[h / 2];
      const int32x4_t wideA = vmovl_s16(h % 2 ? vget_high_s16(xa) : vget_low_s16(xa));
      const int32x4_t wideB = vmovl_s16(h % 2 ? vget_high_s16(xb) : vget_low_s16(xb));
      u[h] = requantize4(vmlaq_s32(vmulq_s32(wideA, weightA), wideB, weightB), scale);
    }
    vst1q_s8(y + i, narrowToOutput(u, zp, lo, hi));
  }
  for (; i < n; ++i) y[i] = ref::qs8_add(a[i], b[i], r, a_zero_point, b_zero_point, q);
}

void s8_maxpool_nhwc__neon(const MaxPool2d& p, const int8_t* x, int8_t* y) {
  const int64_t C = p.channels;
  for (int64_t oh = 0; oh < p.out_h; ++oh)
    for (int64_t ow = 0; ow < p.out_w; ++ow) {
      int8_t* out = y + (oh * p.out_w + ow) * C;
      int64_t c = 0;
      for (; c + 16 <= C; c += 16) {
        int8x16_t m = vdupq_n_s8(-128);
        for (int64_t kh = 0; kh < p.kernel_h; ++kh) {
          const int64_t ih = oh * p.stride_h + kh * p.dilation_h - p.pad_top;
          if (ih < 0 || ih >= p.in_h) continue;
          for (int64_t kw = 0; kw < p.kernel_w; ++kw) {
            const int64_t iw = ow * p.stride_w + kw * p.dilation_w - p.pad_left;
            if (iw >= 0 && iw < p.in_w) m = vmaxq_s8(m, vld1q_s8(x + (ih * p.in_w + iw) * C + c));
          }
        }
        vst1q_s8(out + c, m);
      }
      for (; c < C; ++c) {
        int8_t m = -128;
        for (int64_t kh = 0; kh < p.kernel_h; ++kh) {
          const int64_t ih = oh * p.stride_h + kh * p.dilation_h - p.pad_top;
          if (ih < 0 || ih >= p.in_h) continue;
          for (int64_t kw = 0; kw < p.kernel_w; ++kw) {
            const int64_t iw = ow * p.stride_w + kw * p.dilation_w - p.pad_left;
            if (iw >= 0 && iw < p.in_w) m = std::max(m, x[(ih * p.in_w + iw) * C + c]);
          }
        }
        out[c] = m;
      }
    }
}

void qs8_global_avgpool_nhwc__neon(int64_t batch, int64_t pixels, int64_t channels, const int8_t* x,
                                   ref::Requantization requant, const ref::QuantParams& q, int8_t* y) {
  for (int64_t n = 0; n < batch; ++n) {
    const int8_t* xb = x + n * pixels * channels;
    int64_t c = 0;
    for (; c + 8 <= channels; c += 8) {
      int32x4_t lo = vdupq_n_s32(0), hi = vdupq_n_s32(0);
      for (int64_t p = 0; p < pixels; ++p) {
        const int16x8_t v = vmovl_s8(vld1_s8(xb + p * channels + c));
        lo = vaddw_s16(lo, vget_low_s16(v));
        hi = vaddw_s16(hi, vget_high_s16(v));
      }
      int32_t sums[8];
      vst1q_s32(sums, lo);
      vst1q_s32(sums + 4, hi);
      for (int k = 0; k < 8; ++k)
        y[n * channels + c + k] = ref::requantizeToOutput(sums[k] - static_cast<int32_t>(pixels) * q.input_zero_point, requant, q);
    }
    for (; c < channels; ++c) {
      int32_t s = 0;
      for (int64_t p = 0; p < pixels; ++p) s += xb[p * channels + c];
      y[n * channels + c] = ref::requantizeToOutput(s - static_cast<int32_t>(pixels) * q.input_zero_point, requant, q);
    }
  }
}

}  // namespace edgeopt::kernels::neon
