// Element-wise math, activations, Softmax, reductions and Cast.
#include <cmath>
#include <limits>
#include <type_traits>

#include "compiler/runtime/op_kernel.h"
#include "kernels/ref/activation.h"
#include "kernels/ref/cast.h"
#include "kernels/ref/normalization.h"
#include "kernels/ref/quant.h"

namespace edgeopt::runtime {
namespace {
using ir::DType;
using ir::Tensor;
namespace ref = kernels::ref;

enum class BinOp { kAdd, kSub, kMul, kDiv };

template <BinOp kOp>
Status runArith(OpContext& ctx) {
  const Tensor* a = ctx.input(0);
  const Tensor* b = ctx.input(1);
  if (a->dtype() != b->dtype())
    return ctx.invalid(std::string("operand dtypes differ: ") + ir::dtypeName(a->dtype()) +
                       " and " + ir::dtypeName(b->dtype()));
  EDGEOPT_ASSIGN_OR_RETURN(auto out, broadcastShapes(a->dims(), b->dims(), ctx));
  Tensor y(a->dtype(), out);
  auto sa = broadcastStrides(a->dims(), out), sb = broadcastStrides(b->dims(), out);
  Status st;
  bool ok = dispatchNumeric(a->dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (kOp == BinOp::kAdd)
      broadcastApply(out, a->data<T>(), sa, b->data<T>(), sb, y.data<T>(), [](T p, T q) { return static_cast<T>(p + q); });
    else if constexpr (kOp == BinOp::kSub)
      broadcastApply(out, a->data<T>(), sa, b->data<T>(), sb, y.data<T>(), [](T p, T q) { return static_cast<T>(p - q); });
    else if constexpr (kOp == BinOp::kMul)
      broadcastApply(out, a->data<T>(), sa, b->data<T>(), sb, y.data<T>(), [](T p, T q) { return static_cast<T>(p * q); });
    else {
      if constexpr (std::is_integral_v<T>) {
        for (int64_t i = 0; i < b->numel(); ++i)
          if (b->data<T>()[i] == 0) { st = ctx.invalid("integer division by zero"); return; }
      }
      broadcastApply(out, a->data<T>(), sa, b->data<T>(), sb, y.data<T>(), [](T p, T q) { return static_cast<T>(p / q); });
    }
  });
  if (!ok) return ctx.unsupportedHere(std::string("dtype ") + ir::dtypeName(a->dtype()));
  if (!st.ok()) return st;
  ctx.outputs[0] = std::move(y);
  return Status::Ok();
}

Status runPow(OpContext& ctx) {
  const Tensor* a = ctx.input(0);
  const Tensor* b = ctx.input(1);
  EDGEOPT_ASSIGN_OR_RETURN(auto out, broadcastShapes(a->dims(), b->dims(), ctx));
  Tensor y(a->dtype(), out);
  auto sa = broadcastStrides(a->dims(), out), sb = broadcastStrides(b->dims(), out);
  bool ok = dispatchNumeric(a->dtype(), [&](auto ta) {
    using T = typename decltype(ta)::type;
    ok = dispatchNumeric(b->dtype(), [&](auto tb) {
      using U = typename decltype(tb)::type;
      broadcastApply(out, a->data<T>(), sa, b->data<U>(), sb, y.data<T>(), [](T p, U q) {
        if constexpr (std::is_same_v<T, float>) return std::pow(p, static_cast<float>(q));
        else return static_cast<T>(std::pow(static_cast<double>(p), static_cast<double>(q)));
      });
    });
  });
  if (!ok || !isNumericDType(b->dtype()))
    return ctx.unsupportedHere(std::string("dtypes ") + ir::dtypeName(a->dtype()) + ", " +
                               ir::dtypeName(b->dtype()));
  ctx.outputs[0] = std::move(y);
  return Status::Ok();
}

// Unary ops. Float-only ops run for float32/float64; Neg, Abs and Relu for every numeric type.
template <typename F>
Status unaryFloat(OpContext& ctx, F f) {
  const Tensor* x = ctx.input(0);
  Tensor y(x->dtype(), x->dims());
  if (x->dtype() == DType::kFloat32) {
    for (int64_t i = 0; i < x->numel(); ++i) y.data<float>()[i] = static_cast<float>(f(x->data<float>()[i]));
  } else if (x->dtype() == DType::kFloat64) {
    for (int64_t i = 0; i < x->numel(); ++i) y.data<double>()[i] = f(x->data<double>()[i]);
  } else {
    return ctx.unsupportedHere(std::string("dtype ") + ir::dtypeName(x->dtype()));
  }
  ctx.outputs[0] = std::move(y);
  return Status::Ok();
}

template <typename F>
Status unaryNumeric(OpContext& ctx, F f) {
  const Tensor* x = ctx.input(0);
  Tensor y(x->dtype(), x->dims());
  bool ok = dispatchNumeric(x->dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    for (int64_t i = 0; i < x->numel(); ++i) y.data<T>()[i] = static_cast<T>(f(x->data<T>()[i]));
  });
  if (!ok) return ctx.unsupportedHere(std::string("dtype ") + ir::dtypeName(x->dtype()));
  ctx.outputs[0] = std::move(y);
  return Status::Ok();
}

Status checkFloatInput(const ir::Node& n) {
  DType t = knownInputDType(n, 0);
  if (t != DType::kUndefined && !isFloatDType(t))
    return unsupported("node " + n.describe() + ": dtype " + ir::dtypeName(t) + " is not supported");
  return Status::Ok();
}
Status checkNumericInput(const ir::Node& n) {
  DType t = knownInputDType(n, 0);
  if (t != DType::kUndefined && !isNumericDType(t))
    return unsupported("node " + n.describe() + ": dtype " + ir::dtypeName(t) + " is not supported");
  return Status::Ok();
}
Status checkFloat32Input(const ir::Node& n) {
  DType t = knownInputDType(n, 0);
  if (t != DType::kUndefined && t != DType::kFloat32)
    return unsupported("node " + n.describe() + ": dtype " + ir::dtypeName(t) +
                       " is not supported (float32 only)");
  return Status::Ok();
}

Status runSqrt(OpContext& c) { return unaryFloat(c, [](auto v) { return std::sqrt(v); }); }
Status runExp(OpContext& c) { return unaryFloat(c, [](auto v) { return std::exp(v); }); }
Status runLog(OpContext& c) { return unaryFloat(c, [](auto v) { return std::log(v); }); }
Status runErf(OpContext& c) { return unaryFloat(c, [](auto v) { return std::erf(v); }); }
Status runTanh(OpContext& c) { return unaryFloat(c, [](auto v) { return std::tanh(v); }); }
Status runSigmoid(OpContext& c) {
  return unaryFloat(c, [](auto v) {
    if constexpr (std::is_same_v<decltype(v), float>) return ref::f32_sigmoid(v);
    else return v >= 0 ? 1.0 / (1.0 + std::exp(-v)) : std::exp(v) / (1.0 + std::exp(v));
  });
}
Status runHardSwish(OpContext& c) {
  return unaryFloat(c, [](auto v) { return static_cast<decltype(v)>(ref::f32_hard_swish(static_cast<float>(v))); });
}
Status runHardSigmoid(OpContext& c) {
  const float alpha = c.node.attrFloat("alpha", 0.2f), beta = c.node.attrFloat("beta", 0.5f);
  return unaryFloat(c, [&](auto v) { return static_cast<decltype(v)>(ref::f32_hard_sigmoid(static_cast<float>(v), alpha, beta)); });
}
Status runLeakyRelu(OpContext& c) {
  const float alpha = c.node.attrFloat("alpha", 0.01f);
  return unaryFloat(c, [&](auto v) { return v >= 0 ? v : static_cast<decltype(v)>(alpha) * v; });
}
Status runNeg(OpContext& c) { return unaryNumeric(c, [](auto v) { return -v; }); }
Status runAbs(OpContext& c) {
  return unaryNumeric(c, [](auto v) {
    if constexpr (std::is_unsigned_v<decltype(v)>) return v;
    else return v < 0 ? -v : v;
  });
}
Status runRelu(OpContext& c) {
  return unaryNumeric(c, [](auto v) { return v > 0 ? v : decltype(v){0}; });
}

Status runClip(OpContext& ctx) {
  const Tensor* x = ctx.input(0);
  for (size_t i = 1; i <= 2; ++i)
    if (const Tensor* t = ctx.input(i)) {
      if (t->numel() != 1) return ctx.invalid("min/max must be scalars");
      if (t->dtype() != x->dtype()) return ctx.invalid("min/max dtype differs from the input's");
    }
  Tensor y(x->dtype(), x->dims());
  bool ok = dispatchNumeric(x->dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T lo = ctx.input(1) ? ctx.input(1)->data<T>()[0] : std::numeric_limits<T>::lowest();
    const T hi = ctx.input(2) ? ctx.input(2)->data<T>()[0] : std::numeric_limits<T>::max();
    for (int64_t i = 0; i < x->numel(); ++i) {
      T v = x->data<T>()[i];
      y.data<T>()[i] = v < lo ? lo : (v > hi ? hi : v);
    }
  });
  if (!ok) return ctx.unsupportedHere(std::string("dtype ") + ir::dtypeName(x->dtype()));
  ctx.outputs[0] = std::move(y);
  return Status::Ok();
}

Status runSoftmax(OpContext& ctx) {
  const Tensor* x = ctx.input(0);
  if (x->dtype() != DType::kFloat32) return ctx.unsupportedHere("only float32 is supported");
  EDGEOPT_ASSIGN_OR_RETURN(int64_t axis, normalizeAxis(ctx.node.attrInt("axis", -1), x->rank(), ctx));
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < axis; ++i) outer *= x->dims()[i];
  for (int64_t i = axis + 1; i < x->rank(); ++i) inner *= x->dims()[i];
  Tensor y(x->dtype(), x->dims());
  if (x->rank() > 0)
    ref::f32_softmax__scalar(outer, x->dims()[axis], inner, x->data<float>(), y.data<float>());
  else
    y.data<float>()[0] = 1.0f;
  ctx.outputs[0] = std::move(y);
  return Status::Ok();
}

enum class Reduce { kSum, kMean, kMax, kMin };

// ReduceMean/Max/Min (axes attribute at opset 17) and ReduceSum (axes input since opset 13).
// An empty reduction gives Sum 0, Mean NaN, Max the lowest value, Min the highest.
template <Reduce kKind>
Status runReduce(OpContext& ctx) {
  const Tensor* x = ctx.input(0);
  std::vector<int64_t> axes;
  bool axesGiven = false;
  if (kKind != Reduce::kSum) {
    if (ctx.node.hasAttr("axes")) { axes = ctx.node.attrInts("axes"); axesGiven = true; }
  } else if (const Tensor* a = ctx.input(1)) {
    axes = a->toInt64Vector();
    axesGiven = true;
  }
  const bool keepdims = ctx.node.attrInt("keepdims", 1) != 0;
  const bool noop = ctx.node.attrInt("noop_with_empty_axes", 0) != 0;
  const int64_t rank = x->rank();
  std::vector<bool> reduced(static_cast<size_t>(rank), false);
  if ((!axesGiven || axes.empty())) {
    if (noop) { ctx.outputs[0] = *x; return Status::Ok(); }
    std::fill(reduced.begin(), reduced.end(), true);
  }
  for (int64_t a : axes) {
    EDGEOPT_ASSIGN_OR_RETURN(int64_t ax, normalizeAxis(a, rank, ctx));
    reduced[static_cast<size_t>(ax)] = true;
  }
  std::vector<int64_t> keptDims, outDims;
  int64_t count = 1;
  for (int64_t i = 0; i < rank; ++i) {
    keptDims.push_back(reduced[i] ? 1 : x->dims()[i]);
    if (reduced[i]) count *= x->dims()[i];
    if (!reduced[i] || keepdims) outDims.push_back(keptDims.back());
  }
  Tensor y(x->dtype(), outDims);
  // Output offset of each input element: strides of the kept shape, 0 on reduced axes.
  std::vector<int64_t> ostride(static_cast<size_t>(rank), 0);
  for (int64_t i = rank - 1, s = 1; i >= 0; --i) {
    ostride[i] = reduced[i] ? 0 : s;
    s *= keptDims[i];
  }
  bool ok = dispatchNumeric(x->dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    constexpr bool kExtremum = kKind == Reduce::kMax || kKind == Reduce::kMin;
    using Acc = std::conditional_t<std::is_floating_point_v<T> || kExtremum, T, int64_t>;
    Acc init{0};
    if constexpr (kKind == Reduce::kMax)
      init = std::is_floating_point_v<T> ? -std::numeric_limits<T>::infinity() : std::numeric_limits<T>::lowest();
    if constexpr (kKind == Reduce::kMin)
      init = std::is_floating_point_v<T> ? std::numeric_limits<T>::infinity() : std::numeric_limits<T>::max();
    std::vector<Acc> acc(static_cast<size_t>(y.numel()), init);
    std::vector<int64_t> idx(static_cast<size_t>(rank), 0);
    int64_t off = 0;
    const T* xp = x->data<T>();
    for (int64_t i = 0; i < x->numel(); ++i) {
      if constexpr (kKind == Reduce::kMax) acc[off] = std::isnan(static_cast<double>(xp[i])) || xp[i] > acc[off] ? xp[i] : acc[off];
      else if constexpr (kKind == Reduce::kMin) acc[off] = std::isnan(static_cast<double>(xp[i])) || xp[i] < acc[off] ? xp[i] : acc[off];
      else acc[off] += static_cast<Acc>(xp[i]);
      for (int64_t a = rank - 1; a >= 0; --a) {
        off += ostride[a];
        if (++idx[a] < x->dims()[a]) break;
        off -= ostride[a] * x->dims()[a];
        idx[a] = 0;
      }
    }
    for (int64_t i = 0; i < y.numel(); ++i) {
      if constexpr (kKind == Reduce::kMean) {
        if constexpr (std::is_floating_point_v<T>)
          y.data<T>()[i] = count ? acc[i] / static_cast<T>(count) : std::numeric_limits<T>::quiet_NaN();
        else
          y.data<T>()[i] = count ? static_cast<T>(acc[i] / count) : T{0};
      } else {
        y.data<T>()[i] = static_cast<T>(acc[i]);
      }
    }
  });
  if (!ok) return ctx.unsupportedHere(std::string("dtype ") + ir::dtypeName(x->dtype()));
  ctx.outputs[0] = std::move(y);
  return Status::Ok();
}

// Max and Min: any number of inputs of one dtype, broadcast together (numpy rules); NaN wins.
template <bool kMax>
Status runExtremum(OpContext& ctx) {
  if (ctx.inputs.empty() || !ctx.input(0)) return ctx.invalid("needs at least one input");
  Tensor y = *ctx.input(0);
  for (size_t k = 1; k < ctx.inputs.size(); ++k) {
    const Tensor* b = ctx.input(k);
    if (!b) return ctx.invalid("input " + std::to_string(k) + " is missing");
    if (b->dtype() != y.dtype())
      return ctx.invalid(std::string("operand dtypes differ: ") + ir::dtypeName(y.dtype()) + " and " + ir::dtypeName(b->dtype()));
    EDGEOPT_ASSIGN_OR_RETURN(auto out, broadcastShapes(y.dims(), b->dims(), ctx));
    Tensor next(y.dtype(), out);
    auto sa = broadcastStrides(y.dims(), out), sb = broadcastStrides(b->dims(), out);
    const bool ok = dispatchNumeric(y.dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      broadcastApply(out, y.data<T>(), sa, b->data<T>(), sb, next.data<T>(), [](T p, T q) {
        if (std::isnan(static_cast<double>(p))) return p;
        if (std::isnan(static_cast<double>(q))) return q;
        return kMax ? (p < q ? q : p) : (q < p ? q : p);
      });
    });
    if (!ok) return ctx.unsupportedHere(std::string("dtype ") + ir::dtypeName(y.dtype()));
    y = std::move(next);
  }
  ctx.outputs[0] = std::move(y);
  return Status::Ok();
}

// ---- Cast ----
template <typename D, typename S>
D convertNumber(S v) {
  if constexpr (std::is_same_v<D, bool>) {
    return v != S{0};
  } else if constexpr (std::is_integral_v<D> && std::is_floating_point_v<S>) {
    // Out-of-range and NaN are undefined in ONNX; saturate so no C++ UB is reached.
    if (std::isnan(v)) return D{0};
    if (v <= static_cast<S>(std::numeric_limits<D>::lowest())) return std::numeric_limits<D>::lowest();
    if (v >= static_cast<S>(std::numeric_limits<D>::max())) return std::numeric_limits<D>::max();
    return static_cast<D>(v);
  } else {
    return static_cast<D>(v);
  }
}

template <typename F>
bool dispatchCastable(DType t, F&& f) {
  if (t == DType::kBool) { f(TypeTag<bool>{}); return true; }
  if (t == DType::kFloat16) { f(TypeTag<uint16_t>{}, true); return true; }
  return dispatchNumeric(t, f);
}

Status runCast(OpContext& ctx) {
  const Tensor* x = ctx.input(0);
  const auto to = static_cast<DType>(ctx.node.attrInt("to", 0));
  if (!ir::isDenseDType(to) || to == DType::kBFloat16)
    return ctx.unsupportedHere(std::string("cast to ") + ir::dtypeName(to));
  Tensor y(to, x->dims());
  const int64_t n = x->numel();
  auto castLoop = [&](auto src, auto dst) {
    using S = typename decltype(src)::type;
    using D = typename decltype(dst)::type;
    const bool srcHalf = x->dtype() == DType::kFloat16, dstHalf = to == DType::kFloat16;
    for (int64_t i = 0; i < n; ++i) {
      if (srcHalf || dstHalf) {
        const float f = srcHalf ? ref::f16_to_f32(x->data<uint16_t>()[i])
                                : convertNumber<float>(x->data<S>()[i]);
        if (dstHalf) y.data<uint16_t>()[i] = ref::f32_to_f16(f);
        else y.data<D>()[i] = convertNumber<D>(f);
      } else {
        y.data<D>()[i] = convertNumber<D>(x->data<S>()[i]);
      }
    }
  };
  bool ok = false;
  auto withSrc = [&](auto src, bool = false) {
    ok = dispatchCastable(to, [&](auto dst, bool = false) { castLoop(src, dst); });
  };
  if (!dispatchCastable(x->dtype(), withSrc) || !ok)
    return ctx.unsupportedHere(std::string("cast from ") + ir::dtypeName(x->dtype()) + " to " +
                               ir::dtypeName(to));
  ctx.outputs[0] = std::move(y);
  return Status::Ok();
}

Status checkCast(const ir::Node& n) {
  const auto to = static_cast<DType>(n.attrInt("to", 0));
  const DType from = knownInputDType(n, 0);
  for (DType t : {to, from})
    if (t != DType::kUndefined && (!ir::isDenseDType(t) || t == DType::kBFloat16))
      return unsupported("node " + n.describe() + ": cast " + (t == to ? "to " : "from ") +
                         ir::dtypeName(t) + " is not supported");
  return Status::Ok();
}

template <BinOp kOp>
Status checkArith(const ir::Node& n) { return checkNumericInput(n); }

// ---- QuantizeLinear / DequantizeLinear (opset 13: per tensor, or per axis with 1-D scales) ----

// Scale and zero point for every element of x: per tensor, or per index along `axis`.
struct QuantAxis {
  int64_t axis = -1;  // -1: per tensor
  int64_t inner = 1;  // elements per index along the axis
  int64_t len = 1;
};

StatusOr<QuantAxis> quantAxis(const OpContext& ctx, const Tensor& x, const Tensor& scale, const Tensor* zp) {
  QuantAxis qa;
  if (scale.numel() == 1 && scale.rank() <= 1) return qa;
  if (scale.rank() != 1) return ctx.invalid("scale must be a scalar or 1-D");
  EDGEOPT_ASSIGN_OR_RETURN(qa.axis, normalizeAxis(ctx.node.attrInt("axis", 1), x.rank(), ctx));
  qa.len = x.dims()[qa.axis];
  if (scale.numel() != qa.len)
    return ctx.invalid("scale has " + std::to_string(scale.numel()) + " values for axis " + std::to_string(qa.axis) +
                       " of size " + std::to_string(qa.len));
  if (zp && zp->numel() != qa.len) return ctx.invalid("zero point and scale differ in length");
  for (int64_t i = qa.axis + 1; i < x.rank(); ++i) qa.inner *= x.dims()[i];
  return qa;
}

int64_t quantIndex(const QuantAxis& qa, int64_t i) { return qa.axis < 0 ? 0 : (i / qa.inner) % qa.len; }

Status runQuantizeLinear(OpContext& ctx) {
  const Tensor& x = *ctx.input(0);
  const Tensor& scale = *ctx.input(1);
  const Tensor* zp = ctx.input(2);
  if (x.dtype() != DType::kFloat32 || scale.dtype() != DType::kFloat32)
    return ctx.unsupportedHere("float32 input and scale only");
  const DType out = zp ? zp->dtype() : DType::kUInt8;
  if (out != DType::kInt8 && out != DType::kUInt8) return ctx.unsupportedHere(std::string("output type ") + ir::dtypeName(out));
  EDGEOPT_ASSIGN_OR_RETURN(QuantAxis qa, quantAxis(ctx, x, scale, zp));
  Tensor y(out, x.dims());
  for (int64_t i = 0; i < x.numel(); ++i) {
    const int64_t c = quantIndex(qa, i);
    const float s = scale.data<float>()[c];
    const int32_t z = zp ? static_cast<int32_t>(zp->getAsInt64(c)) : 0;
    if (out == DType::kInt8) y.data<int8_t>()[i] = ref::quantizeLinear<int8_t>(x.data<float>()[i], s, z);
    else y.data<uint8_t>()[i] = ref::quantizeLinear<uint8_t>(x.data<float>()[i], s, z);
  }
  ctx.outputs[0] = std::move(y);
  return Status::Ok();
}

Status runDequantizeLinear(OpContext& ctx) {
  const Tensor& x = *ctx.input(0);
  const Tensor& scale = *ctx.input(1);
  const Tensor* zp = ctx.input(2);
  if (x.dtype() != DType::kInt8 && x.dtype() != DType::kUInt8 && x.dtype() != DType::kInt32)
    return ctx.unsupportedHere(std::string("input type ") + ir::dtypeName(x.dtype()));
  if (scale.dtype() != DType::kFloat32) return ctx.unsupportedHere("float32 scale only");
  if (zp && zp->dtype() != x.dtype()) return ctx.invalid("zero point dtype differs from the input's");
  EDGEOPT_ASSIGN_OR_RETURN(QuantAxis qa, quantAxis(ctx, x, scale, zp));
  Tensor y(DType::kFloat32, x.dims());
  for (int64_t i = 0; i < x.numel(); ++i) {
    const int64_t c = quantIndex(qa, i);
    const int64_t z = zp ? zp->getAsInt64(c) : 0;
    y.data<float>()[i] = static_cast<float>(x.getAsInt64(i) - z) * scale.data<float>()[c];
  }
  ctx.outputs[0] = std::move(y);
  return Status::Ok();
}

}  // namespace

void addMathOps(std::vector<OpDef>& t) {
  t.push_back({"Add", checkArith<BinOp::kAdd>, runArith<BinOp::kAdd>});
  t.push_back({"Sub", checkArith<BinOp::kSub>, runArith<BinOp::kSub>});
  t.push_back({"Mul", checkArith<BinOp::kMul>, runArith<BinOp::kMul>});
  t.push_back({"Div", checkArith<BinOp::kDiv>, runArith<BinOp::kDiv>});
  t.push_back({"Pow", checkNumericInput, runPow});
  t.push_back({"Sqrt", checkFloatInput, runSqrt});
  t.push_back({"Exp", checkFloatInput, runExp});
  t.push_back({"Erf", checkFloatInput, runErf});
  t.push_back({"Tanh", checkFloatInput, runTanh});
  t.push_back({"Sigmoid", checkFloatInput, runSigmoid});
  t.push_back({"HardSigmoid", checkFloatInput, runHardSigmoid});
  t.push_back({"HardSwish", checkFloatInput, runHardSwish});
  t.push_back({"LeakyRelu", checkFloatInput, runLeakyRelu});
  t.push_back({"Neg", checkNumericInput, runNeg});
  t.push_back({"Abs", checkNumericInput, runAbs});
  t.push_back({"Relu", checkNumericInput, runRelu});
  t.push_back({"Clip", checkNumericInput, runClip});
  t.push_back({"Softmax", checkFloat32Input, runSoftmax});
  t.push_back({"Log", checkFloatInput, runLog});
  t.push_back({"Max", checkNumericInput, runExtremum<true>});
  t.push_back({"Min", checkNumericInput, runExtremum<false>});
  t.push_back({"ReduceMean", checkNumericInput, runReduce<Reduce::kMean>});
  t.push_back({"ReduceSum", checkNumericInput, runReduce<Reduce::kSum>});
  t.push_back({"ReduceMax", checkNumericInput, runReduce<Reduce::kMax>});
  t.push_back({"ReduceMin", checkNumericInput, runReduce<Reduce::kMin>});
  t.push_back({"Cast", checkCast, runCast});
  t.push_back({"QuantizeLinear", nullptr, runQuantizeLinear});
  t.push_back({"DequantizeLinear", nullptr, runDequantizeLinear});
}

}  // namespace edgeopt::runtime
