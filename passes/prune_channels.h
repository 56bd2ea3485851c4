// Structured (channel) pruning that physically shrinks tensors: the dependency groups of the
// Torch-Pruning "DepGraph" idea, built as a union-find over (value, channel) pairs, so that a
// channel is removed consistently everywhere it flows — from the Conv/Gemm filter that makes it,
// through BatchNormalization, activations, pooling, residual Add/Mul (all operands together),
// Concat/Split (with offsets), depthwise convolutions (input, output and group together) and
// Flatten -> Gemm (the channel's block of H x W features), to the weight columns of every Conv/Gemm
// that reads it.
//
// Channels are axis 1 of every value of rank >= 2 with a known size there. Coupled channels form a
// class; the classes of values linked by any coupling form a *space* (e.g. the 16 channels every
// block of a ResNet stage adds into). A class is frozen — never removed — when it touches a graph
// input or output (the classifier is never pruned), an op the rules do not know, a grouped
// convolution with 1 < group < channels (or a depthwise channel multiplier), a Reshape that is not
// a Flatten, a non-constant weight, or a Concat/Split on another axis; the report names the reason
// per frozen space.
//
// The plan: blocks of roundTo channels (so kept counts stay multiples of it) are removed greedily,
// each from the space whose next block — its least important channels left — costs the least
// importance per MAC saved (a class's importance: the L2 (or L1) norm of every weight it removes,
// filter rows and consumer columns, normalized by its space's mean), until the MACs are within
// +-2 % of the target fraction of the original's. Each space keeps at least (1 - maxRatio) of its
// channels and at least roundTo.
#pragma once

#include <string>
#include <vector>

#include "compiler/ir/ir.h"
#include "compiler/ir/status.h"

namespace edgeopt::passes {

struct PruneOptions {
  double macsFraction = 0.5;  // target: MACs after / MACs before, in (0, 1]
  int64_t roundTo = 8;        // kept channels per space: a multiple of this (when the space has more)
  double maxRatio = 0.9;      // at most this fraction of a space's channels removed
  bool l1 = false;            // importance: L1 norm instead of L2
};

struct PruneSpace {
  std::string name;            // the first value of the space (e.g. the stem's output)
  std::vector<std::string> values;
  int64_t channels = 0;        // classes in the space
  int64_t kept = 0;            // after the plan
  std::string frozenBy;        // "" when prunable; else why (the first reason found)
};

struct PruneReport {
  int64_t macsBefore = 0, macsAfter = 0;  // Conv/Gemm/MatMul MACs per sample, counted the plan's way
  int64_t removedChannels = 0;
  std::vector<PruneSpace> spaces;         // every space, prunable or frozen
  int64_t prunableSpaces() const;
};

// The spaces and their frozen reasons, without changing the graph.
StatusOr<PruneReport> analyzeChannelGroups(const ir::Graph& graph);

// Removes the planned channels: filter rows, consumer columns, BatchNorm/bias/per-channel constant
// entries, depthwise groups; value shapes shrink. kInvalidInput for options out of range, and when
// no space is prunable.
Status pruneChannels(ir::Graph& graph, const PruneOptions& options, PruneReport* report);

// The same plan, applied as a mask: the graph keeps its shapes, and every Conv/Gemm/MatMul weight
// column that reads a planned channel is zeroed. The masked graph computes what the pruned one
// computes (the equivalence the tests check).
Status maskPrunedChannels(ir::Graph& graph, const PruneOptions& options, PruneReport* report);

}  // namespace edgeopt::passes
