// The FPGA HLS project emitter: an int8 model lowered by passes/lower_qdq.h becomes a streaming
// dataflow design of the kernels/hls templates, with its weights and integer thresholds, a
// testbench that byte-compares C simulation with edgeopt's reference int8, a Makefile (`make
// csim`, g++), a Vitis HLS script and the cycle estimate.
//
// This first version emits fully connected models: a QuantizeLinear of the float input, then
// edgeopt.QGemm layers (Flatten/Reshape between them are free on a stream), then a
// DequantizeLinear. The design takes the int8 input (after the QuantizeLinear) and gives the int8
// output (before the DequantizeLinear); the testbench feeds and checks those bytes. Any other node
// is refused with one error naming it.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "compiler/ir/ir.h"
#include "compiler/ir/status.h"

namespace edgeopt::fpga_hls {

struct LayerPlan {
  std::string node;  // IR node name
  int64_t mw = 0, mh = 0, simd = 1, pe = 1;
  int64_t cycles = 0;  // per vector: (mh / pe) * (mw / simd)
  int64_t levels = 0;  // thresholds per channel (output_max - output_min)
};

struct Project {
  std::vector<std::pair<std::string, std::string>> files;  // path in the project -> contents
  std::vector<LayerPlan> layers;
  int64_t cyclesPerVector = 0;  // the slowest layer's: the design's initiation interval
  int64_t latencyCycles = 0;    // one vector through every layer (the sum)
  int64_t multipliers = 0;
};

// Folding goal: the smallest SIMD x PE (SIMD <= 64, PE <= 64, SIMD * PE <= 512, SIMD dividing the
// layer's inputs and PE its outputs) whose cycles per vector are at most targetCycles; the most
// parallel allowed when none is (the layer is then the bottleneck, and the estimate says so).
// targetCycles = 0 folds every layer completely (SIMD = PE = 1).
StatusOr<Project> emitProject(const ir::Graph& int8Graph, int64_t targetCycles = 4096, int goldenVectors = 8);

// Ok when emitProject accepts the graph (the same walk, without writing anything); else its error.
Status checkEmittable(const ir::Graph& int8Graph);

// The template library's sources, embedded at build time (cmake/embed_sources.cmake).
const std::vector<std::pair<std::string, std::string>>& projectSources();

}  // namespace edgeopt::fpga_hls
