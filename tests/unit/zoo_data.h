// Test helper: the trained zoo's manifest, the bundled Fashion-MNIST images as model input
// batches, and zoo models quantized with them (shared by the target tests).
#pragma once

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "api/quantize.h"
#include "compiler/data/dataset.h"

namespace edgeopt::testing {

inline const std::filesystem::path kZoo = std::filesystem::path(EDGEOPT_SOURCE_DIR) / "tools/zoo/models";
inline const std::filesystem::path kBundled = std::filesystem::path(EDGEOPT_SOURCE_DIR) / "calib_data/fashion_mnist_500";

inline nlohmann::json zooManifest() {
  std::ifstream in(kZoo / "manifest.json");
  return nlohmann::json::parse(in);
}

// The bundled images, preprocessed for a zoo model ("channels=gray," + its preprocess), in batches
// of `batch`; at most `limit` images (0: all).
inline std::vector<ir::Tensor> bundledBatches(const std::string& preprocess, int64_t batch, int64_t limit = 0) {
  data::DataOptions d;
  d.path = kBundled.string();
  d.preprocess = "channels=gray," + preprocess;
  d.limit = limit;
  auto source = data::openDataSource(d);
  EXPECT_TRUE(source.ok());
  std::vector<ir::Tensor> out;
  if (!source.ok()) return out;
  data::BatchReader reader(*source.value(), d, batch);
  data::Batch b;
  while (reader.next(&b).value()) out.push_back(b.inputs);
  return out;
}

// Quantizes a zoo model in place, calibrated on the first `limit` bundled images.
inline Status quantizeWithBundled(ir::Model& model, const std::string& preprocess, int64_t limit) {
  api::QuantizeOptions q;
  q.calib.path = kBundled.string();
  q.calib.preprocess = "channels=gray," + preprocess;
  q.calib.limit = limit;
  q.attributionSamples = 2;
  api::QuantizeReport report;
  return api::quantizeModel(model, q, &report);
}

}  // namespace edgeopt::testing
