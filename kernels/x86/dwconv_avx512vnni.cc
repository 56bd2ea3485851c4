#include <immintrin.h>

#include <algorithm>

#include "kernels/x86/dwconv.h"
#include "kernels/x86/requantize.h"
#include "kernels/x86/requantize_avx512_inl.h"

namespace edgeopt::kernels::x86 {

// Layout: [64-channel block][kw][k = 0..3][64 bytes]; dword j of vector k holds channel
// 64 * block + 16 * (j / 4) + 4 * k + j % 4, bytes kh = 0..2 its weights at (kh, kw), byte 3 zero:
// the order the two unpack levels of the kernel put an interleaved input column in.
std::vector<int8_t> packDwConv3x3WeightsVnni(const int8_t* w, int64_t channels) {
  const int64_t blocks = (channels + 63) / 64;
  std::vector<int8_t> packed(static_cast<size_t>(blocks * 3 * 4 * 64), 0);
  for (int64_t b = 0; b < blocks; ++b)
    for (int kw = 0; kw < 3; ++kw)
      for (int k = 0; k < 4; ++k)
        for (int j = 0; j < 16; ++j) {
          const int64_t c = 64 * b + 16 * (j / 4) + 4 * k + j % 4;
          if (c >= channels) continue;
          for (int kh = 0; kh < 3; ++kh)
            packed[static_cast<size_t>(((b * 3 + kw) * 4 + k) * 64 + j * 4 + kh)] = w[c * 9 + kh * 3 + kw];
        }
  return packed;
}

size_t dwConv3x3VnniScratchBytes(const DwConv3x3Params& p) {
  return static_cast<size_t>((p.out_w - 1) * p.stride_w + 3) * 256;
}

namespace {
inline __mmask64 byteMask(int64_t n) { return n >= 64 ? ~__mmask64{0} : (__mmask64{1} << n) - 1; }
inline __mmask16 dwordMask(int64_t n) {
  return n >= 16 ? static_cast<__mmask16>(0xFFFF) : n <= 0 ? 0 : static_cast<__mmask16>((1u << n) - 1);
}

// The three rows' 64 bytes interleaved into 4 vectors at out, out + stride, ...: dword j of vector
// k holds bytes 16 (j / 4) + 4 k + j % 4 of rows 0..2 and a zero (packDwConv3x3WeightsVnni's order).
inline void interleave3(__m512i r0, __m512i r1, __m512i r2, uint8_t* out, int64_t stride) {
  const __m512i zero = _mm512_setzero_si512();
  const __m512i u01l = _mm512_unpacklo_epi8(r0, r1), u01h = _mm512_unpackhi_epi8(r0, r1);
  const __m512i u2l = _mm512_unpacklo_epi8(r2, zero), u2h = _mm512_unpackhi_epi8(r2, zero);
  _mm512_storeu_si512(out, _mm512_unpacklo_epi16(u01l, u2l));
  _mm512_storeu_si512(out + stride, _mm512_unpackhi_epi16(u01l, u2l));
  _mm512_storeu_si512(out + 2 * stride, _mm512_unpacklo_epi16(u01h, u2h));
  _mm512_storeu_si512(out + 3 * stride, _mm512_unpackhi_epi16(u01h, u2h));
}

// The fused output stage of 64 channels: 4 accumulator vectors in interleaved lane order (vector k,
// lane L: channels 16 L + 4 k .. + 3), short-form requantized with k[0..3], bounded, and stored
// as 64 uint8 in channel order (packToUint8's byte order is exactly that), bytes masked by m.
inline void requantizeStore64(const int32_t* acc, const ShortFormConstants* k, const ByteBounds& b, __mmask64 m,
                              uint8_t* y) {
  _mm512_mask_storeu_epi8(y, m, packToUint8(shortFormRequantize16(_mm512_loadu_si512(acc), k[0]),
                                            shortFormRequantize16(_mm512_loadu_si512(acc + 16), k[1]),
                                            shortFormRequantize16(_mm512_loadu_si512(acc + 32), k[2]),
                                            shortFormRequantize16(_mm512_loadu_si512(acc + 48), k[3]), b));
}
}  // namespace

void qu8_dwconv3x3_row__avx512vnni(const DwConv3x3Params& p, int64_t oh, const uint8_t* x, const int8_t* packed,
                                   const int32_t* biasMinusZeroPointSum, uint8_t* scratch, int32_t* acc) {
  const int64_t C = p.channels;
  const int64_t ih0 = oh * p.stride_h - p.pad_top;
  const int64_t columns = (p.out_w - 1) * p.stride_w + 3;
  const __m512i zpBytes = _mm512_set1_epi8(static_cast<char>(p.x_zero_point));
  const __m512i zero = _mm512_setzero_si512();
  bool rowInside[3];
  for (int t = 0; t < 3; ++t) rowInside[t] = ih0 + t >= 0 && ih0 + t < p.in_h;
  for (int64_t c0 = 0, b = 0; c0 < C; c0 += 64, ++b) {
    const __mmask64 m = byteMask(C - c0);
    // Interleave every input column once: dword c of vector k = channel c's bytes of rows 0..2.
    for (int64_t col = 0; col < columns; ++col) {
      const int64_t iw = col - p.pad_left;
      const bool colInside = iw >= 0 && iw < p.in_w;
      __m512i r[3];
      for (int t = 0; t < 3; ++t)
        r[t] = rowInside[t] && colInside ? _mm512_maskz_loadu_epi8(m, x + ((ih0 + t) * p.in_w + iw) * C + c0) : zpBytes;
      interleave3(r[0], r[1], r[2], scratch + col * 256, 64);
    }
    const int8_t* wb = packed + b * 3 * 4 * 64;
    __m512i w[3][4];
    for (int kw = 0; kw < 3; ++kw)
      for (int k = 0; k < 4; ++k) w[kw][k] = _mm512_loadu_si512(wb + (kw * 4 + k) * 64);
    __m512i adj[4];
    for (int l = 0; l < 4; ++l) adj[l] = _mm512_maskz_loadu_epi32(dwordMask(C - c0 - 16 * l), biasMinusZeroPointSum + c0 + 16 * l);
    for (int64_t ow = 0; ow < p.out_w; ++ow) {
      const uint8_t* s = scratch + ow * p.stride_w * 256;
      __m512i a[4] = {zero, zero, zero, zero};
      for (int kw = 0; kw < 3; ++kw)
        for (int k = 0; k < 4; ++k) a[k] = _mm512_dpbusd_epi32(a[k], _mm512_loadu_si512(s + kw * 256 + k * 64), w[kw][k]);
      // a[k]'s 128-bit lane L holds channels 16L + 4k .. 16L + 4k + 3: transpose the lanes back.
      const __m512i t0 = _mm512_shuffle_i32x4(a[0], a[1], 0x44), t1 = _mm512_shuffle_i32x4(a[0], a[1], 0xEE);
      const __m512i t2 = _mm512_shuffle_i32x4(a[2], a[3], 0x44), t3 = _mm512_shuffle_i32x4(a[2], a[3], 0xEE);
      const __m512i v[4] = {_mm512_shuffle_i32x4(t0, t2, 0x88), _mm512_shuffle_i32x4(t0, t2, 0xDD),
                            _mm512_shuffle_i32x4(t1, t3, 0x88), _mm512_shuffle_i32x4(t1, t3, 0xDD)};
      int32_t* out = acc + ow * C + c0;
      for (int l = 0; l < 4; ++l) {
        const __mmask16 dm = dwordMask(C - c0 - 16 * l);
        if (!dm) break;
        _mm512_mask_storeu_epi32(out + 16 * l, dm, _mm512_add_epi32(v[l], adj[l]));
      }
    }
  }
}

namespace {
// Output pixels per chunk: the chunk's interleaved columns and accumulators stay in L1.
constexpr int64_t kChunk = 16;
constexpr int64_t kChunkColumns = (kChunk - 1) * 2 + 3;  // stride <= 2

// Interleaves input columns [col0, col0 + columns) (padding coordinates) of rows ih0..ih0+2, channels
// [c0, c0 + 64) masked by m, into 256 bytes per column (see packDwConv3x3WeightsVnni).
inline void interleaveColumns(const DwConv3x3Params& p, const uint8_t* x, int64_t ih0, const bool* rowInside, int64_t col0,
                              int64_t columns, int64_t c0, __mmask64 m, uint8_t* scratch) {
  const __m512i zpBytes = _mm512_set1_epi8(static_cast<char>(p.x_zero_point));
  for (int64_t col = 0; col < columns; ++col) {
    const int64_t iw = col0 + col - p.pad_left;
    const bool colInside = iw >= 0 && iw < p.in_w;
    __m512i r[3];
    for (int t = 0; t < 3; ++t)
      r[t] = rowInside[t] && colInside ? _mm512_maskz_loadu_epi8(m, x + ((ih0 + t) * p.in_w + iw) * p.channels + c0) : zpBytes;
    interleave3(r[0], r[1], r[2], scratch + col * 256, 64);
  }
}
}  // namespace

bool prepareDwConv3x3VnniOutputStage(int64_t channels, const int32_t* biasMinusZeroPointSum,
                                     const ref::Requantization* requant, const ref::QuantParams& q,
                                     DwConv3x3VnniOutputStage* stage) {
  const int64_t blocks = (channels + 63) / 64;
  stage->constants.assign(static_cast<size_t>(blocks * 4 * 48), 0);
  stage->output_min = q.output_min;
  stage->output_max = q.output_max;
  for (int64_t b = 0; b < blocks; ++b)
    for (int k = 0; k < 4; ++k) {
      // Accumulator vector k, dword j: channel 64 b + 16 (j / 4) + 4 k + j % 4; lanes past the
      // last channel repeat channel 0 (their bytes are not stored).
      int64_t lanes[16];
      for (int j = 0; j < 16; ++j) {
        const int64_t c = 64 * b + 16 * (j / 4) + 4 * k + j % 4;
        lanes[j] = c < channels ? c : 0;
      }
      if (!shortFormConstants16(lanes, biasMinusZeroPointSum, requant, q.output_zero_point,
                                stage->constants.data() + (b * 4 + k) * 48))
        return false;
    }
  return true;
}

size_t dwConv3x3VnniFusedScratchBytes() { return static_cast<size_t>(kChunkColumns * 256 + kChunk * 256); }

void qu8_dwconv3x3_requant_row__avx512vnni(const DwConv3x3Params& p, int64_t oh, const uint8_t* x, const int8_t* packed,
                                           const DwConv3x3VnniOutputStage& stage, uint8_t* scratch, uint8_t* y) {
  const int64_t C = p.channels;
  const int64_t ih0 = oh * p.stride_h - p.pad_top;
  bool rowInside[3];
  for (int t = 0; t < 3; ++t) rowInside[t] = ih0 + t >= 0 && ih0 + t < p.in_h;
  uint8_t* columns = scratch;
  int32_t* acc = reinterpret_cast<int32_t*>(scratch + kChunkColumns * 256);
  const ByteBounds bounds(stage.output_min, stage.output_max);
  const __m512i zero = _mm512_setzero_si512();
  for (int64_t c0 = 0, b = 0; c0 < C; c0 += 64, ++b) {
    const __mmask64 m = byteMask(C - c0);
    const int8_t* wb = packed + b * 3 * 4 * 64;
    for (int64_t ow0 = 0; ow0 < p.out_w; ow0 += kChunk) {
      const int64_t n = std::min(kChunk, p.out_w - ow0);
      interleaveColumns(p, x, ih0, rowInside, ow0 * p.stride_w, (n - 1) * p.stride_w + 3, c0, m, columns);
      {
        __m512i w[3][4];
        for (int kw = 0; kw < 3; ++kw)
          for (int k = 0; k < 4; ++k) w[kw][k] = _mm512_loadu_si512(wb + (kw * 4 + k) * 64);
        for (int64_t i = 0; i < n; ++i) {
          const uint8_t* s = columns + i * p.stride_w * 256;
          __m512i a[4] = {zero, zero, zero, zero};
          for (int kw = 0; kw < 3; ++kw)
            for (int k = 0; k < 4; ++k) a[k] = _mm512_dpbusd_epi32(a[k], _mm512_loadu_si512(s + kw * 256 + k * 64), w[kw][k]);
          for (int k = 0; k < 4; ++k) _mm512_storeu_si512(acc + i * 64 + k * 16, a[k]);
        }
      }
      const int64_t* kb = stage.constants.data() + b * 4 * 48;
      const ShortFormConstants k[4] = {loadShortFormConstants(kb), loadShortFormConstants(kb + 48),
                                       loadShortFormConstants(kb + 96), loadShortFormConstants(kb + 144)};
      for (int64_t i = 0; i < n; ++i) requantizeStore64(acc + i * 64, k, bounds, m, y + (ow0 + i) * C + c0);
    }
  }
}

namespace {
int64_t gcd(int64_t a, int64_t b) { return b == 0 ? a : gcd(b, a % b); }
// Bytes of one interleaved plane of the flat kernel: padded columns [0, max(out_w + 2, pad_left +
// in_w)) of `channels` bytes, plus one vector of slack for the last, partial, vector.
int64_t flatPlaneBytes(const DwConv3x3Params& p) {
  return std::max(p.out_w + 2, p.pad_left + p.in_w) * p.channels + 64;
}
constexpr int64_t kFlatChunk = 16;  // vectors whose accumulators are buffered between the two passes
}  // namespace

bool prepareDwConv3x3VnniFlat(int64_t channels, const int8_t* w, const int32_t* biasMinusZeroPointSum,
                              const ref::Requantization* requant, const ref::QuantParams& q, DwConv3x3VnniFlat* flat) {
  if (channels % 16 != 0) return false;
  const int64_t groups = channels / 16;
  flat->channels = channels;
  flat->period = groups * 4 / gcd(groups, 4) / 4;
  flat->output_min = q.output_min;
  flat->output_max = q.output_max;
  flat->weights.assign(static_cast<size_t>(flat->period * 12 * 64), 0);
  flat->constants.assign(static_cast<size_t>(flat->period * 4 * 48), 0);
  for (int64_t phase = 0; phase < flat->period; ++phase) {
    for (int k = 0; k < 4; ++k) {
      int64_t lanes[16];
      for (int d = 0; d < 16; ++d) {
        // Lane L of vector `phase` is group 4 phase + L; dword d % 4 of it is channel 4 k + d % 4
        // of that group (the order of packDwConv3x3WeightsVnni within a lane).
        const int64_t c = (4 * phase + d / 4) % groups * 16 + 4 * k + d % 4;
        lanes[d] = c;
        for (int kw = 0; kw < 3; ++kw)
          for (int kh = 0; kh < 3; ++kh)
            flat->weights[static_cast<size_t>(((phase * 3 + kw) * 4 + k) * 64 + d * 4 + kh)] = w[c * 9 + kh * 3 + kw];
      }
      if (!shortFormConstants16(lanes, biasMinusZeroPointSum, requant, q.output_zero_point,
                                flat->constants.data() + (phase * 4 + k) * 48))
        return false;
    }
  }
  return true;
}

size_t dwConv3x3VnniFlatScratchBytes(const DwConv3x3Params& p) {
  return static_cast<size_t>(4 * flatPlaneBytes(p) + kFlatChunk * 256);
}

void qu8_dwconv3x3s1_flat_requant_row__avx512vnni(const DwConv3x3Params& p, const DwConv3x3VnniFlat& flat, int64_t oh,
                                                  const uint8_t* x, uint8_t* scratch, uint8_t* y) {
  const int64_t C = p.channels, planeBytes = flatPlaneBytes(p), rowBytes = p.in_w * C;
  const int64_t ih0 = oh * p.stride_h - p.pad_top;
  uint8_t* plane[4] = {scratch, scratch + planeBytes, scratch + 2 * planeBytes, scratch + 3 * planeBytes};
  int32_t* acc = reinterpret_cast<int32_t*>(scratch + 4 * planeBytes);
  // Interleave: padding columns hold the zero point in rows 0..2 (contributing nothing after the
  // zero-point sum folded into the bias); the input row in 64-byte pieces, lane for lane.
  const __m512i zpBytes = _mm512_set1_epi8(static_cast<char>(p.x_zero_point));
  const __m512i zpInterleaved = _mm512_set1_epi32(p.x_zero_point * 0x010101);
  const __m512i zero = _mm512_setzero_si512();
  const int64_t leftBytes = p.pad_left * C, rightBegin = (p.pad_left + p.in_w) * C;
  for (int k = 0; k < 4; ++k) {
    for (int64_t o = 0; o < leftBytes; o += 64)
      _mm512_mask_storeu_epi8(plane[k] + o, byteMask(leftBytes - o), zpInterleaved);
  }
  bool rowInside[3];
  for (int t = 0; t < 3; ++t) rowInside[t] = ih0 + t >= 0 && ih0 + t < p.in_h;
  for (int64_t o = 0; o < rowBytes; o += 64) {
    const __mmask64 m = byteMask(rowBytes - o);
    __m512i r[3];
    for (int t = 0; t < 3; ++t) r[t] = rowInside[t] ? _mm512_maskz_loadu_epi8(m, x + (ih0 + t) * rowBytes + o) : zpBytes;
    interleave3(r[0], r[1], r[2], scratch + leftBytes + o, planeBytes);
  }
  for (int k = 0; k < 4; ++k)
    for (int64_t o = rightBegin; o < planeBytes; o += 64)
      _mm512_mask_storeu_epi8(plane[k] + o, byteMask(planeBytes - o), zpInterleaved);

  const int64_t outBytes = p.out_w * C, vectors = (outBytes + 63) / 64, P = flat.period;
  const ByteBounds bounds(flat.output_min, flat.output_max);
  for (int64_t phase = 0; phase < P && phase < vectors; ++phase) {
    const int8_t* wp = flat.weights.data() + phase * 12 * 64;
    const int64_t* kp = flat.constants.data() + phase * 4 * 48;
    for (int64_t j0 = phase; j0 < vectors; j0 += kFlatChunk * P) {
      const int64_t n = std::min(kFlatChunk, (vectors - j0 + P - 1) / P);
      {
        __m512i w[3][4];
        for (int kw = 0; kw < 3; ++kw)
          for (int k = 0; k < 4; ++k) w[kw][k] = _mm512_loadu_si512(wp + (kw * 4 + k) * 64);
        for (int64_t i = 0; i < n; ++i) {
          const int64_t base = (j0 + i * P) * 64;
          __m512i a[4] = {zero, zero, zero, zero};
          for (int kw = 0; kw < 3; ++kw)
            for (int k = 0; k < 4; ++k) a[k] = _mm512_dpbusd_epi32(a[k], _mm512_loadu_si512(plane[k] + base + kw * C), w[kw][k]);
          for (int k = 0; k < 4; ++k) _mm512_storeu_si512(acc + i * 64 + k * 16, a[k]);
        }
      }
      const ShortFormConstants k[4] = {loadShortFormConstants(kp), loadShortFormConstants(kp + 48),
                                       loadShortFormConstants(kp + 96), loadShortFormConstants(kp + 144)};
      for (int64_t i = 0; i < n; ++i) {
        const int64_t base = (j0 + i * P) * 64;
        requantizeStore64(acc + i * 64, k, bounds, byteMask(outBytes - base), y + base);
      }
    }
  }
}

bool hasAvx512Vnni() { return __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bw"); }

}  // namespace edgeopt::kernels::x86
