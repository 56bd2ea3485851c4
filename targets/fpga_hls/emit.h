// The FPGA HLS project emitter: an int8 model lowered by passes/lower_qdq.h becomes a streaming
// dataflow design of the kernels/hls templates (one process per layer, FIFOs between them), with
// its weights and integer thresholds, a testbench that byte-compares C simulation with edgeopt's
// reference int8, a Makefile (`make csim`, g++), a Vitis HLS script and the estimate (cycles and
// resources per process, for a named part).
//
// What it emits: a QuantizeLinear of the float input, then int8 layers — Conv (3x3, 1x1, any
// square kernel, stride, padding; depthwise when group = channels), Gemm/MatMul, MaxPool,
// GlobalAveragePool, residual Add of two equal-shaped tensors (a tensor with two consumers is
// duplicated, the shorter branch through a FIFO sized for the longer), Flatten/Reshape to a vector
// (free on a stream; a following Gemm takes its weights in the stream's NHWC order) — then a
// DequantizeLinear. The design takes the int8 input (after the QuantizeLinear) and gives the int8
// output (before the DequantizeLinear), both in NHWC order (channels innermost), one frame
// (sample) after another; the testbench feeds and checks those bytes. Any other node is refused
// with one error naming it.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "compiler/ir/ir.h"
#include "compiler/ir/status.h"

namespace edgeopt::fpga_hls {

struct Resources {
  int64_t dsp = 0, bram18 = 0, lut = 0, ff = 0;
};

// A device the estimate is checked against (its capacity from the vendor's product table).
struct Part {
  std::string name, description;
  Resources capacity;
};
// xc7z020 (Zynq-7020, the default), xczu3eg, xczu9eg.
const std::vector<Part>& knownParts();

struct EmitOptions {
  // Cycles per frame every process should meet (the design's initiation interval); 0 folds every
  // layer completely (SIMD = PE = 1).
  int64_t targetCycles = 4096;
  // false (the default): when the design at targetCycles does not fit the part (or dspBudget), the
  // target is relaxed to the smallest that fits, and the estimate says so. true: the target is a
  // requirement, and a design over the part is refused.
  bool strictTarget = false;
  int64_t dspBudget = -1;  // < 0: the part's DSPs
  std::string part = "xc7z020";
  double clockMhz = 100;
  bool refuseOverBudget = true;  // false: write a design that does not fit, and say so
  int goldenFrames = 8;          // random int8 frames in input.bin / golden.bin
};

// One dataflow process of the design.
struct LayerPlan {
  std::string node;      // the IR node it computes ("" for glue between layers)
  std::string process;   // template: swu, mvu, vvu, max-pool, global-average-pool, residual-add, repack, duplicate
  std::string geometry;  // e.g. "3x3/1 conv 16x28x28 -> 16x28x28"
  int64_t simd = 1, pe = 1;
  int64_t cycles = 0;    // per frame: the iterations of its pipelined loops (II = 1)
  int64_t macs = 0;      // per frame
  Resources resources;
};

struct Project {
  std::vector<std::pair<std::string, std::string>> files;  // path in the project -> contents
  std::vector<LayerPlan> processes;                        // in the top's call order
  int64_t initiationInterval = 0;  // cycles per frame: the slowest process's
  int64_t latencyCycles = 0;       // one frame through every process in turn: an upper bound
  int64_t targetCycles = 0;        // the target the folding met (after relaxation)
  bool relaxed = false;            // the requested target did not fit and was relaxed
  std::string bottleneck;          // the slowest process ("node (process)")
  Resources total;
  Part part;
  bool fits = true;
  double clockMhz = 100;
  int64_t inputValues = 0, outputValues = 0;  // int8 values per frame
};

StatusOr<Project> emitProject(const ir::Graph& int8Graph, const EmitOptions& options = {});

// Ok when emitProject accepts the graph's nodes (the same lowering, no folding or files); else its error.
Status checkEmittable(const ir::Graph& int8Graph);

// The bytes a design streams for an int8 tensor of the IR: [N, C, H, W] maps as NHWC, frame after
// frame; vectors unchanged (input.bin / golden.bin hold these).
std::string streamBytes(const ir::Tensor& int8Tensor);

// The template library's sources, embedded at build time (cmake/embed_sources.cmake).
const std::vector<std::pair<std::string, std::string>>& projectSources();

}  // namespace edgeopt::fpga_hls
