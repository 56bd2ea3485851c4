#include "compiler/onnx/control_flow.h"

#include "compiler/onnx/proto_edit.h"

#include <optional>
#include <map>
#include <vector>

namespace edgeopt::onnx_io {
namespace {

using onnx::AttributeProto;
using onnx::GraphProto;
using onnx::NodeProto;
using onnx::TensorProto;

const GraphProto* graphAttr(const NodeProto& n, const std::string& name) {
  const AttributeProto* a = findAttr(n, name);
  return a && a->has_g() ? &a->g() : nullptr;
}

class Inliner {
 public:
  explicit Inliner(GraphProto& root) : names_(root) {}

  StatusOr<int> run(GraphProto& g) {
    // The integer and bool scalars of initializers and Constant nodes: conditions, trip counts.
    std::map<std::string, int64_t> scalars;
    for (const auto& t : g.initializer())
      if (auto v = intScalar(t)) scalars[t.name()] = *v;
    google::protobuf::RepeatedPtrField<NodeProto> old;
    old.Swap(g.mutable_node());
    int removed = 0;
    for (int i = 0; i < old.size(); ++i) {
      NodeProto& n = old[i];
      const bool defaultDomain = isDefaultDomain(n);
      if (defaultDomain && n.op_type() == "Constant" && n.output_size() == 1)
        if (const AttributeProto* a = findAttr(n, "value"); a && a->has_t())
          if (auto v = intScalar(a->t())) scalars[n.output(0)] = *v;
      auto constant = [&](const std::string& name) -> std::optional<int64_t> {
        auto it = scalars.find(name);
        return it == scalars.end() ? std::nullopt : std::optional<int64_t>(it->second);
      };
      if (defaultDomain && n.op_type() == "If" && n.input_size() == 1 && constant(n.input(0))) {
        EDGEOPT_RETURN_IF_ERROR(inlineIf(g, n, *constant(n.input(0)) != 0, static_cast<size_t>(i), &removed));
        continue;
      }
      if (defaultDomain && n.op_type() == "Loop" && n.input_size() >= 2 && !n.input(0).empty() &&
          constant(n.input(0)) && (n.input(1).empty() || constant(n.input(1)).value_or(0) != 0)) {
        auto unrolled = unrollLoop(g, n, *constant(n.input(0)), static_cast<size_t>(i), &removed);
        if (!unrolled.ok()) return unrolled.status();
        if (*unrolled) continue;
      }
      // Nested control flow inside a kept node's subgraphs.
      for (auto& a : *n.mutable_attribute())
        if (a.has_g()) {
          EDGEOPT_ASSIGN_OR_RETURN(int inner, run(*a.mutable_g()));
          removed += inner;
        }
      *g.add_node() = std::move(n);
    }
    return removed;
  }

 private:
  std::string fresh(const std::string& base) { return names_.fresh(base); }
  void identity(GraphProto& g, const std::string& from, const std::string& to, const std::string& base) {
    NodeProto* id = g.add_node();
    id->set_op_type("Identity");
    id->set_name(fresh(base));
    id->add_input(from);
    id->add_output(to);
  }

  Status inlineIf(GraphProto& g, const NodeProto& n, bool cond, size_t index, int* removed) {
    const GraphProto* chosen = graphAttr(n, cond ? "then_branch" : "else_branch");
    if (!chosen) return invalidInput("node " + nodeLabel(n, index) + ": has no " + (cond ? "then_branch" : "else_branch"));
    GraphProto branch = *chosen;
    EDGEOPT_ASSIGN_OR_RETURN(int inner, run(branch));
    if (branch.output_size() != n.output_size())
      return invalidInput("node " + nodeLabel(n, index) + ": the branch has " + std::to_string(branch.output_size()) +
                          " outputs, the If " + std::to_string(n.output_size()));
    for (const auto& t : branch.initializer()) *g.add_initializer() = t;
    for (const auto& bn : branch.node()) *g.add_node() = bn;
    for (int k = 0; k < n.output_size(); ++k)
      if (!n.output(k).empty()) identity(g, branch.output(k).name(), n.output(k), n.name() + "_out");
    *removed += 1 + inner;
    return Status::Ok();
  }

  // False (graph untouched) when the body's condition is not a constant true.
  StatusOr<bool> unrollLoop(GraphProto& g, const NodeProto& n, int64_t trips, size_t index, int* removed) {
    const GraphProto* bodyAttr = graphAttr(n, "body");
    if (!bodyAttr) return invalidInput("node " + nodeLabel(n, index) + ": has no body");
    GraphProto body = *bodyAttr;
    EDGEOPT_ASSIGN_OR_RETURN(int inner, run(body));
    const int carried = n.input_size() - 2;
    if (body.input_size() != carried + 2 || body.output_size() < carried + 1)
      return invalidInput("node " + nodeLabel(n, index) + ": the body's inputs/outputs do not match the Loop's");
    const int scans = body.output_size() - 1 - carried;
    if (n.output_size() > carried + scans) return invalidInput("node " + nodeLabel(n, index) + ": too many outputs");
    // The body's condition output must stay true: its condition input passed through, or a constant.
    const std::string& condIn = body.input(1).name();
    const std::string& condOut = body.output(0).name();
    bool condStaysTrue = condOut == condIn;
    for (const auto& bn : body.node()) {
      if (bn.output_size() != 1 || bn.output(0) != condOut) continue;
      if (bn.op_type() == "Identity" && bn.input_size() == 1 && bn.input(0) == condIn) condStaysTrue = true;
      if (bn.op_type() == "Constant")
        for (const auto& a : bn.attribute())
          if (a.name() == "value" && a.has_t() && intScalar(a.t()).value_or(0) != 0) condStaysTrue = true;
    }
    if (!condStaysTrue) return false;
    if (trips < 0) return invalidInput("node " + nodeLabel(n, index) + ": negative trip count");
    if (trips > 0 && static_cast<int64_t>(body.node_size() + scans + 2) * trips > kMaxUnrolledNodes)
      return unsupported("node " + nodeLabel(n, index) + ": unrolling " + std::to_string(trips) + " iterations of a " +
                         std::to_string(body.node_size()) + "-node body exceeds " + std::to_string(kMaxUnrolledNodes) +
                         " nodes");
    if (trips == 0 && scans > 0)
      return unsupported("node " + nodeLabel(n, index) + ": a zero-trip Loop with scan outputs (empty tensors) is not supported");
    for (const auto& t : body.initializer()) *g.add_initializer() = t;
    std::vector<std::string> current(n.input().begin() + 2, n.input().end());
    std::vector<std::vector<std::string>> scanned(static_cast<size_t>(scans));
    const std::string base = n.name().empty() ? "loop" + std::to_string(index) : n.name();
    // The trip counter's values and the condition, as int64 / bool scalars.
    const std::string trueName = fresh(base + "_true");
    {
      TensorProto* t = g.add_initializer();
      t->set_name(trueName);
      t->set_data_type(TensorProto::BOOL);
      t->add_int32_data(1);
    }
    for (int64_t it = 0; it < trips; ++it) {
      std::map<std::string, std::string> rename;
      const std::string iterName = fresh(base + "_iter" + std::to_string(it));
      addInt64Initializer(g, iterName, {it}, /*scalar=*/true);
      rename[body.input(0).name()] = iterName;
      rename[condIn] = trueName;
      for (int k = 0; k < carried; ++k) rename[body.input(k + 2).name()] = current[static_cast<size_t>(k)];
      auto renamed = [&](const std::string& name) {
        auto r = rename.find(name);
        return r == rename.end() ? name : r->second;
      };
      for (const auto& bn : body.node()) {
        NodeProto* copy = g.add_node();
        *copy = bn;
        copy->set_name(fresh((bn.name().empty() ? bn.op_type() : bn.name()) + "_it" + std::to_string(it)));
        for (int k = 0; k < copy->input_size(); ++k)
          if (!copy->input(k).empty()) copy->set_input(k, renamed(copy->input(k)));
        for (int k = 0; k < copy->output_size(); ++k) {
          if (copy->output(k).empty()) continue;
          const std::string out = fresh(copy->output(k) + "_it" + std::to_string(it));
          rename[copy->output(k)] = out;
          copy->set_output(k, out);
        }
      }
      for (int k = 0; k < carried; ++k) current[static_cast<size_t>(k)] = renamed(body.output(k + 1).name());
      for (int s = 0; s < scans; ++s) scanned[static_cast<size_t>(s)].push_back(renamed(body.output(1 + carried + s).name()));
    }
    for (int k = 0; k < carried && k < n.output_size(); ++k)
      if (!n.output(k).empty()) identity(g, current[static_cast<size_t>(k)], n.output(k), base + "_out");
    if (scans > 0) {
      const std::string axes = fresh(base + "_scan_axes");
      addInt64Initializer(g, axes, {0});
      for (int s = 0; s < scans && carried + s < n.output_size(); ++s) {
        if (n.output(carried + s).empty()) continue;
        std::vector<std::string> stacked;
        for (const std::string& v : scanned[static_cast<size_t>(s)]) {
          NodeProto* unsq = g.add_node();
          unsq->set_op_type("Unsqueeze");
          unsq->set_name(fresh(base + "_scan_unsqueeze"));
          unsq->add_input(v);
          unsq->add_input(axes);
          stacked.push_back(fresh(v + "_stacked"));
          unsq->add_output(stacked.back());
        }
        NodeProto* concat = g.add_node();
        concat->set_op_type("Concat");
        concat->set_name(fresh(base + "_scan"));
        setIntAttr(*concat, "axis", 0);
        for (const std::string& v : stacked) concat->add_input(v);
        concat->add_output(n.output(carried + s));
      }
    }
    *removed += 1 + inner;
    return true;
  }

  NameSet names_;
};

}  // namespace

StatusOr<int> inlineConstantControlFlow(GraphProto& graph) {
  Inliner inliner(graph);
  return inliner.run(graph);
}

}  // namespace edgeopt::onnx_io
