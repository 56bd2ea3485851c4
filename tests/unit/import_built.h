// A test-built ONNX model imported exactly as edgeopt imports a file (through a temporary file of
// this process that is removed again).
#pragma once

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <string>

#include "api/edgeopt.h"
#include "tests/unit/onnx_model_builder.h"

namespace edgeopt::testing {

inline StatusOr<ir::Model> importBuilt(const OnnxModelBuilder& b) {
  static std::atomic<int> counter{0};
  const std::filesystem::path file = std::filesystem::temp_directory_path() /
                                     ("edgeopt-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + ".onnx");
  b.save(file.string());
  auto model = api::loadModel(file.string());
  std::error_code ec;
  std::filesystem::remove(file, ec);
  return model;
}

}  // namespace edgeopt::testing
