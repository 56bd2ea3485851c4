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

// N values moved together: one stream element per clock (SIMD inputs or PE outputs).
template <typename T, int N>
struct Pack {
  T v[N];
};

}  // namespace edgeopt_hls

namespace edgeopt_hls {

// Re-packs a stream of IN-wide elements into OUT-wide ones, `vectors` vectors of TOTAL values
// each (IN and OUT divide TOTAL), order kept: the glue between a layer producing PE values per
// clock and one consuming SIMD.
template <int IN, int OUT, int TOTAL>
void repack(Stream<Pack<int8_t, IN>>& in, Stream<Pack<int8_t, OUT>>& out, int vectors) {
  static_assert(TOTAL % IN == 0 && TOTAL % OUT == 0, "IN and OUT must divide TOTAL");
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
}

}  // namespace edgeopt_hls
