// Convolution, matrix multiplication, pooling, normalization and resampling.
#include <algorithm>
#include <cmath>

#include "compiler/ir/edgeopt_ops.h"
#include "compiler/runtime/executor.h"
#include "compiler/runtime/op_kernel.h"
#include "kernels/ref/activation.h"
#include "kernels/ref/conv.h"
#include "kernels/ref/gemm.h"
#include "kernels/ref/normalization.h"
#include "kernels/ref/pool.h"
#include "kernels/ref/quant.h"
#include "kernels/ref/resize.h"

namespace edgeopt::runtime {
namespace {
using ir::DType;
using ir::Tensor;
namespace ref = kernels::ref;
constexpr int kMax = ref::kMaxSpatial;

Status requireFloat32(const OpContext& ctx, size_t i) {
  const Tensor* t = ctx.input(i);
  if (t && t->dtype() != DType::kFloat32)
    return ctx.unsupportedHere(std::string("input ") + std::to_string(i) + " has dtype " +
                               ir::dtypeName(t->dtype()) + " (float32 only)");
  return Status::Ok();
}

Status checkFloat32(const ir::Node& n) {
  for (size_t i = 0; i < n.numInputs(); ++i) {
    DType t = knownInputDType(n, i);
    if (t != DType::kUndefined && t != DType::kFloat32 && i == 0)
      return unsupported("node " + n.describe() + ": dtype " + ir::dtypeName(t) +
                         " is not supported (float32 only)");
  }
  return Status::Ok();
}

Status checkConvLike(const ir::Node& n) {
  EDGEOPT_RETURN_IF_ERROR(checkFloat32(n));
  return checkFusedActivation(n);
}

// Window geometry of Conv and the pools along each spatial axis.
struct Window {
  std::vector<int64_t> in, kernel, stride, dilation, padBegin, padEnd, out;
};

// Resolves strides, dilations, pads and auto_pad and computes the output size per axis.
StatusOr<Window> resolveWindow(const OpContext& ctx, const std::vector<int64_t>& in,
                               const std::vector<int64_t>& kernel, bool ceilMode) {
  const ir::Node& n = ctx.node;
  const size_t r = in.size();
  Window w;
  w.in = in;
  w.kernel = kernel;
  w.stride = n.attrInts("strides", std::vector<int64_t>(r, 1));
  w.dilation = n.attrInts("dilations", std::vector<int64_t>(r, 1));
  std::vector<int64_t> pads = n.attrInts("pads", std::vector<int64_t>(2 * r, 0));
  if (w.stride.size() != r || w.dilation.size() != r || pads.size() != 2 * r || kernel.size() != r)
    return ctx.invalid("strides/dilations/pads/kernel_shape do not match " + std::to_string(r) +
                       " spatial axes");
  for (size_t i = 0; i < r; ++i)
    if (w.stride[i] < 1 || w.dilation[i] < 1 || kernel[i] < 1 || pads[i] < 0 || pads[r + i] < 0)
      return ctx.invalid("strides, dilations and kernel sizes must be >= 1 and pads >= 0");
  const std::string autoPad = n.attrString("auto_pad", "NOTSET");
  w.padBegin.assign(pads.begin(), pads.begin() + static_cast<long>(r));
  w.padEnd.assign(pads.begin() + static_cast<long>(r), pads.end());
  w.out.resize(r);
  for (size_t i = 0; i < r; ++i) {
    const int64_t extent = (kernel[i] - 1) * w.dilation[i] + 1;
    if (autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
      w.out[i] = (in[i] + w.stride[i] - 1) / w.stride[i];
      const int64_t total = std::max<int64_t>(0, (w.out[i] - 1) * w.stride[i] + extent - in[i]);
      w.padBegin[i] = autoPad == "SAME_UPPER" ? total / 2 : total - total / 2;
      w.padEnd[i] = total - w.padBegin[i];
      continue;
    }
    if (autoPad == "VALID") w.padBegin[i] = w.padEnd[i] = 0;
    else if (autoPad != "NOTSET") return ctx.invalid("unknown auto_pad '" + autoPad + "'");
    const int64_t span = in[i] + w.padBegin[i] + w.padEnd[i] - extent;
    if (span < 0)
      return ctx.invalid("window extent " + std::to_string(extent) + " exceeds padded input " +
                         std::to_string(in[i] + w.padBegin[i] + w.padEnd[i]) + " on spatial axis " +
                         std::to_string(i));
    if (ceilMode) {
      w.out[i] = (span + w.stride[i] - 1) / w.stride[i] + 1;
      // The last window must start inside the input or its leading padding.
      if ((w.out[i] - 1) * w.stride[i] >= in[i] + w.padBegin[i]) --w.out[i];
    } else {
      w.out[i] = span / w.stride[i] + 1;
    }
  }
  return w;
}

// Copies a window's spatial geometry into the kernel's fixed 3-axis form (leading axes of 1).
template <typename P>
void fillSpatial(P& p, const Window& w) {
  const size_t r = w.in.size(), off = kMax - r;
  for (size_t i = 0; i < r; ++i) {
    p.in[off + i] = w.in[i];
    p.out[off + i] = w.out[i];
    p.kernel[off + i] = w.kernel[i];
    p.stride[off + i] = w.stride[i];
    p.dilation[off + i] = w.dilation[i];
    p.pad_begin[off + i] = w.padBegin[i];
  }
}

Status checkSpatialRank(const OpContext& ctx, const std::vector<int64_t>& x) {
  if (x.size() < 3 || x.size() > 2 + kMax)
    return ctx.unsupportedHere("input rank " + std::to_string(x.size()) +
                               " (1-D to 3-D spatial inputs are supported)");
  return Status::Ok();
}

std::vector<int64_t> spatialOf(const std::vector<int64_t>& dims) {
  return std::vector<int64_t>(dims.begin() + 2, dims.end());
}
std::vector<int64_t> spatialOf(const Tensor& t) { return spatialOf(t.dims()); }

// The geometry of a convolution of x by weights w [M, C/group, k...] (bias b optional), from the
// node's attributes: kernel parameters and output dims. Shared by Conv and edgeopt.QConv.
struct ConvGeometry {
  ref::ConvParams params;
  std::vector<int64_t> outDims;
};

StatusOr<ConvGeometry> convGeometry(const OpContext& ctx, const std::vector<int64_t>& x, const std::vector<int64_t>& w,
                                    const std::vector<int64_t>* b) {
  EDGEOPT_RETURN_IF_ERROR(checkSpatialRank(ctx, x));
  const int64_t group = ctx.node.attrInt("group", 1);
  const int64_t C = x[1], M = w.empty() ? 0 : w[0];
  if (w.size() != x.size() || group < 1 || C % group || M % group || w[1] != C / group)
    return ctx.invalid("weight " + ir::dimsToString(w) + " does not fit input " +
                       ir::dimsToString(x) + " with group " + std::to_string(group));
  if (b && (b->size() != 1 || (*b)[0] != M))
    return ctx.invalid("bias " + ir::dimsToString(*b) + " must be [" + std::to_string(M) + "]");
  std::vector<int64_t> kernel = ctx.node.attrInts("kernel_shape", spatialOf(w));
  if (kernel != spatialOf(w))
    return ctx.invalid("kernel_shape " + ir::dimsToString(kernel) + " does not match weight " +
                       ir::dimsToString(w));
  EDGEOPT_ASSIGN_OR_RETURN(Window win, resolveWindow(ctx, spatialOf(x), kernel, false));
  ConvGeometry geo;
  geo.params.batch = x[0];
  geo.params.in_channels = C;
  geo.params.out_channels = M;
  geo.params.groups = group;
  fillSpatial(geo.params, win);
  geo.outDims = {geo.params.batch, M};
  geo.outDims.insert(geo.outDims.end(), win.out.begin(), win.out.end());
  return geo;
}

StatusOr<ConvGeometry> convGeometry(const OpContext& ctx, const Tensor& x, const Tensor& w, const Tensor* b) {
  return convGeometry(ctx, x.dims(), w.dims(), b ? &b->dims() : nullptr);
}

Status runConv(OpContext& ctx) {
  EDGEOPT_RETURN_IF_ERROR(requireFloat32(ctx, 0));
  const Tensor& x = *ctx.input(0);
  const Tensor& w = *ctx.input(1);
  const Tensor* b = ctx.input(2);
  EDGEOPT_ASSIGN_OR_RETURN(ConvGeometry geo, convGeometry(ctx, x, w, b));
  Tensor y(DType::kFloat32, geo.outDims);
  ref::f32_conv__scalar(geo.params, x.data<float>(), w.data<float>(), b ? b->data<float>() : nullptr,
                        y.data<float>());
  EDGEOPT_RETURN_IF_ERROR(applyFusedActivation(ctx, y));
  ctx.outputs[0] = std::move(y);
  return Status::Ok();
}

// The geometry of a ConvTranspose over input dims x and weight dims w (ONNX's output_shape,
// auto_pad and output_padding resolved into the output size and the leading pads).
StatusOr<ref::ConvParams> convTransposeGeometry(const OpContext& ctx, const std::vector<int64_t>& xDims,
                                                const std::vector<int64_t>& wDims) {
  EDGEOPT_RETURN_IF_ERROR(checkSpatialRank(ctx, xDims));
  const ir::Node& n = ctx.node;
  const int64_t group = n.attrInt("group", 1);
  const int64_t C = xDims[1];
  if (wDims.size() != xDims.size() || group < 1 || wDims[0] != C || C % group)
    return ctx.invalid("weight " + ir::dimsToString(wDims) + " does not fit input " +
                       ir::dimsToString(xDims) + " with group " + std::to_string(group));
  const int64_t M = wDims[1] * group;
  const auto in = spatialOf(xDims);
  const size_t r = in.size();
  const auto kernel = n.attrInts("kernel_shape", spatialOf(wDims));
  const auto stride = n.attrInts("strides", std::vector<int64_t>(r, 1));
  const auto dilation = n.attrInts("dilations", std::vector<int64_t>(r, 1));
  const auto outPad = n.attrInts("output_padding", std::vector<int64_t>(r, 0));
  auto pads = n.attrInts("pads", std::vector<int64_t>(2 * r, 0));
  auto outShape = n.attrInts("output_shape");
  const std::string autoPad = n.attrString("auto_pad", "NOTSET");
  if (kernel.size() != r || stride.size() != r || dilation.size() != r || outPad.size() != r ||
      pads.size() != 2 * r)
    return ctx.invalid("attributes do not match " + std::to_string(r) + " spatial axes");
  if (outShape.size() > r) outShape.erase(outShape.begin(), outShape.end() - static_cast<long>(r));
  if (outShape.empty() && (autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER"))
    for (size_t i = 0; i < r; ++i) outShape.push_back(in[i] * stride[i]);
  std::vector<int64_t> out(r);
  for (size_t i = 0; i < r; ++i) {
    const int64_t full = stride[i] * (in[i] - 1) + outPad[i] + (kernel[i] - 1) * dilation[i] + 1;
    if (!outShape.empty()) {
      // ONNX 1.12 (spec text and backend tests): the tail takes the odd pad except for
      // SAME_LOWER; a negative total (output_shape beyond the natural size) extends the tail.
      const int64_t total = full - outShape[i];
      if (autoPad == "SAME_LOWER") {
        pads[i] = total - total / 2;
        pads[r + i] = total / 2;
      } else {
        pads[i] = total / 2;
        pads[r + i] = total - total / 2;
      }
      out[i] = outShape[i];
    } else {
      if (autoPad == "VALID") pads[i] = pads[r + i] = 0;
      out[i] = full - pads[i] - pads[r + i];
    }
    if (out[i] < 1) return ctx.invalid("output size on spatial axis " + std::to_string(i) + " is < 1");
  }
  ref::ConvParams p;
  p.batch = xDims[0];
  p.in_channels = C;
  p.out_channels = M;
  p.groups = group;
  const size_t off = kMax - r;
  for (size_t i = 0; i < r; ++i) {
    p.in[off + i] = in[i];
    p.out[off + i] = out[i];
    p.kernel[off + i] = kernel[i];
    p.stride[off + i] = stride[i];
    p.dilation[off + i] = dilation[i];
    p.pad_begin[off + i] = pads[i];
  }
  return p;
}

Status runConvTranspose(OpContext& ctx) {
  EDGEOPT_RETURN_IF_ERROR(requireFloat32(ctx, 0));
  const Tensor& x = *ctx.input(0);
  const Tensor& w = *ctx.input(1);
  const Tensor* b = ctx.input(2);
  EDGEOPT_ASSIGN_OR_RETURN(const ref::ConvParams p, convTransposeGeometry(ctx, x.dims(), w.dims()));
  const int64_t M = p.out_channels;
  if (b && (b->rank() != 1 || b->dims()[0] != M))
    return ctx.invalid("bias " + ir::dimsToString(b->dims()) + " must be [" + std::to_string(M) + "]");
  const size_t r = static_cast<size_t>(x.rank()) - 2, off = kMax - r;
  std::vector<int64_t> outDims = {p.batch, M};
  for (size_t i = 0; i < r; ++i) outDims.push_back(p.out[off + i]);
  Tensor y(DType::kFloat32, outDims);
  ref::f32_conv_transpose__scalar(p, x.data<float>(), w.data<float>(),
                                  b ? b->data<float>() : nullptr, y.data<float>());
  EDGEOPT_RETURN_IF_ERROR(applyFusedActivation(ctx, y));
  ctx.outputs[0] = std::move(y);
  return Status::Ok();
}

Status runGemm(OpContext& ctx) {
  for (size_t i = 0; i < 3; ++i) EDGEOPT_RETURN_IF_ERROR(requireFloat32(ctx, i));
  const Tensor& a = *ctx.input(0);
  const Tensor& b = *ctx.input(1);
  const Tensor* c = ctx.input(2);
  if (a.rank() != 2 || b.rank() != 2) return ctx.invalid("A and B must be 2-D");
  const bool ta = ctx.node.attrInt("transA", 0) != 0, tb = ctx.node.attrInt("transB", 0) != 0;
  ref::GemmParams p;
  p.m = ta ? a.dims()[1] : a.dims()[0];
  p.k = ta ? a.dims()[0] : a.dims()[1];
  p.n = tb ? b.dims()[0] : b.dims()[1];
  const int64_t kb = tb ? b.dims()[1] : b.dims()[0];
  if (kb != p.k)
    return ctx.invalid("inner dimensions differ: A " + ir::dimsToString(a.dims()) + ", B " +
                       ir::dimsToString(b.dims()));
  p.a_row_stride = ta ? 1 : a.dims()[1];
  p.a_col_stride = ta ? a.dims()[1] : 1;
  p.b_row_stride = tb ? 1 : b.dims()[1];
  p.b_col_stride = tb ? b.dims()[1] : 1;
  p.y_row_stride = p.n;
  p.alpha = ctx.node.attrFloat("alpha", 1.0f);
  const float beta = ctx.node.attrFloat("beta", 1.0f);
  Tensor y(DType::kFloat32, {p.m, p.n});
  if (c && beta != 0.0f) {
    std::vector<int64_t> out = {p.m, p.n};
    if (c->rank() > 2) return ctx.invalid("C must have rank <= 2");
    for (int64_t k = 0; k < c->rank(); ++k) {
      int64_t d = c->dims()[c->rank() - 1 - k], od = out[1 - k];
      if (d != 1 && d != od)
        return ctx.invalid("C " + ir::dimsToString(c->dims()) + " cannot be broadcast to " +
                           ir::dimsToString(out));
    }
    auto s = broadcastStrides(c->dims(), out);
    for (int64_t i = 0; i < p.m; ++i)
      for (int64_t j = 0; j < p.n; ++j)
        y.data<float>()[i * p.n + j] = beta * c->data<float>()[i * s[0] + j * s[1]];
    p.accumulate = true;
  }
  ref::f32_gemm__scalar(p, a.data<float>(), b.data<float>(), y.data<float>());
  EDGEOPT_RETURN_IF_ERROR(applyFusedActivation(ctx, y));
  ctx.outputs[0] = std::move(y);
  return Status::Ok();
}

Status runMatMul(OpContext& ctx) {
  for (size_t i = 0; i < 2; ++i) EDGEOPT_RETURN_IF_ERROR(requireFloat32(ctx, i));
  const Tensor& a = *ctx.input(0);
  const Tensor& b = *ctx.input(1);
  if (a.rank() < 1 || b.rank() < 1) return ctx.invalid("operands must have rank >= 1");
  std::vector<int64_t> ad = a.dims(), bd = b.dims();
  const bool aVec = ad.size() == 1, bVec = bd.size() == 1;
  if (aVec) ad.insert(ad.begin(), 1);
  if (bVec) bd.push_back(1);
  const int64_t M = ad[ad.size() - 2], K = ad.back(), N = bd.back();
  if (bd[bd.size() - 2] != K)
    return ctx.invalid("inner dimensions differ: " + ir::dimsToString(a.dims()) + " x " +
                       ir::dimsToString(b.dims()));
  std::vector<int64_t> ab(ad.begin(), ad.end() - 2), bb(bd.begin(), bd.end() - 2);
  EDGEOPT_ASSIGN_OR_RETURN(auto batch, broadcastShapes(ab, bb, ctx));
  auto sa = broadcastStrides(ab, batch), sb = broadcastStrides(bb, batch);
  std::vector<int64_t> outDims = batch;
  if (!aVec) outDims.push_back(M);
  if (!bVec) outDims.push_back(N);
  Tensor y(DType::kFloat32, outDims);
  ref::GemmParams p;
  p.m = M; p.n = N; p.k = K;
  p.a_row_stride = K; p.b_row_stride = N; p.y_row_stride = N;
  const int64_t nb = ir::numElements(batch);
  std::vector<int64_t> idx(batch.size(), 0);
  for (int64_t bi = 0; bi < nb; ++bi) {
    int64_t oa = 0, ob = 0;
    for (size_t d = 0; d < batch.size(); ++d) { oa += idx[d] * sa[d]; ob += idx[d] * sb[d]; }
    ref::f32_gemm__scalar(p, a.data<float>() + oa * M * K, b.data<float>() + ob * K * N,
                          y.data<float>() + bi * M * N);
    for (size_t d = batch.size(); d-- > 0;) {
      if (++idx[d] < batch[d]) break;
      idx[d] = 0;
    }
  }
  ctx.outputs[0] = std::move(y);
  return Status::Ok();
}

// The window of a MaxPool/AveragePool node (or of edgeopt.QAveragePool) over x, and its output dims.
StatusOr<std::pair<ref::PoolParams, std::vector<int64_t>>> poolGeometry(const OpContext& ctx, const std::vector<int64_t>& x) {
  EDGEOPT_RETURN_IF_ERROR(checkSpatialRank(ctx, x));
  const ir::Node& n = ctx.node;
  ref::PoolParams p;
  p.batch = x[0];
  p.channels = x[1];
  std::vector<int64_t> outDims = {p.batch, p.channels};
  if (n.attrInt("global", 0)) {  // edgeopt.QAveragePool standing for GlobalAveragePool
    const auto in = spatialOf(x);
    const size_t off = kMax - in.size();
    for (size_t i = 0; i < in.size(); ++i) p.in[off + i] = p.kernel[off + i] = p.padded_end[off + i] = in[i];
    outDims.resize(x.size(), 1);
    return std::make_pair(p, outDims);
  }
  if (!n.hasAttr("kernel_shape")) return ctx.invalid("kernel_shape is required");
  EDGEOPT_ASSIGN_OR_RETURN(
      Window win, resolveWindow(ctx, spatialOf(x), n.attrInts("kernel_shape"), n.attrInt("ceil_mode", 0) != 0));
  fillSpatial(p, win);
  const size_t r = win.in.size(), off = kMax - r;
  for (size_t i = 0; i < r; ++i) p.padded_end[off + i] = win.in[i] + win.padBegin[i] + win.padEnd[i];
  outDims.insert(outDims.end(), win.out.begin(), win.out.end());
  return std::make_pair(p, outDims);
}

StatusOr<std::pair<ref::PoolParams, std::vector<int64_t>>> poolGeometry(const OpContext& ctx, const Tensor& x) {
  return poolGeometry(ctx, x.dims());
}

template <bool kIsMax>
Status runPool(OpContext& ctx) {
  const Tensor& x = *ctx.input(0);
  const DType dt = x.dtype();
  if (!(dt == DType::kFloat32 || (kIsMax && (dt == DType::kInt8 || dt == DType::kUInt8))))
    return ctx.unsupportedHere(std::string("dtype ") + ir::dtypeName(dt));
  const ir::Node& n = ctx.node;
  EDGEOPT_ASSIGN_OR_RETURN(auto geometry, poolGeometry(ctx, x));
  const auto& [p, outDims] = geometry;
  const size_t r = static_cast<size_t>(x.rank()) - 2;
  Tensor y(dt, outDims);
  if constexpr (kIsMax) {
    const bool wantIndices = ctx.outputs.size() > 1;
    Tensor indices(DType::kInt64, wantIndices ? outDims : std::vector<int64_t>{0});
    int64_t* idx = wantIndices ? indices.data<int64_t>() : nullptr;
    if (dt == DType::kFloat32) ref::f32_maxpool__scalar(p, x.data<float>(), y.data<float>(), idx);
    else if (dt == DType::kInt8) ref::s8_maxpool__scalar(p, x.data<int8_t>(), y.data<int8_t>(), idx);
    else ref::u8_maxpool__scalar(p, x.data<uint8_t>(), y.data<uint8_t>(), idx);
    if (wantIndices) {
      if (n.attrInt("storage_order", 0) == 1) {
        // Column-major flat index within each (n, c) plane: swap the roles of the last two axes.
        const int64_t plane = ir::numElements(spatialOf(x));
        const int64_t H = r >= 2 ? x.dims()[x.dims().size() - 2] : 1, W = x.dims().back();
        for (int64_t i = 0; i < indices.numel(); ++i) {
          int64_t v = indices.data<int64_t>()[i];
          const int64_t base = v - v % plane, inPlane = v % plane;
          const int64_t hw = inPlane % (H * W), outer = inPlane - hw;
          indices.data<int64_t>()[i] = base + outer + (hw % W) * H + hw / W;
        }
      }
      ctx.outputs[1] = std::move(indices);
    }
  } else {
    ref::f32_avgpool__scalar(p, n.attrInt("count_include_pad", 0) != 0, x.data<float>(), y.data<float>());
  }
  ctx.outputs[0] = std::move(y);
  return Status::Ok();
}

Status runGlobalAveragePool(OpContext& ctx) {
  EDGEOPT_RETURN_IF_ERROR(requireFloat32(ctx, 0));
  const Tensor& x = *ctx.input(0);
  if (x.rank() < 3) return ctx.invalid("input must have rank >= 3");
  std::vector<int64_t> outDims(x.dims().begin(), x.dims().begin() + 2);
  outDims.resize(x.dims().size(), 1);
  Tensor y(DType::kFloat32, outDims);
  const int64_t nc = x.dims()[0] * x.dims()[1], plane = x.numel() / std::max<int64_t>(nc, 1);
  for (int64_t i = 0; i < nc; ++i) {
    float sum = 0.0f;
    for (int64_t s = 0; s < plane; ++s) sum += x.data<float>()[i * plane + s];
    y.data<float>()[i] = sum / static_cast<float>(plane);
  }
  ctx.outputs[0] = std::move(y);
  return Status::Ok();
}

Status checkMaxPool(const ir::Node& n) {
  const DType t = knownInputDType(n, 0);
  if (t != DType::kUndefined && t != DType::kFloat32 && t != DType::kInt8 && t != DType::kUInt8)
    return unsupported("node " + n.describe() + ": dtype " + ir::dtypeName(t) +
                       " is not supported (float32, int8, uint8)");
  return Status::Ok();
}

Status checkBatchNorm(const ir::Node& n) {
  EDGEOPT_RETURN_IF_ERROR(checkFloat32(n));
  if (n.attrInt("training_mode", 0) != 0 || n.outputs().size() > 1)
    return unsupported("node " + n.describe() + ": training mode is not supported (inference only)");
  return Status::Ok();
}

Status runBatchNorm(OpContext& ctx) {
  for (size_t i = 0; i < 5; ++i) EDGEOPT_RETURN_IF_ERROR(requireFloat32(ctx, i));
  const Tensor& x = *ctx.input(0);
  if (x.rank() < 2) return ctx.invalid("input must have rank >= 2");
  const int64_t C = x.dims()[1];
  for (size_t i = 1; i < 5; ++i)
    if (ctx.input(i)->numel() != C)
      return ctx.invalid("parameter " + std::to_string(i) + " has " +
                         std::to_string(ctx.input(i)->numel()) + " values, expected " + std::to_string(C));
  Tensor y(DType::kFloat32, x.dims());
  const int64_t spatial = x.numel() / std::max<int64_t>(x.dims()[0] * C, 1);
  ref::f32_batchnorm__scalar(x.dims()[0], C, spatial, x.data<float>(), ctx.input(1)->data<float>(),
                             ctx.input(2)->data<float>(), ctx.input(3)->data<float>(),
                             ctx.input(4)->data<float>(), ctx.node.attrFloat("epsilon", 1e-5f),
                             y.data<float>());
  ctx.outputs[0] = std::move(y);
  return Status::Ok();
}

// ---- Resize ----

Status checkResize(const ir::Node& n) {
  const std::string mode = n.attrString("mode", "nearest");
  const DType t = knownInputDType(n, 0);
  // int8 / uint8 (quantized activations): nearest only, a gather that keeps the encoding.
  const bool eightBit = t == DType::kInt8 || t == DType::kUInt8;
  if (!eightBit) EDGEOPT_RETURN_IF_ERROR(checkFloat32(n));
  if (eightBit && (mode != "nearest" || n.attrString("coordinate_transformation_mode", "") == "tf_crop_and_resize"))
    return unsupported("node " + n.describe() + ": " + ir::dtypeName(t) + " Resize supports mode nearest only (without tf_crop_and_resize)");
  if (mode != "nearest" && mode != "linear" && mode != "cubic")
    return unsupported("node " + n.describe() + ": mode '" + mode + "' is not supported");
  const std::string ct = n.attrString("coordinate_transformation_mode", "half_pixel");
  static const char* kModes[] = {"half_pixel", "pytorch_half_pixel", "align_corners",
                                 "asymmetric", "tf_half_pixel_for_nearest", "tf_half_pixel_for_nn",
                                 "tf_crop_and_resize"};
  if (std::find(std::begin(kModes), std::end(kModes), ct) == std::end(kModes))
    return unsupported("node " + n.describe() + ": coordinate_transformation_mode '" + ct +
                       "' is not supported");
  const std::string nm = n.attrString("nearest_mode", "round_prefer_floor");
  if (nm != "round_prefer_floor" && nm != "round_prefer_ceil" && nm != "floor" && nm != "ceil")
    return unsupported("node " + n.describe() + ": nearest_mode '" + nm + "' is not supported");
  return Status::Ok();
}

}  // namespace

StatusOr<std::vector<ResizeAxis>> resizeAxesOf(const ir::Node& n, const std::vector<int64_t>& inDims, const Tensor* roiT,
                                               const Tensor* scalesT, const Tensor* sizesT) {
  auto invalid = [&](const std::string& why) { return invalidInput("node " + n.describe() + ": " + why); };
  const int64_t r = static_cast<int64_t>(inDims.size());
  std::vector<double> scales(static_cast<size_t>(r), 1.0);
  std::vector<int64_t> outDims = inDims;
  if (scalesT && scalesT->numel() > 0) {
    if (scalesT->numel() != r) return invalid("scales must have one value per axis");
    for (int64_t i = 0; i < r; ++i) {
      scales[i] = scalesT->getAsDouble(i);
      if (!(scales[i] > 0)) return invalid("scales must be positive");
      outDims[i] = static_cast<int64_t>(std::floor(static_cast<double>(inDims[i]) * static_cast<float>(scales[i])));
    }
  } else if (sizesT && sizesT->numel() > 0) {
    if (sizesT->numel() != r) return invalid("sizes must have one value per axis");
    for (int64_t i = 0; i < r; ++i) {
      outDims[i] = sizesT->getAsInt64(i);
      if (outDims[i] < 0) return invalid("sizes must be non-negative");
      scales[i] = inDims[i] ? static_cast<float>(outDims[i]) / static_cast<float>(inDims[i]) : 1.0;
    }
  } else {
    return invalid("one of scales and sizes must be given");
  }
  // The output's size follows run-time scales or sizes: checked (the tensor limit) before the
  // per-axis tables below, which hold one entry per output index and tap, are made.
  if (std::string why = ir::tensorSizeProblem(outDims, ir::DType::kFloat32); !why.empty()) return invalid("its output: " + why);
  const std::string mode = n.attrString("mode", "nearest");
  const std::string ct = n.attrString("coordinate_transformation_mode", "half_pixel");
  const std::string nm = n.attrString("nearest_mode", "round_prefer_floor");
  const float cubicA = n.attrFloat("cubic_coeff_a", -0.75f);
  const bool excludeOutside = n.attrInt("exclude_outside", 0) != 0;
  std::vector<double> roi;
  if (ct == "tf_crop_and_resize") {
    if (!roiT || roiT->numel() != 2 * r) return invalid("tf_crop_and_resize needs roi of 2*rank values");
    for (int64_t i = 0; i < 2 * r; ++i) roi.push_back(roiT->getAsDouble(i));
  }

  std::vector<ResizeAxis> axes;
  for (int64_t axis = 0; axis < r; ++axis) {
    const int64_t inLen = inDims[axis], outLen = outDims[axis];
    if (inLen == outLen && scales[axis] == 1.0 && ct != "tf_crop_and_resize") continue;
    if (inLen == 0 && outLen > 0) return invalid("cannot resize an empty axis");
    const double scale = scales[axis];
    const int64_t taps = mode == "nearest" ? 1 : mode == "linear" ? 2 : 4;
    ResizeAxis a{axis, inLen, outLen, taps, std::vector<int64_t>(static_cast<size_t>(outLen * taps)), {}};
    a.weight.resize(a.index.size());
    for (int64_t j = 0; j < outLen; ++j) {
      // As in the ONNX definition, the resized length in these formulas is in * scale, which
      // is fractional when scales (not sizes) are given and in * scale is not an integer.
      double xo;
      const double xr = static_cast<double>(j);
      const double resizedLen = static_cast<double>(inLen) * scale;
      if (ct == "half_pixel") xo = (xr + 0.5) / scale - 0.5;
      else if (ct == "pytorch_half_pixel") xo = resizedLen > 1 ? (xr + 0.5) / scale - 0.5 : 0.0;
      else if (ct == "align_corners") xo = resizedLen == 1 ? 0.0 : xr * (inLen - 1) / (resizedLen - 1);
      else if (ct == "asymmetric") xo = xr / scale;
      else if (ct == "tf_half_pixel_for_nearest" || ct == "tf_half_pixel_for_nn")  // older name
        xo = (xr + 0.5) / scale;
      else {
        const double s = roi[axis], e = roi[r + axis];
        xo = resizedLen > 1 ? s * (inLen - 1) + xr * (e - s) * (inLen - 1) / (resizedLen - 1)
                        : 0.5 * (s + e) * (inLen - 1);
      }
      int64_t* idx = &a.index[j * taps];
      float* wt = &a.weight[j * taps];
      if (ct == "tf_crop_and_resize" && (xo < 0 || xo > inLen - 1)) {
        for (int64_t t = 0; t < taps; ++t) { idx[t] = -1; wt[t] = 0; }
        continue;
      }
      auto clampIdx = [&](int64_t i) { return std::min<int64_t>(std::max<int64_t>(i, 0), inLen - 1); };
      if (mode == "nearest") {
        int64_t i;
        if (nm == "floor") i = static_cast<int64_t>(std::floor(xo));
        else if (nm == "ceil") i = static_cast<int64_t>(std::ceil(xo));
        else {
          const double fl = std::floor(xo), frac = xo - fl;
          if (frac == 0.5) i = static_cast<int64_t>(nm == "round_prefer_floor" ? fl : fl + 1);
          else i = static_cast<int64_t>(std::round(xo));
        }
        idx[0] = clampIdx(i);
        wt[0] = 1.0f;
      } else if (mode == "linear") {
        const double c = std::min(std::max(xo, 0.0), static_cast<double>(inLen - 1));
        const int64_t i0 = static_cast<int64_t>(std::floor(c));
        const double f = c - i0;
        idx[0] = clampIdx(i0);
        idx[1] = clampIdx(i0 + 1);
        wt[0] = static_cast<float>(1.0 - f);
        wt[1] = static_cast<float>(f);
      } else {
        const int64_t i0 = static_cast<int64_t>(std::floor(xo));
        const double t = xo - i0, A = cubicA;
        const double d[4] = {t + 1, t, 1 - t, 2 - t};
        double c[4];
        for (int k = 0; k < 4; ++k) {
          const double v = d[k];
          c[k] = (k == 1 || k == 2) ? ((A + 2) * v - (A + 3)) * v * v + 1
                                     : ((A * v - 5 * A) * v + 8 * A) * v - 4 * A;
        }
        double sum = 0;
        for (int k = 0; k < 4; ++k) {
          const int64_t i = i0 - 1 + k;
          if (excludeOutside && (i < 0 || i >= inLen)) c[k] = 0;
          sum += c[k];
        }
        for (int k = 0; k < 4; ++k) {
          idx[k] = clampIdx(i0 - 1 + k);
          wt[k] = static_cast<float>(excludeOutside && sum != 0 ? c[k] / sum : c[k]);
        }
      }
    }
    axes.push_back(std::move(a));
  }
  return axes;
}

namespace {

Status runResize(OpContext& ctx) {
  const ir::Node& n = ctx.node;
  const Tensor& x = *ctx.input(0);
  const bool eightBit = x.dtype() == DType::kInt8 || x.dtype() == DType::kUInt8;
  if (!eightBit) EDGEOPT_RETURN_IF_ERROR(requireFloat32(ctx, 0));
  const std::string mode = n.attrString("mode", "nearest");
  const std::string ct = n.attrString("coordinate_transformation_mode", "half_pixel");
  const float fill = n.attrFloat("extrapolation_value", 0.0f);
  if (eightBit && (mode != "nearest" || ct == "tf_crop_and_resize"))
    return ctx.unsupportedHere(std::string(ir::dtypeName(x.dtype())) + " Resize supports mode nearest only");
  EDGEOPT_ASSIGN_OR_RETURN(const std::vector<ResizeAxis> axes, resizeAxesOf(n, x.dims(), ctx.input(1), ctx.input(2), ctx.input(3)));
  Tensor cur = x;
  for (const ResizeAxis& a : axes) {
    int64_t outer = 1, inner = 1;
    for (int64_t i = 0; i < a.axis; ++i) outer *= cur.dims()[i];
    for (int64_t i = a.axis + 1; i < x.rank(); ++i) inner *= cur.dims()[i];
    std::vector<int64_t> nd = cur.dims();
    nd[a.axis] = a.outLen;
    Tensor next(cur.dtype(), nd);
    if (eightBit)
      ref::x8_resize_nearest_axis__scalar(outer, a.inLen, a.outLen, inner, a.index.data(), cur.data<uint8_t>(),
                                          next.data<uint8_t>());
    else
      ref::f32_resize_axis__scalar(outer, a.inLen, a.outLen, inner, a.taps, a.index.data(), a.weight.data(),
                                   fill, cur.data<float>(), next.data<float>());
    cur = std::move(next);
  }
  ctx.outputs[0] = std::move(cur);
  return Status::Ok();
}

// ---- LayerNormalization (opset 17) ----

Status checkLayerNorm(const ir::Node& n) {
  EDGEOPT_RETURN_IF_ERROR(checkFloat32(n));
  const int64_t stash = n.attrInt("stash_type", 1);
  if (stash != 1)
    return unsupported("node " + n.describe() + ": stash_type " + std::to_string(stash) + " (float32 only)");
  return Status::Ok();
}

Status runLayerNorm(OpContext& ctx) {
  for (size_t i = 0; i < 3; ++i) EDGEOPT_RETURN_IF_ERROR(requireFloat32(ctx, i));
  const Tensor& x = *ctx.input(0);
  const Tensor* scale = ctx.input(1);
  const Tensor* bias = ctx.input(2);
  if (!scale) return ctx.invalid("Scale is required");
  EDGEOPT_ASSIGN_OR_RETURN(int64_t axis, normalizeAxis(ctx.node.attrInt("axis", -1), x.rank(), ctx));
  const std::vector<int64_t> normalized(x.dims().begin() + axis, x.dims().end());
  const int64_t inner = ir::numElements(normalized), outer = inner ? x.numel() / inner : 0;
  // Scale and B broadcast (numpy rules) to the normalized shape.
  auto expand = [&](const Tensor* t, const char* what) -> StatusOr<std::vector<float>> {
    std::vector<float> out(static_cast<size_t>(inner), 0.0f);
    if (!t) return out;
    if (t->rank() > static_cast<int64_t>(normalized.size()))
      return ctx.invalid(std::string(what) + " " + ir::dimsToString(t->dims()) + " has more dims than the normalized shape");
    EDGEOPT_ASSIGN_OR_RETURN(auto b, broadcastShapes(t->dims(), normalized, ctx));
    if (b != normalized)
      return ctx.invalid(std::string(what) + " " + ir::dimsToString(t->dims()) + " does not broadcast to " +
                         ir::dimsToString(normalized));
    auto strides = broadcastStrides(t->dims(), normalized);
    std::vector<int64_t> idx(normalized.size(), 0);
    for (int64_t i = 0; i < inner; ++i) {
      int64_t off = 0;
      for (size_t d = 0; d < idx.size(); ++d) off += idx[d] * strides[d];
      out[i] = t->data<float>()[off];
      for (size_t d = idx.size(); d-- > 0;) {
        if (++idx[d] < normalized[d]) break;
        idx[d] = 0;
      }
    }
    return out;
  };
  EDGEOPT_ASSIGN_OR_RETURN(auto scaleFull, expand(scale, "Scale"));
  EDGEOPT_ASSIGN_OR_RETURN(auto biasFull, expand(bias, "B"));
  Tensor y(DType::kFloat32, x.dims());
  std::vector<int64_t> statDims(x.dims().begin(), x.dims().begin() + axis);
  statDims.resize(x.dims().size(), 1);
  Tensor mean(DType::kFloat32, statDims), invStd(DType::kFloat32, statDims);
  ref::f32_layernorm__scalar(outer, inner, x.data<float>(), scaleFull.data(), biasFull.data(),
                             ctx.node.attrFloat("epsilon", 1e-5f), y.data<float>(), mean.data<float>(),
                             invStd.data<float>());
  ctx.outputs[0] = std::move(y);
  if (ctx.outputs.size() > 1) ctx.outputs[1] = std::move(mean);
  if (ctx.outputs.size() > 2) ctx.outputs[2] = std::move(invStd);
  return Status::Ok();
}

Status runGelu(OpContext& ctx) {
  EDGEOPT_RETURN_IF_ERROR(requireFloat32(ctx, 0));
  const Tensor& x = *ctx.input(0);
  Tensor y(DType::kFloat32, x.dims());
  for (int64_t i = 0; i < x.numel(); ++i) y.data<float>()[i] = ref::f32_gelu(x.data<float>()[i]);
  ctx.outputs[0] = std::move(y);
  return Status::Ok();
}

// ---- edgeopt int8 ops (passes/lower_qdq.h) ----

// The int8 view of an activation stored as uint8 (value + 128), or the tensor itself.
const Tensor& asInt8(const OpContext& ctx, size_t i, Tensor* storage) {
  const Tensor& x = *ctx.input(i);
  if (x.dtype() != DType::kUInt8) return x;
  *storage = Tensor(DType::kInt8, x.dims());
  for (int64_t k = 0; k < x.numel(); ++k) storage->data<int8_t>()[k] = static_cast<int8_t>(x.data<uint8_t>()[k] - 128);
  return *storage;
}

// Stores an int8 result as uint8 (value + 128) when the op's y_uint8 says so.
Tensor finishInt8(const OpContext& ctx, Tensor y) {
  if (!int8StorageOf(ctx.node).outputUint8) return y;
  Tensor u(DType::kUInt8, y.dims());
  for (int64_t k = 0; k < y.numel(); ++k) u.data<uint8_t>()[k] = static_cast<uint8_t>(y.data<int8_t>()[k] + 128);
  return u;
}

Status requireDType(const OpContext& ctx, size_t i, DType t) {
  const Tensor* x = ctx.input(i);
  if (x && x->dtype() != t)
    return ctx.invalid("input " + std::to_string(i) + " is " + ir::dtypeName(x->dtype()) + ", expected " + ir::dtypeName(t));
  return Status::Ok();
}

// Activation int8 (or uint8-stored when x_uint8), weights int8, bias int32.
Status checkInt8Operands(const OpContext& ctx) {
  EDGEOPT_RETURN_IF_ERROR(requireDType(ctx, 0, int8StorageOf(ctx.node).inputUint8 ? DType::kUInt8 : DType::kInt8));
  EDGEOPT_RETURN_IF_ERROR(requireDType(ctx, 1, DType::kInt8));
  return requireDType(ctx, 2, DType::kInt32);
}

Status runQConv(OpContext& ctx) {
  EDGEOPT_RETURN_IF_ERROR(checkInt8Operands(ctx));
  Tensor xStorage;
  const Tensor& x = asInt8(ctx, 0, &xStorage);
  const Tensor& w = *ctx.input(1);
  const Tensor* b = ctx.input(2);
  EDGEOPT_ASSIGN_OR_RETURN(ConvGeometry geo, convGeometry(ctx, x, w, b));
  EDGEOPT_ASSIGN_OR_RETURN(const Int8OutputStage o, int8OutputStageOf(ctx.node, geo.params.out_channels));
  Tensor y(DType::kInt8, geo.outDims);
  ref::qs8_conv__scalar(geo.params, o.q, x.data<int8_t>(), w.data<int8_t>(), b ? b->data<int32_t>() : nullptr,
                        o.requant.data(), y.data<int8_t>());
  ctx.outputs[0] = finishInt8(ctx, std::move(y));
  return Status::Ok();
}

Status runQGemm(OpContext& ctx) {
  EDGEOPT_RETURN_IF_ERROR(checkInt8Operands(ctx));
  Tensor aStorage;
  const Tensor& a = asInt8(ctx, 0, &aStorage);
  const Tensor& w = *ctx.input(1);
  const Tensor* b = ctx.input(2);
  const bool transB = ctx.node.attrInt("transB", 0) != 0;
  if (a.rank() < 1 || w.rank() != 2) return ctx.invalid("expects A of rank >= 1 and 2-D weights");
  const int64_t K = a.dims().back();
  const int64_t N = transB ? w.dims()[0] : w.dims()[1];
  if ((transB ? w.dims()[1] : w.dims()[0]) != K)
    return ctx.invalid("inner dimensions differ: " + ir::dimsToString(a.dims()) + " x " + ir::dimsToString(w.dims()));
  if (b && b->numel() != N) return ctx.invalid("bias must have one value per output column");
  EDGEOPT_ASSIGN_OR_RETURN(const Int8OutputStage o, int8OutputStageOf(ctx.node, N));
  std::vector<int64_t> outDims(a.dims().begin(), a.dims().end() - 1);
  outDims.push_back(N);
  Tensor y(DType::kInt8, outDims);
  ref::qs8_gemm__scalar(K ? a.numel() / K : 0, N, K, o.q, a.data<int8_t>(), w.data<int8_t>(), transB,
                        b ? b->data<int32_t>() : nullptr, o.requant.data(), y.data<int8_t>());
  ctx.outputs[0] = finishInt8(ctx, std::move(y));
  return Status::Ok();
}

// int8 activation input i (int8, or uint8 stored as value + 128).
Status requireInt8Activation(const OpContext& ctx, size_t i) {
  const Tensor* x = ctx.input(i);
  if (!x || (x->dtype() != DType::kInt8 && x->dtype() != DType::kUInt8))
    return ctx.invalid("input " + std::to_string(i) + " must be an int8 or uint8 activation");
  return Status::Ok();
}

// edgeopt.QAdd / edgeopt.QMul (a, b) with numpy broadcasting; a_scale, a_zero_point, b_scale,
// b_zero_point, y_scale, y_zero_point, y_uint8 and a fused Relu/Clip.
template <bool kIsAdd>
Status runQBinary(OpContext& ctx) {
  EDGEOPT_RETURN_IF_ERROR(requireInt8Activation(ctx, 0));
  EDGEOPT_RETURN_IF_ERROR(requireInt8Activation(ctx, 1));
  Tensor aStorage, bStorage;
  const Tensor& a = asInt8(ctx, 0, &aStorage);
  const Tensor& b = asInt8(ctx, 1, &bStorage);
  EDGEOPT_ASSIGN_OR_RETURN(const QBinary op, qBinaryOf(ctx.node));
  const ref::QuantParams& q = op.q;
  const int32_t az = op.aZeroPoint, bz = op.bZeroPoint;
  EDGEOPT_ASSIGN_OR_RETURN(auto out, broadcastShapes(a.dims(), b.dims(), ctx));
  Tensor y(DType::kInt8, out);
  const auto sa = broadcastStrides(a.dims(), out), sb = broadcastStrides(b.dims(), out);
  if constexpr (kIsAdd) {
    const ref::AddRequantization& r = op.add;
    if (a.dims() == b.dims())
      ref::qs8_add__scalar(a.numel(), a.data<int8_t>(), az, b.data<int8_t>(), bz, r, q, y.data<int8_t>());
    else
      broadcastApply(out, a.data<int8_t>(), sa, b.data<int8_t>(), sb, y.data<int8_t>(),
                     [&](int8_t p, int8_t v) { return ref::qs8_add(p, v, r, az, bz, q); });
  } else {
    const ref::Requantization& r = op.mul;
    if (a.dims() == b.dims())
      ref::qs8_mul__scalar(a.numel(), a.data<int8_t>(), az, b.data<int8_t>(), bz, r, q, y.data<int8_t>());
    else
      broadcastApply(out, a.data<int8_t>(), sa, b.data<int8_t>(), sb, y.data<int8_t>(),
                     [&](int8_t p, int8_t v) { return ref::qs8_mul(p, v, r, az, bz, q); });
  }
  ctx.outputs[0] = finishInt8(ctx, std::move(y));
  return Status::Ok();
}

// edgeopt.QAveragePool: AveragePool's attributes, or global = 1 for GlobalAveragePool; x_scale,
// x_zero_point, y_scale, y_zero_point, y_uint8.
Status runQAveragePool(OpContext& ctx) {
  EDGEOPT_RETURN_IF_ERROR(requireInt8Activation(ctx, 0));
  Tensor xStorage;
  const Tensor& x = asInt8(ctx, 0, &xStorage);
  EDGEOPT_ASSIGN_OR_RETURN(auto geometry, poolGeometry(ctx, x));
  const auto& [p, outDims] = geometry;
  EDGEOPT_ASSIGN_OR_RETURN(const QAverage avg, qAverageOf(ctx.node));
  const ref::QuantParams& q = avg.q;
  const int64_t window = p.kernel[0] * p.kernel[1] * p.kernel[2];
  if (window > QAverage::kMaxWindow) return ctx.unsupportedHere("int8 pooling window larger than 2^23");
  const auto perCount = ref::averageRequantization(avg.inputScale, avg.outputScale, window);
  Tensor y(DType::kInt8, outDims);
  ref::qs8_avgpool__scalar(p, avg.countIncludePad, q, perCount.data(), x.data<int8_t>(),
                           y.data<int8_t>());
  ctx.outputs[0] = finishInt8(ctx, std::move(y));
  return Status::Ok();
}

// edgeopt.QRequantize: re-encodes x (x_scale, x_zero_point) at y_scale, y_zero_point.
Status runQRequantize(OpContext& ctx) {
  EDGEOPT_RETURN_IF_ERROR(requireInt8Activation(ctx, 0));
  Tensor xStorage;
  const Tensor& x = asInt8(ctx, 0, &xStorage);
  EDGEOPT_ASSIGN_OR_RETURN(const QRequantize rq, qRequantizeOf(ctx.node));
  Tensor y(DType::kInt8, x.dims());
  ref::qs8_requantize__scalar(x.numel(), x.data<int8_t>(), rq.inputScale, rq.outputScale, rq.q, y.data<int8_t>());
  ctx.outputs[0] = finishInt8(ctx, std::move(y));
  return Status::Ok();
}

}  // namespace

StatusOr<kernels::ref::ConvParams> convParamsOf(const ir::Node& node, const std::vector<int64_t>& x,
                                                const std::vector<int64_t>& w) {
  OpContext ctx{node, {}, {}};
  EDGEOPT_ASSIGN_OR_RETURN(ConvGeometry geo, convGeometry(ctx, x, w, nullptr));
  return geo.params;
}

StatusOr<kernels::ref::ConvParams> convTransposeParamsOf(const ir::Node& node, const std::vector<int64_t>& x,
                                                         const std::vector<int64_t>& w) {
  OpContext ctx{node, {}, {}};
  return convTransposeGeometry(ctx, x, w);
}

StatusOr<kernels::ref::PoolParams> poolParamsOf(const ir::Node& node, const std::vector<int64_t>& x) {
  OpContext ctx{node, {}, {}};
  EDGEOPT_ASSIGN_OR_RETURN(auto geo, poolGeometry(ctx, x));
  return geo.first;
}

Status checkFusedActivation(const ir::Node& n) {
  auto act = ir::fusedActivation(n);
  if (!act) return Status::Ok();
  const size_t want = act->op == "Clip" || act->op == "HardSigmoid" ? 2 : act->op == "LeakyRelu" ? 1 : 0;
  if (!ir::isFusibleActivation(act->op) || !ir::canCarryFusedActivation(n.opType()) || act->params.size() != want)
    return unsupported("node " + n.describe() + ": fused activation '" + act->op + "' with " +
                       std::to_string(act->params.size()) + " parameters is not supported");
  return Status::Ok();
}

Status applyFusedActivation(const OpContext& ctx, Tensor& y) {
  auto act = ir::fusedActivation(ctx.node);
  if (!act) return Status::Ok();
  EDGEOPT_RETURN_IF_ERROR(checkFusedActivation(ctx.node));
  float* p = y.data<float>();
  const int64_t n = y.numel();
  const auto& a = act->params;
  if (act->op == "Relu") for (int64_t i = 0; i < n; ++i) p[i] = ref::f32_relu(p[i]);
  else if (act->op == "Clip") for (int64_t i = 0; i < n; ++i) p[i] = ref::f32_clip(p[i], a[0], a[1]);
  else if (act->op == "LeakyRelu") for (int64_t i = 0; i < n; ++i) p[i] = ref::f32_leaky_relu(p[i], a[0]);
  else if (act->op == "HardSigmoid") for (int64_t i = 0; i < n; ++i) p[i] = ref::f32_hard_sigmoid(p[i], a[0], a[1]);
  else if (act->op == "HardSwish") for (int64_t i = 0; i < n; ++i) p[i] = ref::f32_hard_swish(p[i]);
  else if (act->op == "Sigmoid") for (int64_t i = 0; i < n; ++i) p[i] = ref::f32_sigmoid(p[i]);
  return Status::Ok();
}

void addNnOps(std::vector<OpDef>& t) {
  t.push_back({"Conv", checkConvLike, runConv});
  t.push_back({"ConvTranspose", checkConvLike, runConvTranspose});
  t.push_back({"Gemm", checkConvLike, runGemm});
  t.push_back({"MatMul", checkFloat32, runMatMul});
  t.push_back({"MaxPool", checkMaxPool, runPool<true>});
  t.push_back({"AveragePool", checkFloat32, runPool<false>});
  t.push_back({"GlobalAveragePool", checkFloat32, runGlobalAveragePool});
  t.push_back({"BatchNormalization", checkBatchNorm, runBatchNorm});
  t.push_back({"Resize", checkResize, runResize});
  t.push_back({"LayerNormalization", checkLayerNorm, runLayerNorm});
  t.push_back({"Gelu", checkFloat32, runGelu, ir::kEdgeoptDomain});
  t.push_back({"QConv", nullptr, runQConv, ir::kEdgeoptDomain});
  t.push_back({"QGemm", nullptr, runQGemm, ir::kEdgeoptDomain});
  t.push_back({"QAdd", nullptr, runQBinary<true>, ir::kEdgeoptDomain});
  t.push_back({"QMul", nullptr, runQBinary<false>, ir::kEdgeoptDomain});
  t.push_back({"QAveragePool", nullptr, runQAveragePool, ir::kEdgeoptDomain});
  t.push_back({"QRequantize", nullptr, runQRequantize, ir::kEdgeoptDomain});
}

}  // namespace edgeopt::runtime
