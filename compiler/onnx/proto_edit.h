// Internal to compiler/onnx: reading and rewriting ModelProto graphs before they become IR (the
// opset upgrade, control-flow inlining and the import checks share these).
#pragma once

#include <onnx/onnx_pb.h>

#include <functional>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "compiler/ir/status.h"
#include "compiler/ir/tensor.h"

namespace edgeopt::onnx_io {

// A TensorProto's data as an IR tensor (raw or typed fields); errors name the tensor.
StatusOr<ir::Tensor> tensorFromProto(const onnx::TensorProto& p);

// The single value of an integer or bool tensor of one element, else nullopt.
std::optional<int64_t> intScalar(const onnx::TensorProto& t);

inline bool isDefaultDomain(const onnx::NodeProto& n) { return n.domain().empty() || n.domain() == "ai.onnx"; }

// How errors name a node: "'conv1' (Conv)", or "'Conv_3' (Conv)" for an unnamed node at `index`
// (the name import gives it).
inline std::string nodeLabel(const onnx::NodeProto& n, size_t index) {
  return "'" + (n.name().empty() ? n.op_type() + "_" + std::to_string(index) : n.name()) + "' (" + n.op_type() + ")";
}

const onnx::AttributeProto* findAttr(const onnx::NodeProto& n, const std::string& name);
void removeAttr(onnx::NodeProto& n, const std::string& name);
void setIntAttr(onnx::NodeProto& n, const std::string& name, int64_t value);
void setStringAttr(onnx::NodeProto& n, const std::string& name, const std::string& value);

// Calls fn on g and on every subgraph below it, parents first.
void walkGraphs(onnx::GraphProto& g, const std::function<void(onnx::GraphProto&)>& fn);

// The value and node names a model uses (subgraphs included), and fresh ones for rewrites.
class NameSet {
 public:
  explicit NameSet(onnx::GraphProto& root);
  // `base`, or `base_1`, `base_2`, ... : the first not in use, now taken.
  std::string fresh(const std::string& base);

 private:
  std::unordered_set<std::string> names_;
};

// Appends an int64 initializer named `name` to g: 1-D with `values`, or a scalar when `scalar`.
void addInt64Initializer(onnx::GraphProto& g, const std::string& name, const std::vector<int64_t>& values,
                         bool scalar = false);

}  // namespace edgeopt::onnx_io
