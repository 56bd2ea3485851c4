#include "compiler/train/trainer.h"

#include <Eigen/Core>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <limits>
#include <numeric>
#include <optional>
#include <random>

namespace edgeopt::train {
namespace {

Status unsupportedNode(const ir::Node& n, const std::string& why) {
  return unsupported("node " + n.describe() + ": " + why + " (the built-in fine-tuner trains Conv, Gemm/MatMul, "
                     "BatchNormalization, Relu, Clip, HardSigmoid, HardSwish, Sigmoid, Add, Mul, Concat, MaxPool, AveragePool, "
                     "GlobalAveragePool, Flatten, Reshape, Identity, Dropout)");
}

}  // namespace

template <typename T>
struct Network<T>::Impl {
  using Mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using MapM = Eigen::Map<Mat>;
  using CMapM = Eigen::Map<const Mat>;

  struct Buffer {
    std::vector<int64_t> dims;  // with the batch
    std::vector<T> data, grad;
    int64_t numel() const { return static_cast<int64_t>(data.size()); }
  };
  enum class Kind {
    kConv, kGemm, kBatchNorm, kRelu, kClip, kHardSigmoid, kHardSwish, kSigmoid, kAdd, kMul, kConcat, kMaxPool,
    kAveragePool, kGlobalAveragePool, kReshape
  };
  struct Op {
    Kind kind = Kind::kReshape;
    ir::Node* node = nullptr;
    std::vector<int> in;
    int out = -1;
    int weight = -1, bias = -1;     // parameter indices; BN: scale, bias
    size_t weightInput = 1, biasInput = 2;
    // Conv / pooling geometry
    int64_t group = 1, kh = 1, kw = 1, sh = 1, sw = 1, pt = 0, pl = 0;
    bool transB = false, frozen = false;
    bool batchStats = false;  // BatchNorm: the last forward normalized with batch statistics
    std::vector<T> runMean, runVar, saveMean, saveInvStd;
    double eps = 1e-5;
    T lo = 0, hi = 0;              // Clip bounds; HardSigmoid: alpha (lo), beta (hi)
    bool countIncludePad = false;  // AveragePool
    int64_t axis = 1;              // Concat
    std::vector<int64_t> argmax;
    // Add/Mul with broadcasting: per output element, the element of each operand (empty: equal shapes).
    std::vector<int64_t> fromA, fromB;
    std::vector<int64_t> outSample;  // Reshape: output dims after the batch
  };

  std::vector<Buffer> values;
  std::vector<Op> ops;
  std::vector<Parameter> params;
  std::map<const ir::Value*, int> ids;
  int input = -1, output = -1;
  int64_t classes = 0;

  int valueFor(const ir::Value* v) {
    auto [it, added] = ids.emplace(v, static_cast<int>(values.size()));
    if (added) values.emplace_back();
    return it->second;
  }
  int addParam(const ir::Value* v, bool decayed) {
    const ir::Tensor& t = v->initializer();
    Parameter p;
    p.name = v->name();
    p.value.resize(static_cast<size_t>(t.numel()));
    for (int64_t i = 0; i < t.numel(); ++i) p.value[static_cast<size_t>(i)] = static_cast<T>(t.data<float>()[i]);
    p.grad.assign(p.value.size(), 0);
    p.velocity.assign(p.value.size(), 0);
    p.frozenZero.resize(p.value.size());
    for (size_t i = 0; i < p.value.size(); ++i) p.frozenZero[i] = decayed && p.value[i] == 0;
    p.decayed = decayed;
    params.push_back(std::move(p));
    return static_cast<int>(params.size()) - 1;
  }
  static std::vector<T> constantValues(const ir::Value* v) {
    const ir::Tensor& t = v->initializer();
    std::vector<T> out(static_cast<size_t>(t.numel()));
    for (int64_t i = 0; i < t.numel(); ++i) out[static_cast<size_t>(i)] = static_cast<T>(t.data<float>()[i]);
    return out;
  }

  Status build(const ir::Graph& g, bool freezeBn) {
    if (g.inputs().size() != 1 || g.outputs().size() != 1) return unsupported("the fine-tuner needs one input and one output");
    input = valueFor(g.inputs()[0]);
    for (ir::Node* n : g.nodes()) {
      if (!n->domain().empty()) return unsupportedNode(*n, "not a default-domain op");
      const std::string& op = n->opType();
      if ((op == "Identity" && ir::initializerBehind(n->output(0))) || (op == "Constant" && ir::constantBehind(n->output(0))))
        continue;  // a constant
      for (size_t i = 0; i < n->numInputs(); ++i) {
        const ir::Value* v = n->input(i);
        if (v && !ir::constantBehind(v) && !ids.count(v)) return unsupportedNode(*n, "input '" + v->name() + "' is not computed here");
        if (v && ir::constantBehind(v) && ir::constantBehind(v)->dtype() != ir::DType::kFloat32 && op != "Reshape")
          return unsupportedNode(*n, "constants must be float32 (fine-tune before quantizing)");
      }
      Op o;
      o.node = n;
      if (op == "Conv") {
        const ir::Value* w = ir::initializerBehind(n->input(1));
        if (!w || w->initializer().rank() != 4) return unsupportedNode(*n, "needs constant 4-D weights");
        const auto pads = n->attrInts("pads", {0, 0, 0, 0}), strides = n->attrInts("strides", {1, 1}),
                   dil = n->attrInts("dilations", {1, 1});
        if (n->attrString("auto_pad", "NOTSET") != "NOTSET" || dil[0] != 1 || dil[1] != 1)
          return unsupportedNode(*n, "auto_pad and dilation are not supported");
        o.kind = Kind::kConv;
        o.group = n->attrInt("group", 1);
        o.kh = w->initializer().dims()[2], o.kw = w->initializer().dims()[3];
        o.sh = strides[0], o.sw = strides[1], o.pt = pads[0], o.pl = pads[1];
        if (pads[2] != pads[0] || pads[3] != pads[1]) return unsupportedNode(*n, "asymmetric padding is not supported");
        o.weight = addParam(w, true);
        if (n->input(2)) {
          const ir::Value* b = ir::initializerBehind(n->input(2));
          if (!b) return unsupportedNode(*n, "needs a constant bias");
          o.bias = addParam(b, false);
        }
      } else if (op == "Gemm" || op == "MatMul") {
        const ir::Value* w = ir::initializerBehind(n->input(1));
        if (!w || w->initializer().rank() != 2 || (op == "Gemm" && n->attrInt("transA", 0) != 0) ||
            (op == "Gemm" && (n->attrFloat("alpha", 1) != 1 || n->attrFloat("beta", 1) != 1)))
          return unsupportedNode(*n, "needs constant 2-D weights, transA = 0, alpha = beta = 1");
        o.kind = Kind::kGemm;
        o.transB = op == "Gemm" && n->attrInt("transB", 0) != 0;
        o.weight = addParam(w, true);
        if (op == "Gemm" && n->input(2)) {
          const ir::Value* b = ir::initializerBehind(n->input(2));
          if (!b) return unsupportedNode(*n, "needs a constant bias");
          o.bias = addParam(b, false);
        }
      } else if (op == "BatchNormalization") {
        const ir::Value *s = ir::initializerBehind(n->input(1)), *b = ir::initializerBehind(n->input(2)), *m = ir::initializerBehind(n->input(3)),
                        *v = ir::initializerBehind(n->input(4));
        if (!s || !b || !m || !v || (n->outputs().size() > 1 && n->output(1))) return unsupportedNode(*n, "needs constant parameters");
        o.kind = Kind::kBatchNorm;
        o.weight = addParam(s, false);
        o.bias = addParam(b, false);
        o.runMean = constantValues(m);
        o.runVar = constantValues(v);
        o.eps = n->attrFloat("epsilon", 1e-5f);
        o.frozen = freezeBn;
      } else if (op == "Relu") {
        o.kind = Kind::kRelu;
      } else if (op == "Clip") {
        o.kind = Kind::kClip;
        o.lo = -std::numeric_limits<T>::infinity(), o.hi = std::numeric_limits<T>::infinity();
        for (size_t i = 1; i <= 2; ++i) {
          if (!n->input(i)) continue;
          const ir::Tensor* c = ir::constantBehind(n->input(i));
          if (!c || c->numel() != 1) return unsupportedNode(*n, "needs constant bounds");
          (i == 1 ? o.lo : o.hi) = static_cast<T>(c->data<float>()[0]);
        }
      } else if (op == "HardSigmoid") {
        o.kind = Kind::kHardSigmoid;
        o.lo = static_cast<T>(n->attrFloat("alpha", 0.2f)), o.hi = static_cast<T>(n->attrFloat("beta", 0.5f));
      } else if (op == "HardSwish") {
        o.kind = Kind::kHardSwish;
      } else if (op == "Sigmoid") {
        o.kind = Kind::kSigmoid;
      } else if (op == "Add" || op == "Mul") {
        if (ir::constantBehind(n->input(0)) || ir::constantBehind(n->input(1)))
          return unsupportedNode(*n, "a constant operand (only computed tensors are combined here)");
        o.kind = op == "Add" ? Kind::kAdd : Kind::kMul;
      } else if (op == "Concat") {
        for (size_t i = 0; i < n->numInputs(); ++i)
          if (!n->input(i) || ir::constantBehind(n->input(i))) return unsupportedNode(*n, "a constant or missing operand");
        o.kind = Kind::kConcat;
        o.axis = n->attrInt("axis", 1);
      } else if (op == "MaxPool" || op == "AveragePool") {
        const auto k = n->attrInts("kernel_shape"), pads = n->attrInts("pads", {0, 0, 0, 0}), strides = n->attrInts("strides", {1, 1});
        if (k.size() != 2 || pads.size() != 4 || strides.size() != 2 || n->attrInt("ceil_mode", 0) != 0 ||
            n->attrString("auto_pad", "NOTSET") != "NOTSET" || pads[2] != pads[0] || pads[3] != pads[1] ||
            n->attrInts("dilations", {1, 1}) != std::vector<int64_t>{1, 1} || (n->outputs().size() > 1 && n->output(1)))
          return unsupportedNode(*n, "2-D pooling without ceil mode, auto_pad, dilation, asymmetric padding or indices only");
        o.kind = op == "MaxPool" ? Kind::kMaxPool : Kind::kAveragePool;
        o.countIncludePad = n->attrInt("count_include_pad", 0) != 0;
        o.kh = k[0], o.kw = k[1], o.sh = strides[0], o.sw = strides[1], o.pt = pads[0], o.pl = pads[1];
      } else if (op == "GlobalAveragePool") {
        o.kind = Kind::kGlobalAveragePool;
      } else if (op == "Flatten" || op == "Identity" || op == "Reshape" || op == "Dropout") {
        o.kind = Kind::kReshape;
        if (op == "Flatten" && n->attrInt("axis", 1) != 1) return unsupportedNode(*n, "Flatten from an axis other than 1");
        if (op == "Reshape") {
          const auto& shape = n->output(0)->shape();
          if (!shape || shape->size() != 2 || !(*shape)[1].isKnown()) return unsupportedNode(*n, "only a Reshape to [batch, features]");
          o.outSample = {(*shape)[1].value};
        }
        if (op == "Dropout" && n->outputs().size() > 1 && n->output(1)) return unsupportedNode(*n, "the mask output");
      } else {
        return unsupportedNode(*n, "op " + op + " has no backward here");
      }
      o.in.push_back(valueFor(n->input(0)));
      if (o.kind == Kind::kAdd || o.kind == Kind::kMul) o.in.push_back(valueFor(n->input(1)));
      if (o.kind == Kind::kConcat)
        for (size_t i = 1; i < n->numInputs(); ++i) o.in.push_back(valueFor(n->input(i)));
      o.out = valueFor(n->output(0));
      ops.push_back(std::move(o));
    }
    if (!ids.count(g.outputs()[0])) return unsupported("the model's output is not computed by a trainable op");
    output = ids.at(g.outputs()[0]);
    return Status::Ok();
  }

  // ---- forward --------------------------------------------------------------------------------

  static void im2col(const T* x, int64_t c, int64_t h, int64_t w, const Op& o, int64_t oh, int64_t ow, T* col) {
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t a = 0; a < o.kh; ++a)
        for (int64_t b = 0; b < o.kw; ++b) {
          T* row = col + ((ch * o.kh + a) * o.kw + b) * oh * ow;
          for (int64_t y = 0; y < oh; ++y) {
            const int64_t iy = y * o.sh + a - o.pt;
            for (int64_t xo = 0; xo < ow; ++xo) {
              const int64_t ix = xo * o.sw + b - o.pl;
              row[y * ow + xo] = iy >= 0 && iy < h && ix >= 0 && ix < w ? x[(ch * h + iy) * w + ix] : T(0);
            }
          }
        }
  }
  static void col2im(const T* col, int64_t c, int64_t h, int64_t w, const Op& o, int64_t oh, int64_t ow, T* dx) {
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t a = 0; a < o.kh; ++a)
        for (int64_t b = 0; b < o.kw; ++b) {
          const T* row = col + ((ch * o.kh + a) * o.kw + b) * oh * ow;
          for (int64_t y = 0; y < oh; ++y) {
            const int64_t iy = y * o.sh + a - o.pt;
            if (iy < 0 || iy >= h) continue;
            for (int64_t xo = 0; xo < ow; ++xo) {
              const int64_t ix = xo * o.sw + b - o.pl;
              if (ix >= 0 && ix < w) dx[(ch * h + iy) * w + ix] += row[y * ow + xo];
            }
          }
        }
  }

  // Numpy broadcasting of two shapes (aligned from the right): the output dims, and per output
  // element the flat index of the element of each operand.
  static Status broadcast(const Op& o, std::vector<int64_t> a, std::vector<int64_t> b, std::vector<int64_t>* out,
                          std::vector<int64_t>* fromA, std::vector<int64_t>* fromB) {
    const size_t rank = std::max(a.size(), b.size());
    a.insert(a.begin(), rank - a.size(), 1);
    b.insert(b.begin(), rank - b.size(), 1);
    out->assign(rank, 1);
    std::vector<int64_t> strideA(rank, 0), strideB(rank, 0);
    int64_t sa = 1, sb = 1, total = 1;
    for (size_t d = rank; d-- > 0;) {
      if (a[d] != b[d] && a[d] != 1 && b[d] != 1) return unsupportedNode(*o.node, "operand shapes do not broadcast");
      (*out)[d] = std::max(a[d], b[d]);
      strideA[d] = a[d] == 1 ? 0 : sa;
      strideB[d] = b[d] == 1 ? 0 : sb;
      sa *= a[d], sb *= b[d], total *= (*out)[d];
    }
    fromA->resize(static_cast<size_t>(total));
    fromB->resize(static_cast<size_t>(total));
    std::vector<int64_t> at(rank, 0);
    int64_t ia = 0, ib = 0;
    for (int64_t i = 0; i < total; ++i) {
      (*fromA)[static_cast<size_t>(i)] = ia, (*fromB)[static_cast<size_t>(i)] = ib;
      for (size_t d = rank; d-- > 0;) {  // odometer step, innermost dim first
        ia += strideA[d], ib += strideB[d];
        if (++at[d] < (*out)[d]) break;
        ia -= strideA[d] * at[d], ib -= strideB[d] * at[d];
        at[d] = 0;
      }
    }
    return Status::Ok();
  }

  // Concat geometry: the axis (made non-negative), the product of the dims before it and after it.
  static void concatGeometry(const Op& o, const std::vector<int64_t>& dims, int64_t* axis, int64_t* outer, int64_t* inner) {
    const int64_t rank = static_cast<int64_t>(dims.size());
    *axis = o.axis < 0 ? o.axis + rank : o.axis;
    *outer = 1, *inner = 1;
    for (int64_t d = 0; d < *axis; ++d) *outer *= dims[static_cast<size_t>(d)];
    for (int64_t d = *axis + 1; d < rank; ++d) *inner *= dims[static_cast<size_t>(d)];
  }

  // Every window of a 2-D pooling op over x: visit(output index, input index) for each element of
  // the window inside the input, then done(output index, elements visited).
  template <typename Visit, typename Done>
  static void forEachWindow(const Op& o, const std::vector<int64_t>& xDims, const std::vector<int64_t>& yDims, Visit visit, Done done) {
    const int64_t planes = xDims[0] * xDims[1], h = xDims[2], wd = xDims[3], oh = yDims[2], ow = yDims[3];
    for (int64_t p = 0; p < planes; ++p)
      for (int64_t a = 0; a < oh; ++a)
        for (int64_t b = 0; b < ow; ++b) {
          const int64_t out = (p * oh + a) * ow + b;
          int64_t inside = 0;
          for (int64_t u = 0; u < o.kh; ++u)
            for (int64_t v = 0; v < o.kw; ++v) {
              const int64_t iy = a * o.sh + u - o.pt, ix = b * o.sw + v - o.pl;
              if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
              visit(out, (p * h + iy) * wd + ix);
              ++inside;
            }
          done(out, inside);
        }
  }
  T averageDivisor(const Op& o, int64_t inside) const {
    return static_cast<T>(o.countIncludePad ? o.kh * o.kw : inside);
  }

  Status forwardOp(Op& o, bool train) {
    Buffer& x = values[static_cast<size_t>(o.in[0])];
    Buffer& y = values[static_cast<size_t>(o.out)];
    const int64_t n = x.dims[0];
    switch (o.kind) {
      case Kind::kConv: {
        if (x.dims.size() != 4) return unsupportedNode(*o.node, "needs a 4-D input");
        const Parameter& w = params[static_cast<size_t>(o.weight)];
        const int64_t c = x.dims[1], h = x.dims[2], wd = x.dims[3];
        const int64_t m = static_cast<int64_t>(w.value.size()) / (c / o.group * o.kh * o.kw);
        const int64_t oh = (h + 2 * o.pt - o.kh) / o.sh + 1, ow = (wd + 2 * o.pl - o.kw) / o.sw + 1;
        if (c % o.group || m % o.group || oh < 1 || ow < 1) return unsupportedNode(*o.node, "input does not fit the weights");
        y.dims = {n, m, oh, ow};
        y.data.assign(static_cast<size_t>(n * m * oh * ow), 0);
        const int64_t cg = c / o.group, mg = m / o.group, kk = cg * o.kh * o.kw, pix = oh * ow;
        std::vector<T> col(static_cast<size_t>(kk * pix));
        for (int64_t b = 0; b < n; ++b)
          for (int64_t gi = 0; gi < o.group; ++gi) {
            im2col(x.data.data() + (b * c + gi * cg) * h * wd, cg, h, wd, o, oh, ow, col.data());
            CMapM W(w.value.data() + gi * mg * kk, mg, kk);
            CMapM C(col.data(), kk, pix);
            MapM Y(y.data.data() + (b * m + gi * mg) * pix, mg, pix);
            Y.noalias() = W * C;
          }
        if (o.bias >= 0) {
          const auto& bias = params[static_cast<size_t>(o.bias)].value;
          for (int64_t b = 0; b < n; ++b)
            for (int64_t ch = 0; ch < m; ++ch)
              for (int64_t p = 0; p < pix; ++p) y.data[static_cast<size_t>((b * m + ch) * pix + p)] += bias[static_cast<size_t>(ch)];
        }
        break;
      }
      case Kind::kGemm: {
        const Parameter& w = params[static_cast<size_t>(o.weight)];
        const int64_t k = x.numel() / n, total = static_cast<int64_t>(w.value.size()), m = total / k;
        if (m * k != total) return unsupportedNode(*o.node, "input features do not fit the weights");
        y.dims = {n, m};
        y.data.assign(static_cast<size_t>(n * m), 0);
        CMapM A(x.data.data(), n, k);
        MapM Y(y.data.data(), n, m);
        if (o.transB) Y.noalias() = A * CMapM(w.value.data(), m, k).transpose();
        else Y.noalias() = A * CMapM(w.value.data(), k, m);
        if (o.bias >= 0) {
          const auto& bias = params[static_cast<size_t>(o.bias)].value;
          for (int64_t b = 0; b < n; ++b)
            for (int64_t j = 0; j < m; ++j) y.data[static_cast<size_t>(b * m + j)] += bias.size() == 1 ? bias[0] : bias[static_cast<size_t>(j)];
        }
        break;
      }
      case Kind::kBatchNorm: {
        const int64_t c = x.dims[1], inner = x.numel() / (n * c), count = n * inner;
        const auto& gamma = params[static_cast<size_t>(o.weight)].value;
        const auto& beta = params[static_cast<size_t>(o.bias)].value;
        y.dims = x.dims;
        y.data.resize(x.data.size());
        o.saveMean.assign(static_cast<size_t>(c), 0);
        o.saveInvStd.assign(static_cast<size_t>(c), 0);
        const bool batchStats = train && !o.frozen;
        for (int64_t ch = 0; ch < c; ++ch) {
          T mean = o.runMean[static_cast<size_t>(ch)], var = o.runVar[static_cast<size_t>(ch)];
          if (batchStats) {
            double s = 0, sq = 0;
            for (int64_t b = 0; b < n; ++b)
              for (int64_t i = 0; i < inner; ++i) {
                const double v = x.data[static_cast<size_t>((b * c + ch) * inner + i)];
                s += v;
                sq += v * v;
              }
            const double mu = s / static_cast<double>(count), vb = std::max(0.0, sq / static_cast<double>(count) - mu * mu);
            mean = static_cast<T>(mu), var = static_cast<T>(vb);
            const double unbiased = count > 1 ? vb * static_cast<double>(count) / static_cast<double>(count - 1) : vb;
            o.runMean[static_cast<size_t>(ch)] = static_cast<T>(0.9 * o.runMean[static_cast<size_t>(ch)] + 0.1 * mu);
            o.runVar[static_cast<size_t>(ch)] = static_cast<T>(0.9 * o.runVar[static_cast<size_t>(ch)] + 0.1 * unbiased);
          }
          const T inv = T(1) / std::sqrt(var + static_cast<T>(o.eps));
          o.saveMean[static_cast<size_t>(ch)] = mean;
          o.saveInvStd[static_cast<size_t>(ch)] = inv;
          for (int64_t b = 0; b < n; ++b)
            for (int64_t i = 0; i < inner; ++i) {
              const size_t at = static_cast<size_t>((b * c + ch) * inner + i);
              y.data[at] = gamma[static_cast<size_t>(ch)] * (x.data[at] - mean) * inv + beta[static_cast<size_t>(ch)];
            }
        }
        o.batchStats = batchStats;
        break;
      }
      case Kind::kRelu:
      case Kind::kClip: {
        const T lo = o.kind == Kind::kRelu ? T(0) : o.lo, hi = o.kind == Kind::kRelu ? std::numeric_limits<T>::infinity() : o.hi;
        y.dims = x.dims;
        y.data.resize(x.data.size());
        for (size_t i = 0; i < x.data.size(); ++i) y.data[i] = std::min(std::max(x.data[i], lo), hi);
        break;
      }
      case Kind::kHardSigmoid:
        y.dims = x.dims;
        y.data.resize(x.data.size());
        for (size_t i = 0; i < x.data.size(); ++i) y.data[i] = std::min(std::max(o.lo * x.data[i] + o.hi, T(0)), T(1));
        break;
      case Kind::kHardSwish:
        y.dims = x.dims;
        y.data.resize(x.data.size());
        for (size_t i = 0; i < x.data.size(); ++i)
          y.data[i] = x.data[i] * std::min(std::max(x.data[i] / T(6) + T(0.5), T(0)), T(1));
        break;
      case Kind::kSigmoid:
        y.dims = x.dims;
        y.data.resize(x.data.size());
        for (size_t i = 0; i < x.data.size(); ++i) y.data[i] = T(1) / (T(1) + std::exp(-x.data[i]));
        break;
      case Kind::kAdd:
      case Kind::kMul: {
        const Buffer& b = values[static_cast<size_t>(o.in[1])];
        const bool add = o.kind == Kind::kAdd;
        if (b.dims == x.dims) {
          o.fromA.clear(), o.fromB.clear();
          y.dims = x.dims;
          y.data.resize(x.data.size());
          for (size_t i = 0; i < x.data.size(); ++i) y.data[i] = add ? x.data[i] + b.data[i] : x.data[i] * b.data[i];
        } else {
          EDGEOPT_RETURN_IF_ERROR(broadcast(o, x.dims, b.dims, &y.dims, &o.fromA, &o.fromB));
          y.data.resize(o.fromA.size());
          for (size_t i = 0; i < y.data.size(); ++i) {
            const T u = x.data[static_cast<size_t>(o.fromA[i])], v = b.data[static_cast<size_t>(o.fromB[i])];
            y.data[i] = add ? u + v : u * v;
          }
        }
        break;
      }
      case Kind::kConcat: {
        int64_t axis = 0, outer = 0, inner = 0;
        concatGeometry(o, x.dims, &axis, &outer, &inner);
        if (axis < 1 || axis >= static_cast<int64_t>(x.dims.size())) return unsupportedNode(*o.node, "Concat along the batch or out of range");
        y.dims = x.dims;
        y.dims[static_cast<size_t>(axis)] = 0;
        for (int in : o.in) {
          const auto& d = values[static_cast<size_t>(in)].dims;
          for (size_t k = 0; k < d.size(); ++k)
            if (d.size() != x.dims.size() || (static_cast<int64_t>(k) != axis && d[k] != x.dims[k]))
              return unsupportedNode(*o.node, "operands differ outside the concatenation axis");
          y.dims[static_cast<size_t>(axis)] += d[static_cast<size_t>(axis)];
        }
        const int64_t total = y.dims[static_cast<size_t>(axis)];
        y.data.resize(static_cast<size_t>(outer * total * inner));
        int64_t offset = 0;
        for (int in : o.in) {
          const Buffer& part = values[static_cast<size_t>(in)];
          const int64_t block = part.dims[static_cast<size_t>(axis)] * inner;
          for (int64_t q = 0; q < outer; ++q)
            std::copy_n(part.data.data() + q * block, block, y.data.data() + q * total * inner + offset);
          offset += block;
        }
        break;
      }
      case Kind::kMaxPool:
      case Kind::kAveragePool: {
        if (x.dims.size() != 4) return unsupportedNode(*o.node, "needs a 4-D input");
        const int64_t c = x.dims[1], h = x.dims[2], wd = x.dims[3];
        const int64_t oh = (h + 2 * o.pt - o.kh) / o.sh + 1, ow = (wd + 2 * o.pl - o.kw) / o.sw + 1;
        if (oh < 1 || ow < 1) return unsupportedNode(*o.node, "the window is larger than the padded input");
        y.dims = {n, c, oh, ow};
        if (o.kind == Kind::kMaxPool) {
          y.data.assign(static_cast<size_t>(n * c * oh * ow), -std::numeric_limits<T>::infinity());
          o.argmax.assign(y.data.size(), -1);
          forEachWindow(
              o, x.dims, y.dims,
              [&](int64_t out, int64_t at) {
                if (o.argmax[static_cast<size_t>(out)] < 0 || x.data[static_cast<size_t>(at)] > y.data[static_cast<size_t>(out)])
                  y.data[static_cast<size_t>(out)] = x.data[static_cast<size_t>(at)], o.argmax[static_cast<size_t>(out)] = at;
              },
              [](int64_t, int64_t) {});
        } else {
          y.data.assign(static_cast<size_t>(n * c * oh * ow), 0);
          forEachWindow(
              o, x.dims, y.dims, [&](int64_t out, int64_t at) { y.data[static_cast<size_t>(out)] += x.data[static_cast<size_t>(at)]; },
              [&](int64_t out, int64_t inside) { y.data[static_cast<size_t>(out)] /= averageDivisor(o, inside); });
        }
        break;
      }
      case Kind::kGlobalAveragePool: {
        const int64_t c = x.dims[1], inner = x.numel() / (n * c);
        y.dims = {n, c, 1, 1};
        y.data.assign(static_cast<size_t>(n * c), 0);
        for (int64_t p = 0; p < n * c; ++p) {
          T s = 0;
          for (int64_t i = 0; i < inner; ++i) s += x.data[static_cast<size_t>(p * inner + i)];
          y.data[static_cast<size_t>(p)] = s / static_cast<T>(inner);
        }
        break;
      }
      case Kind::kReshape: {
        y.data = x.data;
        const std::string& op = o.node->opType();
        if (op == "Flatten" || op == "Reshape") y.dims = {n, x.numel() / n};
        else y.dims = x.dims;
        break;
      }
    }
    return Status::Ok();
  }

  // ---- backward -------------------------------------------------------------------------------

  void backwardOp(Op& o) {
    Buffer& x = values[static_cast<size_t>(o.in[0])];
    Buffer& y = values[static_cast<size_t>(o.out)];
    const int64_t n = x.dims[0];
    auto ensureGrad = [](Buffer& b) {
      if (b.grad.size() != b.data.size()) b.grad.assign(b.data.size(), 0);
    };
    ensureGrad(x);
    ensureGrad(y);
    switch (o.kind) {
      case Kind::kConv: {
        Parameter& w = params[static_cast<size_t>(o.weight)];
        const int64_t c = x.dims[1], h = x.dims[2], wd = x.dims[3], m = y.dims[1], oh = y.dims[2], ow = y.dims[3];
        const int64_t cg = c / o.group, mg = m / o.group, kk = cg * o.kh * o.kw, pix = oh * ow;
        std::vector<T> col(static_cast<size_t>(kk * pix)), dcol(static_cast<size_t>(kk * pix));
        for (int64_t b = 0; b < n; ++b)
          for (int64_t gi = 0; gi < o.group; ++gi) {
            im2col(x.data.data() + (b * c + gi * cg) * h * wd, cg, h, wd, o, oh, ow, col.data());
            CMapM dY(y.grad.data() + (b * m + gi * mg) * pix, mg, pix);
            MapM dW(w.grad.data() + gi * mg * kk, mg, kk);
            dW.noalias() += dY * CMapM(col.data(), kk, pix).transpose();
            MapM dC(dcol.data(), kk, pix);
            dC.noalias() = CMapM(w.value.data() + gi * mg * kk, mg, kk).transpose() * dY;
            col2im(dcol.data(), cg, h, wd, o, oh, ow, x.grad.data() + (b * c + gi * cg) * h * wd);
          }
        if (o.bias >= 0) {
          auto& db = params[static_cast<size_t>(o.bias)].grad;
          for (int64_t b = 0; b < n; ++b)
            for (int64_t ch = 0; ch < m; ++ch)
              for (int64_t p = 0; p < pix; ++p) db[static_cast<size_t>(ch)] += y.grad[static_cast<size_t>((b * m + ch) * pix + p)];
        }
        break;
      }
      case Kind::kGemm: {
        Parameter& w = params[static_cast<size_t>(o.weight)];
        const int64_t k = x.numel() / n, m = y.dims[1];
        CMapM A(x.data.data(), n, k), dY(y.grad.data(), n, m);
        MapM dA(x.grad.data(), n, k);
        if (o.transB) {
          dA.noalias() += dY * CMapM(w.value.data(), m, k);
          MapM(w.grad.data(), m, k).noalias() += dY.transpose() * A;
        } else {
          dA.noalias() += dY * CMapM(w.value.data(), k, m).transpose();
          MapM(w.grad.data(), k, m).noalias() += A.transpose() * dY;
        }
        if (o.bias >= 0) {
          auto& db = params[static_cast<size_t>(o.bias)].grad;
          for (int64_t b = 0; b < n; ++b)
            for (int64_t j = 0; j < m; ++j) db[db.size() == 1 ? 0 : static_cast<size_t>(j)] += y.grad[static_cast<size_t>(b * m + j)];
        }
        break;
      }
      case Kind::kBatchNorm: {
        const int64_t c = x.dims[1], inner = x.numel() / (n * c), count = n * inner;
        const auto& gamma = params[static_cast<size_t>(o.weight)].value;
        auto& dgamma = params[static_cast<size_t>(o.weight)].grad;
        auto& dbeta = params[static_cast<size_t>(o.bias)].grad;
        const bool batchStats = o.batchStats;
        for (int64_t ch = 0; ch < c; ++ch) {
          const T mean = o.saveMean[static_cast<size_t>(ch)], inv = o.saveInvStd[static_cast<size_t>(ch)];
          // Summed in double: over n x H x W terms that mostly cancel (an untrained layer's
          // gradients), float sums lose the result (measured: 40 % off on a 32 x 14 x 14 batch).
          double sumDyD = 0, sumDyXhatD = 0;
          for (int64_t b = 0; b < n; ++b)
            for (int64_t i = 0; i < inner; ++i) {
              const size_t at = static_cast<size_t>((b * c + ch) * inner + i);
              const double xhat = (static_cast<double>(x.data[at]) - mean) * inv;
              sumDyD += y.grad[at];
              sumDyXhatD += static_cast<double>(y.grad[at]) * xhat;
            }
          const T sumDy = static_cast<T>(sumDyD), sumDyXhat = static_cast<T>(sumDyXhatD);
          dgamma[static_cast<size_t>(ch)] += sumDyXhat;
          dbeta[static_cast<size_t>(ch)] += sumDy;
          const T g = gamma[static_cast<size_t>(ch)];
          for (int64_t b = 0; b < n; ++b)
            for (int64_t i = 0; i < inner; ++i) {
              const size_t at = static_cast<size_t>((b * c + ch) * inner + i);
              if (batchStats) {
                const T xhat = (x.data[at] - mean) * inv;
                x.grad[at] += g * inv / static_cast<T>(count) *
                              (static_cast<T>(count) * y.grad[at] - sumDy - xhat * sumDyXhat);
              } else {
                x.grad[at] += g * inv * y.grad[at];
              }
            }
        }
        break;
      }
      case Kind::kRelu:
      case Kind::kClip: {
        const T lo = o.kind == Kind::kRelu ? T(0) : o.lo, hi = o.kind == Kind::kRelu ? std::numeric_limits<T>::infinity() : o.hi;
        // PyTorch's ReLU and hardtanh (ReLU6): the gradient passes strictly inside the bounds.
        for (size_t i = 0; i < x.data.size(); ++i)
          if (x.data[i] > lo && x.data[i] < hi) x.grad[i] += y.grad[i];
        break;
      }
      case Kind::kHardSigmoid:
        for (size_t i = 0; i < x.data.size(); ++i) {
          const T v = o.lo * x.data[i] + o.hi;
          if (v > T(0) && v < T(1)) x.grad[i] += o.lo * y.grad[i];
        }
        break;
      case Kind::kHardSwish:
        // PyTorch's hardswish_backward: 0 below -3, x/3 + 1/2 up to 3 (inclusive), 1 above.
        for (size_t i = 0; i < x.data.size(); ++i) {
          const T v = x.data[i];
          x.grad[i] += v < T(-3) ? T(0) : v <= T(3) ? y.grad[i] * (v / T(3) + T(0.5)) : y.grad[i];
        }
        break;
      case Kind::kSigmoid:
        for (size_t i = 0; i < x.data.size(); ++i) x.grad[i] += y.grad[i] * y.data[i] * (T(1) - y.data[i]);
        break;
      case Kind::kAdd:
      case Kind::kMul: {
        Buffer& b = values[static_cast<size_t>(o.in[1])];
        ensureGrad(b);
        const bool add = o.kind == Kind::kAdd, same = o.fromA.empty();
        for (size_t i = 0; i < y.grad.size(); ++i) {
          const size_t ia = same ? i : static_cast<size_t>(o.fromA[i]), ib = same ? i : static_cast<size_t>(o.fromB[i]);
          const T g = y.grad[i], u = x.data[ia], v = b.data[ib];
          x.grad[ia] += add ? g : g * v;
          b.grad[ib] += add ? g : g * u;
        }
        break;
      }
      case Kind::kConcat: {
        int64_t axis = 0, outer = 0, inner = 0;
        concatGeometry(o, x.dims, &axis, &outer, &inner);
        const int64_t total = y.dims[static_cast<size_t>(axis)];
        int64_t offset = 0;
        for (int in : o.in) {
          Buffer& part = values[static_cast<size_t>(in)];
          ensureGrad(part);
          const int64_t block = part.dims[static_cast<size_t>(axis)] * inner;
          for (int64_t q = 0; q < outer; ++q)
            for (int64_t i = 0; i < block; ++i)
              part.grad[static_cast<size_t>(q * block + i)] += y.grad[static_cast<size_t>(q * total * inner + offset + i)];
          offset += block;
        }
        break;
      }
      case Kind::kMaxPool:
        for (size_t i = 0; i < y.grad.size(); ++i)
          if (o.argmax[i] >= 0) x.grad[static_cast<size_t>(o.argmax[i])] += y.grad[i];
        break;
      case Kind::kAveragePool: {
        std::vector<int64_t> window;
        forEachWindow(
            o, x.dims, y.dims, [&](int64_t, int64_t at) { window.push_back(at); },
            [&](int64_t out, int64_t inside) {
              const T g = y.grad[static_cast<size_t>(out)] / averageDivisor(o, inside);
              for (int64_t at : window) x.grad[static_cast<size_t>(at)] += g;
              window.clear();
            });
        break;
      }
      case Kind::kGlobalAveragePool: {
        const int64_t c = x.dims[1], inner = x.numel() / (n * c);
        for (int64_t p = 0; p < n * c; ++p)
          for (int64_t i = 0; i < inner; ++i)
            x.grad[static_cast<size_t>(p * inner + i)] += y.grad[static_cast<size_t>(p)] / static_cast<T>(inner);
        break;
      }
      case Kind::kReshape:
        for (size_t i = 0; i < y.grad.size(); ++i) x.grad[i] += y.grad[i];
        break;
    }
  }

};

template <typename T>
Network<T>::Network(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
template <typename T>
Network<T>::~Network() = default;

template <typename T>
StatusOr<std::unique_ptr<Network<T>>> Network<T>::create(const ir::Graph& graph, bool freezeBatchNorm) {
  auto impl = std::make_unique<Impl>();
  EDGEOPT_RETURN_IF_ERROR(impl->build(graph, freezeBatchNorm));
  return std::unique_ptr<Network<T>>(new Network<T>(std::move(impl)));
}

template <typename T>
StatusOr<std::vector<T>> Network<T>::forward(const std::vector<T>& input, int64_t batch, bool train) {
  auto& in = impl_->values[static_cast<size_t>(impl_->input)];
  in.data = input;
  in.dims.assign(1, batch);
  in.dims.push_back(static_cast<int64_t>(input.size()) / batch);
  if (!sampleDims_.empty()) {
    in.dims = {batch};
    in.dims.insert(in.dims.end(), sampleDims_.begin(), sampleDims_.end());
  }
  for (auto& v : impl_->values) v.grad.clear();
  for (auto& o : impl_->ops) EDGEOPT_RETURN_IF_ERROR(impl_->forwardOp(o, train));
  const auto& out = impl_->values[static_cast<size_t>(impl_->output)];
  impl_->classes = out.numel() / batch;
  return out.data;
}

template <typename T>
Status Network<T>::backward(const std::vector<T>& dLogits) {
  auto& out = impl_->values[static_cast<size_t>(impl_->output)];
  if (dLogits.size() != out.data.size()) return invalidInput("the gradient does not match the logits");
  out.grad = dLogits;
  for (auto it = impl_->ops.rbegin(); it != impl_->ops.rend(); ++it) impl_->backwardOp(*it);
  return Status::Ok();
}

template <typename T>
int64_t Network<T>::classes() const { return impl_->classes; }

template <typename T>
std::vector<typename Network<T>::Parameter>& Network<T>::parameters() { return impl_->params; }

template <typename T>
void Network<T>::zeroGrad() {
  for (auto& p : impl_->params) std::fill(p.grad.begin(), p.grad.end(), T(0));
}

template <typename T>
void Network<T>::sgdStep(double lr, double momentum, double weightDecay) {
  for (auto& p : impl_->params)
    for (size_t i = 0; i < p.value.size(); ++i) {
      if (p.frozenZero[i]) continue;
      T g = p.grad[i] + (p.decayed ? static_cast<T>(weightDecay) * p.value[i] : T(0));
      p.velocity[i] = static_cast<T>(momentum) * p.velocity[i] + g;
      g = g + static_cast<T>(momentum) * p.velocity[i];  // Nesterov
      p.value[i] -= static_cast<T>(lr) * g;
    }
}

template <typename T>
Status Network<T>::writeBack(ir::Graph& graph) const {
  auto tensorOf = [](const std::vector<T>& v, const std::vector<int64_t>& dims) {
    ir::Tensor t(ir::DType::kFloat32, dims);
    for (size_t i = 0; i < v.size(); ++i) t.data<float>()[i] = static_cast<float>(v[i]);
    return t;
  };
  auto replace = [&](ir::Node* n, size_t input, const std::vector<T>& v) {
    const ir::Value* old = ir::initializerBehind(n->input(input));
    n->setInput(input, graph.addInitializer(graph.uniqueName(old->name()), tensorOf(v, old->initializer().dims())));
  };
  for (const auto& o : impl_->ops) {
    if (o.weight >= 0) replace(o.node, 1, impl_->params[static_cast<size_t>(o.weight)].value);
    if (o.bias >= 0) replace(o.node, 2, impl_->params[static_cast<size_t>(o.bias)].value);
    if (o.kind == Impl::Kind::kBatchNorm) {
      replace(o.node, 3, o.runMean);
      replace(o.node, 4, o.runVar);
    }
  }
  graph.removeUnusedValues();
  return graph.verify();
}

template <typename T>
double distillationLoss(const std::vector<T>& logits, const std::vector<float>& teacher, const std::vector<int64_t>& labels,
                        int64_t classes, double alpha, double temperature, std::vector<T>* dLogits, int64_t* correct) {
  const int64_t n = static_cast<int64_t>(labels.size());
  const bool kd = !teacher.empty() && alpha > 0;
  const double a = kd ? alpha : 0.0, t = temperature;
  dLogits->assign(logits.size(), T(0));
  double loss = 0;
  std::vector<double> p(static_cast<size_t>(classes)), pt(static_cast<size_t>(classes)), q(static_cast<size_t>(classes));
  for (int64_t b = 0; b < n; ++b) {
    const T* s = logits.data() + b * classes;
    const int64_t label = labels[static_cast<size_t>(b)];
    double mx = s[0];
    int64_t arg = 0;
    for (int64_t k = 1; k < classes; ++k)
      if (s[k] > mx) mx = s[k], arg = k;
    *correct += arg == label;
    double z = 0;
    for (int64_t k = 0; k < classes; ++k) z += std::exp(static_cast<double>(s[k]) - mx);
    for (int64_t k = 0; k < classes; ++k) p[static_cast<size_t>(k)] = std::exp(static_cast<double>(s[k]) - mx) / z;
    loss += (1 - a) * -std::log(std::max(p[static_cast<size_t>(label)], 1e-300));
    for (int64_t k = 0; k < classes; ++k)
      (*dLogits)[static_cast<size_t>(b * classes + k)] += static_cast<T>((1 - a) * (p[static_cast<size_t>(k)] - (k == label)) / n);
    if (!kd) continue;
    const float* tl = teacher.data() + b * classes;
    double ms = -1e300, mt = -1e300;
    for (int64_t k = 0; k < classes; ++k) ms = std::max(ms, static_cast<double>(s[k]) / t), mt = std::max(mt, static_cast<double>(tl[k]) / t);
    double zs = 0, zt = 0;
    for (int64_t k = 0; k < classes; ++k) zs += std::exp(static_cast<double>(s[k]) / t - ms), zt += std::exp(tl[k] / t - mt);
    double kl = 0;
    for (int64_t k = 0; k < classes; ++k) {
      const double logPs = static_cast<double>(s[k]) / t - ms - std::log(zs), logQ = tl[k] / t - mt - std::log(zt);
      pt[static_cast<size_t>(k)] = std::exp(logPs);
      q[static_cast<size_t>(k)] = std::exp(logQ);
      kl += q[static_cast<size_t>(k)] * (logQ - logPs);
    }
    loss += a * t * t * kl;
    for (int64_t k = 0; k < classes; ++k)
      (*dLogits)[static_cast<size_t>(b * classes + k)] +=
          static_cast<T>(a * t * (pt[static_cast<size_t>(k)] - q[static_cast<size_t>(k)]) / n);
  }
  return loss / static_cast<double>(n);
}

template class Network<float>;
template class Network<double>;
template double distillationLoss<float>(const std::vector<float>&, const std::vector<float>&, const std::vector<int64_t>&, int64_t,
                                        double, double, std::vector<float>*, int64_t*);
template double distillationLoss<double>(const std::vector<double>&, const std::vector<float>&, const std::vector<int64_t>&, int64_t,
                                         double, double, std::vector<double>*, int64_t*);

Status fineTune(ir::Model& model, const TrainingSet& train, const TrainOptions& o,
                const std::function<StatusOr<double>(const ir::Model&)>& evaluateHeldOut,
                const std::function<void(const EpochLog&)>& log, const std::function<void(const StepLog&)>& onStep) {
  if (o.epochs < 1 || o.batch < 1 || !(o.learningRate > 0) || !(o.momentum >= 0 && o.momentum < 1) || !(o.weightDecay >= 0) ||
      !(o.alpha >= 0 && o.alpha <= 1) || !(o.temperature > 0))
    return invalidInput("fine-tuning options out of range (epochs >= 1, batch >= 1, lr > 0, 0 <= momentum < 1, "
                        "weight decay >= 0, 0 <= alpha <= 1, temperature > 0)");
  if (train.count() < 1) return invalidInput("no training samples");
  EDGEOPT_ASSIGN_OR_RETURN(auto net, Network<float>::create(*model.graph, o.freezeBatchNorm));
  net->setSampleDims(train.sampleDims);
  const int64_t sample = train.sampleSize();
  const int64_t steps = (train.count() + o.batch - 1) / o.batch, total = steps * o.epochs;
  std::vector<int64_t> order(static_cast<size_t>(train.count()));
  std::iota(order.begin(), order.end(), 0);
  std::mt19937 rng(o.seed);
  double bestHeldOut = -1;
  std::optional<ir::Model> best;
  int64_t step = 0;
  for (int epoch = 1; epoch <= o.epochs; ++epoch) {
    const auto start = std::chrono::steady_clock::now();
    std::shuffle(order.begin(), order.end(), rng);
    double lossSum = 0;
    int64_t correct = 0, seen = 0, classes = 0;
    for (int64_t s = 0; s < steps; ++s, ++step) {
      const int64_t first = s * o.batch, count = std::min(o.batch, train.count() - first);
      std::vector<float> x(static_cast<size_t>(count * sample));
      std::vector<int64_t> labels(static_cast<size_t>(count));
      for (int64_t i = 0; i < count; ++i) {
        const int64_t idx = order[static_cast<size_t>(first + i)];
        EDGEOPT_RETURN_IF_ERROR(train.sample(idx, x.data() + i * sample));
        labels[static_cast<size_t>(i)] = train.labels[static_cast<size_t>(idx)];
      }
      EDGEOPT_ASSIGN_OR_RETURN(const std::vector<float> logits, net->forward(x, count, true));
      classes = net->classes();
      std::vector<float> teacher;
      if (!train.teacherLogits.empty()) {
        teacher.resize(static_cast<size_t>(count * classes));
        for (int64_t i = 0; i < count; ++i)
          std::copy_n(train.teacherLogits.data() + order[static_cast<size_t>(first + i)] * classes, classes, teacher.data() + i * classes);
      }
      for (int64_t l : labels)
        if (l < 0 || l >= classes) return invalidInput("training label " + std::to_string(l) + " is not one of the model's " + std::to_string(classes) + " classes");
      std::vector<float> dLogits;
      lossSum += distillationLoss(logits, teacher, labels, classes, o.alpha, o.temperature, &dLogits, &correct) * static_cast<double>(count);
      if (!std::isfinite(lossSum)) return invalidInput("the training loss is not finite at epoch " + std::to_string(epoch) + " (lower the learning rate)");
      seen += count;
      net->zeroGrad();
      EDGEOPT_RETURN_IF_ERROR(net->backward(dLogits));
      constexpr double kPi = 3.14159265358979323846;
      const double lr = o.learningRate * 0.5 * (1 + std::cos(kPi * static_cast<double>(step) / static_cast<double>(total)));
      net->sgdStep(lr, o.momentum, o.weightDecay);
      if (onStep) onStep({epoch, o.epochs, s + 1, steps, lossSum / static_cast<double>(seen)});
    }
    EDGEOPT_RETURN_IF_ERROR(net->writeBack(*model.graph));
    EpochLog e;
    e.epoch = epoch;
    e.loss = lossSum / static_cast<double>(seen);
    e.trainTop1 = static_cast<double>(correct) / static_cast<double>(seen);
    if (evaluateHeldOut) {
      EDGEOPT_ASSIGN_OR_RETURN(e.heldOutTop1, evaluateHeldOut(model));
      if (e.heldOutTop1 > bestHeldOut) {
        bestHeldOut = e.heldOutTop1;
        best = ir::cloneModel(model);
      }
    }
    e.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (log) log(e);
  }
  if (best) model = std::move(*best);  // early stopping: the epoch with the best held-out accuracy
  return Status::Ok();
}

}  // namespace edgeopt::train
