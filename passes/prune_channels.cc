#include "passes/prune_channels.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <numeric>
#include <set>

namespace edgeopt::passes {
namespace {

// Union-find over integers.
class Disjoint {
 public:
  int add() {
    parent_.push_back(static_cast<int>(parent_.size()));
    return parent_.back();
  }
  int find(int x) {
    while (parent_[static_cast<size_t>(x)] != x) x = parent_[static_cast<size_t>(x)] = parent_[static_cast<size_t>(parent_[static_cast<size_t>(x)])];
    return x;
  }
  void unite(int a, int b) {
    a = find(a), b = find(b);
    if (a != b) parent_[static_cast<size_t>(std::max(a, b))] = std::min(a, b);
  }

 private:
  std::vector<int> parent_;
};

// A weight tensor slice that belongs to one channel: rows (axis 0) or columns (axis 1) of an
// initializer input of a node.
struct Slice {
  ir::Node* node;
  size_t input;   // which input of the node holds the tensor
  int axis;       // the tensor axis the channel indexes
  int64_t index;  // the position along it
  bool consumer;  // a weight column that reads the channel (zeroed by the mask); else a row/entry it owns
};

struct ValueInfo {
  int64_t channels = 0;
  int first = 0;  // element id of channel 0
  std::vector<int64_t> dims;  // known dims (rank >= 2)
};

class Analysis {
 public:
  explicit Analysis(const ir::Graph& g) : g_(g) {}

  Status run() {
    for (ir::Value* v : g_.values()) {
      // Constants (initializers, Constant nodes' outputs) are weights, not channel spaces.
      if (ir::constantBehind(v) || !v->shape() || v->shape()->size() < 2) continue;
      const ir::Dim& c = (*v->shape())[1];
      if (!c.isKnown() || c.value <= 0) continue;
      ValueInfo info;
      info.channels = c.value;
      info.first = elementCount_;
      for (const ir::Dim& d : *v->shape()) info.dims.push_back(d.isKnown() ? d.value : -1);
      for (int64_t i = 0; i < c.value; ++i) {
        elements_.add();
        ++elementCount_;
      }
      valueIndex_[v] = static_cast<int>(values_.size());
      values_.push_back(v);
      infos_[v] = info;
    }
    for (size_t i = 0; i < values_.size(); ++i) valueSpaces_.add();
    for (ir::Value* v : g_.inputs()) freezeValue(v, "graph input '" + v->name() + "'");
    for (ir::Value* v : g_.outputs()) freezeValue(v, "graph output '" + v->name() + "'");
    for (ir::Node* n : g_.nodes()) visit(*n);
    return Status::Ok();
  }

  // Spaces with their classes (element roots), in value order.
  struct Space {
    std::vector<ir::Value*> values;
    std::vector<int> classes;  // distinct class roots
    std::string frozenBy;
  };
  std::vector<Space> spaces() {
    std::map<int, size_t> index;
    std::vector<Space> out;
    for (size_t i = 0; i < values_.size(); ++i) {
      const int root = valueSpaces_.find(static_cast<int>(i));
      auto [it, added] = index.emplace(root, out.size());
      if (added) out.emplace_back();
      Space& s = out[it->second];
      s.values.push_back(values_[i]);
      const ValueInfo& info = infos_.at(values_[i]);
      for (int64_t c = 0; c < info.channels; ++c) {
        const int cls = elements_.find(info.first + static_cast<int>(c));
        if (std::find(s.classes.begin(), s.classes.end(), cls) == s.classes.end()) s.classes.push_back(cls);
      }
    }
    for (Space& s : out)
      for (int cls : s.classes)
        if (auto f = frozen_.find(cls); f != frozen_.end() && s.frozenBy.empty()) s.frozenBy = f->second;
    for (Space& s : out) {
      // A space whose channels no filter makes (e.g. only fed by graph inputs) cannot shrink.
      bool made = false;
      for (int cls : s.classes) made = made || rows_.count(cls);
      if (s.frozenBy.empty() && !made) s.frozenBy = "no Conv/Gemm filter makes its channels";
    }
    return out;
  }

  int classOf(const ir::Value* v, int64_t c) { return elements_.find(infos_.at(v).first + static_cast<int>(c)); }
  bool has(const ir::Value* v) const { return infos_.count(v) > 0; }
  const ValueInfo& info(const ir::Value* v) const { return infos_.at(v); }
  // Weight slices per class root (recomputed roots: call after every union).
  std::map<int, std::vector<Slice>> slicesByClass() {
    std::map<int, std::vector<Slice>> out;
    for (const auto& [element, s] : slices_) out[elements_.find(element)].push_back(s);
    return out;
  }
  void refreshRows() {
    rows_.clear();
    for (const auto& [element, s] : slices_)
      if (!s.consumer && (s.node->opType() == "Conv" || s.node->opType() == "Gemm" || s.node->opType() == "MatMul") &&
          s.input == 1)
        rows_.insert(elements_.find(element));
  }

 private:
  int element(const ir::Value* v, int64_t c) const { return infos_.at(v).first + static_cast<int>(c); }
  void freezeElement(int e, const std::string& why) { frozenElements_.push_back({e, why}); }
  void freezeValue(const ir::Value* v, const std::string& why) {
    if (!v || !has(v)) return;
    for (int64_t c = 0; c < infos_.at(v).channels; ++c) freezeElement(element(v, c), why);
  }
  void freezeNode(const ir::Node& n, const std::string& why) {
    for (const ir::Value* v : n.inputs()) freezeValue(v, "node " + n.describe() + ": " + why);
    for (const ir::Value* v : n.outputs()) freezeValue(v, "node " + n.describe() + ": " + why);
  }
  void unite(const ir::Value* a, int64_t ca, const ir::Value* b, int64_t cb) {
    elements_.unite(element(a, ca), element(b, cb));
    valueSpaces_.unite(valueIndex_.at(a), valueIndex_.at(b));
  }
  // Elementwise: in channel c is out channel c.
  bool passThrough(const ir::Value* in, const ir::Value* out) {
    if (!in || !out || !has(in) || !has(out) || info(in).channels != info(out).channels) return false;
    for (int64_t c = 0; c < info(in).channels; ++c) unite(in, c, out, c);
    return true;
  }
  bool constantWeights(const ir::Node& n, size_t i) const { return ir::constantBehind(n.input(i)) != nullptr; }
  void addSlice(const ir::Value* v, int64_t c, Slice s) { slices_.push_back({element(v, c), s}); }

  void visit(ir::Node& n) {
    const std::string op = n.domain().empty() ? n.opType() : "?";
    if (op == "Constant" || (op == "Identity" && ir::constantBehind(n.output(0)))) return;  // a weight, read by its consumer
    static const std::set<std::string> unary = {"Relu", "Clip", "LeakyRelu", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh",
                                                "Identity", "Dropout", "Neg", "Abs", "Exp", "Erf", "Elu", "Selu", "Softplus",
                                                "Mish", "Gelu", "MaxPool", "AveragePool", "GlobalAveragePool",
                                                "GlobalMaxPool", "Floor", "Ceil", "Round", "Sqrt", "Cast"};
    static const std::set<std::string> binary = {"Add", "Sub", "Mul", "Div", "Max", "Min", "Pow"};
    ir::Value* out = n.output(0);
    if (op == "Conv") return visitConv(n);
    if (op == "Gemm" || op == "MatMul") return visitGemm(n);
    if (op == "BatchNormalization") {
      if (!passThrough(n.input(0), out)) return freezeNode(n, "channel counts do not match");
      for (size_t i = 1; i < 5; ++i) {
        if (!constantWeights(n, i) || ir::constantBehind(n.input(i))->numel() != info(out).channels)
          return freezeNode(n, "BatchNormalization parameters are not constant per channel");
        for (int64_t c = 0; c < info(out).channels; ++c) addSlice(out, c, {&n, i, 0, c, false});
      }
      return;
    }
    if (unary.count(op)) {
      if (op == "MaxPool" && n.output(1)) return freezeNode(n, "MaxPool's Indices output");
      if (!passThrough(n.input(0), out)) return freezeNode(n, "channel counts do not match");
      return;
    }
    if (binary.count(op)) {
      if (!out || !has(out)) return freezeNode(n, "output rank or channels unknown");
      const size_t rank = info(out).dims.size();
      for (size_t i = 0; i < n.numInputs(); ++i) {
        const ir::Value* in = n.input(i);
        if (!in) continue;
        if (const ir::Tensor* k = ir::constantBehind(in)) {
          // A constant broadcast against the output: per channel (slice it) or not along channels.
          const auto& d = k->dims();
          const int64_t axis = static_cast<int64_t>(d.size()) - static_cast<int64_t>(rank) + 1;  // channel axis in d
          if (axis < 0 || d[static_cast<size_t>(axis)] == 1) continue;
          if (d[static_cast<size_t>(axis)] != info(out).channels) return freezeNode(n, "constant operand of unexpected shape");
          for (int64_t c = 0; c < info(out).channels; ++c) addSlice(out, c, {&n, i, static_cast<int>(axis), c, false});
          continue;
        }
        if (!has(in)) return freezeNode(n, "operand of unknown shape");
        if (info(in).dims.size() == rank && info(in).channels == info(out).channels) {
          passThrough(in, out);
        } else if (info(in).dims.size() == rank && info(in).channels == 1) {
          continue;  // broadcast along channels
        } else {
          return freezeNode(n, "operands broadcast across channels");
        }
      }
      return;
    }
    if (op == "Concat" || op == "Split") return visitConcat(n, op == "Concat");
    if (op == "Flatten" || op == "Reshape") return visitFlatten(n);
    freezeNode(n, op == "?" ? "op of domain '" + n.domain() + "'" : "op " + op + " has no pruning rule");
  }

  void visitConv(ir::Node& n) {
    ir::Value *in = n.input(0), *out = n.output(0);
    if (!constantWeights(n, 1) || !in || !has(in) || !out || !has(out)) return freezeNode(n, "weights not constant or shapes unknown");
    const ir::Tensor& w = *ir::constantBehind(n.input(1));
    const int64_t group = n.attrInt("group", 1), cin = info(in).channels, cout = info(out).channels;
    if (w.rank() < 3 || w.dims()[0] != cout || w.dims()[1] * group != cin) return freezeNode(n, "weights do not match the channels");
    if (n.input(2) && (!constantWeights(n, 2) || ir::constantBehind(n.input(2))->numel() != cout))
      return freezeNode(n, "bias not constant per channel");
    if (group == 1) {
      for (int64_t o = 0; o < cout; ++o) {
        addSlice(out, o, {&n, 1, 0, o, false});
        if (n.input(2)) addSlice(out, o, {&n, 2, 0, o, false});
      }
      for (int64_t c = 0; c < cin; ++c) addSlice(in, c, {&n, 1, 1, c, true});
      return;
    }
    if (group == cin && cout == cin) {  // depthwise: channel c in is channel c out, filter c with them
      passThrough(in, out);
      for (int64_t c = 0; c < cout; ++c) {
        addSlice(out, c, {&n, 1, 0, c, false});
        if (n.input(2)) addSlice(out, c, {&n, 2, 0, c, false});
      }
      return;
    }
    freezeNode(n, "grouped convolution with " + std::to_string(group) + " groups of " + std::to_string(cin) + " channels");
  }

  // Gemm (transA = 0) or MatMul with constant 2-D B: features k of A are consumer columns of B
  // (rows when not transposed), outputs n own B's rows (columns when not transposed) and C[n].
  void visitGemm(ir::Node& n) {
    ir::Value *a = n.input(0), *out = n.output(0);
    const bool gemm = n.opType() == "Gemm";
    if (!constantWeights(n, 1) || ir::constantBehind(n.input(1))->rank() != 2 || !a || !has(a) || !out || !has(out) ||
        info(a).dims.size() != 2 || (gemm && n.attrInt("transA", 0) != 0))
      return freezeNode(n, "not a product of a [batch, features] input and constant 2-D weights");
    const bool transB = gemm && n.attrInt("transB", 0) != 0;
    const auto& d = ir::constantBehind(n.input(1))->dims();
    const int64_t k = info(a).channels, m = info(out).channels;
    if ((transB ? d[1] : d[0]) != k || (transB ? d[0] : d[1]) != m) return freezeNode(n, "weights do not match the features");
    if (gemm && n.input(2)) {
      if (!constantWeights(n, 2)) return freezeNode(n, "bias not constant");
      const int64_t cn = ir::constantBehind(n.input(2))->numel();
      if (cn != 1 && (cn != m || ir::constantBehind(n.input(2))->rank() != 1)) return freezeNode(n, "bias is not per output");
      if (cn == m)
        for (int64_t o = 0; o < m; ++o) addSlice(out, o, {&n, 2, 0, o, false});
    }
    for (int64_t o = 0; o < m; ++o) addSlice(out, o, {&n, 1, transB ? 0 : 1, o, false});
    for (int64_t c = 0; c < k; ++c) addSlice(a, c, {&n, 1, transB ? 1 : 0, c, true});
  }

  void visitConcat(ir::Node& n, bool concat) {
    const int64_t axis = n.attrInt("axis", concat ? 0 : 0);
    const ir::Value* whole = concat ? n.output(0) : n.input(0);
    if (!whole || !has(whole)) return freezeNode(n, "shapes unknown");
    const int64_t rank = static_cast<int64_t>(info(whole).dims.size());
    if ((axis + rank) % rank != 1) return freezeNode(n, "concatenates or splits along an axis other than channels");
    int64_t offset = 0;
    const auto& parts = concat ? n.inputs() : n.outputs();
    for (const ir::Value* p : parts) {
      if (!p || !has(p)) return freezeNode(n, "shapes unknown");
      for (int64_t c = 0; c < info(p).channels; ++c) unite(p, c, whole, offset + c);
      offset += info(p).channels;
    }
    if (offset != info(whole).channels) freezeNode(n, "parts do not add up to the whole");
  }

  // Flatten of [N, C, H, W] from axis 1 (or a Reshape to [N, C*H*W]): channel c is features
  // c*H*W .. (c+1)*H*W - 1 of the output.
  void visitFlatten(ir::Node& n) {
    const ir::Value *in = n.input(0), *out = n.output(0);
    if (!in || !has(in) || !out || !has(out)) return freezeNode(n, "shapes unknown");
    const auto& d = info(in).dims;
    int64_t block = 1;
    for (size_t i = 2; i < d.size(); ++i) block = d[i] < 0 ? -1 : block * d[i];
    const bool flatten = n.opType() == "Flatten" ? n.attrInt("axis", 1) == 1 : true;
    if (!flatten || block < 0 || info(out).dims.size() != 2 || info(out).channels != info(in).channels * block)
      return freezeNode(n, n.opType() == "Flatten" ? "Flatten from an axis other than 1" : "a Reshape that is not a Flatten");
    for (int64_t c = 0; c < info(in).channels; ++c)
      for (int64_t p = 0; p < block; ++p) unite(in, c, out, c * block + p);
  }

  const ir::Graph& g_;
  Disjoint elements_, valueSpaces_;
  int elementCount_ = 0;
  std::vector<ir::Value*> values_;
  std::map<const ir::Value*, int> valueIndex_;
  std::map<const ir::Value*, ValueInfo> infos_;
  std::vector<std::pair<int, std::string>> frozenElements_;
  std::map<int, std::string> frozen_;  // class root -> first reason
  std::vector<std::pair<int, Slice>> slices_;
  std::set<int> rows_;

 public:
  const std::vector<ir::Value*>& values() const { return values_; }
  // After every union: class roots are final.
  void finish() {
    refreshRows();
    frozen_.clear();
    for (const auto& [e, why] : frozenElements_) frozen_.emplace(elements_.find(e), why);
  }
};

double norm(const ir::Tensor& t, int axis, int64_t index, bool l1) {
  if (t.dtype() != ir::DType::kFloat32) return 0;
  const auto& d = t.dims();
  int64_t outer = 1, inner = 1;
  for (int i = 0; i < axis; ++i) outer *= d[static_cast<size_t>(i)];
  for (size_t i = static_cast<size_t>(axis) + 1; i < d.size(); ++i) inner *= d[i];
  const int64_t n = d[static_cast<size_t>(axis)];
  double s = 0;
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      const double x = t.data<float>()[(o * n + index) * inner + i];
      s += l1 ? std::fabs(x) : x * x;
    }
  return s;
}

// The tensor with only `keep` positions along `axis`.
ir::Tensor keepAlong(const ir::Tensor& t, int axis, const std::vector<int64_t>& keep) {
  auto d = t.dims();
  int64_t outer = 1, inner = 1;
  for (int i = 0; i < axis; ++i) outer *= d[static_cast<size_t>(i)];
  for (size_t i = static_cast<size_t>(axis) + 1; i < d.size(); ++i) inner *= d[i];
  const int64_t n = d[static_cast<size_t>(axis)];
  d[static_cast<size_t>(axis)] = static_cast<int64_t>(keep.size());
  ir::Tensor out(t.dtype(), d);
  const size_t elem = ir::dtypeSize(t.dtype());
  const auto* src = static_cast<const char*>(t.rawData());
  auto* dst = static_cast<char*>(out.rawData());
  for (int64_t o = 0; o < outer; ++o)
    for (size_t k = 0; k < keep.size(); ++k)
      std::copy_n(src + static_cast<size_t>((o * n + keep[k]) * inner) * elem, static_cast<size_t>(inner) * elem,
                  dst + static_cast<size_t>((o * static_cast<int64_t>(keep.size()) + static_cast<int64_t>(k)) * inner) * elem);
  return out;
}

void zeroAlong(ir::Tensor& t, int axis, int64_t index) {
  const auto& d = t.dims();
  int64_t outer = 1, inner = 1;
  for (int i = 0; i < axis; ++i) outer *= d[static_cast<size_t>(i)];
  for (size_t i = static_cast<size_t>(axis) + 1; i < d.size(); ++i) inner *= d[i];
  const int64_t n = d[static_cast<size_t>(axis)];
  const size_t elem = ir::dtypeSize(t.dtype());
  auto* p = static_cast<char*>(t.rawData());
  for (int64_t o = 0; o < outer; ++o)
    std::fill_n(p + static_cast<size_t>((o * n + index) * inner) * elem, static_cast<size_t>(inner) * elem, char{0});
}

struct Plan {
  PruneReport report;
  std::set<int> removed;  // class roots
};

// MACs per sample of Conv/Gemm/MatMul with `removed` classes gone.
int64_t plannedMacs(const ir::Graph& g, Analysis& a, const std::set<int>& removed) {
  auto kept = [&](const ir::Value* v) -> int64_t {
    if (!v || !a.has(v)) return -1;
    int64_t k = 0;
    for (int64_t c = 0; c < a.info(v).channels; ++c) k += removed.count(a.classOf(v, c)) ? 0 : 1;
    return k;
  };
  int64_t macs = 0;
  for (const ir::Node* n : g.nodes()) {
    if (n->opType() == "Conv" && ir::constantBehind(n->input(1)) && a.has(n->output(0))) {
      const auto& w = ir::constantBehind(n->input(1))->dims();
      const auto& od = a.info(n->output(0)).dims;
      int64_t spatial = 1, kernel = 1;
      for (size_t i = 2; i < od.size(); ++i) spatial *= std::max<int64_t>(od[i], 1);
      for (size_t i = 2; i < w.size(); ++i) kernel *= w[i];
      const int64_t cout = kept(n->output(0)), group = n->attrInt("group", 1);
      const int64_t cinPerGroup = group == 1 ? kept(n->input(0)) : w[1];
      macs += spatial * kernel * cinPerGroup * cout;
    } else if ((n->opType() == "Gemm" || n->opType() == "MatMul") && ir::constantBehind(n->input(1)) &&
               ir::constantBehind(n->input(1))->rank() == 2) {
      const auto& w = ir::constantBehind(n->input(1))->dims();
      const bool transB = n->opType() == "Gemm" && n->attrInt("transB", 0) != 0;
      const int64_t k = a.has(n->input(0)) ? kept(n->input(0)) : (transB ? w[1] : w[0]);
      const int64_t m = a.has(n->output(0)) ? kept(n->output(0)) : (transB ? w[0] : w[1]);
      macs += k * m;
    }
  }
  return macs;
}

StatusOr<Plan> makePlan(const ir::Graph& g, Analysis& a, const PruneOptions& o) {
  if (!(o.macsFraction > 0 && o.macsFraction <= 1)) return invalidInput("the MACs fraction must be in (0, 1]");
  if (o.roundTo < 1 || o.roundTo > 4096) return invalidInput("the channel multiple must be in [1, 4096]");
  if (!(o.maxRatio >= 0 && o.maxRatio < 1)) return invalidInput("the per-layer maximum ratio must be in [0, 1)");
  auto spaces = a.spaces();
  auto slices = a.slicesByClass();
  // Importance per class: the norm of every weight slice it removes.
  std::map<int, double> importance;
  for (const auto& [cls, list] : slices) {
    double s = 0;
    for (const Slice& sl : list) s += norm(*ir::constantBehind(sl.node->input(sl.input)), sl.axis, sl.index, o.l1);
    importance[cls] = o.l1 ? s : std::sqrt(s);
  }
  // Greedy: remove blocks of roundTo channels (the lowest-importance ones left in a space), each
  // time from the space whose next block costs the least importance per MAC saved (importance
  // normalized by the space's mean, so layers of different scales compare), until the MACs are
  // within 2 % of the target; a block that would land inside the +-2 % window is preferred to one
  // that overshoots it.
  struct Candidate {
    size_t space;
    std::vector<int> order;  // its unfrozen classes, least important first
    int64_t removed = 0, limit = 0;
    double mean = 1;
  };
  std::vector<Candidate> cands;
  for (size_t i = 0; i < spaces.size(); ++i) {
    if (!spaces[i].frozenBy.empty()) continue;
    Candidate c;
    c.space = i;
    c.order = spaces[i].classes;
    std::stable_sort(c.order.begin(), c.order.end(), [&](int x, int y) { return importance[x] < importance[y]; });
    const int64_t n = static_cast<int64_t>(c.order.size());
    const int64_t minKeep = std::max<int64_t>(std::min(n, o.roundTo), static_cast<int64_t>(std::ceil(static_cast<double>(n) * (1 - o.maxRatio))));
    c.limit = n - minKeep;
    double sum = 0;
    for (int cls : c.order) sum += importance[cls];
    c.mean = sum > 0 ? sum / static_cast<double>(n) : 1;
    cands.push_back(std::move(c));
  }
  if (cands.empty()) return invalidInput("no channel group can be pruned: every one is frozen (see the frozen reasons)");
  Plan best;
  best.report.macsBefore = plannedMacs(g, a, {});
  const double target = o.macsFraction * static_cast<double>(best.report.macsBefore);
  int64_t macs = best.report.macsBefore;
  auto blockOf = [&](const Candidate& c) {
    const int64_t n = static_cast<int64_t>(c.order.size());
    int64_t step = n > o.roundTo ? o.roundTo - ((n - c.removed) % o.roundTo == 0 ? 0 : (n - c.removed) % o.roundTo) : 1;
    if (step == 0) step = o.roundTo;
    return std::min(step, c.limit - c.removed);
  };
  while (static_cast<double>(macs) > target * 1.02) {
    int pick = -1, window = -1;
    double pickScore = 0;
    int64_t pickMacs = 0, windowMacs = 0;
    for (size_t i = 0; i < cands.size(); ++i) {
      const Candidate& c = cands[i];
      const int64_t k = blockOf(c);
      if (k <= 0) continue;
      std::set<int> trial = best.removed;
      double imp = 0;
      for (int64_t j = 0; j < k; ++j) {
        const int cls = c.order[static_cast<size_t>(c.removed + j)];
        trial.insert(cls);
        imp += importance[cls] / c.mean;
      }
      const int64_t after = plannedMacs(g, a, trial);
      const double saved = static_cast<double>(macs - after);
      const double score = saved > 0 ? imp / saved : 1e300;
      if (pick < 0 || score < pickScore) pick = static_cast<int>(i), pickScore = score, pickMacs = after;
      if (std::fabs(static_cast<double>(after) - target) <= 0.02 * target && (window < 0 || after > windowMacs))
        window = static_cast<int>(i), windowMacs = after;
    }
    if (pick < 0) break;  // every space at its limit
    if (static_cast<double>(pickMacs) < target * 0.98 && window >= 0) pick = window, pickMacs = windowMacs;
    Candidate& c = cands[static_cast<size_t>(pick)];
    const int64_t k = blockOf(c);
    for (int64_t j = 0; j < k; ++j) best.removed.insert(c.order[static_cast<size_t>(c.removed + j)]);
    c.removed += k;
    macs = pickMacs;
  }
  if (static_cast<double>(macs) > target * 1.02) {
    char why[256];
    std::snprintf(why, sizeof why,
                  "cannot prune to %.3g of the MACs: the frozen groups, the per-layer maximum ratio (%.3g) and channel counts "
                  "in multiples of %lld allow at most down to %.3g",
                  o.macsFraction, o.maxRatio, static_cast<long long>(o.roundTo),
                  static_cast<double>(macs) / static_cast<double>(best.report.macsBefore));
    return invalidInput(why);
  }
  for (size_t i = 0; i < spaces.size(); ++i) {
    PruneSpace ps;
    ps.name = spaces[i].values.front()->name();
    for (const ir::Value* v : spaces[i].values) ps.values.push_back(v->name());
    ps.channels = ps.kept = static_cast<int64_t>(spaces[i].classes.size());
    ps.frozenBy = spaces[i].frozenBy;
    for (const Candidate& c : cands)
      if (c.space == i) ps.kept -= c.removed;
    best.report.spaces.push_back(ps);
  }
  best.report.macsAfter = macs;
  best.report.removedChannels = static_cast<int64_t>(best.removed.size());
  return best;
}

// Constant and Identity nodes left without uses once their weights were replaced.
void removeOrphanedConstants(ir::Graph& g) {
  const auto nodes = g.nodes();
  for (auto it = nodes.rbegin(); it != nodes.rend(); ++it) {
    ir::Node* n = *it;
    if ((n->opType() != "Constant" && n->opType() != "Identity") || !n->domain().empty()) continue;
    bool used = false;
    for (const ir::Value* v : n->outputs())
      used = used || !v->uses().empty() || std::count(g.outputs().begin(), g.outputs().end(), v);
    if (!used) g.removeNode(n);
  }
  g.removeUnusedValues();
}

Status apply(ir::Graph& g, Analysis& a, const Plan& plan, bool maskOnly) {
  auto slices = a.slicesByClass();
  if (maskOnly) {
    std::map<std::pair<ir::Node*, size_t>, ir::Tensor> edited;
    for (int cls : plan.removed)
      for (const Slice& s : slices[cls]) {
        if (!s.consumer) continue;
        auto key = std::make_pair(s.node, s.input);
        if (!edited.count(key)) edited[key] = *ir::constantBehind(s.node->input(s.input));
        zeroAlong(edited[key], s.axis, s.index);
      }
    for (auto& [key, t] : edited) key.first->setInput(key.second, g.addInitializer(g.uniqueName(key.first->input(key.second)->name() + "_masked"), std::move(t)));
    removeOrphanedConstants(g);
    return Status::Ok();
  }
  // Per (node, input, axis): the positions removed.
  std::map<std::tuple<ir::Node*, size_t, int>, std::set<int64_t>> drop;
  for (int cls : plan.removed)
    for (const Slice& s : slices[cls]) drop[{s.node, s.input, s.axis}].insert(s.index);
  std::map<std::pair<ir::Node*, size_t>, ir::Tensor> edited;
  for (const auto& [key, positions] : drop) {
    const auto& [node, input, axis] = key;
    auto k = std::make_pair(node, input);
    if (!edited.count(k)) edited[k] = *ir::constantBehind(node->input(input));
    const int64_t n = edited[k].dims()[static_cast<size_t>(axis)];
    std::vector<int64_t> keep;
    for (int64_t i = 0; i < n; ++i)
      if (!positions.count(i)) keep.push_back(i);
    edited[k] = keepAlong(edited[k], axis, keep);
  }
  for (auto& [key, t] : edited) key.first->setInput(key.second, g.addInitializer(g.uniqueName(key.first->input(key.second)->name() + "_pruned"), std::move(t)));
  // Shapes, and depthwise groups.
  for (ir::Value* v : a.values()) {
    int64_t kept = 0;
    for (int64_t c = 0; c < a.info(v).channels; ++c) kept += plan.removed.count(a.classOf(v, c)) ? 0 : 1;
    if (kept == a.info(v).channels) continue;
    auto shape = *v->shape();
    shape[1] = ir::Dim(kept);
    v->setShape(shape);
  }
  for (ir::Node* n : g.nodes())
    if (n->opType() == "Conv" && n->attrInt("group", 1) > 1 && ir::constantBehind(n->input(1)) &&
        ir::constantBehind(n->input(1))->dims()[1] == 1 && n->output(0)->shape())
      n->setAttr("group", ir::Attribute(ir::constantBehind(n->input(1))->dims()[0]));
  removeOrphanedConstants(g);
  return g.verify();
}

StatusOr<Plan> planFor(const ir::Graph& g, Analysis& a, const PruneOptions& o) {
  EDGEOPT_RETURN_IF_ERROR(a.run());
  a.finish();
  return makePlan(g, a, o);
}

}  // namespace

int64_t PruneReport::prunableSpaces() const {
  return std::count_if(spaces.begin(), spaces.end(), [](const PruneSpace& s) { return s.frozenBy.empty(); });
}

StatusOr<PruneReport> analyzeChannelGroups(const ir::Graph& graph) {
  Analysis a(graph);
  EDGEOPT_RETURN_IF_ERROR(a.run());
  a.finish();
  PruneReport r;
  for (const auto& s : a.spaces()) {
    PruneSpace ps;
    ps.name = s.values.front()->name();
    for (const ir::Value* v : s.values) ps.values.push_back(v->name());
    ps.channels = ps.kept = static_cast<int64_t>(s.classes.size());
    ps.frozenBy = s.frozenBy;
    r.spaces.push_back(ps);
  }
  r.macsBefore = r.macsAfter = plannedMacs(graph, a, {});
  return r;
}

Status pruneChannels(ir::Graph& graph, const PruneOptions& options, PruneReport* report) {
  Analysis a(graph);
  EDGEOPT_ASSIGN_OR_RETURN(Plan plan, planFor(graph, a, options));
  EDGEOPT_RETURN_IF_ERROR(apply(graph, a, plan, false));
  *report = plan.report;
  return Status::Ok();
}

Status maskPrunedChannels(ir::Graph& graph, const PruneOptions& options, PruneReport* report) {
  Analysis a(graph);
  EDGEOPT_ASSIGN_OR_RETURN(Plan plan, planFor(graph, a, options));
  EDGEOPT_RETURN_IF_ERROR(apply(graph, a, plan, true));
  *report = plan.report;
  return Status::Ok();
}

}  // namespace edgeopt::passes
