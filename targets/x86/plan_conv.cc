// x86 lowering of convolutions and matrix products (fp32 and int8): oneDNN primitives and
// edgeopt's own int8 kernels (pointwise and k x k GEMM, depthwise 3x3), with the int8 output stage.
#include "targets/x86/plan_impl.h"

namespace edgeopt::x86 {

// The step of convolution or matmul primitives. fp32: one piece, writing the output slot. int8
// (stage given): each piece writes int32 accumulators, which the output stage (bias,
// requantization, bounds) turns into the uint8-stored output rows of that piece; pieces are sized
// so that the accumulators stay in cache between the primitive and the output stage.
void Plan::Impl::addWeightedStep(const ir::Node& n, std::vector<Piece> pieces, const std::string& impl,
                                 std::shared_ptr<memory> weights, std::shared_ptr<memory> bias, int xs, int ys,
                                 int64_t macs, std::optional<runtime::Int8OutputStage> stage, std::vector<int32_t> biasQ,
                                 int64_t channels, std::vector<ExtraArg> extra, std::optional<FusedInt8Add> fusedAdd) {
  const size_t xsIdx = static_cast<size_t>(xs), ysIdx = static_cast<size_t>(ys);
  std::vector<int> reads = {xs};
  for (const ExtraArg& e : extra) reads.push_back(e.slot);
  auto execute = [this, weights, bias, xsIdx, extra](uint8_t* a, const Piece& p, void* out) {
    p.src->set_data_handle(a + slots[xsIdx].offset + p.srcOffset);
    p.dst->set_data_handle(out);
    std::unordered_map<int, memory> args = {{DNNL_ARG_SRC, *p.src}, {DNNL_ARG_WEIGHTS, *weights}, {DNNL_ARG_DST, *p.dst}};
    if (bias) args[DNNL_ARG_BIAS] = *bias;
    for (const ExtraArg& e : extra) {
      if (e.arg == kSumSource) {
        const Slot& from = slots[static_cast<size_t>(e.slot)];
        std::memcpy(out, a + from.offset, from.bytes);
        continue;
      }
      e.mem->set_data_handle(a + slots[static_cast<size_t>(e.slot)].offset);
      args[e.arg] = *e.mem;
    }
    p.prim->execute(stream, args);
    stream.wait();
  };
  if (!stage) {
    EDGEOPT_CHECK(pieces.size() == 1);
    const Piece piece = pieces[0];
    addStep({n.name(), n.qualifiedOpType(), impl, macs}, reads, {ys},
            [this, execute, piece, ysIdx](uint8_t* a) { execute(a, piece, a + slots[ysIdx].offset); });
    return;
  }
  int64_t maxRows = 0;
  for (const Piece& p : pieces) maxRows = std::max(maxRows, p.rows);
  reserveAccumulators(maxRows * channels);
  const bool fast = avx512;
  auto st = std::make_shared<runtime::Int8OutputStage>(std::move(*stage));
  auto biasValues = std::make_shared<std::vector<int32_t>>(std::move(biasQ));
  const int32_t* bq = biasValues->empty() ? nullptr : biasValues->data();
  auto requantizer = fast ? std::make_shared<kernels::x86::Requantizer>(channels, bq, st->requant.data(), st->q) : nullptr;
  EDGEOPT_CHECK(!fusedAdd || requantizer);
  const std::string outputStage = !fast       ? "ref:qs8_requantize_rows__scalar"
                                  : fusedAdd ? kernels::x86::Requantizer::nameWithAdd()
                                             : kernels::x86::Requantizer::name();
  if (fusedAdd) reads.push_back(fusedAdd->skipSlot);
  addStep({n.name(), n.qualifiedOpType(), impl + " + " + outputStage, macs}, reads, {ys},
          [this, execute, pieces, st, biasValues, bq, requantizer, channels, ysIdx, fusedAdd](uint8_t* a) {
            for (const Piece& p : pieces) {
              execute(a, p, accumulators.data());
              uint8_t* y = a + slots[ysIdx].offset + p.firstRow * channels;
              if (fusedAdd)
                requantizer->runWithAdd(p.rows, accumulators.data(),
                                        a + slots[static_cast<size_t>(fusedAdd->skipSlot)].offset + p.firstRow * channels,
                                        fusedAdd->params, y);
              else if (requantizer)
                requantizer->run(p.rows, accumulators.data(), y);
              else
                ref::qs8_requantize_rows__scalar(p.rows, channels, accumulators.data(), bq, st->requant.data(), st->q, y);
            }
          });
}

const ir::Node* Plan::Impl::fusableInt8Add(const ir::Value* y, const std::vector<int64_t>& yDims, FusedInt8Add* f) {
  if (!avx512) return nullptr;
  const auto& uses = y->uses();
  const ir::Node* add = uses.size() == 1 ? uses[0].node : nullptr;
  if (!add || add->domain() != ir::kEdgeoptDomain || add->opType() != "QAdd" || add->inputs().size() != 2) return nullptr;
  if (std::find(outputs.begin(), outputs.end(), y) != outputs.end() || options.observed.count(y->name())) return nullptr;
  const bool yIsA = add->input(0) == y;
  const ir::Value* r = add->input(yIsA ? 1 : 0);
  if (r == y || r->dtype() != ir::DType::kUInt8 || r->isInitializer() || isStatic.count(r) || !valueDims.count(r) ||
      dimsOf(r) != yDims || !slotOf.count({r, Layout::kNhwc}) || add->output(0)->dtype() != ir::DType::kUInt8)
    return nullptr;
  auto op = runtime::qBinaryOf(*add);
  if (!op.ok()) return nullptr;  // the Add's own step reports it
  f->skipSlot = slotOf.at({r, Layout::kNhwc});
  f->params.add = op->add;
  if (!yIsA) std::swap(f->params.add.a_weight, f->params.add.b_weight);
  f->params.a_zero_point = (yIsA ? op->aZeroPoint : op->bZeroPoint) + 128;
  f->params.b_zero_point = (yIsA ? op->bZeroPoint : op->aZeroPoint) + 128;
  f->params.q = ref::toUint8Domain(op->q);
  return add;
}

// [rows, K] x w -> [rows, N] as oneDNN matmuls (w is [K, N], or [N, K] when wTransposed): one
// primitive for fp32; for int8 (u8 x s8 -> s32), pieces of at most about 1 MB of accumulators plus
// one for the remaining rows, sharing the packed weights.
bool Plan::Impl::matmulPieces(int64_t rows, int64_t K, int64_t N, bool int8, const ir::Tensor& w, bool wTransposed,
                              const memory::desc& biasMd, const dnnl::primitive_attr& attr, std::vector<Piece>* pieces,
                              std::shared_ptr<memory>* weights, std::string* impl) {
  const DT srcT = int8 ? DT::u8 : DT::f32, wT = int8 ? DT::s8 : DT::f32, dstT = int8 ? DT::s32 : DT::f32;
  const int64_t chunk = int8 ? std::clamp<int64_t>((int64_t{1} << 20) / (N * 4), 16, rows) : rows;
  auto make = [&](int64_t r, const memory::desc& wMd) {
    memory::desc srcMd({r, K}, srcT, Tag::ab), dstMd({r, N}, dstT, Tag::ab);
    return dnnl::matmul::primitive_desc(dnnl::matmul::desc(srcMd, wMd, biasMd, dstMd), attr, engine);
  };
  try {
    const auto main = make(chunk, memory::desc({K, N}, wT, Tag::any));
    *impl = implName(main);
    *weights = std::make_shared<memory>(packConstant(w, memory::desc({K, N}, wT, wTransposed ? Tag::ba : Tag::ab),
                                                     main.weights_desc()));
    const size_t rowBytes = static_cast<size_t>(K) * (int8 ? 1 : 4);
    auto add = [&](const dnnl::matmul::primitive_desc& pd, int64_t first, int64_t r) {
      pieces->push_back({std::make_shared<dnnl::matmul>(pd), std::make_shared<memory>(pd.src_desc(), engine, nullptr),
                         std::make_shared<memory>(pd.dst_desc(), engine, nullptr), static_cast<size_t>(first) * rowBytes,
                         first, r});
    };
    int64_t first = 0;
    for (; first + chunk <= rows; first += chunk) add(main, first, chunk);
    if (first < rows) add(make(rows - first, main.weights_desc()), first, rows - first);
  } catch (const dnnl::error&) {
    pieces->clear();
    return false;
  }
  return true;
}

// An int8 matrix product [rows, K] x w^T -> [rows, N] (w int8 [N][K], bias with the input zero
// point folded in as int8Bias gives it, empty for none) with edgeopt's fused-output GEMM, which
// keeps the accumulators in registers through the output stage. False (nothing added) where it
// does not apply: no VNNI or a depth that is not a multiple of 4.
bool Plan::Impl::ownGemmStep(const ir::Node& n, int64_t rows, int64_t K, int64_t N, const int8_t* w,
                             const std::vector<int32_t>& bias, const runtime::Int8OutputStage& stage, Layout layout,
                             const std::string& what) {
  auto gemm = std::make_shared<kernels::x86::QGemmVnni>();
  if (!options.ownGemm || !kernels::x86::hasAvx512Vnni() ||
      !kernels::x86::prepareQGemmVnni(K, N, w, bias.empty() ? nullptr : bias.data(), stage.requant.data(), stage.q,
                                      gemm.get()))
    return false;
  const int xs = slotIn(n.input(0), layout);
  const int ys = outputSlot(n.output(0), layout);
  weightBytes += static_cast<int64_t>(gemm->b.size() + gemm->constants.size() * sizeof(int64_t));
  const size_t xi = static_cast<size_t>(xs), yi = static_cast<size_t>(ys);
  addStep({n.name(), n.qualifiedOpType(), "x86:qu8_gemm_requant__avx512vnni" + what, rows * K * N}, {xs}, {ys},
          [this, gemm, rows, xi, yi](uint8_t* a) {
            kernels::x86::qu8_gemm_requant__avx512vnni(rows, a + slots[xi].offset, *gemm, a + slots[yi].offset);
          });
  return true;
}

// A 1x1, stride-1, unpadded, ungrouped int8 convolution is a matmul over NHWC rows: [N*H*W, C] x
// [C, M]; edgeopt's GEMM where it applies, else oneDNN's matmul in cache-sized pieces at any batch
// size.
bool Plan::Impl::pointwiseInt8(const ir::Node& n, const ref::ConvParams& p) {
  const ir::Value* x = n.input(0);
  const ir::Tensor& w = n.input(1)->initializer();
  const int64_t rows = p.batch * p.in[1] * p.in[2], C = p.in_channels, M = p.out_channels;
  auto s = runtime::int8OutputStageOf(n, M);
  if (!s.ok()) return fail(s.status());
  std::vector<int32_t> bias = int8Bias(n, w, M, /*channelsFirst=*/true, /*padded=*/false);
  if (ownGemmStep(n, rows, C, M, w.data<int8_t>(), bias, s.value(), Layout::kNhwc, " (1x1 conv)")) return true;
  std::vector<Piece> pieces;
  std::shared_ptr<memory> weights;
  std::string impl;
  if (!matmulPieces(rows, C, M, true, w, /*wTransposed=*/true, memory::desc(), dnnl::primitive_attr(), &pieces, &weights,
                    &impl))
    return false;
  const int xs = slotIn(x, Layout::kNhwc);
  const int ys = outputSlot(n.output(0), Layout::kNhwc);
  addWeightedStep(n, std::move(pieces), impl + " (1x1 conv as matmul)", weights, nullptr, xs, ys, rows * C * M,
                  std::move(s).value(), std::move(bias), M);
  return true;
}

// A 3x3 depthwise int8 convolution with edgeopt's kernel (oneDNN 2.6's depthwise int8 reaches a
// small fraction of the machine's peak): per output row, int32 accumulators then the output stage.
bool Plan::Impl::depthwiseInt8(const ir::Node& n, const ref::ConvParams& p) {
  const ir::Value* x = n.input(0);
  const ir::Tensor& w = n.input(1)->initializer();
  const ir::Value* b = n.inputs().size() > 2 ? n.input(2) : nullptr;
  const int64_t C = p.in_channels;
  auto s = runtime::int8OutputStageOf(n, C);
  if (!s.ok()) return fail(s.status());
  auto stage = std::make_shared<runtime::Int8OutputStage>(std::move(s).value());
  const bool vnni = kernels::x86::hasAvx512Vnni();
  // The VNNI kernels multiply the stored bytes, so the input zero point folds into the bias.
  auto adjusted = std::make_shared<std::vector<int32_t>>(int8Bias(n, w, C, /*channelsFirst=*/true, /*padded=*/false));
  const int32_t* adjustedData = adjusted->empty() ? nullptr : adjusted->data();
  kernels::x86::DwConv3x3Params d;
  d.in_h = p.in[1];
  d.in_w = p.in[2];
  d.channels = C;
  d.out_w = p.out[2];
  d.stride_h = p.stride[1];
  d.stride_w = p.stride[2];
  d.pad_top = p.pad_begin[1];
  d.pad_left = p.pad_begin[2];
  d.x_zero_point = inputZeroPointU8(n);
  const int64_t N = p.batch, OH = p.out[1], OW = p.out[2];
  const int xs = slotIn(x, Layout::kNhwc);
  const int ys = outputSlot(n.output(0), Layout::kNhwc);
  const size_t xi = static_cast<size_t>(xs), yi = static_cast<size_t>(ys);
  const int64_t inImage = p.in[1] * p.in[2] * C;
  const int64_t macs = N * OH * OW * C * 9;
  // A step calling rows(oh, count, image's input, output row oh) for runs of `step` output rows
  // (the last run of an image may be shorter), or row(oh, input, output row) for each row.
  const auto eachRows = [this, N, OH, OW, C, inImage, xi, yi](int64_t step, auto&& rows) {
    return [this, N, OH, OW, C, inImage, xi, yi, step, rows](uint8_t* a) {
      for (int64_t img = 0; img < N; ++img) {
        const uint8_t* xin = a + slots[xi].offset + img * inImage;
        uint8_t* y = a + slots[yi].offset + img * OH * OW * C;
        for (int64_t oh = 0; oh < OH; oh += step) rows(oh, std::min(step, OH - oh), xin, y + oh * OW * C);
      }
    };
  };
  const auto eachRow = [&eachRows](auto&& row) {
    return eachRows(1, [row](int64_t oh, int64_t, const uint8_t* xin, uint8_t* yRow) { row(oh, xin, yRow); });
  };
  // With VNNI the output stage is fused into the kernel: stride 1 with channels % 16 == 0 over 16-channel groups, otherwise per
  // 64-channel block. Else int32 rows, then the prepared output stage.
  auto flat = std::make_shared<kernels::x86::DwConv3x3VnniFlat>();
  if (vnni && d.stride_w == 1 &&
      kernels::x86::prepareDwConv3x3VnniFlat(C, w.data<int8_t>(), adjustedData, stage->requant.data(), stage->q, flat.get())) {
    weightBytes += static_cast<int64_t>(flat->weights.size() + flat->constants.size() * sizeof(int64_t));
    auto scratch = std::make_shared<kernels::x86::AlignedVector<uint8_t>>(kernels::x86::dwConv3x3VnniFlatScratchBytes(d));
    // Pairs of output rows share one interleave of their four input rows (stride 1 in height).
    const int64_t rowsPerCall = d.stride_h == 1 ? 2 : 1;
    addStep({n.name(), n.qualifiedOpType(), "x86:qu8_dwconv3x3s1_flat_requant_rows__avx512vnni", macs}, {xs}, {ys},
            eachRows(rowsPerCall, [d, flat, scratch](int64_t oh, int64_t rows, const uint8_t* xin, uint8_t* y) {
              kernels::x86::qu8_dwconv3x3s1_flat_requant_rows__avx512vnni(d, *flat, oh, rows, xin, scratch->data(), y);
            }));
    return true;
  }
  auto packed = std::make_shared<kernels::x86::AlignedVector<int8_t>>();
  if (vnni) {
    *packed = kernels::x86::packDwConv3x3WeightsVnni(w.data<int8_t>(), C);
    weightBytes += static_cast<int64_t>(packed->size());
  }
  auto fusedStage = std::make_shared<kernels::x86::DwConv3x3VnniOutputStage>();
  if (vnni &&
      kernels::x86::prepareDwConv3x3VnniOutputStage(C, adjustedData, stage->requant.data(), stage->q, fusedStage.get())) {
    weightBytes += static_cast<int64_t>(fusedStage->constants.size() * sizeof(int64_t));
    auto scratch = std::make_shared<kernels::x86::AlignedVector<uint8_t>>(kernels::x86::dwConv3x3VnniFusedScratchBytes());
    addStep({n.name(), n.qualifiedOpType(), "x86:qu8_dwconv3x3_requant_row__avx512vnni", macs}, {xs}, {ys},
            eachRow([d, packed, fusedStage, scratch](int64_t oh, const uint8_t* xin, uint8_t* yRow) {
              kernels::x86::qu8_dwconv3x3_requant_row__avx512vnni(d, oh, xin, packed->data(), *fusedStage, scratch->data(),
                                                                  yRow);
            }));
    return true;
  }
  // Unfused: VNNI taps with the zero point folded into the bias, or (AVX-512F) int32-widened
  // tap-major weights with the node's own bias; then the prepared output stage.
  auto wide = std::make_shared<std::vector<int32_t>>();
  auto bias = std::make_shared<std::vector<int32_t>>();
  if (!vnni) {
    *wide = runtime::depthwise3x3TapMajor<int32_t>(w.data<int8_t>(), C);
    weightBytes += static_cast<int64_t>(wide->size() * sizeof(int32_t));
    if (b) bias->assign(b->initializer().data<int32_t>(), b->initializer().data<int32_t>() + C);
  } else {
    weightBytes += static_cast<int64_t>(adjusted->size() * sizeof(int32_t));
  }
  auto requantizer = std::make_shared<kernels::x86::Requantizer>(C, nullptr, stage->requant.data(), stage->q);
  reserveAccumulators(OW * C);
  auto scratch = std::make_shared<kernels::x86::AlignedVector<uint8_t>>(vnni ? kernels::x86::dwConv3x3VnniScratchBytes(d) : 0);
  addStep({n.name(), n.qualifiedOpType(),
           std::string(vnni ? "x86:qu8_dwconv3x3_row__avx512vnni" : "x86:qu8_dwconv3x3_row__avx512f") + " + " +
               kernels::x86::Requantizer::name(),
           macs},
          {xs}, {ys},
          eachRow([this, d, wide, bias, packed, adjusted, adjustedData, scratch, vnni, requantizer, OW](
                      int64_t oh, const uint8_t* xin, uint8_t* yRow) {
            if (vnni)
              kernels::x86::qu8_dwconv3x3_row__avx512vnni(d, oh, xin, packed->data(), adjustedData, scratch->data(),
                                                          accumulators.data());
            else
              kernels::x86::qu8_dwconv3x3_row__avx512f(d, oh, xin, wide->data(), bias->empty() ? nullptr : bias->data(),
                                                       accumulators.data());
            requantizer->run(OW, accumulators.data(), yRow);
          }));
  return true;
}

// An int8 k x k convolution (one group) with edgeopt's fused-output GEMM: per image, the input is
// copied into a buffer whose padding already holds the zero point (so the zero point folds into
// the bias as without padding), then the kernel walks kernel-row segments of it.
bool Plan::Impl::convInt8(const ir::Node& n, const ref::ConvParams& p) {
  const ir::Value* x = n.input(0);
  const ir::Tensor& w = n.input(1)->initializer();
  const int64_t N = p.batch, C = p.in_channels, M = p.out_channels, KH = p.kernel[1], KW = p.kernel[2];
  auto s = runtime::int8OutputStageOf(n, M);
  if (!s.ok()) return fail(s.status());
  const std::vector<int32_t> bias = int8Bias(n, w, M, /*channelsFirst=*/true, /*padded=*/false);
  // A stem reading the graph's NCHW input transposes it while filling the padded buffer, as
  // pixels of 4 channels (a zero-weight channel where the input has fewer), instead of a separate
  // reorder step, when that adds no 4-byte group to a kernel row (3 channels: 1x1 and 3x3, not
  // 7x7, where 28 bytes instead of 21 measured slower than the reorder saves); with 1 channel
  // NCHW is NHWC.
  const bool planesFit = C > 1 && C <= 4 && KW == (KW * C + 3) / 4;
  const Layout inLayout = currentLayout(x) == Layout::kPlain && (C == 1 || planesFit) ? Layout::kPlain : Layout::kNhwc;
  const bool fromPlanes = inLayout == Layout::kPlain && C > 1;
  const int64_t Cp = fromPlanes ? 4 : C;
  std::vector<int8_t> weights(w.data<int8_t>(), w.data<int8_t>() + w.numel());
  if (Cp != C) {
    weights.assign(static_cast<size_t>(M * Cp * KH * KW), 0);
    for (int64_t m = 0; m < M; ++m)
      for (int64_t c = 0; c < C; ++c)
        std::copy_n(w.data<int8_t>() + (m * C + c) * KH * KW, KH * KW, weights.begin() + (m * Cp + c) * KH * KW);
  }
  auto conv = std::make_shared<kernels::x86::QGemmVnni>();
  if (!kernels::x86::prepareQConvVnni(Cp, M, KH, KW, weights.data(), bias.empty() ? nullptr : bias.data(),
                                      s.value().requant.data(), s.value().q, conv.get()))
    return false;
  const int64_t padTop = p.pad_begin[1], padLeft = p.pad_begin[2];
  const int64_t paddedH = std::max(p.in[1] + padTop, (p.out[1] - 1) * p.stride[1] + (KH - 1) * p.dilation[1] + 1);
  const int64_t paddedW = std::max(p.in[2] + padLeft, (p.out[2] - 1) * p.stride[2] + KW);
  // Padding rows and columns hold the zero point from plan time on; each run writes the interior.
  const uint8_t zp = static_cast<uint8_t>(inputZeroPointU8(n));
  auto padded = std::make_shared<std::vector<uint8_t>>(static_cast<size_t>(paddedH * paddedW * Cp + 4), zp);
  weightBytes += static_cast<int64_t>(conv->b.size() + conv->constants.size() * sizeof(int64_t));
  kernels::x86::QConvGeometry geo;
  geo.padded_w = paddedW;
  geo.channels = Cp;
  geo.out_h = p.out[1];
  geo.out_w = p.out[2];
  geo.stride_h = p.stride[1];
  geo.stride_w = p.stride[2];
  geo.dilation_h = p.dilation[1];
  const int xs = slotIn(x, inLayout);
  const int ys = outputSlot(n.output(0), Layout::kNhwc);
  const size_t xi = static_cast<size_t>(xs), yi = static_cast<size_t>(ys);
  const int64_t H = p.in[1], W = p.in[2], outImage = p.out[1] * p.out[2] * M;
  addStep({n.name(), n.qualifiedOpType(),
           std::string("x86:qu8_conv_requant__avx512vnni") + (fromPlanes ? " (NCHW input via x86:qu8_planes_to_pixels4__avx512bw)" : ""),
           N * M * p.out[1] * p.out[2] * C * KH * KW},
          {xs}, {ys}, [this, conv, padded, geo, fromPlanes, zp, N, H, W, C, Cp, padTop, padLeft, paddedW, outImage, xi, yi](uint8_t* a) {
            for (int64_t img = 0; img < N; ++img) {
              const uint8_t* xin = a + slots[xi].offset + img * H * W * C;
              for (int64_t h = 0; h < H; ++h) {
                uint8_t* row = padded->data() + ((h + padTop) * paddedW + padLeft) * Cp;
                if (fromPlanes) {
                  const uint8_t* planes[4] = {};
                  for (int64_t c = 0; c < C; ++c) planes[c] = xin + (c * H + h) * W;
                  kernels::x86::qu8_planes_to_pixels4__avx512bw(W, planes, static_cast<int>(C), zp, row);
                } else {
                  std::memcpy(row, xin + h * W * C, static_cast<size_t>(W * C));
                }
              }
              kernels::x86::qu8_conv_requant__avx512vnni(geo, padded->data(), *conv, a + slots[yi].offset + img * outImage);
            }
          });
  return true;
}

bool Plan::Impl::conv(const ir::Node& n, bool int8) {
  const ir::Value* x = n.input(0);
  const ir::Value* w = n.input(1);
  const ir::Value* b = n.inputs().size() > 2 ? n.input(2) : nullptr;
  if (!w->isInitializer() || (b && !b->isInitializer()) || dimsOf(x).size() != 4) return false;
  if (int8 ? (!int8Storage(n) || x->dtype() != ir::DType::kUInt8) : x->dtype() != ir::DType::kFloat32) return false;
  auto params = runtime::convParamsOf(n, dimsOf(x), w->initializer().dims());
  if (!params.ok()) return fail(params.status());
  const ref::ConvParams& p = params.value();
  const int64_t N = p.batch, C = p.in_channels, M = p.out_channels, G = p.groups;
  // The kernels read M bias values: a shorter (or mistyped) bias is the model's error, not theirs.
  if (b && (b->initializer().rank() != 1 || b->initializer().numel() != M ||
            b->initializer().dtype() != (int8 ? ir::DType::kInt32 : ir::DType::kFloat32)))
    return fail(invalidInput("node " + n.describe() + ": bias " + ir::dimsToString(b->initializer().dims()) + " of " +
                             ir::dtypeName(b->initializer().dtype()) + " does not fit " + std::to_string(M) +
                             " output channels"));
  const bool unpadded = p.pad_begin[1] == 0 && p.pad_begin[2] == 0 && p.out[1] == p.in[1] && p.out[2] == p.in[2];
  if (int8 && G == 1 && p.kernel[1] == 1 && p.kernel[2] == 1 && p.stride[1] == 1 && p.stride[2] == 1 && unpadded)
    return pointwiseInt8(n, p);
  if (int8 && avx512 && options.ownDepthwise && runtime::isDepthwise3x3(p) && depthwiseInt8(n, p))
    return true;
  // edgeopt's GEMM for k x k convolutions where one side is narrow (stems, 16-32 channel layers):
  // 0.43-0.95x oneDNN's time there (with its output stage); from 64 channels on both sides
  // oneDNN's brgconv runs near the VNNI peak and measured 1-11 % faster (ResNet-18, resnet_fm).
  if (int8 && options.ownGemm && G == 1 && p.dilation[2] == 1 && std::min(C, M) <= 32 && kernels::x86::hasAvx512Vnni() &&
      convInt8(n, p))
    return true;
  const memory::dims strides = {p.stride[1], p.stride[2]}, dil = {p.dilation[1] - 1, p.dilation[2] - 1};
  const memory::dims padL = {p.pad_begin[1], p.pad_begin[2]};
  memory::dims padR(2);
  for (int a = 0; a < 2; ++a)
    padR[static_cast<size_t>(a)] = (p.out[a + 1] - 1) * p.stride[a + 1] + (p.kernel[a + 1] - 1) * p.dilation[a + 1] + 1 -
                                   p.in[a + 1] - p.pad_begin[a + 1];
  const memory::dims wDims = G > 1 ? memory::dims{G, M / G, C / G, p.kernel[1], p.kernel[2]}
                                   : memory::dims{M, C, p.kernel[1], p.kernel[2]};
  const std::vector<int64_t> yDims = {N, M, p.out[1], p.out[2]};
  const DT srcT = int8 ? DT::u8 : DT::f32, wT = int8 ? DT::s8 : DT::f32, dstT = int8 ? DT::s32 : DT::f32;
  // int8: images per primitive run, so that its int32 accumulators fit in about 1 MB (L2).
  int64_t nb = N;
  if (int8)
    while (nb > 1 && (nb * p.out[1] * p.out[2] * M * 4 > (int64_t{1} << 20) || N % nb != 0)) --nb;
  memory::desc srcMd({nb, C, p.in[1], p.in[2]}, srcT, Tag::nhwc);
  memory::desc wMd(wDims, wT, Tag::any);
  memory::desc dstMd({nb, M, p.out[1], p.out[2]}, dstT, Tag::nhwc);
  memory::desc biasMd = b && !int8 ? memory::desc({M}, DT::f32, Tag::a) : memory::desc();
  dnnl::primitive_attr attr;
  std::optional<runtime::Int8OutputStage> stage;
  std::vector<int32_t> biasQ;
  if (int8) {
    auto s = runtime::int8OutputStageOf(n, M);
    if (!s.ok()) return fail(s.status());
    stage = std::move(s).value();
    const bool padded = std::any_of(padL.begin(), padL.end(), [](int64_t v) { return v != 0; }) ||
                        std::any_of(padR.begin(), padR.end(), [](int64_t v) { return v != 0; });
    biasQ = int8Bias(n, w->initializer(), M, /*channelsFirst=*/true, padded);
    if (padded) attr.set_zero_points(DNNL_ARG_SRC, 0, std::vector<int32_t>{inputZeroPointU8(n)});
  } else if (!fusedPostOps(n, attr)) {
    return false;
  }
  // int8 residual: Conv -> QAdd(·, r) runs the Add in the conv's output stage.
  std::optional<FusedInt8Add> fusedAdd;
  const ir::Node* int8Add = nullptr;
  if (int8) {
    FusedInt8Add f;
    if ((int8Add = fusableInt8Add(n.output(0), yDims, &f))) fusedAdd = f;
  }
  // fp32 residual: Conv -> Add(·, r) [-> Relu] becomes one primitive with a binary-add post-op
  // reading r (already computed) and a Relu post-op; the Add and Relu steps disappear.
  const ir::Value* finalOut = int8Add ? int8Add->output(0) : n.output(0);
  std::vector<const ir::Node*> absorbed;
  if (int8Add) absorbed.push_back(int8Add);
  std::vector<ExtraArg> extra;
  if (!int8) {
    const ir::Value* y = n.output(0);
    const auto& uses = y->uses();
    const ir::Node* add = uses.size() == 1 && uses[0].node->domain().empty() && uses[0].node->opType() == "Add" ? uses[0].node : nullptr;
    const ir::Value* r = add && add->inputs().size() == 2 ? add->input(add->input(0) == y ? 1 : 0) : nullptr;
    const bool isOutput = std::find(outputs.begin(), outputs.end(), y) != outputs.end();
    if (add && r && r != y && !isOutput && !options.observed.count(y->name()) && r->dtype() == ir::DType::kFloat32 &&
        !r->isInitializer() && !isStatic.count(r) &&
        valueDims.count(r) && dimsOf(r) == yDims && (slotOf.count({r, Layout::kNhwc}) || slotOf.count({r, Layout::kPlain}))) {
      dnnl::post_ops ops = attr.get_post_ops();
      const int binaryIndex = ops.len();
      const memory::desc rMd(toDims(yDims), DT::f32, Tag::nhwc);
      // As the first post-op, a sum into the destination (r copied there first): oneDNN 2.6 keeps
      // its brgconv for it, where a binary post-op made it fall back to its older jit kernel at
      // 40-60 % of brgconv's speed (ResNet-18's second convolution of every block).
      const bool sum = binaryIndex == 0;
      if (sum)
        ops.append_sum(1.0f);
      else
        ops.append_binary(dnnl::algorithm::binary_add, rMd);
      absorbed.push_back(add);
      finalOut = add->output(0);
      const auto& addUses = finalOut->uses();
      if (addUses.size() == 1 && addUses[0].node->domain().empty() && addUses[0].node->opType() == "Relu" &&
          std::find(outputs.begin(), outputs.end(), finalOut) == outputs.end() && !options.observed.count(finalOut->name())) {
        ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
        absorbed.push_back(addUses[0].node);
        finalOut = addUses[0].node->output(0);
      }
      attr.set_post_ops(ops);
      if (sum)
        extra.push_back({kSumSource, slotIn(r, Layout::kNhwc), nullptr});
      else
        extra.push_back({DNNL_ARG_ATTR_MULTIPLE_POST_OP(binaryIndex) | DNNL_ARG_SRC_1, slotIn(r, Layout::kNhwc),
                         std::make_shared<memory>(rMd, engine, nullptr)});
    }
  }
  dnnl::convolution_forward::primitive_desc pd;
  auto primitiveDesc = [&](const memory::desc& src, const memory::desc& dst) {
    dnnl::convolution_forward::desc d(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, src, wMd,
                                      biasMd, dst, strides, dil, padL, padR);
    return dnnl::convolution_forward::primitive_desc(d, attr, engine);
  };
  try {
    pd = primitiveDesc(srcMd, dstMd);
  } catch (const dnnl::error&) {
    return false;
  }
  // fp32 with one input and 16 output channels (stems of grayscale models): oneDNN 2.6 picks its
  // brgconv at about 40 % of the FMA peak for NHWC tensors, and a jit kernel twice as fast for an
  // NCHW input and an nChw16c output, which with one input and 16 output channels are the same
  // bytes as NHWC. Taken only when oneDNN offers that kernel (not its reference fallback).
  if (!int8 && G == 1 && C == 1 && M == 16) {
    try {
      const memory::desc planarSrc({nb, C, p.in[1], p.in[2]}, srcT, Tag::nchw);
      const memory::desc blockedDst({nb, M, p.out[1], p.out[2]}, dstT, Tag::nChw16c);
      auto alt = primitiveDesc(planarSrc, blockedDst);
      if (implName(alt).find("ref") == std::string::npos && alt.dst_desc().get_size() == dstMd.get_size() &&
          alt.src_desc().get_size() == srcMd.get_size()) {
        pd = alt;
        srcMd = planarSrc;
        dstMd = blockedDst;
      }
    } catch (const dnnl::error&) {
    }
  }
  const memory::desc userW(wDims, wT, G > 1 ? Tag::goihw : Tag::oihw);
  auto weights = std::make_shared<memory>(packConstant(w->initializer(), userW, pd.weights_desc()));
  std::shared_ptr<memory> bias;
  if (b && !int8) bias = std::make_shared<memory>(packConstant(b->initializer(), biasMd, biasMd));
  const int xs = slotIn(x, Layout::kNhwc);
  for (const ir::Node* a : absorbed) {
    fused.insert(a);
    valueDims[a->output(0)] = yDims;  // the shape run reaches it later
  }
  const int ys = outputSlot(finalOut, Layout::kNhwc);
  const int64_t macs = N * M * p.out[1] * p.out[2] * (C / G) * p.kernel[1] * p.kernel[2];
  auto prim = std::make_shared<dnnl::convolution_forward>(pd);
  std::vector<Piece> pieces;
  for (int64_t c = 0; c < N / nb; ++c)
    pieces.push_back({prim, std::make_shared<memory>(srcMd, engine, nullptr), std::make_shared<memory>(dstMd, engine, nullptr),
                      static_cast<size_t>(c) * srcMd.get_size(), c * nb * p.out[1] * p.out[2], nb * p.out[1] * p.out[2]});
  addWeightedStep(n, std::move(pieces), implName(pd) + (absorbed.empty() || int8 ? "" : " (+ residual add post-op)"), weights,
                  bias, xs, ys, macs, std::move(stage), std::move(biasQ), M, std::move(extra), fusedAdd);
  return true;
}

bool Plan::Impl::gemm(const ir::Node& n, bool int8) {
  const ir::Value* x = n.input(0);
  const ir::Value* w = n.input(1);
  const ir::Value* b = n.inputs().size() > 2 ? n.input(2) : nullptr;
  if (!w->isInitializer() || (b && !b->isInitializer()) || dimsOf(x).size() != 2 || w->initializer().rank() != 2)
    return false;
  if (int8 ? (!int8Storage(n) || x->dtype() != ir::DType::kUInt8) : x->dtype() != ir::DType::kFloat32) return false;
  if (!int8 && (n.opType() != "Gemm" || n.attrInt("transA", 0) || n.attrFloat("alpha", 1) != 1 || n.attrFloat("beta", 1) != 1))
    return false;
  const bool transB = n.attrInt("transB", 0) != 0;
  const int64_t M = dimsOf(x)[0], K = dimsOf(x)[1];
  const auto& wd = w->initializer().dims();
  const int64_t N = transB ? wd[0] : wd[1];
  if ((transB ? wd[1] : wd[0]) != K) return false;
  if (b && b->initializer().numel() != N) return false;
  memory::desc biasMd = b && !int8 ? memory::desc({1, N}, DT::f32, Tag::ab) : memory::desc();
  dnnl::primitive_attr attr;
  std::optional<runtime::Int8OutputStage> stage;
  std::vector<int32_t> biasQ;
  if (int8) {
    auto s = runtime::int8OutputStageOf(n, N);
    if (!s.ok()) return fail(s.status());
    stage = std::move(s).value();
    biasQ = int8Bias(n, w->initializer(), N, /*channelsFirst=*/transB, /*padded=*/false);
    // Edgeopt's GEMM reads w as [N][K].
    const int8_t* wData = w->initializer().data<int8_t>();
    std::vector<int8_t> transposed;
    if (!transB) {
      transposed.resize(static_cast<size_t>(N * K));
      for (int64_t k = 0; k < K; ++k)
        for (int64_t j = 0; j < N; ++j) transposed[static_cast<size_t>(j * K + k)] = wData[k * N + j];
    }
    if (ownGemmStep(n, M, K, N, transB ? wData : transposed.data(), biasQ, *stage, Layout::kPlain, "")) return true;
  } else if (!fusedPostOps(n, attr)) {
    return false;
  }
  std::vector<Piece> pieces;
  std::shared_ptr<memory> weights;
  std::string impl;
  if (!matmulPieces(M, K, N, int8, w->initializer(), transB, biasMd, attr, &pieces, &weights, &impl)) return false;
  std::shared_ptr<memory> bias;
  if (b && !int8) bias = std::make_shared<memory>(packConstant(b->initializer(), biasMd, biasMd));
  const int xs = slotIn(x, Layout::kPlain);
  const int ys = outputSlot(n.output(0), Layout::kPlain);
  addWeightedStep(n, std::move(pieces), impl, weights, bias, xs, ys, M * N * K, std::move(stage), std::move(biasQ), N);
  return true;
}

// A 2-D fp32 ConvTranspose (groups 1) as oneDNN's deconvolution on NHWC data. The right padding
// oneDNN takes follows from the output dims the shape run found (output_padding included).
bool Plan::Impl::convTranspose(const ir::Node& n) {
  const ir::Value* x = n.input(0);
  const ir::Value* w = n.inputs().size() > 1 ? n.input(1) : nullptr;
  const ir::Value* b = n.inputs().size() > 2 ? n.input(2) : nullptr;
  if (!n.domain().empty() || !w || !w->isInitializer() || (b && !b->isInitializer()) || x->dtype() != ir::DType::kFloat32 ||
      isStatic.count(x) || dimsOf(x).size() != 4 || w->initializer().rank() != 4 || n.attrInt("group", 1) != 1 ||
      n.hasAttr("output_shape") || n.attrString("auto_pad", "NOTSET") != "NOTSET")
    return false;
  const auto& xd = dimsOf(x);
  const auto& yd = dimsOf(n.output(0));
  const auto& wd = w->initializer().dims();  // [C, M, kh, kw]
  if (yd.size() != 4 || wd[0] != xd[1] || wd[1] != yd[1]) return false;
  if (b && (b->initializer().numel() != wd[1] || b->initializer().dtype() != ir::DType::kFloat32))
    return fail(invalidInput("node " + n.describe() + ": bias " + ir::dimsToString(b->initializer().dims()) +
                             " does not fit " + std::to_string(wd[1]) + " output channels"));
  auto attrOr = [&](const char* name, std::vector<int64_t> fallback) {
    return n.hasAttr(name) ? n.attrInts(name) : fallback;
  };
  const auto strides = attrOr("strides", {1, 1}), dilations = attrOr("dilations", {1, 1}), pads = attrOr("pads", {0, 0, 0, 0});
  if (strides.size() != 2 || dilations.size() != 2 || pads.size() != 4) return false;
  memory::dims padL = {pads[0], pads[1]}, padR(2);
  for (size_t i = 0; i < 2; ++i) {
    // out = (in - 1) * stride - padL - padR + (k - 1) * dilation + 1
    padR[i] = (xd[2 + i] - 1) * strides[i] - padL[i] + (wd[2 + i] - 1) * dilations[i] + 1 - yd[2 + i];
    if (padR[i] < 0 || padL[i] < 0) return false;
  }
  dnnl::primitive_attr attr;
  if (!fusedPostOps(n, attr)) return false;
  const memory::desc srcMd = descOf(xd, ir::DType::kFloat32, Layout::kNhwc);
  const memory::desc dstMd = descOf(yd, ir::DType::kFloat32, Layout::kNhwc);
  const memory::desc wAny({wd[1], wd[0], wd[2], wd[3]}, DT::f32, Tag::any);
  const memory::desc biasMd = b ? memory::desc({wd[1]}, DT::f32, Tag::a) : memory::desc();
  dnnl::deconvolution_forward::primitive_desc pd;
  try {
    pd = dnnl::deconvolution_forward::primitive_desc(
        dnnl::deconvolution_forward::desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::deconvolution_direct, srcMd,
                                          wAny, biasMd, dstMd, {strides[0], strides[1]},
                                          {dilations[0] - 1, dilations[1] - 1}, padL, padR),
        attr, engine);
  } catch (const dnnl::error&) {
    return false;
  }
  // ONNX's [C_in][C_out][kh][kw] is oneDNN's iohw.
  const memory::desc userW({wd[1], wd[0], wd[2], wd[3]}, DT::f32, Tag::iohw);
  auto weights = std::make_shared<memory>(packConstant(w->initializer(), userW, pd.weights_desc()));
  std::shared_ptr<memory> bias;
  if (b) bias = std::make_shared<memory>(packConstant(b->initializer(), biasMd, biasMd));
  const int xs = slotIn(x, Layout::kNhwc);
  const int ys = outputSlot(n.output(0), Layout::kNhwc);
  auto src = std::make_shared<memory>(srcMd, engine, nullptr), dst = std::make_shared<memory>(dstMd, engine, nullptr);
  auto prim = std::make_shared<dnnl::deconvolution_forward>(pd);
  auto bindSrc = binder(src, xs), bindDst = binder(dst, ys);
  const int64_t macs = xd[0] * xd[1] * xd[2] * xd[3] * wd[1] * wd[2] * wd[3];
  addStep({n.name(), n.qualifiedOpType(), implName(pd), macs}, {xs}, {ys},
          [this, prim, src, dst, weights, bias, bindSrc, bindDst](uint8_t* a) {
            bindSrc(a);
            bindDst(a);
            std::unordered_map<int, memory> args = {{DNNL_ARG_SRC, *src}, {DNNL_ARG_WEIGHTS, *weights}, {DNNL_ARG_DST, *dst}};
            if (bias) args.insert({DNNL_ARG_BIAS, *bias});
            prim->execute(stream, args);
            stream.wait();
          });
  return true;
}

}  // namespace edgeopt::x86
