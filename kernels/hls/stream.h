// A FIFO between streaming layers of the HLS templates: hls::stream under Vitis HLS, and for g++
// C simulation a checked queue that fails loudly (message on stderr, abort) on a read from an
// empty stream and on elements left unread when the stream is destroyed, so a layer that
// produces or consumes the wrong count cannot pass a simulation.
// Part of the HLS template library (kernels/hls): plain C++17 with standard integer types only,
// copied into every emitted FPGA project.
#pragma once

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

// N values moved together: one stream element per clock (SIMD inputs or PE outputs).
template <typename T, int N>
struct Pack {
  T v[N];
};

}  // namespace edgeopt_hls
