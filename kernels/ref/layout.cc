#include "kernels/ref/layout.h"

#include <cstring>
#include <vector>

namespace edgeopt::kernels::ref {

void gather_by_axis_offsets(int rank, const int64_t* out_dims, const int64_t* const* offsets,
                            size_t elem_size, const void* src, void* dst, const void* fill) {
  const auto* s = static_cast<const uint8_t*>(src);
  auto* d = static_cast<uint8_t*>(dst);
  if (rank == 0) {
    std::memcpy(d, s, elem_size);
    return;
  }
  for (int a = 0; a < rank; ++a)
    if (out_dims[a] == 0) return;
  std::vector<int64_t> idx(static_cast<size_t>(rank), 0);
  // base[a]: summed offset of axes < a, or kFillOffset if any of them is fill.
  std::vector<int64_t> base(static_cast<size_t>(rank) + 1, 0);
  auto rebuild = [&](int from) {
    for (int a = from; a < rank - 1; ++a) {
      const int64_t o = offsets[a][idx[a]];
      base[a + 1] = (base[a] == kFillOffset || o == kFillOffset) ? kFillOffset : base[a] + o;
    }
  };
  rebuild(0);
  const int last = rank - 1;
  const int64_t* inner = offsets[last];
  const int64_t n_inner = out_dims[last];
  for (;;) {
    const int64_t b = base[last];
    for (int64_t i = 0; i < n_inner; ++i, d += elem_size) {
      if (b == kFillOffset || inner[i] == kFillOffset) std::memcpy(d, fill, elem_size);
      else std::memcpy(d, s + b + inner[i], elem_size);
    }
    int a = last - 1;
    while (a >= 0 && ++idx[a] == out_dims[a]) idx[a--] = 0;
    if (a < 0) return;
    rebuild(a);
  }
}

void transpose_matrices__scalar(int64_t batch, int64_t rows, int64_t cols, size_t elem_size, const void* src, void* dst) {
  const auto* s = static_cast<const uint8_t*>(src);
  auto* d = static_cast<uint8_t*>(dst);
  const size_t matrix = static_cast<size_t>(rows * cols) * elem_size;
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < cols; ++j)
        std::memcpy(d + b * matrix + static_cast<size_t>(j * rows + i) * elem_size,
                    s + b * matrix + static_cast<size_t>(i * cols + j) * elem_size, elem_size);
}

}  // namespace edgeopt::kernels::ref
