// The edgeopt IR: a graph of nodes over SSA values, the one representation every stage
// (import, passes, quantization, lowering) reads and writes.
//
// Ownership: a Graph owns its Nodes and Values. Nodes are kept in a list whose order is the
// execution order; the verifier checks that it is topological. Each Value has at most one
// producer (a Node output, a graph input, or an initializer holding constant data) and knows
// its uses, so rewrites can rewire consumers without scanning the graph.
#pragma once

#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

#include "compiler/ir/status.h"
#include "compiler/ir/tensor.h"

namespace edgeopt::ir {

class Node;
class Graph;

// One dimension: a known size, a named symbol ("batch"), or unknown.
struct Dim {
  int64_t value = -1;  // >= 0 when known
  std::string symbol;  // non-empty for a named dimension of unknown size

  Dim() = default;
  Dim(int64_t v) : value(v) {}  // NOLINT: sizes read naturally as Dims
  static Dim named(std::string s) { Dim d; d.symbol = std::move(s); return d; }
  bool isKnown() const { return value >= 0; }
  bool operator==(const Dim& o) const { return value == o.value && symbol == o.symbol; }
};

// A shape whose rank may be unknown (std::nullopt) and whose dims may be symbolic.
using Shape = std::optional<std::vector<Dim>>;
std::string shapeToString(const Shape& s);
// The dims when every one is known.
std::optional<std::vector<int64_t>> staticDims(const Shape& s);

struct Use {
  Node* node;
  size_t inputIndex;
  bool operator==(const Use& o) const { return node == o.node && inputIndex == o.inputIndex; }
};

class Value {
 public:
  const std::string& name() const { return name_; }
  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  void setDType(DType t) { dtype_ = t; }
  void setShape(Shape s) { shape_ = std::move(s); }

  Node* producer() const { return producer_; }
  size_t producerOutputIndex() const { return producerIndex_; }
  const std::vector<Use>& uses() const { return uses_; }

  // Initializers carry constant data; graph inputs and node outputs do not.
  bool isInitializer() const { return initializer_.has_value(); }
  const Tensor& initializer() const { return *initializer_; }
  bool isGraphInput() const { return isGraphInput_; }

 private:
  friend class Graph;
  friend class Node;
  std::string name_;
  DType dtype_ = DType::kUndefined;
  Shape shape_;
  Node* producer_ = nullptr;
  size_t producerIndex_ = 0;
  std::vector<Use> uses_;
  std::optional<Tensor> initializer_;
  bool isGraphInput_ = false;
};

class Attribute {
 public:
  enum class Kind { kFloat, kInt, kString, kTensor, kFloats, kInts, kStrings };
  using Storage = std::variant<float, int64_t, std::string, Tensor, std::vector<float>,
                               std::vector<int64_t>, std::vector<std::string>>;

  Attribute() : storage_(int64_t{0}) {}
  Attribute(float v) : storage_(v) {}                                  // NOLINT
  Attribute(int64_t v) : storage_(v) {}                                // NOLINT
  Attribute(std::string v) : storage_(std::move(v)) {}                 // NOLINT
  Attribute(Tensor v) : storage_(std::move(v)) {}                      // NOLINT
  Attribute(std::vector<float> v) : storage_(std::move(v)) {}          // NOLINT
  Attribute(std::vector<int64_t> v) : storage_(std::move(v)) {}        // NOLINT
  Attribute(std::vector<std::string> v) : storage_(std::move(v)) {}    // NOLINT

  Kind kind() const { return static_cast<Kind>(storage_.index()); }
  float f() const { return std::get<float>(storage_); }
  int64_t i() const { return std::get<int64_t>(storage_); }
  const std::string& s() const { return std::get<std::string>(storage_); }
  const Tensor& t() const { return std::get<Tensor>(storage_); }
  const std::vector<float>& floats() const { return std::get<std::vector<float>>(storage_); }
  const std::vector<int64_t>& ints() const { return std::get<std::vector<int64_t>>(storage_); }
  const std::vector<std::string>& strings() const {
    return std::get<std::vector<std::string>>(storage_);
  }

 private:
  Storage storage_;
};

class Node {
 public:
  const std::string& opType() const { return opType_; }
  const std::string& domain() const { return domain_; }  // "" is the default ONNX domain
  const std::string& name() const { return name_; }
  void setName(std::string n) { name_ = std::move(n); }
  // "'conv1' (Conv)": how diagnostics name a node.
  std::string describe() const;
  // "Conv" for the default ONNX domain, "edgeopt.QConv" otherwise: how histograms and
  // unsupported-op lists name an op.
  std::string qualifiedOpType() const;

  // Inputs may contain nullptr for an omitted optional input.
  const std::vector<Value*>& inputs() const { return inputs_; }
  const std::vector<Value*>& outputs() const { return outputs_; }
  size_t numInputs() const { return inputs_.size(); }
  Value* input(size_t i) const { return i < inputs_.size() ? inputs_[i] : nullptr; }
  Value* output(size_t i) const { return i < outputs_.size() ? outputs_[i] : nullptr; }
  void setInput(size_t i, Value* v);
  void addInput(Value* v);

  const std::map<std::string, Attribute>& attributes() const { return attrs_; }
  bool hasAttr(const std::string& name) const { return attrs_.count(name) != 0; }
  const Attribute* attr(const std::string& name) const;
  void setAttr(const std::string& name, Attribute a) { attrs_[name] = std::move(a); }
  void removeAttr(const std::string& name) { attrs_.erase(name); }
  int64_t attrInt(const std::string& name, int64_t dflt) const;
  float attrFloat(const std::string& name, float dflt) const;
  std::string attrString(const std::string& name, const std::string& dflt) const;
  std::vector<int64_t> attrInts(const std::string& name, std::vector<int64_t> dflt = {}) const;
  std::vector<float> attrFloats(const std::string& name, std::vector<float> dflt = {}) const;

  Graph* graph() const { return graph_; }

 private:
  friend class Graph;
  Graph* graph_ = nullptr;
  std::string opType_, domain_, name_;
  std::vector<Value*> inputs_;
  std::vector<Value*> outputs_;
  std::map<std::string, Attribute> attrs_;
  std::list<std::unique_ptr<Node>>::iterator self_;
};

class Graph {
 public:
  Graph() = default;
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;

  const std::string& name() const { return name_; }
  void setName(std::string n) { name_ = std::move(n); }

  // Values. Names are unique within a graph; uniqueName() makes fresh ones for rewrites.
  Value* addInput(const std::string& name, DType dtype, Shape shape);
  Value* addInitializer(const std::string& name, Tensor data);
  Value* findValue(const std::string& name) const;
  // Renames a value; fails (returns false) when `name` is taken by another value.
  bool renameValue(Value* v, const std::string& name);
  std::string uniqueName(const std::string& base);
  void markOutput(Value* v) { outputs_.push_back(v); }
  void setOutputs(std::vector<Value*> outs) { outputs_ = std::move(outs); }

  const std::vector<Value*>& inputs() const { return inputs_; }
  const std::vector<Value*>& outputs() const { return outputs_; }
  std::vector<Value*> initializers() const;
  // Every value (inputs, initializers, node outputs), in creation order.
  std::vector<Value*> values() const;

  // Nodes, in execution order.
  // Creates a node with fresh output values named `outputNames` (made unique), appended at the
  // end, or inserted before `before` when given.
  Node* addNode(const std::string& opType, const std::vector<Value*>& inputs,
                const std::vector<std::string>& outputNames, const std::string& name = "",
                Node* before = nullptr, const std::string& domain = "");
  // Removes a node whose outputs have no uses and are not graph outputs.
  void removeNode(Node* n);
  // Redirects every use of `from` (including graph outputs) to `to`.
  void replaceAllUsesWith(Value* from, Value* to);
  // Drops initializers and values with no producer-side role and no uses.
  void removeUnusedValues();
  std::vector<Node*> nodes() const;
  size_t numNodes() const { return nodes_.size(); }

  // Checks the structural invariants: node order is topological, every input is defined
  // (graph input, initializer or earlier node output), value names are unique, use lists
  // match the inputs, every graph output is defined.
  Status verify() const;

 private:
  Value* newValue(const std::string& name);
  std::string name_;
  std::list<std::unique_ptr<Node>> nodes_;
  std::vector<std::unique_ptr<Value>> values_;
  std::unordered_map<std::string, Value*> byName_;
  std::vector<Value*> inputs_;
  std::vector<Value*> outputs_;
  uint64_t nameCounter_ = 0;
  uint64_t nodeCounter_ = 0;
};

// Node count per qualified op type.
std::map<std::string, int64_t> opHistogram(const Graph& g);

// The initializer a value is, directly or through Identity nodes (exporters share equal constants
// that way); null otherwise.
const Value* initializerBehind(const Value* v);
// The constant tensor a value holds: that initializer's, or a Constant node's `value`; null otherwise.
const Tensor* constantBehind(const Value* v);

struct OpsetImport {
  std::string domain;
  int64_t version;
};

// A model: the graph plus what ONNX needs to describe it.
struct Model {
  std::unique_ptr<Graph> graph = std::make_unique<Graph>();
  std::vector<OpsetImport> opsets;
  int64_t irVersion = 8;
  std::string producerName;
  std::string producerVersion;
  std::string docString;
  std::map<std::string, std::string> metadata;

  // Opset of the default ONNX domain, or 0 when absent.
  int64_t defaultOpset() const;
};

// A deep copy: same value and node names, dtypes, shapes, attributes, initializers and order.
Model cloneModel(const Model& model);

}  // namespace edgeopt::ir
