// A FIFO between streaming layers of the HLS templates: hls::stream under Vitis HLS, and for g++
// C simulation a checked queue that fails loudly (message on stderr, abort) on a read from an
// empty stream and on elements left unread when the stream is destroyed, so a layer that
// produces or consumes the wrong count cannot pass a simulation.
// Part of the HLS template library (kernels/hls): plain C++17 with standard integer types only,
// copied into every emitted FPGA project.
#pragma once

#include <cstdint>

#ifdef __SYNTHESIS__
#include <hls_stream.h>
namespace edgeopt_hls {
template <typename T>
using Stream = hls::stream<T>;
}  // namespace edgeopt_hls
#else
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <deque>

namespace edgeopt_hls {

template <typename T>
class Stream {
 public:
  explicit Stream(const char* name = "stream") : name_(name) {}
  ~Stream() {
    if (!queue_.empty()) {
      std::fprintf(stderr, "edgeopt_hls: stream '%s' still holds %zu element(s) at the end of the run\n", name_,
                   queue_.size());
      std::abort();
    }
  }
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  void write(const T& value) { queue_.push_back(value); }
  T read() {
    if (queue_.empty()) {
      std::fprintf(stderr, "edgeopt_hls: read from the empty stream '%s'\n", name_);
      std::abort();
    }
    T value = queue_.front();
    queue_.pop_front();
    return value;
  }
  bool empty() const { return queue_.empty(); }
  std::size_t size() const { return queue_.size(); }

 private:
  const char* name_;
  std::deque<T> queue_;
};

}  // namespace edgeopt_hls
#endif

namespace edgeopt_hls {

#ifndef __SYNTHESIS__
// C simulation only: the iterations of each pipelined loop run so far, in call order (a dataflow
// top calls its layers in order), for the testbench to check against the cycle estimate.
inline std::deque<long>& csimIterations() {
  static std::deque<long> counts;
  return counts;
}
#endif

// Called by each template once per call with the iterations its pipelined loops ran (C
// simulation records them; synthesis ignores the call).
inline void recordIterations(long iterations) {
#ifndef __SYNTHESIS__
  csimIterations().push_back(iterations);
#else
  (void)iterations;
#endif
}

// N values moved together: one stream element per clock (SIMD inputs or PE outputs).
template <typename T, int N>
struct Pack {
  T v[N];
};

}  // namespace edgeopt_hls

namespace edgeopt_hls {

// Re-packs a stream of IN-wide elements into OUT-wide ones, `vectors` vectors of TOTAL values
// each (IN and OUT divide TOTAL), order kept: the glue between a layer producing PE values per
// clock and one consuming SIMD. When one width divides the other it is one loop at II = 1 of
// max(TOTAL / IN, TOTAL / OUT) iterations per vector (a width converter); otherwise it buffers the
// vector and takes TOTAL / IN + TOTAL / OUT.
template <int IN, int OUT, int TOTAL>
void repack(Stream<Pack<int8_t, IN>>& in, Stream<Pack<int8_t, OUT>>& out, int vectors) {
  static_assert(TOTAL % IN == 0 && TOTAL % OUT == 0, "IN and OUT must divide TOTAL");
  if (OUT % IN == 0) {  // gather OUT / IN inputs per output
    Pack<int8_t, OUT> y{};
    const int iterations = vectors * (TOTAL / IN);
    for (int i = 0; i < iterations; ++i) {
#pragma HLS PIPELINE II = 1
      const Pack<int8_t, IN> x = in.read();
      const int part = i % (OUT / IN);
      for (int s = 0; s < IN; ++s) y.v[part * IN + s] = x.v[s];
      if (part == OUT / IN - 1) out.write(y);
    }
    recordIterations(iterations);
  } else if (IN % OUT == 0) {  // scatter one input over IN / OUT outputs
    Pack<int8_t, IN> x{};
    const int iterations = vectors * (TOTAL / OUT);
    for (int i = 0; i < iterations; ++i) {
#pragma HLS PIPELINE II = 1
      const int part = i % (IN / OUT);
      if (part == 0) x = in.read();
      Pack<int8_t, OUT> y;
      for (int s = 0; s < OUT; ++s) y.v[s] = x.v[part * OUT + s];
      out.write(y);
    }
    recordIterations(iterations);
  } else {
    int8_t buffer[TOTAL];
    for (int v = 0; v < vectors; ++v) {
      for (int i = 0; i < TOTAL / IN; ++i) {
#pragma HLS PIPELINE II = 1
        const Pack<int8_t, IN> x = in.read();
        for (int s = 0; s < IN; ++s) buffer[i * IN + s] = x.v[s];
      }
      for (int o = 0; o < TOTAL / OUT; ++o) {
#pragma HLS PIPELINE II = 1
        Pack<int8_t, OUT> y;
        for (int s = 0; s < OUT; ++s) y.v[s] = buffer[o * OUT + s];
        out.write(y);
      }
    }
    recordIterations(static_cast<long>(vectors) * (TOTAL / IN + TOTAL / OUT));
  }
}

// Copies each of `elements` elements to both outputs: a tensor with two consumers (the input of a
// residual block feeds its first convolution and, through a deeper FIFO, the Add).
template <int N>
void duplicate(Stream<Pack<int8_t, N>>& in, Stream<Pack<int8_t, N>>& a, Stream<Pack<int8_t, N>>& b, int elements) {
  for (int i = 0; i < elements; ++i) {
#pragma HLS PIPELINE II = 1
    const Pack<int8_t, N> x = in.read();
    a.write(x);
    b.write(x);
  }
  recordIterations(elements);
}

}  // namespace edgeopt_hls
