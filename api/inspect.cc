#include "api/inspect.h"

#include <nlohmann/json.hpp>

#include <sstream>

namespace edgeopt::api {
namespace {

// Dims with symbolic/unknown entries counted as 1; false if the rank is unknown.
bool dimsAssumingOne(const ir::Value* v, std::vector<int64_t>* out, bool* dynamic) {
  if (!v || !v->shape()) return false;
  out->clear();
  for (const auto& d : *v->shape()) {
    if (!d.isKnown()) *dynamic = true;
    out->push_back(d.isKnown() ? d.value : 1);
  }
  return true;
}

int64_t product(const std::vector<int64_t>& v, size_t from = 0) {
  int64_t p = 1;
  for (size_t i = from; i < v.size(); ++i) p *= v[i];
  return p;
}

// MACs of one node, or -1 when its shapes are not known.
int64_t nodeMacs(const ir::Node& n, bool* dynamic) {
  std::vector<int64_t> x, w, y;
  const std::string& op = n.opType();
  if (op == "Conv") {
    if (!dimsAssumingOne(n.input(1), &w, dynamic) || !dimsAssumingOne(n.output(0), &y, dynamic) || w.size() < 2)
      return -1;
    return product(y) * product(w, 1);  // every output: C/group * kernel MACs
  }
  if (op == "ConvTranspose") {
    if (!dimsAssumingOne(n.input(0), &x, dynamic) || !dimsAssumingOne(n.input(1), &w, dynamic) || w.size() < 2)
      return -1;
    return product(x) * product(w, 1);  // every input scatters to M/group * kernel outputs
  }
  if (op == "Gemm" || op == "MatMul") {
    if (!dimsAssumingOne(n.input(0), &x, dynamic) || !dimsAssumingOne(n.output(0), &y, dynamic) || x.empty())
      return -1;
    int64_t k = x.back();
    if (op == "Gemm" && n.attrInt("transA", 0) && x.size() == 2) k = x[0];
    return product(y) * k;
  }
  return 0;
}

}  // namespace

ModelSummary summarize(const ir::Model& model) {
  const ir::Graph& g = *model.graph;
  ModelSummary s;
  s.opset = model.defaultOpset();
  for (const ir::Value* v : g.inputs()) s.inputs.push_back({v->name(), v->dtype(), v->shape()});
  for (const ir::Value* v : g.outputs()) s.outputs.push_back({v->name(), v->dtype(), v->shape()});
  for (const ir::Value* v : g.initializers()) {
    s.parameters += v->initializer().numel();
    s.parameterBytes += static_cast<int64_t>(v->initializer().byteSize());
  }
  for (const ir::Node* n : g.nodes()) {
    // Exporters such as paddle2onnx store every weight as a Constant node, not an initializer.
    if (n->opType() == "Constant" && n->domain().empty())
      if (const ir::Attribute* value = n->attr("value"); value && value->kind() == ir::Attribute::Kind::kTensor) {
        s.parameters += value->t().numel();
        s.parameterBytes += static_cast<int64_t>(value->t().byteSize());
      }
    ++s.nodeCount;
    ++s.opHistogram[n->qualifiedOpType()];
    const int64_t macs = nodeMacs(*n, &s.dynamicDims);
    if (macs < 0) s.macsUnknown.push_back(n->name());
    else s.macs += macs;
    s.nodes.push_back({n->name(), n->opType(), macs});
  }
  return s;
}

namespace {
nlohmann::json shapeJson(const ir::Shape& shape) {
  if (!shape) return nullptr;
  nlohmann::json a = nlohmann::json::array();
  for (const auto& d : *shape) {
    if (d.isKnown()) a.push_back(d.value);
    else if (!d.symbol.empty()) a.push_back(d.symbol);
    else a.push_back(nullptr);
  }
  return a;
}
nlohmann::json ioJson(const std::vector<ModelSummary::Io>& ios) {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& io : ios)
    a.push_back({{"name", io.name}, {"dtype", ir::dtypeName(io.dtype)}, {"shape", shapeJson(io.shape)}});
  return a;
}
}  // namespace

std::string summaryToJson(const ModelSummary& s) {
  nlohmann::json j;
  j["inputs"] = ioJson(s.inputs);
  j["outputs"] = ioJson(s.outputs);
  j["opset"] = s.opset;
  j["node_count"] = s.nodeCount;
  j["op_histogram"] = s.opHistogram;
  j["parameters"] = s.parameters;
  j["parameter_bytes"] = s.parameterBytes;
  j["macs"] = s.macs;
  j["macs_symbolic_dims_counted_as_1"] = s.dynamicDims;
  j["macs_unknown_nodes"] = s.macsUnknown;
  nlohmann::json nodes = nlohmann::json::array();
  for (const auto& n : s.nodes) {
    nlohmann::json macs = n.macs >= 0 ? nlohmann::json(n.macs) : nlohmann::json(nullptr);
    nodes.push_back({{"name", n.name}, {"op", n.opType}, {"macs", macs}});
  }
  j["nodes"] = nodes;
  return j.dump(2);
}

std::string summaryToText(const ModelSummary& s) {
  std::ostringstream os;
  auto io = [&](const char* title, const std::vector<ModelSummary::Io>& v) {
    os << title << ":\n";
    for (const auto& x : v)
      os << "  " << x.name << "  " << ir::dtypeName(x.dtype) << " " << ir::shapeToString(x.shape) << "\n";
  };
  io("inputs", s.inputs);
  io("outputs", s.outputs);
  os << "opset: " << s.opset << "\nnodes: " << s.nodeCount << "\nops:\n";
  for (const auto& [op, count] : s.opHistogram) os << "  " << op << " " << count << "\n";
  os << "parameters: " << s.parameters << " (" << s.parameterBytes << " bytes)\n";
  os << "MACs: " << s.macs;
  if (s.macs >= 1000000) os << " (" << static_cast<double>(s.macs) / 1e6 << " M)";
  if (s.dynamicDims) os << "  [symbolic dims counted as 1]";
  if (!s.macsUnknown.empty()) os << "  [" << s.macsUnknown.size() << " nodes with unknown shapes not counted]";
  os << "\n";
  return os.str();
}

}  // namespace edgeopt::api
