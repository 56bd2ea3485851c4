// Reference data movement, independent of element type (elements are moved as bytes).
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>

namespace edgeopt::kernels::ref {

// Marks an output position that takes the fill element instead of reading the source.
constexpr int64_t kFillOffset = std::numeric_limits<int64_t>::min();

// Writes a dense row-major output of `rank` dims `out_dims`. For output index (i_0, ..., i_r-1)
// the source element is at byte offset sum_a offsets[a][i_a] of `src`; if any term is
// kFillOffset the element is `fill` (elem_size bytes). This one primitive expresses Transpose
// (offsets = i * permuted stride), Slice (start + i*step), Pad (edge/reflect index maps) and
// broadcasting (offset 0). rank 0 copies one element.
void gather_by_axis_offsets(int rank, const int64_t* out_dims, const int64_t* const* offsets,
                            size_t elem_size, const void* src, void* dst, const void* fill);

// dst[b][j][i] = src[b][i][j] for `batch` row-major matrices of rows x cols elements of elem_size
// bytes: NCHW -> NHWC is (N, C, H*W), NHWC -> NCHW is (N, H*W, C).
void transpose_matrices__scalar(int64_t batch, int64_t rows, int64_t cols, size_t elem_size, const void* src, void* dst);

}  // namespace edgeopt::kernels::ref
