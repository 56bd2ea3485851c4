#include "kernels/ref/pool.h"

#include <algorithm>
#include <vector>

#include "kernels/ref/quant.h"

#include <limits>

namespace edgeopt::kernels::ref {

namespace {
template <typename Visit>
void forEachWindow(const PoolParams& p, Visit visit) {
  const int64_t in_plane = p.in[0] * p.in[1] * p.in[2];
  const int64_t out_plane = p.out[0] * p.out[1] * p.out[2];
  for (int64_t nc = 0; nc < p.batch * p.channels; ++nc) {
    for (int64_t od = 0; od < p.out[0]; ++od)
      for (int64_t oh = 0; oh < p.out[1]; ++oh)
        for (int64_t ow = 0; ow < p.out[2]; ++ow) {
          const int64_t o = nc * out_plane + (od * p.out[1] + oh) * p.out[2] + ow;
          visit(nc * in_plane, o, od, oh, ow);
        }
  }
}

template <typename T>
void maxpool(const PoolParams& p, const T* x, T* y, int64_t* indices) {
  forEachWindow(p, [&](int64_t base, int64_t o, int64_t od, int64_t oh, int64_t ow) {
    T best = std::numeric_limits<T>::lowest();
    int64_t best_index = -1;
    for (int64_t kd = 0; kd < p.kernel[0]; ++kd) {
      const int64_t id = od * p.stride[0] + kd * p.dilation[0] - p.pad_begin[0];
      if (id < 0 || id >= p.in[0]) continue;
      for (int64_t kh = 0; kh < p.kernel[1]; ++kh) {
        const int64_t ih = oh * p.stride[1] + kh * p.dilation[1] - p.pad_begin[1];
        if (ih < 0 || ih >= p.in[1]) continue;
        for (int64_t kw = 0; kw < p.kernel[2]; ++kw) {
          const int64_t iw = ow * p.stride[2] + kw * p.dilation[2] - p.pad_begin[2];
          if (iw < 0 || iw >= p.in[2]) continue;
          const int64_t i = base + (id * p.in[1] + ih) * p.in[2] + iw;
          if (best_index < 0 || x[i] > best) {
            best = x[i];
            best_index = i;
          }
        }
      }
    }
    y[o] = best;
    if (indices) indices[o] = best_index;
  });
}
}  // namespace

void f32_maxpool__scalar(const PoolParams& p, const float* x, float* y, int64_t* indices) {
  maxpool(p, x, y, indices);
}
void s8_maxpool__scalar(const PoolParams& p, const int8_t* x, int8_t* y, int64_t* indices) {
  maxpool(p, x, y, indices);
}
void u8_maxpool__scalar(const PoolParams& p, const uint8_t* x, uint8_t* y, int64_t* indices) {
  maxpool(p, x, y, indices);
}

namespace {
// Sums each window's input positions (as Acc) and hands finish(output index, sum, count) the
// count that average pooling divides by.
template <typename Acc, typename T, typename Finish>
void averageWindows(const PoolParams& p, bool count_include_pad, const T* x, Finish finish) {
  forEachWindow(p, [&](int64_t base, int64_t o, int64_t od, int64_t oh, int64_t ow) {
    Acc sum = 0;
    int64_t inside = 0, padded = 0;
    for (int64_t kd = 0; kd < p.kernel[0]; ++kd) {
      const int64_t id = od * p.stride[0] + kd * p.dilation[0] - p.pad_begin[0];
      const bool pd = id >= -p.pad_begin[0] && id < p.padded_end[0] - p.pad_begin[0];
      for (int64_t kh = 0; kh < p.kernel[1]; ++kh) {
        const int64_t ih = oh * p.stride[1] + kh * p.dilation[1] - p.pad_begin[1];
        const bool ph = ih >= -p.pad_begin[1] && ih < p.padded_end[1] - p.pad_begin[1];
        for (int64_t kw = 0; kw < p.kernel[2]; ++kw) {
          const int64_t iw = ow * p.stride[2] + kw * p.dilation[2] - p.pad_begin[2];
          const bool pw = iw >= -p.pad_begin[2] && iw < p.padded_end[2] - p.pad_begin[2];
          if (pd && ph && pw) ++padded;
          if (id < 0 || id >= p.in[0] || ih < 0 || ih >= p.in[1] || iw < 0 || iw >= p.in[2])
            continue;
          sum += x[base + (id * p.in[1] + ih) * p.in[2] + iw];
          ++inside;
        }
      }
    }
    finish(o, sum, inside, count_include_pad ? padded : inside);
  });
}
}  // namespace

void f32_avgpool__scalar(const PoolParams& p, bool count_include_pad, const float* x, float* y) {
  averageWindows<float>(p, count_include_pad, x, [&](int64_t o, float sum, int64_t, int64_t count) {
    y[o] = count > 0 ? sum / static_cast<float>(count) : 0.0f;
  });
}

void qs8_avgpool__scalar(const PoolParams& p, bool count_include_pad, const QuantParams& q,
                         const Requantization* per_count, const int8_t* x, int8_t* y) {
  averageWindows<int32_t>(p, count_include_pad, x, [&](int64_t o, int32_t sum, int64_t inside, int64_t count) {
    const int32_t acc = sum - static_cast<int32_t>(inside) * q.input_zero_point;
    y[o] = requantizeToOutput(acc, per_count[count], q);
  });
}

void qu8_dequantize_avgpool_tiles_nhwc__scalar(int64_t in_h, int64_t in_w, int64_t channels, int64_t kernel_h,
                                               int64_t kernel_w, const uint8_t* x, float scale, int32_t zero_point,
                                               float* y) {
  const int64_t out_h = in_h / kernel_h, out_w = in_w / kernel_w, window = kernel_h * kernel_w;
  const float factor = scale / static_cast<float>(window);
  const int32_t offset = -static_cast<int32_t>(window) * zero_point;
  for (int64_t oy = 0; oy < out_h; ++oy)
    for (int64_t ox = 0; ox < out_w; ++ox)
      for (int64_t c = 0; c < channels; ++c) {
        int32_t sum = offset;
        for (int64_t ky = 0; ky < kernel_h; ++ky)
          for (int64_t kx = 0; kx < kernel_w; ++kx) sum += x[((oy * kernel_h + ky) * in_w + ox * kernel_w + kx) * channels + c];
        y[(oy * out_w + ox) * channels + c] = static_cast<float>(sum) * factor;
      }
}

}  // namespace edgeopt::kernels::ref
