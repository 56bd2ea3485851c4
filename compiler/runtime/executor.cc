#include "compiler/runtime/executor.h"

#include <algorithm>
#include <new>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

#include "compiler/runtime/op_kernel.h"

namespace edgeopt::runtime {

namespace {

const std::vector<OpDef>& registry() {
  static const std::vector<OpDef> table = [] {
    std::vector<OpDef> t;
    addMathOps(t);
    addNnOps(t);
    addShapeOps(t);
    addRnnOps(t);
    return t;
  }();
  return table;
}

const OpDef* findOp(const ir::Node& n) {
  const std::string domain = n.domain() == "ai.onnx" ? "" : n.domain();
  for (const OpDef& d : registry())
    if (n.opType() == d.opType && domain == d.domain) return &d;
  return nullptr;
}

}  // namespace

bool isSupportedNode(const ir::Node& node) {
  const OpDef* def = findOp(node);
  return def && (!def->check || def->check(node).ok());
}

StatusOr<std::vector<ir::Tensor>> evaluateNode(const ir::Node& node,
                                               const std::vector<const ir::Tensor*>& inputs) {
  const OpDef* def = findOp(node);
  if (!def) return unsupported("node " + node.describe() + ": op is not supported");
  OpContext ctx{node, inputs, {}};
  ctx.outputs.resize(node.outputs().size());
  EDGEOPT_RETURN_IF_ERROR(def->run(ctx));
  return std::move(ctx.outputs);
}

std::vector<std::string> supportedOps() {
  std::vector<std::string> out;
  for (const OpDef& d : registry())
    if (!*d.domain) out.emplace_back(d.opType);
  std::sort(out.begin(), out.end());
  return out;
}

Status checkSupported(const ir::Graph& graph) {
  // op type -> node names; attribute-level problems are listed per node.
  std::map<std::string, std::vector<std::string>> unknown;
  std::vector<std::string> declined;
  for (const ir::Node* n : graph.nodes()) {
    const OpDef* def = findOp(*n);
    if (!def) {
      unknown[n->qualifiedOpType()].push_back(n->name());
      continue;
    }
    if (def->check) {
      Status st = def->check(*n);
      if (!st.ok()) declined.push_back(st.message());
    }
  }
  if (unknown.empty() && declined.empty()) return Status::Ok();
  std::string msg;
  if (!unknown.empty()) {
    msg = "unsupported ops: ";
    bool first = true;
    for (const auto& [op, names] : unknown) {
      msg += (first ? "" : ", ") + op + " (node '" + names.front() + "'";
      if (names.size() > 1) msg += " and " + std::to_string(names.size() - 1) + " more";
      msg += ")";
      first = false;
    }
  }
  for (const auto& d : declined) msg += (msg.empty() ? "" : "; ") + d;
  return unsupported(msg);
}

StatusOr<std::unique_ptr<Executor>> Executor::create(const ir::Graph& graph) {
  EDGEOPT_RETURN_IF_ERROR(graph.verify());
  EDGEOPT_RETURN_IF_ERROR(checkSupported(graph));
  std::unique_ptr<Executor> ex(new Executor(graph));
  std::unordered_map<const ir::Value*, size_t> lastUse;
  auto nodes = graph.nodes();
  for (size_t i = 0; i < nodes.size(); ++i) {
    ex->nodes_.push_back(nodes[i]);
    ex->defs_.push_back(findOp(*nodes[i]));
    for (const ir::Value* v : nodes[i]->inputs())
      if (v) lastUse[v] = i;
  }
  std::unordered_set<const ir::Value*> keep(graph.outputs().begin(), graph.outputs().end());
  ex->releaseAfter_.resize(nodes.size());
  for (const auto& [v, i] : lastUse)
    if (!keep.count(v) && !v->isInitializer()) ex->releaseAfter_[i].push_back(v);
  return ex;
}

Status Executor::checkInput(const ir::Value& input, const ir::Tensor& tensor) {
  const std::string what = "input '" + input.name() + "'";
  if (input.dtype() != ir::DType::kUndefined && tensor.dtype() != input.dtype())
    return invalidInput(what + ": dtype " + ir::dtypeName(tensor.dtype()) + ", model expects " +
                        ir::dtypeName(input.dtype()));
  if (input.shape()) {
    const auto& dims = *input.shape();
    bool match = dims.size() == tensor.dims().size();
    for (size_t i = 0; match && i < dims.size(); ++i)
      if (dims[i].isKnown() && dims[i].value != tensor.dims()[i]) match = false;
    if (!match)
      return invalidInput(what + ": shape " + ir::dimsToString(tensor.dims()) +
                          ", model expects " + ir::shapeToString(input.shape()));
  }
  return Status::Ok();
}

StatusOr<std::vector<ir::Tensor>> Executor::run(const std::vector<ir::Tensor>& inputs,
                                                const Observer& observer) const {
  const auto& gin = graph_.inputs();
  if (inputs.size() != gin.size())
    return invalidInput("model has " + std::to_string(gin.size()) + " inputs, got " +
                        std::to_string(inputs.size()));
  std::unordered_map<const ir::Value*, const ir::Tensor*> env;
  for (size_t i = 0; i < gin.size(); ++i) {
    EDGEOPT_RETURN_IF_ERROR(checkInput(*gin[i], inputs[i]));
    env[gin[i]] = &inputs[i];
  }
  for (const ir::Value* v : graph_.initializers()) env[v] = &v->initializer();

  std::unordered_map<const ir::Value*, ir::Tensor> owned;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    const ir::Node& n = *nodes_[i];
    OpContext ctx{n, {}, {}};
    for (const ir::Value* v : n.inputs()) {
      if (!v) { ctx.inputs.push_back(nullptr); continue; }
      auto it = env.find(v);
      if (it == env.end()) return internalError("value '" + v->name() + "' was not computed");
      ctx.inputs.push_back(it->second);
    }
    ctx.outputs.resize(n.outputs().size());
    Status st;
    try {
      st = defs_[i]->run(ctx);
    } catch (const ir::TensorTooLarge& e) {
      return invalidInput(n.describe() + ": its output: " + e.what());
    } catch (const std::length_error&) {  // a size from run-time data that no container can hold
      return invalidInput(n.describe() + ": a size computed from its inputs is too large to allocate");
    } catch (const std::bad_alloc&) {
      return invalidInput(n.describe() + ": its inputs ask for more memory than is available");
    }
    if (!st.ok()) return st;
    for (size_t o = 0; o < n.outputs().size(); ++o) {
      const ir::Value* out = n.output(o);
      if (ctx.outputs[o].dtype() == ir::DType::kUndefined) continue;  // optional, not produced
      auto& slot = owned[out];
      slot = std::move(ctx.outputs[o]);
      env[out] = &slot;
      if (observer) observer(*out, slot);
    }
    for (const ir::Value* v : releaseAfter_[i]) {
      env.erase(v);
      owned.erase(v);
    }
  }
  std::vector<ir::Tensor> result;
  for (const ir::Value* v : graph_.outputs()) {
    auto it = env.find(v);
    if (it == env.end()) return internalError("graph output '" + v->name() + "' was not computed");
    result.push_back(*it->second);
  }
  return result;
}

StatusOr<std::map<std::string, ir::Tensor>> Executor::runNamed(
    const std::map<std::string, ir::Tensor>& inputs) const {
  std::vector<ir::Tensor> ordered;
  for (const ir::Value* in : graph_.inputs()) {
    auto it = inputs.find(in->name());
    if (it == inputs.end()) return invalidInput("missing input '" + in->name() + "'");
    ordered.push_back(it->second);
  }
  for (const auto& entry : inputs) {
    const std::string& name = entry.first;  // a named variable: C++17 lambdas cannot capture a structured binding
    bool known = std::any_of(graph_.inputs().begin(), graph_.inputs().end(),
                             [&](const ir::Value* v) { return v->name() == name; });
    if (!known) return invalidInput("model has no input named '" + name + "'");
  }
  auto outs = run(ordered);
  if (!outs.ok()) return outs.status();
  std::map<std::string, ir::Tensor> named;
  for (size_t i = 0; i < graph_.outputs().size(); ++i)
    named[graph_.outputs()[i]->name()] = std::move(outs.value()[i]);
  return named;
}

// ---- helpers shared by the op families ----

StatusOr<int64_t> normalizeAxis(int64_t axis, int64_t rank, const OpContext& ctx) {
  if (axis < -rank || axis >= std::max<int64_t>(rank, 1))
    return ctx.invalid("axis " + std::to_string(axis) + " is out of range for rank " +
                       std::to_string(rank));
  return axis < 0 ? axis + rank : axis;
}

StatusOr<std::vector<int64_t>> broadcastShapes(const std::vector<int64_t>& a,
                                               const std::vector<int64_t>& b,
                                               const OpContext& ctx) {
  size_t r = std::max(a.size(), b.size());
  std::vector<int64_t> out(r);
  for (size_t i = 0; i < r; ++i) {
    int64_t da = i < r - a.size() ? 1 : a[i - (r - a.size())];
    int64_t db = i < r - b.size() ? 1 : b[i - (r - b.size())];
    if (da != db && da != 1 && db != 1)
      return ctx.invalid("shapes " + ir::dimsToString(a) + " and " + ir::dimsToString(b) +
                         " cannot be broadcast");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

std::vector<int64_t> broadcastStrides(const std::vector<int64_t>& dims,
                                      const std::vector<int64_t>& out) {
  std::vector<int64_t> strides(out.size(), 0);
  int64_t s = 1;
  for (size_t k = 0; k < dims.size(); ++k) {
    size_t i = dims.size() - 1 - k;
    size_t o = out.size() - 1 - k;
    strides[o] = dims[i] == 1 ? 0 : s;
    s *= dims[i];
  }
  return strides;
}

ir::DType knownInputDType(const ir::Node& n, size_t i) {
  const ir::Value* v = n.input(i);
  return v ? v->dtype() : ir::DType::kUndefined;
}

bool isFloatDType(ir::DType t) { return t == ir::DType::kFloat32 || t == ir::DType::kFloat64; }

bool isNumericDType(ir::DType t) {
  return dispatchNumeric(t, [](auto) {});
}

}  // namespace edgeopt::runtime
