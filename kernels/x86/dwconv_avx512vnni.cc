#include <immintrin.h>

#include <algorithm>

#include "kernels/x86/dwconv.h"
#include "kernels/x86/requantize.h"
#include "kernels/x86/requantize_avx512_inl.h"

namespace edgeopt::kernels::x86 {

// Layout: [64-channel block][kw][k = 0..3][64 bytes]; dword j of vector k holds channel
// 64 * block + 16 * (j / 4) + 4 * k + j % 4, bytes kh = 0..2 its weights at (kh, kw), byte 3 zero:
// the order the two unpack levels of the kernel put an interleaved input column in.
AlignedVector<int8_t> packDwConv3x3WeightsVnni(const int8_t* w, int64_t channels) {
  const int64_t blocks = (channels + 63) / 64;
  AlignedVector<int8_t> packed(static_cast<size_t>(blocks * 3 * 4 * 64), 0);
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

// Four rows' 64 bytes interleaved into 4 vectors at out, out + stride, ...: dword j of vector k
// holds bytes 16 (j / 4) + 4 k + j % 4 of rows 0..3 (packDwConv3x3WeightsVnni's order; the
// three-row kernels pass a zero fourth row).
inline void interleave4(__m512i r0, __m512i r1, __m512i r2, __m512i r3, uint8_t* out, int64_t stride) {
  const __m512i u01l = _mm512_unpacklo_epi8(r0, r1), u01h = _mm512_unpackhi_epi8(r0, r1);
  const __m512i u23l = _mm512_unpacklo_epi8(r2, r3), u23h = _mm512_unpackhi_epi8(r2, r3);
  _mm512_storeu_si512(out, _mm512_unpacklo_epi16(u01l, u23l));
  _mm512_storeu_si512(out + stride, _mm512_unpackhi_epi16(u01l, u23l));
  _mm512_storeu_si512(out + 2 * stride, _mm512_unpacklo_epi16(u01h, u23h));
  _mm512_storeu_si512(out + 3 * stride, _mm512_unpackhi_epi16(u01h, u23h));
}

// The weights of one tap block (3 columns x 4 lane orders, 64 bytes each) into registers.
inline void loadTapWeights(const int8_t* wb, __m512i (&w)[3][4]) {
  for (int kw = 0; kw < 3; ++kw)
    for (int k = 0; k < 4; ++k) w[kw][k] = _mm512_loadu_si512(wb + (kw * 4 + k) * 64);
}

// The 12 vpdpbusd of one output vector: interleaved input for tap column kw and lane order k at
// s + kw * kwStride + k * kStride.
inline void taps3x3(const uint8_t* s, int64_t kwStride, int64_t kStride, const __m512i (&w)[3][4], __m512i (&a)[4]) {
  for (int k = 0; k < 4; ++k) a[k] = _mm512_setzero_si512();
  for (int kw = 0; kw < 3; ++kw)
    for (int k = 0; k < 4; ++k) a[k] = _mm512_dpbusd_epi32(a[k], _mm512_loadu_si512(s + kw * kwStride + k * kStride), w[kw][k]);
}

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
    interleave4(r[0], r[1], r[2], _mm512_setzero_si512(), scratch + col * 256, 64);
  }
}

// Whether input rows ih0..ih0+2 lie inside the image.
inline void rowsInside(const DwConv3x3Params& p, int64_t ih0, bool (&inside)[3]) {
  for (int t = 0; t < 3; ++t) inside[t] = ih0 + t >= 0 && ih0 + t < p.in_h;
}
}  // namespace

void qu8_dwconv3x3_row__avx512vnni(const DwConv3x3Params& p, int64_t oh, const uint8_t* x, const int8_t* packed,
                                   const int32_t* biasMinusZeroPointSum, uint8_t* scratch, int32_t* acc) {
  const int64_t C = p.channels;
  const int64_t ih0 = oh * p.stride_h - p.pad_top;
  const int64_t columns = (p.out_w - 1) * p.stride_w + 3;
  bool rowInside[3];
  rowsInside(p, ih0, rowInside);
  for (int64_t c0 = 0, b = 0; c0 < C; c0 += 64, ++b) {
    const __mmask64 m = tailMask64(C - c0);
    // Interleave every input column once: dword c of vector k = channel c's bytes of rows 0..2.
    interleaveColumns(p, x, ih0, rowInside, 0, columns, c0, m, scratch);
    __m512i w[3][4];
    loadTapWeights(packed + b * 3 * 4 * 64, w);
    __m512i adj[4];
    for (int l = 0; l < 4; ++l)
      adj[l] = biasMinusZeroPointSum ? _mm512_maskz_loadu_epi32(tailMask16(C - c0 - 16 * l), biasMinusZeroPointSum + c0 + 16 * l)
                                     : _mm512_setzero_si512();
    for (int64_t ow = 0; ow < p.out_w; ++ow) {
      __m512i a[4];
      taps3x3(scratch + ow * p.stride_w * 256, 256, 64, w, a);
      // a[k]'s 128-bit lane L holds channels 16L + 4k .. 16L + 4k + 3: transpose the lanes back.
      const __m512i t0 = _mm512_shuffle_i32x4(a[0], a[1], 0x44), t1 = _mm512_shuffle_i32x4(a[0], a[1], 0xEE);
      const __m512i t2 = _mm512_shuffle_i32x4(a[2], a[3], 0x44), t3 = _mm512_shuffle_i32x4(a[2], a[3], 0xEE);
      const __m512i v[4] = {_mm512_shuffle_i32x4(t0, t2, 0x88), _mm512_shuffle_i32x4(t0, t2, 0xDD),
                            _mm512_shuffle_i32x4(t1, t3, 0x88), _mm512_shuffle_i32x4(t1, t3, 0xDD)};
      int32_t* out = acc + ow * C + c0;
      for (int l = 0; l < 4; ++l) {
        const __mmask16 dm = tailMask16(C - c0 - 16 * l);
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
}  // namespace

bool prepareDwConv3x3VnniOutputStage(int64_t channels, const int32_t* biasMinusZeroPointSum,
                                     const ref::Requantization* requant, const ref::QuantParams& q,
                                     DwConv3x3VnniOutputStage* stage) {
  const int64_t blocks = (channels + 63) / 64;
  stage->constants.assign(static_cast<size_t>(blocks * 4 * kOutputStageWords), 0);
  stage->output_zero_point = q.output_zero_point;
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
      outputStageConstants16(lanes, biasMinusZeroPointSum, requant, stage->constants.data() + (b * 4 + k) * kOutputStageWords);
    }
  return true;
}

size_t dwConv3x3VnniFusedScratchBytes() { return static_cast<size_t>(kChunkColumns * 256 + kChunk * 256); }

void qu8_dwconv3x3_requant_row__avx512vnni(const DwConv3x3Params& p, int64_t oh, const uint8_t* x, const int8_t* packed,
                                           const DwConv3x3VnniOutputStage& stage, uint8_t* scratch, uint8_t* y) {
  const int64_t C = p.channels;
  const int64_t ih0 = oh * p.stride_h - p.pad_top;
  bool rowInside[3];
  rowsInside(p, ih0, rowInside);
  uint8_t* columns = scratch;
  int32_t* acc = reinterpret_cast<int32_t*>(scratch + kChunkColumns * 256);
  const StageBounds bounds(stage.output_zero_point, stage.output_min, stage.output_max);
  for (int64_t c0 = 0, b = 0; c0 < C; c0 += 64, ++b) {
    const __mmask64 m = tailMask64(C - c0);
    for (int64_t ow0 = 0; ow0 < p.out_w; ow0 += kChunk) {
      const int64_t n = std::min(kChunk, p.out_w - ow0);
      interleaveColumns(p, x, ih0, rowInside, ow0 * p.stride_w, (n - 1) * p.stride_w + 3, c0, m, columns);
      {
        __m512i w[3][4];
        loadTapWeights(packed + b * 3 * 4 * 64, w);
        for (int64_t i = 0; i < n; ++i) {
          __m512i a[4];
          taps3x3(columns + i * p.stride_w * 256, 256, 64, w, a);
          for (int k = 0; k < 4; ++k) _mm512_storeu_si512(acc + i * 64 + k * 16, a[k]);
        }
      }
      // The accumulators are in interleaved lane order, which packToUint8's byte order undoes.
      const OutputStage64 k = loadOutputStage64(stage.constants.data() + b * 4 * kOutputStageWords);
      for (int64_t i = 0; i < n; ++i)
        _mm512_mask_storeu_epi8(y + (ow0 + i) * C + c0, m, requantizePack64(acc + i * 64, k, bounds));
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
  flat->output_zero_point = q.output_zero_point;
  flat->output_min = q.output_min;
  flat->output_max = q.output_max;
  const int64_t setBytes = flat->period * 12 * 64;
  flat->weights.assign(static_cast<size_t>(2 * setBytes), 0);
  flat->constants.assign(static_cast<size_t>(flat->period * 4 * kOutputStageWords), 0);
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
            for (int set = 0; set < 2; ++set)
              flat->weights[static_cast<size_t>(set * setBytes + ((phase * 3 + kw) * 4 + k) * 64 + d * 4 + kh + set)] =
                  w[c * 9 + kh * 3 + kw];
      }
      outputStageConstants16(lanes, biasMinusZeroPointSum, requant, flat->constants.data() + (phase * 4 + k) * kOutputStageWords);
    }
  }
  return true;
}

size_t dwConv3x3VnniFlatScratchBytes(const DwConv3x3Params& p) {
  return static_cast<size_t>(4 * flatPlaneBytes(p) + kFlatChunk * 256);
}

void qu8_dwconv3x3s1_flat_requant_rows__avx512vnni(const DwConv3x3Params& p, const DwConv3x3VnniFlat& flat, int64_t oh,
                                                   int64_t rows, const uint8_t* x, uint8_t* scratch, uint8_t* y) {
  const int64_t C = p.channels, planeBytes = flatPlaneBytes(p), rowBytes = p.in_w * C;
  const int64_t ih0 = oh * p.stride_h - p.pad_top;
  int32_t* acc = reinterpret_cast<int32_t*>(scratch + 4 * planeBytes);
  // Interleave input rows ih0..ih0+3 into planes k at scratch + k * planeBytes: padding columns and
  // rows outside the image hold the zero point (contributing nothing after the zero-point sum
  // folded into the bias); the input row in 64-byte pieces, lane for lane. Output row oh takes
  // bytes 0..2 of each dword (weight set 0), row oh + 1 bytes 1..3 (set 1).
  const __m512i zpBytes = _mm512_set1_epi8(static_cast<char>(p.x_zero_point));
  const __m512i zpInterleaved = _mm512_set1_epi32(static_cast<int32_t>(static_cast<uint32_t>(p.x_zero_point) * 0x01010101u));
  auto fillPadding = [&](int64_t begin, int64_t end) {  // bytes [begin, end) of every plane
    for (int k = 0; k < 4; ++k)
      for (int64_t o = begin; o < end; o += 64)
        _mm512_mask_storeu_epi8(scratch + k * planeBytes + o, tailMask64(end - o), zpInterleaved);
  };
  const int64_t leftBytes = p.pad_left * C;
  fillPadding(0, leftBytes);
  bool rowInside[4];
  for (int t = 0; t < 4; ++t) rowInside[t] = ih0 + t >= 0 && ih0 + t < p.in_h && (t < 3 || rows == 2);
  for (int64_t o = 0; o < rowBytes; o += 64) {
    const __mmask64 m = tailMask64(rowBytes - o);
    __m512i r[4];
    for (int t = 0; t < 4; ++t) r[t] = rowInside[t] ? _mm512_maskz_loadu_epi8(m, x + (ih0 + t) * rowBytes + o) : zpBytes;
    interleave4(r[0], r[1], r[2], r[3], scratch + leftBytes + o, planeBytes);
  }
  fillPadding((p.pad_left + p.in_w) * C, planeBytes);  // also what the last piece spilled past the row

  const int64_t outBytes = p.out_w * C, vectors = (outBytes + 63) / 64, P = flat.period;
  const int64_t setBytes = P * 12 * 64;
  const StageBounds bounds(flat.output_zero_point, flat.output_min, flat.output_max);
  for (int64_t phase = 0; phase < P && phase < vectors; ++phase) {
    const OutputStage64 k = loadOutputStage64(flat.constants.data() + phase * 4 * kOutputStageWords);
    for (int64_t j0 = phase; j0 < vectors; j0 += kFlatChunk * P) {
      const int64_t n = std::min(kFlatChunk, (vectors - j0 + P - 1) / P);
      for (int64_t r = 0; r < rows; ++r) {  // both rows per chunk: its planes are still in L1
        {
          __m512i w[3][4];
          loadTapWeights(flat.weights.data() + r * setBytes + phase * 12 * 64, w);
          for (int64_t i = 0; i < n; ++i) {
            __m512i a[4];
            taps3x3(scratch + (j0 + i * P) * 64, C, planeBytes, w, a);
            for (int q = 0; q < 4; ++q) _mm512_storeu_si512(acc + i * 64 + q * 16, a[q]);
          }
        }
        uint8_t* yr = y + r * outBytes;
        for (int64_t i = 0; i < n; ++i) {
          const int64_t base = (j0 + i * P) * 64;
          _mm512_mask_storeu_epi8(yr + base, tailMask64(outBytes - base), requantizePack64(acc + i * 64, k, bounds));
        }
      }
    }
  }
}

bool hasAvx512Vnni() { return __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bw"); }

}  // namespace edgeopt::kernels::x86
