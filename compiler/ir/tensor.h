// Element types and dense tensors of the IR.
// DType values equal ONNX TensorProto.DataType numbers so the front end converts by cast, but the
// IR itself depends on nothing outside the standard library.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <optional>
#include <stdexcept>
#include <vector>

namespace edgeopt::ir {

enum class DType : int32_t {
  kUndefined = 0,
  kFloat32 = 1,
  kUInt8 = 2,
  kInt8 = 3,
  kUInt16 = 4,
  kInt16 = 5,
  kInt32 = 6,
  kInt64 = 7,
  kString = 8,
  kBool = 9,
  kFloat16 = 10,
  kFloat64 = 11,
  kUInt32 = 12,
  kUInt64 = 13,
  kBFloat16 = 16,
};

// Bytes per element; 0 for kUndefined and kString (strings have no dense storage in the IR).
size_t dtypeSize(DType t);
// Short lower-case name: "float32", "int8", ...
const char* dtypeName(DType t);
// True for types a Tensor can hold (every fixed-size numeric type and bool). float16 and
// bfloat16 are held as raw 16-bit patterns.
bool isDenseDType(DType t);

template <typename T> struct DTypeOf;
template <> struct DTypeOf<float> { static constexpr DType value = DType::kFloat32; };
template <> struct DTypeOf<double> { static constexpr DType value = DType::kFloat64; };
template <> struct DTypeOf<int8_t> { static constexpr DType value = DType::kInt8; };
template <> struct DTypeOf<uint8_t> { static constexpr DType value = DType::kUInt8; };
template <> struct DTypeOf<int16_t> { static constexpr DType value = DType::kInt16; };
template <> struct DTypeOf<uint16_t> { static constexpr DType value = DType::kUInt16; };
template <> struct DTypeOf<int32_t> { static constexpr DType value = DType::kInt32; };
template <> struct DTypeOf<uint32_t> { static constexpr DType value = DType::kUInt32; };
template <> struct DTypeOf<int64_t> { static constexpr DType value = DType::kInt64; };
template <> struct DTypeOf<uint64_t> { static constexpr DType value = DType::kUInt64; };
template <> struct DTypeOf<bool> { static constexpr DType value = DType::kBool; };

// Product of dims (1 for a scalar). Dims are non-negative.
int64_t numElements(const std::vector<int64_t>& dims);
// The element count of dims (all >= 0) when it, times elementBytes, fits in an int64; else nullopt.
// For dims that come from user files, before anything of that size is allocated.
std::optional<int64_t> checkedNumElements(const std::vector<int64_t>& dims, size_t elementBytes = 1);

// The largest tensor edgeopt allocates: 4 GiB, or the environment variable
// EDGEOPT_MAX_TENSOR_BYTES (a positive integer) read once. Making a larger Tensor (or one whose
// dims are negative or overflow) throws TensorTooLarge, which the executors turn into an error
// naming the node (a shape computed from run-time data, e.g. Pad's pads, can ask for anything).
constexpr int64_t kMaxTensorBytes = int64_t{1} << 32;
int64_t maxTensorBytes();
// A resource limit: the environment variable `name` when it holds a positive integer, else `fallback`.
int64_t limitFromEnvironment(const char* name, int64_t fallback);
// Why a tensor of `dims` x `dtype` may not be made — a negative dim, a size that overflows, more
// bytes than maxTensorBytes() — as "a tensor of [dims] dtype ..."; "" when it may. The one check
// behind the Tensor constructor and the kernels and readers that size something from data first.
std::string tensorSizeProblem(const std::vector<int64_t>& dims, DType dtype);
struct TensorTooLarge : std::length_error {
  using std::length_error::length_error;
};
// "[1,3,224,224]"
std::string dimsToString(const std::vector<int64_t>& dims);

// A dense, row-major, owning tensor. Copying copies the data.
class Tensor {
 public:
  Tensor() = default;
  Tensor(DType dtype, std::vector<int64_t> dims);  // zero-filled

  template <typename T>
  static Tensor fromVector(std::vector<int64_t> dims, const std::vector<T>& values) {
    Tensor t(DTypeOf<T>::value, std::move(dims));
    if constexpr (std::is_same_v<T, bool>) {
      for (size_t i = 0; i < values.size() && i < static_cast<size_t>(t.numel()); ++i)
        t.data<bool>()[i] = values[i];
    } else if (const size_t bytes = std::min(values.size() * sizeof(T), t.byteSize()); bytes > 0) {
      std::memcpy(t.rawData(), values.data(), bytes);  // memcpy of null pointers is undefined even for 0 bytes
    }
    return t;
  }
  template <typename T>
  static Tensor scalar(T v) { return fromVector<T>({}, std::vector<T>{v}); }

  DType dtype() const { return dtype_; }
  const std::vector<int64_t>& dims() const { return dims_; }
  int64_t rank() const { return static_cast<int64_t>(dims_.size()); }
  int64_t numel() const { return numElements(dims_); }
  size_t byteSize() const { return bytes_.size(); }

  void* rawData() { return bytes_.data(); }
  const void* rawData() const { return bytes_.data(); }
  template <typename T> T* data() { return reinterpret_cast<T*>(bytes_.data()); }
  template <typename T> const T* data() const { return reinterpret_cast<const T*>(bytes_.data()); }

  // Changes the dims without touching the data; the element count must stay the same.
  void reshape(std::vector<int64_t> dims);

  // Element i converted to double / int64 (for shape-carrying tensors and diagnostics).
  double getAsDouble(int64_t i) const;
  int64_t getAsInt64(int64_t i) const;
  // All elements as int64 (shape, axes, indices inputs).
  std::vector<int64_t> toInt64Vector() const;

 private:
  DType dtype_ = DType::kUndefined;
  std::vector<int64_t> dims_;
  std::vector<uint8_t> bytes_;
};

}  // namespace edgeopt::ir
