// Shape and data-movement ops. They move elements as bytes, so every dense dtype works.
#include <algorithm>
#include <cstring>
#include <numeric>

#include "compiler/runtime/op_kernel.h"
#include "kernels/ref/layout.h"

namespace edgeopt::runtime {
namespace {
using ir::DType;
using ir::Tensor;
namespace ref = kernels::ref;

// Byte strides of a row-major tensor.
std::vector<int64_t> byteStrides(const Tensor& t) {
  std::vector<int64_t> s(t.dims().size());
  int64_t acc = static_cast<int64_t>(ir::dtypeSize(t.dtype()));
  for (size_t i = s.size(); i-- > 0;) {
    s[i] = acc;
    acc *= t.dims()[i];
  }
  return s;
}

// Gathers into a tensor of `outDims` through per-axis byte-offset tables (see layout.h).
Tensor gatherAxes(const Tensor& src, const std::vector<int64_t>& outDims,
                  const std::vector<std::vector<int64_t>>& offsets, const void* fill = nullptr) {
  Tensor y(src.dtype(), outDims);
  std::vector<const int64_t*> ptrs;
  for (const auto& o : offsets) ptrs.push_back(o.data());
  static const uint64_t zero = 0;
  if (y.numel() > 0)
    ref::gather_by_axis_offsets(static_cast<int>(outDims.size()), outDims.data(), ptrs.data(),
                                ir::dtypeSize(src.dtype()), src.rawData(), y.rawData(),
                                fill ? fill : &zero);
  return y;
}

StatusOr<std::vector<int64_t>> int64Input(const OpContext& ctx, size_t i, const char* what) {
  const Tensor* t = ctx.input(i);
  if (!t) return ctx.invalid(std::string(what) + " is missing");
  if (t->dtype() != DType::kInt64 && t->dtype() != DType::kInt32)
    return ctx.invalid(std::string(what) + " must be int64 or int32");
  return t->toInt64Vector();
}

Status runIdentity(OpContext& ctx) {
  ctx.outputs[0] = *ctx.input(0);
  return Status::Ok();
}

Status runDropout(OpContext& ctx) {
  // Training mode drops elements at random; only its deterministic case (ratio 0) is run.
  const Tensor* ratio = ctx.input(1);
  if (const Tensor* training = ctx.input(2))
    if (training->numel() > 0 && training->getAsInt64(0) != 0 &&
        !(ratio && ratio->numel() == 1 && ratio->getAsDouble(0) == 0.0))
      return ctx.unsupportedHere("training_mode=true with a non-zero ratio is not supported (inference only)");
  ctx.outputs[0] = *ctx.input(0);
  if (ctx.outputs.size() > 1) {
    Tensor mask(DType::kBool, ctx.input(0)->dims());
    std::fill(mask.data<bool>(), mask.data<bool>() + mask.numel(), true);
    ctx.outputs[1] = std::move(mask);
  }
  return Status::Ok();
}

Status checkConstant(const ir::Node& n) {
  for (const char* a : {"value", "value_float", "value_floats", "value_int", "value_ints"})
    if (n.hasAttr(a)) return Status::Ok();
  return unsupported("node " + n.describe() + ": only tensor, float(s) and int(s) constants are supported");
}

Status runConstant(OpContext& ctx) {
  const ir::Node& n = ctx.node;
  if (const ir::Attribute* a = n.attr("value")) ctx.outputs[0] = a->t();
  else if (n.hasAttr("value_float")) ctx.outputs[0] = Tensor::scalar<float>(n.attrFloat("value_float", 0));
  else if (n.hasAttr("value_int")) ctx.outputs[0] = Tensor::scalar<int64_t>(n.attrInt("value_int", 0));
  else if (n.hasAttr("value_floats")) {
    auto v = n.attrFloats("value_floats");
    ctx.outputs[0] = Tensor::fromVector<float>({static_cast<int64_t>(v.size())}, v);
  } else {
    auto v = n.attrInts("value_ints");
    ctx.outputs[0] = Tensor::fromVector<int64_t>({static_cast<int64_t>(v.size())}, v);
  }
  return Status::Ok();
}

Status runConcat(OpContext& ctx) {
  const Tensor& first = *ctx.input(0);
  if (!ctx.node.hasAttr("axis")) return ctx.invalid("axis is required");
  EDGEOPT_ASSIGN_OR_RETURN(int64_t axis, normalizeAxis(ctx.node.attrInt("axis", 0), first.rank(), ctx));
  std::vector<int64_t> out = first.dims();
  out[axis] = 0;
  for (const Tensor* t : ctx.inputs) {
    if (!t) continue;
    if (t->dtype() != first.dtype() || t->rank() != first.rank())
      return ctx.invalid("inputs differ in dtype or rank");
    for (int64_t i = 0; i < t->rank(); ++i)
      if (i != axis && t->dims()[i] != first.dims()[i])
        return ctx.invalid("input " + ir::dimsToString(t->dims()) + " does not match " +
                           ir::dimsToString(first.dims()) + " off the concat axis");
    out[axis] += t->dims()[axis];
  }
  Tensor y(first.dtype(), out);
  const int64_t outer = std::accumulate(out.begin(), out.begin() + axis, int64_t{1}, std::multiplies<>());
  const size_t esz = ir::dtypeSize(first.dtype());
  const int64_t innerOut = y.numel() / std::max<int64_t>(outer, 1);
  auto* dst = static_cast<uint8_t*>(y.rawData());
  int64_t offset = 0;
  for (const Tensor* t : ctx.inputs) {
    if (!t) continue;
    const int64_t block = t->numel() / std::max<int64_t>(outer, 1);
    const auto* src = static_cast<const uint8_t*>(t->rawData());
    for (int64_t o = 0; o < outer && block > 0; ++o)
      std::memcpy(dst + (o * innerOut + offset) * esz, src + o * block * esz, block * esz);
    offset += block;
  }
  ctx.outputs[0] = std::move(y);
  return Status::Ok();
}

Status runSplit(OpContext& ctx) {
  const Tensor& x = *ctx.input(0);
  EDGEOPT_ASSIGN_OR_RETURN(int64_t axis, normalizeAxis(ctx.node.attrInt("axis", 0), x.rank(), ctx));
  const int64_t n = static_cast<int64_t>(ctx.outputs.size()), len = x.dims()[axis];
  std::vector<int64_t> parts;
  if (ctx.input(1)) {
    EDGEOPT_ASSIGN_OR_RETURN(parts, int64Input(ctx, 1, "split"));
    if (static_cast<int64_t>(parts.size()) != n)
      return ctx.invalid("split has " + std::to_string(parts.size()) + " values for " +
                         std::to_string(n) + " outputs");
    int64_t sum = 0;
    for (int64_t p : parts) {
      if (p < 0) return ctx.invalid("split sizes must be non-negative");
      sum += p;
    }
    if (sum != len) return ctx.invalid("split sizes sum to " + std::to_string(sum) + ", axis has " + std::to_string(len));
  } else {
    if (len % n) return ctx.invalid("axis of " + std::to_string(len) + " does not split evenly into " + std::to_string(n));
    parts.assign(static_cast<size_t>(n), len / n);
  }
  const int64_t outer = std::accumulate(x.dims().begin(), x.dims().begin() + axis, int64_t{1}, std::multiplies<>());
  const int64_t inner = x.numel() / std::max<int64_t>(outer * len, 1);
  const size_t esz = ir::dtypeSize(x.dtype());
  const auto* src = static_cast<const uint8_t*>(x.rawData());
  int64_t offset = 0;
  for (int64_t i = 0; i < n; ++i) {
    std::vector<int64_t> d = x.dims();
    d[axis] = parts[i];
    Tensor y(x.dtype(), d);
    const int64_t block = parts[i] * inner;
    for (int64_t o = 0; o < outer && block > 0; ++o)
      std::memcpy(static_cast<uint8_t*>(y.rawData()) + o * block * esz,
                  src + (o * len * inner + offset * inner) * esz, block * esz);
    offset += parts[i];
    ctx.outputs[i] = std::move(y);
  }
  return Status::Ok();
}

Status reshapeTo(OpContext& ctx, const Tensor& x, std::vector<int64_t> dims) {
  if (ir::numElements(dims) != x.numel())
    return ctx.invalid("cannot reshape " + ir::dimsToString(x.dims()) + " (" +
                       std::to_string(x.numel()) + " elements) to " + ir::dimsToString(dims));
  Tensor y = x;
  y.reshape(std::move(dims));
  ctx.outputs[0] = std::move(y);
  return Status::Ok();
}

Status runReshape(OpContext& ctx) {
  const Tensor& x = *ctx.input(0);
  EDGEOPT_ASSIGN_OR_RETURN(auto shape, int64Input(ctx, 1, "shape"));
  const bool allowZero = ctx.node.attrInt("allowzero", 0) != 0;
  int64_t inferred = -1, known = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == 0 && !allowZero) {
      if (static_cast<int64_t>(i) >= x.rank()) return ctx.invalid("shape copies a dimension the input lacks");
      shape[i] = x.dims()[i];
    }
    if (shape[i] == -1) {
      if (inferred >= 0) return ctx.invalid("shape has more than one -1");
      inferred = static_cast<int64_t>(i);
    } else if (shape[i] < 0) {
      return ctx.invalid("shape has a negative dimension " + std::to_string(shape[i]));
    } else {
      known *= shape[i];
    }
  }
  if (inferred >= 0) {
    if (known == 0 || x.numel() % known)
      return ctx.invalid("cannot infer the -1 dimension reshaping " + ir::dimsToString(x.dims()) +
                         " to " + ir::dimsToString(shape));
    shape[inferred] = x.numel() / known;
  }
  return reshapeTo(ctx, x, shape);
}

Status runFlatten(OpContext& ctx) {
  const Tensor& x = *ctx.input(0);
  int64_t axis = ctx.node.attrInt("axis", 1);
  if (axis < 0) axis += x.rank();
  if (axis < 0 || axis > x.rank()) return ctx.invalid("axis out of range");
  // Products of the dims before and after the axis (not numel / outer, which an empty batch breaks).
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < axis; ++i) outer *= x.dims()[i];
  for (int64_t i = axis; i < x.rank(); ++i) inner *= x.dims()[i];
  return reshapeTo(ctx, x, {outer, inner});
}

Status runTranspose(OpContext& ctx) {
  const Tensor& x = *ctx.input(0);
  const int64_t r = x.rank();
  std::vector<int64_t> perm(static_cast<size_t>(r));
  for (int64_t i = 0; i < r; ++i) perm[i] = r - 1 - i;
  perm = ctx.node.attrInts("perm", perm);
  std::vector<int64_t> sorted = perm;
  std::sort(sorted.begin(), sorted.end());
  for (int64_t i = 0; i < r; ++i)
    if (static_cast<int64_t>(sorted.size()) != r || sorted[i] != i)
      return ctx.invalid("perm " + ir::dimsToString(perm) + " is not a permutation of rank " + std::to_string(r));
  auto strides = byteStrides(x);
  std::vector<int64_t> out(static_cast<size_t>(r));
  std::vector<std::vector<int64_t>> offsets(static_cast<size_t>(r));
  for (int64_t a = 0; a < r; ++a) {
    out[a] = x.dims()[perm[a]];
    for (int64_t i = 0; i < out[a]; ++i) offsets[a].push_back(i * strides[perm[a]]);
  }
  ctx.outputs[0] = gatherAxes(x, out, offsets);
  return Status::Ok();
}

Status runSqueeze(OpContext& ctx) {
  const Tensor& x = *ctx.input(0);
  std::vector<bool> drop(static_cast<size_t>(x.rank()), false);
  if (ctx.input(1)) {
    EDGEOPT_ASSIGN_OR_RETURN(auto axes, int64Input(ctx, 1, "axes"));
    for (int64_t a : axes) {
      EDGEOPT_ASSIGN_OR_RETURN(int64_t ax, normalizeAxis(a, x.rank(), ctx));
      if (x.dims()[ax] != 1)
        return ctx.invalid("cannot squeeze axis " + std::to_string(a) + " of size " + std::to_string(x.dims()[ax]));
      drop[ax] = true;
    }
  } else {
    for (int64_t i = 0; i < x.rank(); ++i) drop[i] = x.dims()[i] == 1;
  }
  std::vector<int64_t> out;
  for (int64_t i = 0; i < x.rank(); ++i)
    if (!drop[i]) out.push_back(x.dims()[i]);
  return reshapeTo(ctx, x, out);
}

Status runUnsqueeze(OpContext& ctx) {
  const Tensor& x = *ctx.input(0);
  EDGEOPT_ASSIGN_OR_RETURN(auto axes, int64Input(ctx, 1, "axes"));
  const int64_t r = x.rank() + static_cast<int64_t>(axes.size());
  std::vector<bool> inserted(static_cast<size_t>(r), false);
  for (int64_t a : axes) {
    EDGEOPT_ASSIGN_OR_RETURN(int64_t ax, normalizeAxis(a, r, ctx));
    if (inserted[ax]) return ctx.invalid("axes repeat " + std::to_string(a));
    inserted[ax] = true;
  }
  std::vector<int64_t> out;
  size_t k = 0;
  for (int64_t i = 0; i < r; ++i) out.push_back(inserted[i] ? 1 : x.dims()[k++]);
  return reshapeTo(ctx, x, out);
}

Status runShape(OpContext& ctx) {
  const Tensor& x = *ctx.input(0);
  const int64_t r = x.rank();
  auto clampAxis = [r](int64_t a) { return std::min(std::max(a < 0 ? a + r : a, int64_t{0}), r); };
  const int64_t start = clampAxis(ctx.node.attrInt("start", 0));
  const int64_t end = clampAxis(ctx.node.attrInt("end", r));
  std::vector<int64_t> dims;
  for (int64_t i = start; i < end; ++i) dims.push_back(x.dims()[i]);
  ctx.outputs[0] = Tensor::fromVector<int64_t>({static_cast<int64_t>(dims.size())}, dims);
  return Status::Ok();
}

Status runGather(OpContext& ctx) {
  const Tensor& x = *ctx.input(0);
  const Tensor& indices = *ctx.input(1);
  if (indices.dtype() != DType::kInt64 && indices.dtype() != DType::kInt32)
    return ctx.invalid("indices must be int32 or int64");
  if (x.rank() < 1) return ctx.invalid("data must have rank >= 1");
  EDGEOPT_ASSIGN_OR_RETURN(int64_t axis, normalizeAxis(ctx.node.attrInt("axis", 0), x.rank(), ctx));
  std::vector<int64_t> out(x.dims().begin(), x.dims().begin() + axis);
  out.insert(out.end(), indices.dims().begin(), indices.dims().end());
  out.insert(out.end(), x.dims().begin() + axis + 1, x.dims().end());
  Tensor y(x.dtype(), out);
  const int64_t len = x.dims()[axis];
  const int64_t outer = std::accumulate(x.dims().begin(), x.dims().begin() + axis, int64_t{1}, std::multiplies<>());
  const int64_t inner = x.numel() / std::max<int64_t>(outer * len, 1);
  const size_t esz = ir::dtypeSize(x.dtype());
  const auto idx = indices.toInt64Vector();
  const auto* src = static_cast<const uint8_t*>(x.rawData());
  auto* dst = static_cast<uint8_t*>(y.rawData());
  for (int64_t o = 0; o < outer; ++o)
    for (size_t j = 0; j < idx.size(); ++j) {
      int64_t i = idx[j] < 0 ? idx[j] + len : idx[j];
      if (i < 0 || i >= len)
        return ctx.invalid("index " + std::to_string(idx[j]) + " is out of range for axis of " + std::to_string(len));
      std::memcpy(dst + (o * idx.size() + j) * inner * esz, src + (o * len + i) * inner * esz, inner * esz);
    }
  ctx.outputs[0] = std::move(y);
  return Status::Ok();
}

Status runSlice(OpContext& ctx) {
  const Tensor& x = *ctx.input(0);
  const int64_t r = x.rank();
  EDGEOPT_ASSIGN_OR_RETURN(auto starts, int64Input(ctx, 1, "starts"));
  EDGEOPT_ASSIGN_OR_RETURN(auto ends, int64Input(ctx, 2, "ends"));
  std::vector<int64_t> axes(starts.size()), steps(starts.size(), 1);
  std::iota(axes.begin(), axes.end(), 0);
  if (ctx.input(3)) { EDGEOPT_ASSIGN_OR_RETURN(axes, int64Input(ctx, 3, "axes")); }
  if (ctx.input(4)) { EDGEOPT_ASSIGN_OR_RETURN(steps, int64Input(ctx, 4, "steps")); }
  if (ends.size() != starts.size() || axes.size() != starts.size() || steps.size() != starts.size())
    return ctx.invalid("starts, ends, axes and steps differ in length");
  std::vector<int64_t> begin(static_cast<size_t>(r), 0), step(static_cast<size_t>(r), 1), out = x.dims();
  std::vector<bool> seen(static_cast<size_t>(r), false);
  for (size_t k = 0; k < starts.size(); ++k) {
    EDGEOPT_ASSIGN_OR_RETURN(int64_t a, normalizeAxis(axes[k], r, ctx));
    if (seen[a]) return ctx.invalid("axis " + std::to_string(axes[k]) + " repeats");
    seen[a] = true;
    const int64_t dim = x.dims()[a], st = steps[k];
    if (st == 0) return ctx.invalid("step must not be 0");
    int64_t s = starts[k], e = ends[k];
    if (s < 0) s += dim;
    if (e < 0) e += dim;
    if (st > 0) {
      s = std::clamp<int64_t>(s, 0, dim);
      e = std::clamp<int64_t>(e, 0, dim);
      out[a] = e > s ? (e - s + st - 1) / st : 0;
    } else {
      s = std::clamp<int64_t>(s, 0, dim - 1);
      e = std::clamp<int64_t>(e, -1, dim - 1);
      out[a] = s > e ? (s - e + (-st) - 1) / (-st) : 0;
    }
    begin[a] = s;
    step[a] = st;
  }
  auto strides = byteStrides(x);
  std::vector<std::vector<int64_t>> offsets(static_cast<size_t>(r));
  for (int64_t a = 0; a < r; ++a)
    for (int64_t i = 0; i < out[a]; ++i) offsets[a].push_back((begin[a] + i * step[a]) * strides[a]);
  ctx.outputs[0] = gatherAxes(x, out, offsets);
  return Status::Ok();
}

Status checkPad(const ir::Node& n) {
  const std::string mode = n.attrString("mode", "constant");
  if (mode != "constant" && mode != "reflect" && mode != "edge")
    return unsupported("node " + n.describe() + ": mode '" + mode + "' is not supported");
  return Status::Ok();
}

Status runPad(OpContext& ctx) {
  const Tensor& x = *ctx.input(0);
  const int64_t r = x.rank();
  EDGEOPT_ASSIGN_OR_RETURN(auto pads, int64Input(ctx, 1, "pads"));
  if (static_cast<int64_t>(pads.size()) != 2 * r)
    return ctx.invalid("pads has " + std::to_string(pads.size()) + " values, expected " + std::to_string(2 * r));
  const std::string mode = ctx.node.attrString("mode", "constant");
  std::vector<uint8_t> fill(ir::dtypeSize(x.dtype()), 0);
  if (const Tensor* cv = ctx.input(2)) {
    if (cv->dtype() != x.dtype()) return ctx.invalid("constant_value dtype differs from the input's");
    if (cv->numel() >= 1) std::memcpy(fill.data(), cv->rawData(), fill.size());
  }
  auto strides = byteStrides(x);
  std::vector<int64_t> out(static_cast<size_t>(r));
  // The output's size follows run-time pads: checked (overflow, the tensor limit) before the
  // per-axis tables below, which hold one entry per output index, are made.
  for (int64_t a = 0; a < r; ++a) {
    if (__builtin_add_overflow(x.dims()[a], pads[a], &out[a]) || __builtin_add_overflow(out[a], pads[r + a], &out[a]))
      return ctx.invalid("pads overflow axis " + std::to_string(a));
    if (out[a] < 0) return ctx.invalid("pads make axis " + std::to_string(a) + " negative");
  }
  if (std::string why = ir::tensorSizeProblem(out, x.dtype()); !why.empty()) return ctx.invalid("its output: " + why);
  if (ir::numElements(out) == 0) {
    ctx.outputs[0] = Tensor(x.dtype(), out);
    return Status::Ok();
  }
  std::vector<std::vector<int64_t>> offsets(static_cast<size_t>(r));
  for (int64_t a = 0; a < r; ++a) {
    const int64_t n = x.dims()[a];
    if (mode != "constant" && n == 0 && out[a] > 0)
      return ctx.invalid("cannot " + mode + "-pad an empty axis");
    for (int64_t i = 0; i < out[a]; ++i) {
      int64_t j = i - pads[a];
      if (j < 0 || j >= n) {
        if (mode == "constant") { offsets[a].push_back(ref::kFillOffset); continue; }
        if (mode == "edge") j = std::clamp<int64_t>(j, 0, n - 1);
        else if (n == 1) j = 0;
        else {
          const int64_t period = 2 * (n - 1);
          j = ((j % period) + period) % period;
          if (j >= n) j = period - j;
        }
      }
      offsets[a].push_back(j * strides[a]);
    }
  }
  ctx.outputs[0] = gatherAxes(x, out, offsets, fill.data());
  return Status::Ok();
}

}  // namespace

void addShapeOps(std::vector<OpDef>& t) {
  t.push_back({"Identity", nullptr, runIdentity});
  t.push_back({"Dropout", nullptr, runDropout});
  t.push_back({"Constant", checkConstant, runConstant});
  t.push_back({"Concat", nullptr, runConcat});
  t.push_back({"Split", nullptr, runSplit});
  t.push_back({"Reshape", nullptr, runReshape});
  t.push_back({"Flatten", nullptr, runFlatten});
  t.push_back({"Transpose", nullptr, runTranspose});
  t.push_back({"Squeeze", nullptr, runSqueeze});
  t.push_back({"Unsqueeze", nullptr, runUnsqueeze});
  t.push_back({"Shape", nullptr, runShape});
  t.push_back({"Gather", nullptr, runGather});
  t.push_back({"Slice", nullptr, runSlice});
  t.push_back({"Pad", checkPad, runPad});
}

}  // namespace edgeopt::runtime
