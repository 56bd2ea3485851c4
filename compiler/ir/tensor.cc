#include "compiler/ir/tensor.h"

#include <cstdlib>

#include <limits>

#include <algorithm>
#include <cassert>
#include <sstream>

#include "compiler/ir/status.h"

namespace edgeopt::ir {

size_t dtypeSize(DType t) {
  switch (t) {
    case DType::kFloat32: case DType::kInt32: case DType::kUInt32: return 4;
    case DType::kUInt8: case DType::kInt8: case DType::kBool: return 1;
    case DType::kUInt16: case DType::kInt16: case DType::kFloat16: case DType::kBFloat16: return 2;
    case DType::kInt64: case DType::kUInt64: case DType::kFloat64: return 8;
    case DType::kString: case DType::kUndefined: return 0;
  }
  return 0;
}

const char* dtypeName(DType t) {
  switch (t) {
    case DType::kUndefined: return "undefined";
    case DType::kFloat32: return "float32";
    case DType::kUInt8: return "uint8";
    case DType::kInt8: return "int8";
    case DType::kUInt16: return "uint16";
    case DType::kInt16: return "int16";
    case DType::kInt32: return "int32";
    case DType::kInt64: return "int64";
    case DType::kString: return "string";
    case DType::kBool: return "bool";
    case DType::kFloat16: return "float16";
    case DType::kFloat64: return "float64";
    case DType::kUInt32: return "uint32";
    case DType::kUInt64: return "uint64";
    case DType::kBFloat16: return "bfloat16";
  }
  return "unknown";
}

bool isDenseDType(DType t) { return dtypeSize(t) != 0; }

int64_t numElements(const std::vector<int64_t>& dims) {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return n;
}

std::optional<int64_t> checkedNumElements(const std::vector<int64_t>& dims, size_t elementBytes) {
  int64_t n = 1;
  for (int64_t d : dims) {
    if (d < 0) return std::nullopt;
    if (d != 0 && n > std::numeric_limits<int64_t>::max() / d) return std::nullopt;
    n *= d;
  }
  if (elementBytes > 1 && n > std::numeric_limits<int64_t>::max() / static_cast<int64_t>(elementBytes)) return std::nullopt;
  return n;
}

std::string dimsToString(const std::vector<int64_t>& dims) {
  std::ostringstream os;
  os << '[';
  for (size_t i = 0; i < dims.size(); ++i) os << (i ? "," : "") << dims[i];
  os << ']';
  return os.str();
}

int64_t limitFromEnvironment(const char* name, int64_t fallback) {
  const char* own = std::getenv(name);
  char* end = nullptr;
  const long long v = own ? std::strtoll(own, &end, 10) : 0;
  return own && *own && end && !*end && v > 0 ? static_cast<int64_t>(v) : fallback;
}

int64_t maxTensorBytes() {
  static const int64_t limit = limitFromEnvironment("EDGEOPT_MAX_TENSOR_BYTES", kMaxTensorBytes);
  return limit;
}

std::string tensorSizeProblem(const std::vector<int64_t>& dims, DType dtype) {
  const std::string what = "a tensor of " + dimsToString(dims) + " " + dtypeName(dtype);
  const auto n = checkedNumElements(dims, dtypeSize(dtype));
  if (!n) return what + " has a negative dim or a size past 64 bits";
  const int64_t bytes = *n * static_cast<int64_t>(dtypeSize(dtype));
  if (bytes > maxTensorBytes())
    return what + " (" + std::to_string(bytes) + " bytes) exceeds the limit of " + std::to_string(maxTensorBytes()) +
           " bytes (--max-tensor-bytes, EDGEOPT_MAX_TENSOR_BYTES)";
  return "";
}

namespace {
// The bytes of a tensor of `dims`, checked before anything is allocated.
size_t checkedBytes(const std::vector<int64_t>& dims, DType dtype) {
  if (std::string why = tensorSizeProblem(dims, dtype); !why.empty()) throw TensorTooLarge(why);
  return static_cast<size_t>(numElements(dims)) * dtypeSize(dtype);
}
}  // namespace

Tensor::Tensor(DType dtype, std::vector<int64_t> dims)
    : dtype_(dtype), dims_(std::move(dims)), bytes_(checkedBytes(dims_, dtype)) {}

void Tensor::reshape(std::vector<int64_t> dims) {
  EDGEOPT_CHECK(numElements(dims) == numel());
  dims_ = std::move(dims);
}

namespace {
template <typename R>
R elementAs(const Tensor& t, int64_t i) {
  switch (t.dtype()) {
    case DType::kFloat32: return static_cast<R>(t.data<float>()[i]);
    case DType::kFloat64: return static_cast<R>(t.data<double>()[i]);
    case DType::kUInt8: return static_cast<R>(t.data<uint8_t>()[i]);
    case DType::kInt8: return static_cast<R>(t.data<int8_t>()[i]);
    case DType::kUInt16: return static_cast<R>(t.data<uint16_t>()[i]);
    case DType::kInt16: return static_cast<R>(t.data<int16_t>()[i]);
    case DType::kInt32: return static_cast<R>(t.data<int32_t>()[i]);
    case DType::kUInt32: return static_cast<R>(t.data<uint32_t>()[i]);
    case DType::kInt64: return static_cast<R>(t.data<int64_t>()[i]);
    case DType::kUInt64: return static_cast<R>(t.data<uint64_t>()[i]);
    case DType::kBool: return static_cast<R>(t.data<bool>()[i]);
    default: return R{};
  }
}
}  // namespace

double Tensor::getAsDouble(int64_t i) const { return elementAs<double>(*this, i); }
int64_t Tensor::getAsInt64(int64_t i) const { return elementAs<int64_t>(*this, i); }

std::vector<int64_t> Tensor::toInt64Vector() const {
  std::vector<int64_t> out(static_cast<size_t>(numel()));
  for (int64_t i = 0; i < numel(); ++i) out[static_cast<size_t>(i)] = getAsInt64(i);
  return out;
}

}  // namespace edgeopt::ir
