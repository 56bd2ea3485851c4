#include "compiler/onnx/opset_upgrade.h"

#include "compiler/onnx/proto_edit.h"

#include <algorithm>
#include <map>
#include <optional>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace edgeopt::onnx_io {
namespace {

using onnx::AttributeProto;
using onnx::GraphProto;
using onnx::NodeProto;
using onnx::TensorProto;

// Default-domain operators whose semantics did not change between opset 6 and opset 17 (their
// later versions only add types, attributes with the old behaviour as default, or negative axes).
const std::unordered_set<std::string>& unchangedOps() {
  static const std::unordered_set<std::string> ops = {
      "Abs", "Acos", "Acosh", "ArgMax", "ArgMin", "Asin", "Asinh", "Atan", "Atanh", "AveragePool",
      "Cast", "Ceil", "Concat", "Constant", "ConstantOfShape", "Conv", "ConvTranspose", "Cos", "Cosh",
      "CumSum", "DepthToSpace", "DequantizeLinear", "Einsum", "Elu", "Erf", "Exp", "Expand", "Flatten",
      "Floor", "Gather", "GatherElements", "GatherND", "GlobalAveragePool", "GlobalMaxPool", "GRU",
      "HardSigmoid", "HardSwish", "Identity", "If", "InstanceNormalization", "IsInf", "IsNaN",
      "LayerNormalization", "LeakyRelu", "Log", "Loop", "LRN", "LSTM", "MatMul", "Max", "MaxPool",
      "Mean", "Min", "Mod", "Neg", "NonZero", "Not", "OneHot", "PRelu", "QuantizeLinear", "Range",
      "Reciprocal", "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceMax",
      "ReduceMean", "ReduceMin", "ReduceProd", "ReduceSumSquare", "Relu", "Reshape", "RNN", "Round",
      "Selu", "Shape", "Sigmoid", "Sign", "Sin", "Sinh", "Size", "Softplus", "Softsign",
      "SpaceToDepth", "Sqrt", "Sum", "Tan", "Tanh", "Tile", "Transpose", "Where"};
  return ops;
}

const std::unordered_set<std::string>& oldBroadcastOps() {
  static const std::unordered_set<std::string> ops = {"Add", "Sub", "Mul", "Div", "Pow", "And", "Or",
                                                      "Xor", "Equal", "Greater", "Less"};
  return ops;
}

const std::unordered_set<std::string>& adaptedOps() {
  static const std::unordered_set<std::string> ops = {
      "Gemm", "BatchNormalization", "Dropout", "Slice", "TopK", "Clip", "Pad", "Resize", "Upsample",
      "Softmax", "LogSoftmax", "Hardmax", "Split", "Squeeze", "Unsqueeze", "ReduceSum"};
  return ops;
}

// What a model knows: element types and ranks by value name, and the names in use.
class GraphFacts {
 public:
  explicit GraphFacts(onnx::ModelProto& model) : names_(*model.mutable_graph()) {
    walkGraphs(*model.mutable_graph(), [&](GraphProto& g) {
      for (const auto& t : g.initializer()) note(t.name(), t.data_type(), t.dims_size());
      for (const auto& v : g.input()) noteType(v);
      for (const auto& v : g.output()) noteType(v);
      for (const auto& v : g.value_info()) noteType(v);
      for (const auto& n : g.node())
        if (n.op_type() == "Constant" && isDefaultDomain(n) && n.output_size() == 1)
          if (const auto* a = findAttr(n, "value"); a && a->has_t())
            note(n.output(0), a->t().data_type(), a->t().dims_size());
    });
  }

  std::optional<int> rank(const std::string& name) const {
    auto it = rank_.find(name);
    if (it == rank_.end()) return std::nullopt;
    return it->second;
  }
  int32_t elemType(const std::string& name) const {
    auto it = type_.find(name);
    return it == type_.end() ? TensorProto::UNDEFINED : it->second;
  }
  std::string fresh(const std::string& base) { return names_.fresh(base); }

 private:
  void note(const std::string& name, int32_t type, int rank) {
    if (type != TensorProto::UNDEFINED) type_[name] = type;
    rank_[name] = rank;
  }
  void noteType(const onnx::ValueInfoProto& v) {
    if (!v.type().has_tensor_type()) return;
    const auto& tt = v.type().tensor_type();
    if (tt.elem_type() != TensorProto::UNDEFINED) type_[v.name()] = tt.elem_type();
    if (tt.has_shape()) rank_[v.name()] = tt.shape().dim_size();
  }

  std::unordered_map<std::string, int> rank_;
  std::unordered_map<std::string, int32_t> type_;
  NameSet names_;
};

class Upgrader {
 public:
  Upgrader(onnx::ModelProto& model, int64_t from) : facts_(model), from_(from) {}

  Status upgradeGraph(GraphProto& g) {
    graph_ = &g;
    google::protobuf::RepeatedPtrField<NodeProto> old;
    old.Swap(g.mutable_node());
    for (int i = 0; i < old.size(); ++i) {
      index_ = static_cast<size_t>(i);
      if (isDefaultDomain(old[i])) {
        EDGEOPT_RETURN_IF_ERROR(upgradeNode(std::move(old[i])));
      } else {
        *g.add_node() = std::move(old[i]);
      }
    }
    return Status::Ok();
  }

 private:
  NodeProto* emit(const std::string& op, std::vector<std::string> inputs, const std::string& output,
                  const std::string& name) {
    NodeProto* n = graph_->add_node();
    n->set_op_type(op);
    n->set_name(facts_.fresh(name));
    for (auto& in : inputs) n->add_input(in);
    n->add_output(output);
    return n;
  }

  std::string int64Initializer(const std::string& base, const std::vector<int64_t>& values) {
    const std::string name = facts_.fresh(base);
    addInt64Initializer(*graph_, name, values);
    return name;
  }
  // How errors name the node being upgraded.
  std::string describe(const NodeProto& n) const { return nodeLabel(n, index_); }

  // A scalar of `type` (float32 when unknown); kUnsupported for other element types.
  StatusOr<std::string> scalarInitializer(const std::string& base, double value, int32_t type,
                                          const NodeProto& n) {
    TensorProto* t = graph_->add_initializer();
    t->set_name(facts_.fresh(base));
    switch (type) {
      case TensorProto::UNDEFINED:
      case TensorProto::FLOAT:
        t->set_data_type(TensorProto::FLOAT);
        t->add_float_data(static_cast<float>(value));
        break;
      case TensorProto::DOUBLE:
        t->set_data_type(TensorProto::DOUBLE);
        t->add_double_data(value);
        break;
      default:
        return unsupported("node " + describe(n) + ": cannot upgrade a " + n.op_type() +
                           " attribute for element type " + std::to_string(type));
    }
    return t->name();
  }

  std::vector<int64_t> ints(const NodeProto& n, const std::string& name) {
    const AttributeProto* a = findAttr(n, name);
    return a ? std::vector<int64_t>(a->ints().begin(), a->ints().end()) : std::vector<int64_t>{};
  }

  // Moves INTS attribute `name` to input position `index` (as an int64 initializer); absent
  // attributes become empty optional inputs when a later input follows.
  void intsAttrToInput(NodeProto& n, const std::string& name, int index) {
    const AttributeProto* a = findAttr(n, name);
    std::string input;
    if (a) {
      input = int64Initializer(n.name().empty() ? n.op_type() + "_" + name : n.name() + "_" + name,
                               ints(n, name));
      removeAttr(n, name);
    }
    while (n.input_size() < index) n.add_input("");
    if (n.input_size() == index) {
      if (!input.empty()) n.add_input(input);
    } else {
      n.set_input(index, input);
    }
  }

  Status upgradeNode(NodeProto n) {
    const std::string& op = n.op_type();
    if (from_ < 7 && oldBroadcastOps().count(op)) EDGEOPT_RETURN_IF_ERROR(oldBroadcast(n));
    if (from_ < 7 && op == "Gemm") removeAttr(n, "broadcast");
    if (op == "BatchNormalization") {
      if (from_ < 7) {
        if (const auto* a = findAttr(n, "is_test"); a && a->i() == 0 && n.output_size() > 1)
          return unsupported("node " + describe(n) + ": training-mode BatchNormalization is not supported");
        removeAttr(n, "is_test");
      }
      if (from_ < 9) {
        if (const auto* a = findAttr(n, "spatial"); a && a->i() == 0)
          return unsupported("node " + describe(n) + ": BatchNormalization with spatial=0 (per-element "
                             "statistics) has no opset-17 form");
        removeAttr(n, "spatial");
      }
    }
    if (op == "Dropout") {
      if (from_ < 7) removeAttr(n, "is_test");
      if (from_ < 12) {
        if (const auto* a = findAttr(n, "ratio")) {
          const float ratio = a->f();
          removeAttr(n, "ratio");
          EDGEOPT_ASSIGN_OR_RETURN(std::string r,
                                   scalarInitializer(n.name() + "_ratio", ratio, TensorProto::FLOAT, n));
          n.add_input(r);
        }
      }
    }
    if (op == "Slice" && from_ < 10) {
      intsAttrToInput(n, "starts", 1);
      intsAttrToInput(n, "ends", 2);
      intsAttrToInput(n, "axes", 3);
    }
    if (op == "TopK" && from_ < 10) {
      const AttributeProto* k = findAttr(n, "k");
      if (!k) return invalidInput("node " + describe(n) + ": TopK has no k");
      const int64_t kv = k->i();
      removeAttr(n, "k");
      n.add_input(int64Initializer(n.name() + "_k", {kv}));
    }
    if (op == "Clip" && from_ < 11) EDGEOPT_RETURN_IF_ERROR(clipAttrsToInputs(n));
    if (op == "Pad" && from_ < 11) EDGEOPT_RETURN_IF_ERROR(padAttrsToInputs(n));
    if (op == "Upsample") EDGEOPT_RETURN_IF_ERROR(upsampleToResize(n));
    else if (op == "Resize" && from_ < 11) resize10To11(n);
    if ((op == "Softmax" || op == "LogSoftmax" || op == "Hardmax") && from_ < 13)
      return coercedSoftmax(std::move(n));
    if (from_ < 13) {
      if (op == "Split") intsAttrToInput(n, "split", 1);
      if (op == "Squeeze" || op == "Unsqueeze" || op == "ReduceSum") intsAttrToInput(n, "axes", 1);
    }
    *graph_->add_node() = std::move(n);
    return Status::Ok();
  }

  // Opset < 7: `broadcast=1` lets B broadcast to A starting at dimension `axis` (default: aligned
  // to the end, which is numpy's rule). Other axes become numpy broadcasting by appending
  // trailing 1-dimensions to B.
  Status oldBroadcast(NodeProto& n) {
    const AttributeProto* b = findAttr(n, "broadcast");
    const AttributeProto* axisAttr = findAttr(n, "axis");
    const bool broadcastAtAxis = b && b->i() != 0 && axisAttr && n.input_size() >= 2;
    const int64_t axis = axisAttr ? axisAttr->i() : 0;
    removeAttr(n, "broadcast");
    removeAttr(n, "axis");
    if (!broadcastAtAxis) return Status::Ok();
    const auto ra = facts_.rank(n.input(0)), rb = facts_.rank(n.input(1));
    if (!ra || !rb)
      return unsupported("node " + describe(n) + ": opset-" + std::to_string(from_) +
                         " broadcast with axis needs the ranks of both inputs, which are unknown");
    const int64_t trailing = *ra - axis - *rb;
    if (trailing < 0 || axis < 0)
      return invalidInput("node " + describe(n) + ": broadcast axis " + std::to_string(axis) +
                          " does not fit input ranks " + std::to_string(*ra) + " and " + std::to_string(*rb));
    if (trailing == 0) return Status::Ok();
    std::vector<int64_t> axes;
    for (int64_t i = 0; i < trailing; ++i) axes.push_back(*rb + i);
    const std::string widened = facts_.fresh(n.input(1) + "_bcast");
    emit("Unsqueeze", {n.input(1), int64Initializer(n.name() + "_bcast_axes", axes)}, widened,
         n.name() + "_bcast");
    n.set_input(1, widened);
    return Status::Ok();
  }

  Status clipAttrsToInputs(NodeProto& n) {
    const AttributeProto* lo = findAttr(n, "min");
    const AttributeProto* hi = findAttr(n, "max");
    const int32_t type = facts_.elemType(n.input(0));
    std::string loName, hiName;
    if (lo) {
      EDGEOPT_ASSIGN_OR_RETURN(loName, scalarInitializer(n.name() + "_min", lo->f(), type, n));
    }
    if (hi) {
      EDGEOPT_ASSIGN_OR_RETURN(hiName, scalarInitializer(n.name() + "_max", hi->f(), type, n));
    }
    removeAttr(n, "min");
    removeAttr(n, "max");
    if (lo || hi) n.add_input(loName);
    if (hi) n.add_input(hiName);
    return Status::Ok();
  }

  Status padAttrsToInputs(NodeProto& n) {
    const std::vector<int64_t> pads = ints(n, "pads");
    const AttributeProto* value = findAttr(n, "value");
    const float v = value ? value->f() : 0.0f;
    removeAttr(n, "pads");
    removeAttr(n, "value");
    n.add_input(int64Initializer(n.name() + "_pads", pads));
    if (v != 0.0f) {
      EDGEOPT_ASSIGN_OR_RETURN(std::string c,
                               scalarInitializer(n.name() + "_value", v, facts_.elemType(n.input(0)), n));
      n.add_input(c);
    }
    return Status::Ok();
  }

  // Resize-10 and Upsample compute source coordinates as dst / scale ("asymmetric") and pick the
  // nearest source pixel by flooring.
  static void resize10To11(NodeProto& n) {
    const std::string scales = n.input_size() > 1 ? n.input(1) : "";
    n.mutable_input()->DeleteSubrange(1, n.input_size() - 1);
    n.add_input("");  // roi
    n.add_input(scales);
    const AttributeProto* mode = findAttr(n, "mode");
    if (!mode || mode->s() == "nearest") setStringAttr(n, "nearest_mode", "floor");
    setStringAttr(n, "coordinate_transformation_mode", "asymmetric");
  }

  Status upsampleToResize(NodeProto& n) {
    if (const AttributeProto* s = findAttr(n, "scales")) {  // Upsample-7
      TensorProto* t = graph_->add_initializer();
      t->set_name(facts_.fresh(n.name() + "_scales"));
      t->set_data_type(TensorProto::FLOAT);
      t->add_dims(s->floats_size());
      for (float f : s->floats()) t->add_float_data(f);
      removeAttr(n, "scales");
      n.add_input(t->name());
    }
    if (n.input_size() != 2) return invalidInput("node " + describe(n) + ": Upsample needs scales");
    if (const AttributeProto* mode = findAttr(n, "mode"); mode && mode->s() == "bilinear")
      setStringAttr(n, "mode", "linear");
    n.set_op_type("Resize");
    resize10To11(n);
    return Status::Ok();
  }

  // Before opset 13 these ops coerce the input to 2-D at `axis` (default 1); from 13 they work
  // along one axis (default -1). Exact form for any rank: Flatten(axis) -> op(axis=-1) ->
  // Reshape(Shape(x)); the op alone when `axis` is known to be the last.
  Status coercedSoftmax(NodeProto n) {
    const AttributeProto* a = findAttr(n, "axis");
    const int64_t axis = a ? a->i() : 1;
    const auto rank = facts_.rank(n.input(0));
    if (axis == -1 || (rank && (axis < 0 ? axis + *rank : axis) == *rank - 1)) {
      setIntAttr(n, "axis", -1);
      *graph_->add_node() = std::move(n);
      return Status::Ok();
    }
    const std::string x = n.input(0), y = n.output(0), base = n.name().empty() ? y : n.name();
    const std::string flat = facts_.fresh(y + "_2d"), soft = facts_.fresh(y + "_2d_" + n.op_type()),
                      shape = facts_.fresh(y + "_shape");
    NodeProto* flatten = emit("Flatten", {x}, flat, base + "_flatten");
    setIntAttr(*flatten, "axis", axis);
    setIntAttr(n, "axis", -1);
    n.set_input(0, flat);
    n.set_output(0, soft);
    *graph_->add_node() = std::move(n);
    emit("Shape", {x}, shape, base + "_shape");
    emit("Reshape", {soft, shape}, y, base + "_reshape");
    return Status::Ok();
  }

  GraphFacts facts_;
  int64_t from_;
  GraphProto* graph_ = nullptr;
  size_t index_ = 0;  // of the node being upgraded, in its graph
};

bool knownOp(const NodeProto& n) {
  const std::string& op = n.op_type();
  return unchangedOps().count(op) || oldBroadcastOps().count(op) || adaptedOps().count(op);
}

}  // namespace

StatusOr<UpgradeOutcome> upgradeOpset(onnx::ModelProto& model, int64_t fromOpset, int64_t toOpset,
                                      std::string* reason) {
  if (fromOpset < 6) {
    if (reason) *reason = "opset " + std::to_string(fromOpset) + " is older than 6";
    return UpgradeOutcome::kNotHandled;
  }
  std::string unknown;
  walkGraphs(*model.mutable_graph(), [&](GraphProto& g) {
    for (const auto& n : g.node())
      if (unknown.empty() && isDefaultDomain(n) && !knownOp(n)) unknown = n.op_type();
  });
  if (!unknown.empty()) {
    if (reason) *reason = "operator " + unknown + " is not in edgeopt's upgrade table";
    return UpgradeOutcome::kNotHandled;
  }
  Upgrader upgrader(model, fromOpset);
  Status st = Status::Ok();
  walkGraphs(*model.mutable_graph(), [&](GraphProto& g) {
    if (st.ok()) st = upgrader.upgradeGraph(g);
  });
  if (!st.ok()) return st;
  for (auto& o : *model.mutable_opset_import())
    if (o.domain().empty() || o.domain() == "ai.onnx") o.set_version(toOpset);
  // Opset 17 needs IR version 8, which also lets initializers stay out of the graph inputs.
  if (model.ir_version() < 8) model.set_ir_version(8);
  return UpgradeOutcome::kUpgraded;
}

namespace {

// One entry of a shape computed at run time: an integer (a dim, or a Reshape target's literal 0
// or -1), a named symbolic dim, or unknown.
struct ShapeEntry {
  int64_t value = 0;
  std::string param;     // symbolic dim (value unused)
  bool unknown = false;  // neither
  bool literal() const { return !unknown && param.empty(); }
  bool known() const { return literal() && value >= 0; }
  bool operator==(const ShapeEntry& o) const { return value == o.value && param == o.param && unknown == o.unknown; }
};
using ShapeValue = std::vector<ShapeEntry>;

ShapeEntry entryOf(const onnx::TensorShapeProto::Dimension& d) {
  ShapeEntry e;
  if (d.has_dim_value()) e.value = d.dim_value();
  else if (d.has_dim_param() && !d.dim_param().empty()) e.param = d.dim_param();
  else e.unknown = true;
  return e;
}

// Integer constants of a node input: 1-D or scalar int64/int32 initializers and Constant nodes.
std::optional<std::vector<int64_t>> intConstant(const std::unordered_map<std::string, const TensorProto*>& constants,
                                                const std::string& name) {
  auto it = constants.find(name);
  if (it == constants.end() || it->second->dims_size() > 1) return std::nullopt;
  auto t = tensorFromProto(*it->second);
  if (!t.ok() || (t->dtype() != ir::DType::kInt64 && t->dtype() != ir::DType::kInt32)) return std::nullopt;
  std::vector<int64_t> v;
  for (int64_t i = 0; i < t->numel(); ++i) v.push_back(t->getAsInt64(i));
  return v;
}

// The dims a Reshape to `target` gives input dims `in` (0 copies, one -1 takes what is left, which
// symbolic dims of the input cancel when the target names them too), or nullopt.
std::optional<ShapeValue> reshapeDims(const ShapeValue& in, const ShapeValue& target) {
  ShapeValue out = target;
  int infer = -1;
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i].literal() && out[i].value == 0) {
      if (i >= in.size()) return std::nullopt;
      out[i] = in[i];
    } else if (out[i].literal() && out[i].value == -1) {
      if (infer >= 0) return std::nullopt;
      infer = static_cast<int>(i);
    } else if (out[i].literal() && out[i].value < 0) {
      return std::nullopt;
    }
  }
  if (infer < 0) return out;
  // Elements of the input over those of the other output dims, symbolic dims cancelling by name;
  // when that is not determined, the entry stays unknown (the rank is still known).
  ShapeEntry& inferred = out[static_cast<size_t>(infer)];
  inferred = ShapeEntry{0, "", true};
  std::vector<std::string> params;
  int64_t inKnown = 1;
  for (const auto& e : in) {
    if (e.known()) inKnown *= e.value;
    else if (!e.param.empty()) params.push_back(e.param);
    else return out;
  }
  int64_t outKnown = 1;
  for (size_t i = 0; i < out.size(); ++i) {
    if (static_cast<int>(i) == infer) continue;
    if (out[i].known()) outKnown *= out[i].value;
    else if (auto p = std::find(params.begin(), params.end(), out[i].param); !out[i].param.empty() && p != params.end())
      params.erase(p);
    else return out;
  }
  if (!params.empty() || outKnown == 0 || inKnown % outKnown != 0) return out;
  inferred = ShapeEntry{inKnown / outKnown, "", false};
  return out;
}

}  // namespace

int addReshapeRanks(GraphProto& graph) {
  std::unordered_map<std::string, int> lengthOf;  // values of known shape [k]
  std::unordered_map<std::string, ShapeValue> dimsOf;  // tensor shapes shape inference left
  std::unordered_set<std::string> typed;
  std::unordered_map<std::string, int32_t> elemType;
  auto noteInfo = [&](const onnx::ValueInfoProto& v) {
    if (!v.type().has_tensor_type()) return;
    const auto& tt = v.type().tensor_type();
    elemType[v.name()] = tt.elem_type();
    if (!tt.has_shape()) return;
    typed.insert(v.name());
    ShapeValue d;
    for (const auto& dim : tt.shape().dim()) d.push_back(entryOf(dim));
    dimsOf[v.name()] = d;
    if (tt.shape().dim_size() == 1 && tt.shape().dim(0).has_dim_value())
      lengthOf[v.name()] = static_cast<int>(tt.shape().dim(0).dim_value());
  };
  for (const auto& v : graph.input()) noteInfo(v);
  for (const auto& v : graph.value_info()) noteInfo(v);
  for (const auto& v : graph.output()) noteInfo(v);
  std::unordered_map<std::string, const TensorProto*> constants;
  for (const auto& t : graph.initializer()) {
    constants[t.name()] = &t;
    if (t.dims_size() == 1) lengthOf[t.name()] = static_cast<int>(t.dims(0));
  }
  // Shape values: what Shape -> Cast/Slice/Gather/Unsqueeze/Squeeze/Concat chains compute, entry
  // by entry, so that a Reshape to [batch, -1] built from its input's own shape gets its dims.
  std::unordered_map<std::string, ShapeValue> shapeValue;
  auto valueOf = [&](const std::string& name) -> std::optional<ShapeValue> {
    if (auto it = shapeValue.find(name); it != shapeValue.end()) return it->second;
    if (auto c = intConstant(constants, name)) {
      ShapeValue v;
      for (int64_t x : *c) v.push_back(ShapeEntry{x, ""});
      return v;
    }
    return std::nullopt;
  };
  int added = 0;
  for (const auto& n : graph.node()) {
    if (!isDefaultDomain(n) || n.output_size() < 1) continue;
    const std::string& op = n.op_type();
    if (op == "Constant" && n.output_size() == 1)
      if (const auto* a = findAttr(n, "value"); a && a->has_t()) constants[n.output(0)] = &a->t();
    if (op == "Shape" && n.input_size() == 1 && dimsOf.count(n.input(0)) && !findAttr(n, "start") && !findAttr(n, "end"))
      shapeValue[n.output(0)] = dimsOf[n.input(0)];
    if ((op == "Cast" || op == "Identity" || op == "Squeeze" || op == "Unsqueeze") && n.input_size() >= 1)
      if (auto v = valueOf(n.input(0)); v && (v->size() <= 1 || op == "Cast" || op == "Identity")) shapeValue[n.output(0)] = *v;
    if (op == "Concat" && n.input_size() >= 1) {
      ShapeValue all;
      bool ok = true;
      for (const auto& in : n.input()) {
        auto v = valueOf(in);
        if (!v) ok = false;
        else all.insert(all.end(), v->begin(), v->end());
      }
      if (ok) shapeValue[n.output(0)] = all;
    }
    if (op == "Gather" && n.input_size() == 2)
      if (auto v = valueOf(n.input(0)); v)
        if (auto idx = intConstant(constants, n.input(1))) {
          ShapeValue picked;
          for (int64_t i : *idx) {
            if (i < 0) i += static_cast<int64_t>(v->size());
            if (i < 0 || i >= static_cast<int64_t>(v->size())) break;
            picked.push_back((*v)[static_cast<size_t>(i)]);
          }
          if (picked.size() == idx->size()) shapeValue[n.output(0)] = picked;
        }
    if (op == "Slice" && n.input_size() >= 1)
      if (auto v = valueOf(n.input(0)); v) {
        // Opset < 10: starts/ends attributes; later: inputs. One axis (0), step 1.
        std::optional<std::vector<int64_t>> starts, ends;
        if (const auto* a = findAttr(n, "starts")) starts = std::vector<int64_t>(a->ints().begin(), a->ints().end());
        if (const auto* a = findAttr(n, "ends")) ends = std::vector<int64_t>(a->ints().begin(), a->ints().end());
        if (n.input_size() >= 3) starts = intConstant(constants, n.input(1)), ends = intConstant(constants, n.input(2));
        const bool stepOne = n.input_size() < 5 || intConstant(constants, n.input(4)) == std::vector<int64_t>{1};
        if (starts && ends && starts->size() == 1 && ends->size() == 1 && stepOne) {
          const int64_t len = static_cast<int64_t>(v->size());
          auto clampIndex = [len](int64_t i) { return std::min(std::max(i < 0 ? i + len : i, int64_t{0}), len); };
          const int64_t b = clampIndex((*starts)[0]), e = clampIndex((*ends)[0]);
          if (b <= e) shapeValue[n.output(0)] = ShapeValue(v->begin() + b, v->begin() + e);
        }
      }
    if (op != "Reshape" || n.input_size() < 2) continue;
    const std::string& out = n.output(0);
    const auto target = valueOf(n.input(1));
    std::optional<ShapeValue> dims;
    if (target && dimsOf.count(n.input(0)) && n.input_size() == 2 && !findAttr(n, "allowzero"))
      dims = reshapeDims(dimsOf[n.input(0)], *target);
    auto len = lengthOf.find(n.input(1));
    const int rank = dims ? static_cast<int>(dims->size()) : len != lengthOf.end() ? len->second : -1;
    // Only where shape inference left less than this: no output shape, or unknown dims.
    if (rank < 0) continue;
    if (typed.count(out)) {
      const ShapeValue& have = dimsOf[out];
      if (!dims || have.size() != dims->size() || have == *dims ||
          std::none_of(have.begin(), have.end(), [](const ShapeEntry& e) { return e.unknown; }))
        continue;
    }
    onnx::ValueInfoProto* vi = nullptr;
    for (auto& v : *graph.mutable_value_info())
      if (v.name() == out) vi = &v;
    if (!vi) {
      vi = graph.add_value_info();
      vi->set_name(out);
    }
    auto* tt = vi->mutable_type()->mutable_tensor_type();
    auto et = elemType.find(n.input(0));
    if (tt->elem_type() == TensorProto::UNDEFINED && et != elemType.end()) tt->set_elem_type(et->second);
    auto* shape = tt->mutable_shape();
    shape->clear_dim();
    for (int i = 0; i < rank; ++i) {
      auto* d = shape->add_dim();
      if (dims && (*dims)[static_cast<size_t>(i)].known()) d->set_dim_value((*dims)[static_cast<size_t>(i)].value);
      else if (dims && !(*dims)[static_cast<size_t>(i)].param.empty()) d->set_dim_param((*dims)[static_cast<size_t>(i)].param);
    }
    typed.insert(out);
    if (dims) dimsOf[out] = *dims;
    ++added;
  }
  return added;
}

}  // namespace edgeopt::onnx_io
