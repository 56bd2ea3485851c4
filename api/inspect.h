// Model summary for `edgeopt inspect`: inputs/outputs, op histogram, parameters and MACs.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "compiler/ir/ir.h"

namespace edgeopt::api {

struct NodeCost {
  std::string name;
  std::string opType;
  int64_t macs = 0;  // multiply-accumulates of one run
};

struct ModelSummary {
  struct Io {
    std::string name;
    ir::DType dtype;
    ir::Shape shape;
  };
  std::vector<Io> inputs, outputs;
  int64_t opset = 0;
  size_t nodeCount = 0;
  std::map<std::string, int64_t> opHistogram;
  int64_t parameters = 0;      // elements in initializers and Constant-node tensors
  int64_t parameterBytes = 0;  // their storage
  // MACs of Conv, ConvTranspose, Gemm and MatMul nodes (the ops that dominate compute). Dims the
  // model leaves symbolic (e.g. batch) are counted as 1; `dynamicDims` says whether any was.
  int64_t macs = 0;
  bool dynamicDims = false;
  std::vector<std::string> macsUnknown;  // MAC-carrying nodes whose shapes are not known statically
  std::vector<NodeCost> nodes;           // every node in graph order (macs 0 for other ops, -1 unknown)
};

ModelSummary summarize(const ir::Model& model);
std::string summaryToJson(const ModelSummary& summary);  // includes per-node MACs
std::string summaryToText(const ModelSummary& summary);

}  // namespace edgeopt::api
