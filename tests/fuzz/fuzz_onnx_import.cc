// Fuzz target: bytes as an ONNX file -> import (parse, checker, opset upgrade, shape inference,
// conversion to edgeopt's IR) -> the IR verifier -> export.
#include "compiler/onnx/onnx_io.h"
#include "tests/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = edgeopt::fuzz::writeInput("model.onnx", data, size);
  auto model = edgeopt::onnx_io::importModel(path);
  if (!model.ok()) return 0;
  if (!model->graph->verify().ok()) std::abort();  // import must only give out valid IR
  (void)edgeopt::onnx_io::exportModelBytes(model.value());
  return 0;
}
