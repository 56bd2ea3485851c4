// Fuzz target: bytes as an ONNX model -> import -> run on the reference executor and on x86
// (lowering, plans, kernels) with seeded inputs of the declared shapes (symbolic dims 1; models
// whose inputs exceed 2^16 elements in all are skipped: this target looks for crashes, not speed).
#include <cstdlib>
#include <random>

#include "api/runner.h"
#include "compiler/onnx/onnx_io.h"
#include "tests/fuzz/fuzz_common.h"

namespace {

// Inputs such as Pad's pads come from the fuzzer: tensors past 64 MB are refused, which keeps each
// execution fast (the limit itself is what is exercised).
const bool kSmallTensors = ::setenv("EDGEOPT_MAX_TENSOR_BYTES", "67108864", /*overwrite=*/0) == 0;

bool makeInputs(const edgeopt::ir::Graph& g, std::vector<edgeopt::ir::Tensor>* inputs) {
  std::mt19937 rng(7);
  int64_t total = 0;
  for (const edgeopt::ir::Value* v : g.inputs()) {
    if (!v->shape()) return false;  // rank unknown: nothing to feed
    std::vector<int64_t> dims;
    for (const auto& d : *v->shape()) {
      const int64_t n = d.isKnown() ? d.value : 1;
      if (n < 0 || n > (1 << 16)) return false;
      dims.push_back(n);
    }
    int64_t count = 1;
    for (int64_t d : dims) count *= d;
    total += count;
    if (total > (1 << 16)) return false;
    edgeopt::ir::Tensor t(v->dtype(), dims);
    auto* bytes = static_cast<uint8_t*>(t.rawData());
    for (size_t i = 0; i < t.byteSize(); ++i) bytes[i] = static_cast<uint8_t>(rng());
    if (v->dtype() == edgeopt::ir::DType::kFloat32)
      for (int64_t i = 0; i < count; ++i) t.data<float>()[i] = std::uniform_real_distribution<float>(-2, 2)(rng);
    inputs->push_back(std::move(t));
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = edgeopt::fuzz::writeInput("model.onnx", data, size);
  auto model = edgeopt::onnx_io::importModel(path);
  if (!model.ok()) return 0;
  std::vector<edgeopt::ir::Tensor> inputs;
  if (!makeInputs(*model->graph, &inputs)) return 0;
  for (const char* target : {"ref", "x86"}) {
    auto runner = edgeopt::api::ModelRunner::create(model.value(), edgeopt::api::runnerOptionsFor(target));
    if (!runner.ok()) continue;
    (void)runner.value()->run(inputs);
  }
  return 0;
}
