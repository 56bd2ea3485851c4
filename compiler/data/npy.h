// NumPy .npy files (format versions 1.0-3.0, little-endian, C order) <-> ir::Tensor.
// Supported element types: float16 (as raw bits), float32, float64, int8, uint8, int16, uint16, int32, uint32, int64,
// uint64, bool. Fortran-order and big-endian arrays are refused with a clear reason.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "compiler/ir/status.h"
#include "compiler/ir/tensor.h"

namespace edgeopt::data {

StatusOr<ir::Tensor> readNpy(const std::string& path);

// The header of a .npy file: what readNpy would return, without reading the data (for
// streaming one sample at a time). The data starts at byte dataOffset.
struct NpyHeader {
  ir::DType dtype = ir::DType::kUndefined;
  std::vector<int64_t> dims;
  int64_t dataOffset = 0;
};
StatusOr<NpyHeader> readNpyHeader(const std::string& path);
// Writes atomically (temporary file, then rename): on failure nothing is left at `path`.
Status writeNpy(const ir::Tensor& tensor, const std::string& path);
// A float32 array of `dims` written one row (dims[1:]) at a time from `rowValues`, so that it
// never needs to be in memory whole; on failure nothing is left at `path`.
Status writeNpyRows(const std::string& path, const std::vector<int64_t>& dims,
                    const std::function<Status(int64_t row, float* out)>& rowValues);

}  // namespace edgeopt::data
