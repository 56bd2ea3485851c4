// x86 lowering of pooling, binary and unary element-wise ops (oneDNN), and of the int8
// element-wise ops with kernels/x86 (QuantizeLinear, QAdd, global average pooling).
#include "targets/x86/plan_impl.h"

namespace edgeopt::x86 {

bool Plan::Impl::pool(const ir::Node& n) {
  const ir::Value* x = n.input(0);
  const std::string& op = n.opType();
  if (dimsOf(x).size() != 4 || n.outputs().size() != 1 || !n.domain().empty()) return false;
  const bool isMax = op == "MaxPool";
  if (isMax ? (x->dtype() != ir::DType::kFloat32 && x->dtype() != ir::DType::kUInt8) : x->dtype() != ir::DType::kFloat32)
    return false;
  const auto& xd = dimsOf(x);
  ref::PoolParams p;
  if (op == "GlobalAveragePool") {
    p.batch = xd[0];
    p.channels = xd[1];
    p.in[1] = p.kernel[1] = xd[2];
    p.in[2] = p.kernel[2] = xd[3];
  } else {
    if (n.attrInt("storage_order", 0) != 0) return false;
    for (int64_t d : n.attrInts("dilations", {1, 1}))
      if (d != 1) return false;
    auto params = runtime::poolParamsOf(n, xd);
    if (!params.ok()) return fail(params.status());
    p = params.value();
  }
  // uint8 max pooling (NHWC, 2-D, no dilation): edgeopt's kernel, one vpmaxub per window position
  // and 64 channels.
  if (isMax && x->dtype() == ir::DType::kUInt8 && avx512) {
    const int xs = slotIn(x, Layout::kNhwc), ys = outputSlot(n.output(0), Layout::kNhwc);
    const size_t xi = static_cast<size_t>(xs), yi = static_cast<size_t>(ys);
    const int64_t inImage = p.channels * p.in[1] * p.in[2], outImage = p.channels * p.out[1] * p.out[2];
    addStep({n.name(), op, "x86:u8_maxpool_nhwc__avx512bw", 0}, {xs}, {ys}, [this, p, xi, yi, inImage, outImage](uint8_t* a) {
      for (int64_t i = 0; i < p.batch; ++i)
        kernels::x86::u8_maxpool_nhwc__avx512bw(p, a + slots[xi].offset + i * inImage, a + slots[yi].offset + i * outImage);
    });
    return true;
  }
  dnnl::algorithm alg = dnnl::algorithm::pooling_max;
  if (!isMax) {
    const bool includePad = n.attrInt("count_include_pad", 0) != 0;
    // count_include_pad counts the padded extent only; oneDNN counts whole windows (differs in ceil mode).
    if (includePad && n.attrInt("ceil_mode", 0)) return false;
    alg = includePad ? dnnl::algorithm::pooling_avg_include_padding : dnnl::algorithm::pooling_avg_exclude_padding;
  }
  const memory::dims strides = {p.stride[1], p.stride[2]}, kernel = {p.kernel[1], p.kernel[2]};
  const memory::dims padL = {p.pad_begin[1], p.pad_begin[2]};
  memory::dims padR(2);
  for (int a = 0; a < 2; ++a)
    padR[static_cast<size_t>(a)] = (p.out[a + 1] - 1) * p.stride[a + 1] + p.kernel[a + 1] - p.in[a + 1] - p.pad_begin[a + 1];
  const DT t = *dnnlType(x->dtype());
  memory::desc srcMd({xd[0], xd[1], xd[2], xd[3]}, t, Tag::nhwc);
  memory::desc dstMd({xd[0], xd[1], p.out[1], p.out[2]}, t, Tag::nhwc);
  dnnl::pooling_forward::primitive_desc pd;
  try {
    pd = dnnl::pooling_forward::primitive_desc(
        dnnl::pooling_forward::desc(dnnl::prop_kind::forward_inference, alg, srcMd, dstMd, strides, kernel, padL, padR), engine);
  } catch (const dnnl::error&) {
    return false;
  }
  const int xs = slotIn(x, Layout::kNhwc);
  const int ys = outputSlot(n.output(0), Layout::kNhwc);
  addSrcDstStep({n.name(), n.qualifiedOpType(), implName(pd), 0}, std::make_shared<dnnl::pooling_forward>(pd), srcMd, dstMd,
                xs, ys);
  return true;
}

// Add, Mul and Sub as a oneDNN binary primitive (one IEEE operation per element, as the
// reference): same-shape operands, or one operand (the second for Sub) broadcast numpy-style,
// e.g. a per-channel [1, C, 1, 1] constant or an SE block's [N, C, 1, 1] scale.
bool Plan::Impl::binary(const ir::Node& n) {
  const std::string& op = n.opType();
  if (!n.domain().empty() || (op != "Add" && op != "Mul" && op != "Sub") || n.inputs().size() != 2) return false;
  const ir::Value* a = n.input(0);
  const ir::Value* b = n.input(1);
  if (a->dtype() != ir::DType::kFloat32 || b->dtype() != ir::DType::kFloat32) return false;
  const auto& outDims = dimsOf(n.output(0));
  auto isConstant = [&](const ir::Value* v) { return v->isInitializer() || isStatic.count(v) != 0; };
  auto dimsOrConstant = [&](const ir::Value* v) { return v->isInitializer() ? v->initializer().dims() : dimsOf(v); };
  // The full operand (computed, with the output's dims) goes first; the other may broadcast.
  if (isConstant(a) || dimsOrConstant(a) != outDims) {
    if (op == "Sub" || isConstant(b) || dimsOf(b) != outDims) return false;
    std::swap(a, b);
  }
  const bool constant = b->isInitializer() || isStatic.count(b);
  const ir::Tensor* bConst = b->isInitializer() ? &b->initializer() : isStatic.count(b) ? &known.at(b) : nullptr;
  std::vector<int64_t> bDims = dimsOrConstant(b);
  if (bDims.size() > outDims.size()) return false;
  bDims.insert(bDims.begin(), outDims.size() - bDims.size(), 1);
  for (size_t i = 0; i < outDims.size(); ++i)
    if (bDims[i] != outDims[i] && bDims[i] != 1) return false;
  const Layout layout = currentLayout(a);
  const int as = slotIn(a, layout);
  const Layout outLayout = slots[static_cast<size_t>(as)].layout;
  // A broadcast operand with at most one non-1 dim past the batch, or the channel only, has the
  // same element order plain and NHWC; otherwise it must share the full operand's layout.
  int bs = -1;
  Layout bLayout = Layout::kPlain;
  if (!constant) {
    bs = slotIn(b, bDims == outDims ? outLayout : currentLayout(b));
    bLayout = slots[static_cast<size_t>(bs)].layout;
  }
  int nonUnit = 0;
  for (size_t i = 1; i < bDims.size(); ++i) nonUnit += bDims[i] != 1;
  if (outLayout != bLayout && nonUnit > 1) return false;
  const int ys = outputSlot(n.output(0), outLayout);
  const memory::desc md = descOf(outDims, ir::DType::kFloat32, outLayout);
  const memory::desc bMd = descOf(bDims, ir::DType::kFloat32, bDims.size() == 4 ? bLayout : Layout::kPlain);
  const dnnl::algorithm alg = op == "Add" ? dnnl::algorithm::binary_add : op == "Mul" ? dnnl::algorithm::binary_mul
                                                                                      : dnnl::algorithm::binary_sub;
  dnnl::binary::primitive_desc pd;
  try {
    pd = dnnl::binary::primitive_desc(dnnl::binary::desc(alg, md, bMd, md), engine);
  } catch (const dnnl::error&) {
    return false;
  }
  auto m0 = std::make_shared<memory>(md, engine, nullptr), dst = std::make_shared<memory>(md, engine, nullptr);
  std::shared_ptr<memory> m1;
  std::shared_ptr<ir::Tensor> held;  // the constant operand, owned by the step
  if (constant) {
    held = std::make_shared<ir::Tensor>(*bConst);
    m1 = std::make_shared<memory>(bMd, engine, held->rawData());
  } else {
    m1 = std::make_shared<memory>(bMd, engine, nullptr);
  }
  auto prim = std::make_shared<dnnl::binary>(pd);
  auto b0 = binder(m0, as), bd = binder(dst, ys);
  std::function<void(uint8_t*)> b1 = constant ? std::function<void(uint8_t*)>([](uint8_t*) {}) : binder(m1, bs);
  std::vector<int> reads = {as};
  if (!constant) reads.push_back(bs);
  addStep({n.name(), n.qualifiedOpType(), implName(pd), 0}, reads, {ys}, [this, prim, m0, m1, dst, b0, b1, bd, held](uint8_t* p) {
    b0(p);
    b1(p);
    bd(p);
    prim->execute(stream, {{DNNL_ARG_SRC_0, *m0}, {DNNL_ARG_SRC_1, *m1}, {DNNL_ARG_DST, *dst}});
    stream.wait();
  });
  return true;
}

bool Plan::Impl::eltwise(const ir::Node& n) {
  if (!n.domain().empty() || n.inputs().empty() || n.outputs().size() != 1) return false;
  const ir::Value* x = n.input(0);
  if (x->dtype() != ir::DType::kFloat32 || isStatic.count(x) || x->isInitializer()) return false;
  std::vector<float> params;
  if (n.opType() == "LeakyRelu") params = {n.attrFloat("alpha", 0.01f)};
  if (n.opType() == "Clip") {
    // Clip's bounds are inputs (opset >= 11): constants only.
    float lo = -3.4e38f, hi = 3.4e38f;
    for (size_t i = 1; i < 3 && i < n.inputs().size(); ++i) {
      const ir::Value* v = n.input(i);
      if (!v) continue;
      const ir::Tensor* t = staticScalar(v);
      if (!t) return false;
      (i == 1 ? lo : hi) = static_cast<float>(t->getAsDouble(0));
    }
    params = {lo, hi};
  }
  auto e = eltwiseOf(n.opType(), params);
  if (!e) return false;
  const Layout layout = currentLayout(x);
  const int xs = slotIn(x, layout);
  const int ys = outputSlot(n.output(0), layout);
  const memory::desc md = descOf(dimsOf(x), ir::DType::kFloat32, slots[static_cast<size_t>(xs)].layout);
  dnnl::eltwise_forward::primitive_desc pd;
  try {
    pd = dnnl::eltwise_forward::primitive_desc(
        dnnl::eltwise_forward::desc(dnnl::prop_kind::forward_inference, e->alg, md, e->alpha, e->beta), engine);
  } catch (const dnnl::error&) {
    return false;
  }
  addSrcDstStep({n.name(), n.qualifiedOpType(), implName(pd), 0}, std::make_shared<dnnl::eltwise_forward>(pd), md, md, xs,
                ys);
  return true;
}

// A DequantizeLinear whose only reader is an average pooling over windows that tile the map (an
// exit head's pooling to a grid, a global pooling): one step from the uint8 NHWC map to the pooled
// floats, never writing the float map (four times the bytes of the uint8 one).
bool Plan::Impl::dequantizeIntoPool(const ir::Node& n, float scale, int32_t zeroPoint) {
  const ir::Value* x = n.input(0);
  const ir::Value* y = n.output(0);
  const auto& uses = y->uses();
  if (uses.size() != 1 || dimsOf(x).size() != 4 || std::find(outputs.begin(), outputs.end(), y) != outputs.end() ||
      options.observed.count(y->name()))
    return false;
  const ir::Node& pool = *uses[0].node;
  const std::vector<int64_t> xd = dimsOf(x);
  int64_t kh = xd[2], kw = xd[3];
  if (!pool.domain().empty() || pool.outputs().size() != 1 || (pool.opType() != "AveragePool" && pool.opType() != "GlobalAveragePool"))
    return false;
  if (pool.opType() == "AveragePool") {
    for (int64_t d : pool.attrInts("dilations", {1, 1}))
      if (d != 1) return false;
    auto params = runtime::poolParamsOf(pool, xd);
    if (!params.ok()) return false;  // the pool's own lowering reports it
    const ref::PoolParams& p = params.value();
    for (int a = 1; a <= 2; ++a)
      if (p.kernel[a] != p.stride[a] || p.pad_begin[a] != 0 || p.out[a] * p.kernel[a] != p.in[a]) return false;
    kh = p.kernel[1], kw = p.kernel[2];
  }
  if (kh * kw > (int64_t{1} << 23)) return false;  // int32 sums of the window
  const std::vector<int64_t> yd = {xd[0], xd[1], xd[2] / kh, xd[3] / kw};
  valueDims[pool.output(0)] = yd;
  const int xs = slotIn(x, Layout::kNhwc), ys = outputSlot(pool.output(0), Layout::kNhwc);
  const size_t xi = static_cast<size_t>(xs), yi = static_cast<size_t>(ys);
  const int64_t inImage = xd[1] * xd[2] * xd[3], outImage = yd[1] * yd[2] * yd[3];
  addStep({pool.name(), "DequantizeLinear+" + pool.opType(), "x86:qu8_dequantize_avgpool_tiles_nhwc__avx512bw", 0}, {xs}, {ys},
          [this, xi, yi, xd, kh, kw, scale, zeroPoint, inImage, outImage](uint8_t* a) {
            for (int64_t i = 0; i < xd[0]; ++i)
              kernels::x86::qu8_dequantize_avgpool_tiles_nhwc__avx512bw(
                  xd[2], xd[3], xd[1], kh, kw, a + slots[xi].offset + i * inImage, scale, zeroPoint,
                  reinterpret_cast<float*>(a + slots[yi].offset) + i * outImage);
          });
  fused.insert(&pool);
  return true;
}

// edgeopt.QAdd, QuantizeLinear to uint8 and the int8 global average pool with kernels/x86
// (uint8-stored activations; the same arithmetic as the reference, bit for bit).
bool Plan::Impl::int8Elementwise(const ir::Node& n) {
  if (!avx512) return false;
  const std::string op = n.qualifiedOpType();
  if (op == "QuantizeLinear" || op == "DequantizeLinear") {
    // Between float and uint8 storage, per tensor. Dequantizing computes (x - zero point) * scale,
    // the reference's own two steps (an exact int-to-float conversion, one rounding), in a loop
    // the compiler vectorizes.
    const bool quantize = op == "QuantizeLinear";
    const ir::Value* x = n.input(0);
    const ir::Tensor* scale = staticScalar(n.input(1));
    const ir::Tensor* zp = n.inputs().size() > 2 ? staticScalar(n.input(2)) : nullptr;
    if (x->dtype() != (quantize ? ir::DType::kFloat32 : ir::DType::kUInt8) || isStatic.count(x) || x->isInitializer() ||
        !scale || !zp || zp->dtype() != ir::DType::kUInt8 || scale->dtype() != ir::DType::kFloat32)
      return false;
    const float s = scale->data<float>()[0];
    const int32_t z = zp->data<uint8_t>()[0];
    if (!quantize && dequantizeIntoPool(n, s, z)) return true;
    const Layout layout = currentLayout(x);
    const int xs = slotIn(x, layout), ys = outputSlot(n.output(0), layout);
    const int64_t count = ir::numElements(dimsOf(x));
    const size_t xi = static_cast<size_t>(xs), yi = static_cast<size_t>(ys);
    if (quantize)
      addStep({n.name(), op, "x86:qu8_quantize__avx512f", 0}, {xs}, {ys}, [this, xi, yi, count, s, z](uint8_t* a) {
        kernels::x86::qu8_quantize__avx512f(count, reinterpret_cast<const float*>(a + slots[xi].offset), s, z,
                                            a + slots[yi].offset);
      });
    else
      addStep({n.name(), op, "x86:qu8_dequantize", 0}, {xs}, {ys}, [this, xi, yi, count, s, z](uint8_t* a) {
        const uint8_t* in = a + slots[xi].offset;
        float* out = reinterpret_cast<float*>(a + slots[yi].offset);
        for (int64_t i = 0; i < count; ++i) out[i] = static_cast<float>(static_cast<int32_t>(in[i]) - z) * s;
      });
    return true;
  }
  if (!runtime::int8StorageOf(n).outputUint8) return false;
  auto params = runtime::int8OutputParamsOf(n);
  if (!params.ok()) return fail(params.status());
  const ref::QuantParams q = ref::toUint8Domain(params.value());
  if (op == "edgeopt.QAdd") {
    const ir::Value* a = n.input(0);
    const ir::Value* b = n.input(1);
    if (a->dtype() != ir::DType::kUInt8 || b->dtype() != ir::DType::kUInt8 || isStatic.count(a) || isStatic.count(b) ||
        a->isInitializer() || b->isInitializer() || dimsOf(a) != dimsOf(b))
      return false;
    auto add = runtime::qBinaryOf(n);
    if (!add.ok()) return fail(add.status());
    const ref::AddRequantization r = add->add;
    const int32_t az = add->aZeroPoint + 128, bz = add->bZeroPoint + 128;
    const Layout layout = currentLayout(a);
    const int s0 = slotIn(a, layout), s1 = slotIn(b, layout), so = outputSlot(n.output(0), layout);
    const int64_t count = ir::numElements(dimsOf(a));
    const size_t i0 = static_cast<size_t>(s0), i1 = static_cast<size_t>(s1), io = static_cast<size_t>(so);
    addStep({n.name(), op, "x86:qu8_add__avx512f", 0}, {s0, s1}, {so}, [this, i0, i1, io, count, az, bz, r, q](uint8_t* p) {
      kernels::x86::qu8_add__avx512f(count, p + slots[i0].offset, az, p + slots[i1].offset, bz, r, q, p + slots[io].offset);
    });
    return true;
  }
  if (op == "edgeopt.QAveragePool") {
    const ir::Value* x = n.input(0);
    const auto& d = dimsOf(x);
    auto avg = runtime::qAverageOf(n);
    if (!avg.ok()) return fail(avg.status());
    if (!avg->global || x->dtype() != ir::DType::kUInt8 || d.size() != 4) return false;
    const int64_t pixels = d[2] * d[3];
    const ref::Requantization r = {ref::averageMultiplier(avg->inputScale, avg->outputScale, pixels)};
    const int xsl = slotIn(x, Layout::kNhwc);
    const int ysl = outputSlot(n.output(0), Layout::kPlain);  // [N, C, 1, 1]: NHWC and NCHW coincide
    const size_t xi = static_cast<size_t>(xsl), yi = static_cast<size_t>(ysl);
    const int64_t N = d[0], C = d[1];
    addStep({n.name(), op, "x86:qu8_global_avgpool_nhwc__avx512f", 0}, {xsl}, {ysl},
            [this, xi, yi, N, C, pixels, r, q](uint8_t* a) {
              kernels::x86::qu8_global_avgpool_nhwc__avx512f(N, pixels, C, a + slots[xi].offset, r, q, a + slots[yi].offset);
            });
    return true;
  }
  return false;
}

}  // namespace edgeopt::x86
