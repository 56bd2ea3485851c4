// `edgeopt prune` and the C++ API: structured channel pruning that physically shrinks the model
// (passes/prune_channels.h), BatchNorm statistics re-estimated on data afterwards, and
// unstructured magnitude pruning (zeroed weights that int8's symmetric weights keep).
#pragma once

#include <string>
#include <vector>

#include "compiler/data/dataset.h"
#include "compiler/ir/ir.h"
#include "compiler/ir/status.h"
#include "passes/prune_channels.h"

namespace edgeopt::api {

// How unstructured pruning ranks weights over all layers together: plain magnitude, or LAMP
// (magnitude relative to the layer's larger weights; spares small, sensitive layers).
enum class SparsityScore { kMagnitude, kLamp };

struct PruneOptions {
  bool structured = true;            // channel pruning to channels.macsFraction
  passes::PruneOptions channels;
  // Unstructured: this fraction of the Conv/Gemm/MatMul weights (not biases, not BatchNorm) set to
  // zero, the smallest magnitudes first, over all layers together (or per layer); 0: none.
  double sparsity = 0;
  bool sparsityPerLayer = false;
  SparsityScore sparsityScore = SparsityScore::kLamp;
  // Data for the BatchNorm re-estimation (training data, never the test set); empty path: the
  // statistics are left as they were.
  data::DataOptions bnData;
  int64_t bnSamples = 512;           // at most this many samples (all held in memory at once)
};

struct LayerSparsity {
  std::string node;
  int64_t weights = 0, zeros = 0;
};

struct PruneResult {
  passes::PruneReport channels;      // structured: spaces, MACs before/after
  int64_t parametersBefore = 0, parametersAfter = 0;
  int64_t bnNodes = 0, bnSamples = 0;  // BatchNorms re-estimated, on this many samples
  std::vector<LayerSparsity> sparsity;  // every Conv/Gemm/MatMul weight, after pruning
};

Status pruneModel(ir::Model& model, const PruneOptions& options, PruneResult* result);
std::string pruneResultJson(const PruneResult& r);
std::string pruneResultText(const PruneResult& r);

}  // namespace edgeopt::api
