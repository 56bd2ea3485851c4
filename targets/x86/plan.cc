#include "targets/x86/plan.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <functional>
#include <map>
#include <oneapi/dnnl/dnnl.hpp>
#include <set>

#include "compiler/ir/edgeopt_ops.h"
#include "compiler/runtime/executor.h"
#include "kernels/ref/quant.h"
#include "kernels/x86/dwconv.h"
#include "kernels/x86/gemm.h"
#include "kernels/x86/requantize.h"
#include "targets/common/memory_plan.h"

namespace edgeopt::x86 {
namespace {

using dnnl::memory;
using Tag = memory::format_tag;
using DT = memory::data_type;
namespace ref = kernels::ref;

enum class Layout { kPlain, kNhwc };

constexpr size_t kAlign = 64;

// An intermediate tensor in the arena: logical (ONNX) dims, stored plain or NHWC (4-D only).
struct Slot {
  std::vector<int64_t> dims;
  ir::DType dtype;
  Layout layout;
  size_t bytes = 0;
  size_t offset = 0;
  int first = -1, last = -1;  // first step writing it, last step reading it (-1: before the steps)
};

struct Step {
  StepInfo info;
  std::vector<int> reads, writes;
  std::function<void(uint8_t* arena)> run;
};

std::optional<DT> dnnlType(ir::DType t) {
  switch (t) {
    case ir::DType::kFloat32: return DT::f32;
    case ir::DType::kUInt8: return DT::u8;
    case ir::DType::kInt8: return DT::s8;
    case ir::DType::kInt32: return DT::s32;
    default: return std::nullopt;
  }
}

memory::dims toDims(const std::vector<int64_t>& d) { return memory::dims(d.begin(), d.end()); }

Tag plainTag(size_t rank) {
  static const Tag tags[] = {Tag::a, Tag::a, Tag::ab, Tag::abc, Tag::abcd, Tag::abcde, Tag::abcdef};
  return rank < 7 ? tags[rank] : Tag::undef;
}

memory::desc descOf(const std::vector<int64_t>& dims, ir::DType dtype, Layout layout) {
  const Tag tag = layout == Layout::kNhwc ? Tag::nhwc : plainTag(dims.size());
  return memory::desc(dims.empty() ? memory::dims{1} : toDims(dims), *dnnlType(dtype), tag);
}

// The oneDNN implementation a primitive descriptor picked, e.g. "brg:avx512_core_vnni".
template <typename PD>
std::string implName(const PD& pd) {
  return "onednn:" + std::string(pd.impl_info_str());
}

// oneDNN eltwise form of a fused (or standalone) activation, when there is one.
struct Eltwise {
  dnnl::algorithm alg;
  float alpha = 0, beta = 0;
};
std::optional<Eltwise> eltwiseOf(const std::string& op, const std::vector<float>& params) {
  using A = dnnl::algorithm;
  if (op == "Relu") return Eltwise{A::eltwise_relu, 0, 0};
  if (op == "LeakyRelu" && params.size() == 1) return Eltwise{A::eltwise_relu, params[0], 0};
  if (op == "Clip" && params.size() == 2) return Eltwise{A::eltwise_clip, params[0], params[1]};
  if (op == "Sigmoid") return Eltwise{A::eltwise_logistic, 0, 0};
  if (op == "Tanh") return Eltwise{A::eltwise_tanh, 0, 0};
  if (op == "HardSwish") return Eltwise{A::eltwise_hardswish, 0, 0};
  return std::nullopt;
}

// Ops whose result does not depend on the memory layout when every activation operand has the same
// dims: they run on NHWC data as they are.
bool isLayoutFree(const ir::Node& n) {
  static const std::set<std::string> ops = {"Relu", "Clip", "Sigmoid", "Tanh", "LeakyRelu", "HardSigmoid",
                                            "HardSwish", "Add", "Sub", "Mul", "Div", "QuantizeLinear",
                                            "DequantizeLinear", "edgeopt.QAdd", "edgeopt.QMul", "edgeopt.QRequantize"};
  return ops.count(n.qualifiedOpType()) != 0;
}

}  // namespace

struct Plan::Impl {
  const ir::Graph& graph;
  PlanOptions options;
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
  std::vector<Slot> slots;
  std::vector<Step> steps;
  std::vector<StepInfo> infos;
  std::map<std::pair<const ir::Value*, Layout>, int> slotOf;
  std::map<const ir::Value*, ir::Tensor> known;  // shape run: static values and placeholders
  std::set<const ir::Value*> isStatic;            // computed from constants and dims only
  std::vector<std::vector<int64_t>> inputDims;
  std::vector<int> inputSlots;
  std::vector<const ir::Value*> outputs;
  std::unique_ptr<uint8_t, decltype(&std::free)> arena{nullptr, &std::free};
  size_t arenaBytes = 0;
  int64_t weightBytes = 0;
  kernels::x86::AlignedVector<int32_t> accumulators;  // int32 scratch shared by the int8 output stages
  const bool avx512 = kernels::x86::hasAvx512();
  Status stepError;  // set by a reference step that failed on this run's data
  // PlanOptions::observed: per step, the (value name, slot) pairs to show after it.
  std::vector<std::vector<std::pair<std::string, int>>> stepObserved;

  Impl(const ir::Graph& g, PlanOptions o) : graph(g), options(o) {}

  int newSlot(const std::vector<int64_t>& dims, ir::DType dtype, Layout layout) {
    Slot s;
    s.dims = dims;
    s.dtype = dtype;
    s.layout = layout;
    s.bytes = static_cast<size_t>(std::max<int64_t>(ir::numElements(dims), 1)) * ir::dtypeSize(dtype);
    slots.push_back(s);
    return static_cast<int>(slots.size()) - 1;
  }

  const std::vector<int64_t>& dimsOf(const ir::Value* v) const { return known.at(v).dims(); }

  // The slot holding v in `layout`, adding a reorder step from its existing slot if needed.
  int slotIn(const ir::Value* v, Layout layout) {
    if (dimsOf(v).size() != 4) layout = Layout::kPlain;
    if (auto it = slotOf.find({v, layout}); it != slotOf.end()) return it->second;
    const Layout other = layout == Layout::kPlain ? Layout::kNhwc : Layout::kPlain;
    const int from = slotOf.at({v, other});
    const int to = newSlot(dimsOf(v), v->dtype(), layout);
    slotOf[{v, layout}] = to;
    const memory::desc srcMd = descOf(slots[from].dims, slots[from].dtype, slots[from].layout);
    const memory::desc dstMd = descOf(slots[to].dims, slots[to].dtype, slots[to].layout);
    addSrcDstStep({v->name(), "Reorder", layout == Layout::kNhwc ? "onednn:reorder nchw->nhwc" : "onednn:reorder nhwc->nchw", 0},
                  std::make_shared<dnnl::reorder>(dnnl::reorder::primitive_desc(engine, srcMd, engine, dstMd)), srcMd, dstMd,
                  from, to);
    return to;
  }

  // A step running a oneDNN primitive with one source and one destination slot (DNNL_ARG_SRC /
  // DNNL_ARG_DST, which are also a reorder's FROM / TO).
  void addSrcDstStep(StepInfo info, std::shared_ptr<dnnl::primitive> prim, const memory::desc& srcMd,
                     const memory::desc& dstMd, int xs, int ys) {
    auto src = std::make_shared<memory>(srcMd, engine, nullptr), dst = std::make_shared<memory>(dstMd, engine, nullptr);
    auto bindSrc = binder(src, xs), bindDst = binder(dst, ys);
    addStep(std::move(info), {xs}, {ys}, [this, prim, src, dst, bindSrc, bindDst](uint8_t* a) {
      bindSrc(a);
      bindDst(a);
      prim->execute(stream, {{DNNL_ARG_SRC, *src}, {DNNL_ARG_DST, *dst}});
      stream.wait();
    });
  }

  // The layout v currently has (its producer's), plain when it has none yet.
  Layout currentLayout(const ir::Value* v) const {
    return slotOf.count({v, Layout::kNhwc}) ? Layout::kNhwc : Layout::kPlain;
  }

  int outputSlot(const ir::Value* v, Layout layout) {
    if (dimsOf(v).size() != 4) layout = Layout::kPlain;
    const int s = newSlot(dimsOf(v), v->dtype(), layout);
    slotOf[{v, layout}] = s;
    return s;
  }

  void addStep(StepInfo info, std::vector<int> reads, std::vector<int> writes, std::function<void(uint8_t*)> run) {
    info.outputs = 0;
    for (int w : writes) info.outputs += ir::numElements(slots[static_cast<size_t>(w)].dims);
    steps.push_back({std::move(info), std::move(reads), std::move(writes), std::move(run)});
  }

  // Binds a oneDNN memory to a slot at run time.
  std::function<void(uint8_t*)> binder(std::shared_ptr<memory> m, int slot) {
    const size_t idx = static_cast<size_t>(slot);
    return [this, m, idx](uint8_t* a) { m->set_data_handle(a + slots[idx].offset); };
  }

  // A constant reordered once into the layout `want` (weights).
  memory packConstant(const ir::Tensor& t, const memory::desc& user, const memory::desc& want) {
    memory src(user, engine, const_cast<void*>(t.rawData()));
    memory dst(want, engine);
    dnnl::reorder(src, dst).execute(stream, src, dst);
    stream.wait();
    weightBytes += static_cast<int64_t>(want.get_size());
    return dst;
  }

  void reserveAccumulators(int64_t n) {
    if (static_cast<int64_t>(accumulators.size()) < n) accumulators.resize(static_cast<size_t>(n));
  }

  Status build(const std::vector<std::vector<int64_t>>& dims);
  std::optional<std::vector<int64_t>> computeHeavyOutputDims(const ir::Node& n) const;
  bool tryNative(const ir::Node& n);
  // One primitive run over a range of output rows (rows x channels, channels innermost).
  struct Piece {
    std::shared_ptr<dnnl::primitive> prim;
    std::shared_ptr<memory> src, dst;
    size_t srcOffset = 0;  // bytes into the input slot
    int64_t firstRow = 0, rows = 0;
  };
  // A post-op operand read from a slot (e.g. the residual of a fused Add).
  struct ExtraArg {
    int arg;  // DNNL_ARG_...
    int slot;
    std::shared_ptr<memory> mem;
  };
  void addWeightedStep(const ir::Node& n, std::vector<Piece> pieces, const std::string& impl,
                       std::shared_ptr<memory> weights, std::shared_ptr<memory> bias, int xs, int ys, int64_t macs,
                       std::optional<runtime::Int8OutputStage> stage, std::vector<int32_t> biasQ, int64_t channels,
                       std::vector<ExtraArg> extra = {});
  std::set<const ir::Node*> fused;  // nodes folded into an earlier step's post-ops
  bool matmulPieces(int64_t rows, int64_t K, int64_t N, bool int8, const ir::Tensor& w, bool wTransposed,
                    const memory::desc& biasMd, const dnnl::primitive_attr& attr, std::vector<Piece>* pieces,
                    std::shared_ptr<memory>* weights, std::string* impl);
  bool ownGemmStep(const ir::Node& n, int64_t rows, int64_t K, int64_t N, const int8_t* w, const std::vector<int32_t>& bias,
                   const runtime::Int8OutputStage& stage, Layout layout, const std::string& what);
  bool pointwiseInt8(const ir::Node& n, const ref::ConvParams& p);
  bool depthwiseInt8(const ir::Node& n, const ref::ConvParams& p);
  bool convInt8(const ir::Node& n, const ref::ConvParams& p);
  bool conv(const ir::Node& n, bool int8);
  bool gemm(const ir::Node& n, bool int8);
  bool pool(const ir::Node& n);
  bool binary(const ir::Node& n);
  bool eltwise(const ir::Node& n);
  bool int8Elementwise(const ir::Node& n);
  const ir::Tensor* staticScalar(const ir::Value* v) const {
    if (!v) return nullptr;
    const ir::Tensor* t = v->isInitializer() ? &v->initializer() : isStatic.count(v) ? &known.at(v) : nullptr;
    return t && t->numel() == 1 ? t : nullptr;
  }
  Status reference(const ir::Node& n);
  void allocate();
};

namespace {
// The zero point of an int8 op's input in its uint8 storage.
int32_t inputZeroPointU8(const ir::Node& n) {
  auto q = runtime::int8OutputParamsOf(n);
  return (q.ok() ? q->input_zero_point : 0) + 128;
}

// The int32 bias of an int8 conv/gemm for the x86 output stage (empty: none). Without padding,
// every tap reads the input, so sum((x - zp) * w) = sum(x * w) - zp * sum(w): the zero point folds
// into the bias exactly and oneDNN runs without zero points (its zero-point path is several times
// slower in 2.6). With padding, padded taps must contribute nothing, which needs oneDNN's src zero
// point; the bias is then the node's own. Weights are [channels, K] (channelsFirst) or [K, channels].
std::vector<int32_t> int8Bias(const ir::Node& n, const ir::Tensor& w, int64_t channels, bool channelsFirst, bool padded) {
  const ir::Value* b = n.inputs().size() > 2 ? n.input(2) : nullptr;
  std::vector<int32_t> bias(static_cast<size_t>(channels), 0);
  if (b) std::copy(b->initializer().data<int32_t>(), b->initializer().data<int32_t>() + channels, bias.begin());
  const int32_t zp = inputZeroPointU8(n);
  if (!padded && zp != 0) {
    const int64_t k = w.numel() / channels;
    for (int64_t i = 0; i < w.numel(); ++i) {
      const int64_t c = channelsFirst ? i / k : i % channels;
      bias[static_cast<size_t>(c)] -= zp * w.data<int8_t>()[i];
    }
  }
  if (!b && (padded || zp == 0)) bias.clear();
  return bias;
}

// x86 runs int8 ops on uint8 storage (vpdpbusd multiplies unsigned by signed bytes).
bool int8Storage(const ir::Node& n) {
  const runtime::Int8Storage s = runtime::int8StorageOf(n);
  return s.inputUint8 && s.outputUint8;
}

// oneDNN post-ops for a node's fused activation; false when it has none in oneDNN.
bool fusedPostOps(const ir::Node& n, dnnl::primitive_attr& attr) {
  auto act = ir::fusedActivation(n);
  if (!act) return true;
  auto e = eltwiseOf(act->op, act->params);
  if (!e) return false;
  dnnl::post_ops ops;
  ops.append_eltwise(1.0f, e->alg, e->alpha, e->beta);
  attr.set_post_ops(ops);
  return true;
}
}  // namespace

// The step of convolution or matmul primitives. fp32: one piece, writing the output slot. int8
// (stage given): each piece writes int32 accumulators, which the output stage (bias,
// requantization, bounds) turns into the uint8-stored output rows of that piece; pieces are sized
// so that the accumulators stay in cache between the primitive and the output stage.
void Plan::Impl::addWeightedStep(const ir::Node& n, std::vector<Piece> pieces, const std::string& impl,
                                 std::shared_ptr<memory> weights, std::shared_ptr<memory> bias, int xs, int ys,
                                 int64_t macs, std::optional<runtime::Int8OutputStage> stage, std::vector<int32_t> biasQ,
                                 int64_t channels, std::vector<ExtraArg> extra) {
  const size_t xsIdx = static_cast<size_t>(xs), ysIdx = static_cast<size_t>(ys);
  std::vector<int> reads = {xs};
  for (const ExtraArg& e : extra) reads.push_back(e.slot);
  auto execute = [this, weights, bias, xsIdx, extra](uint8_t* a, const Piece& p, void* out) {
    p.src->set_data_handle(a + slots[xsIdx].offset + p.srcOffset);
    p.dst->set_data_handle(out);
    std::unordered_map<int, memory> args = {{DNNL_ARG_SRC, *p.src}, {DNNL_ARG_WEIGHTS, *weights}, {DNNL_ARG_DST, *p.dst}};
    if (bias) args[DNNL_ARG_BIAS] = *bias;
    for (const ExtraArg& e : extra) {
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
  addStep({n.name(), n.qualifiedOpType(),
           impl + " + " + (fast ? kernels::x86::Requantizer::name() : "ref:qs8_requantize_rows__scalar"), macs},
          {xs}, {ys}, [this, execute, pieces, st, biasValues, bq, requantizer, channels, ysIdx](uint8_t* a) {
            for (const Piece& p : pieces) {
              execute(a, p, accumulators.data());
              uint8_t* y = a + slots[ysIdx].offset + p.firstRow * channels;
              if (requantizer)
                requantizer->run(p.rows, accumulators.data(), y);
              else
                ref::qs8_requantize_rows__scalar(p.rows, channels, accumulators.data(), bq, st->requant.data(), st->q, y);
            }
          });
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
// does not apply: no VNNI, a depth that is not a multiple of 4, or requantization outside the
// short form.
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
  if (!s.ok()) return false;
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
  if (!s.ok()) return false;
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
  // With VNNI and every channel's requantization in the short form, the output stage is fused
  // into the kernel: stride 1 with channels % 16 == 0 over 16-channel groups, otherwise per
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
  if (!s.ok()) return false;
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
  if (!params.ok()) return false;
  const ref::ConvParams& p = params.value();
  const int64_t N = p.batch, C = p.in_channels, M = p.out_channels, G = p.groups;
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
    if (!s.ok()) return false;
    stage = std::move(s).value();
    const bool padded = std::any_of(padL.begin(), padL.end(), [](int64_t v) { return v != 0; }) ||
                        std::any_of(padR.begin(), padR.end(), [](int64_t v) { return v != 0; });
    biasQ = int8Bias(n, w->initializer(), M, /*channelsFirst=*/true, padded);
    if (padded) attr.set_zero_points(DNNL_ARG_SRC, 0, std::vector<int32_t>{inputZeroPointU8(n)});
  } else if (!fusedPostOps(n, attr)) {
    return false;
  }
  // fp32 residual: Conv -> Add(·, r) [-> Relu] becomes one primitive with a binary-add post-op
  // reading r (already computed) and a Relu post-op; the Add and Relu steps disappear.
  const ir::Value* finalOut = n.output(0);
  std::vector<const ir::Node*> absorbed;
  std::vector<ExtraArg> extra;
  if (!int8) {
    const ir::Value* y = n.output(0);
    const auto& uses = y->uses();
    const ir::Node* add = uses.size() == 1 && uses[0].node->domain().empty() && uses[0].node->opType() == "Add" ? uses[0].node : nullptr;
    const ir::Value* r = add && add->inputs().size() == 2 ? add->input(add->input(0) == y ? 1 : 0) : nullptr;
    const bool isOutput = std::find(outputs.begin(), outputs.end(), y) != outputs.end();
    if (add && r && r != y && !isOutput && !options.observed.count(y->name()) && r->dtype() == ir::DType::kFloat32 &&
        !r->isInitializer() && !isStatic.count(r) &&
        known.count(r) && dimsOf(r) == yDims && (slotOf.count({r, Layout::kNhwc}) || slotOf.count({r, Layout::kPlain}))) {
      dnnl::post_ops ops = attr.get_post_ops();
      const int binaryIndex = ops.len();
      const memory::desc rMd(toDims(yDims), DT::f32, Tag::nhwc);
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
    known[a->output(0)] = ir::Tensor(ir::DType::kFloat32, yDims);  // the shape run reaches it later
  }
  const int ys = outputSlot(finalOut, Layout::kNhwc);
  const int64_t macs = N * M * p.out[1] * p.out[2] * (C / G) * p.kernel[1] * p.kernel[2];
  auto prim = std::make_shared<dnnl::convolution_forward>(pd);
  std::vector<Piece> pieces;
  for (int64_t c = 0; c < N / nb; ++c)
    pieces.push_back({prim, std::make_shared<memory>(srcMd, engine, nullptr), std::make_shared<memory>(dstMd, engine, nullptr),
                      static_cast<size_t>(c) * srcMd.get_size(), c * nb * p.out[1] * p.out[2], nb * p.out[1] * p.out[2]});
  addWeightedStep(n, std::move(pieces), implName(pd) + (absorbed.empty() ? "" : " (+ residual add post-op)"), weights, bias,
                  xs, ys, macs, std::move(stage), std::move(biasQ), M, std::move(extra));
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
    if (!s.ok()) return false;
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
    if (!params.ok()) return false;
    p = params.value();
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

bool Plan::Impl::binary(const ir::Node& n) {
  if (!n.domain().empty() || (n.opType() != "Add" && n.opType() != "Mul") || n.inputs().size() != 2) return false;
  const ir::Value* a = n.input(0);
  const ir::Value* b = n.input(1);
  if (a->dtype() != ir::DType::kFloat32 || b->dtype() != ir::DType::kFloat32 || isStatic.count(a) || isStatic.count(b) ||
      a->isInitializer() || b->isInitializer() || dimsOf(a) != dimsOf(b))
    return false;
  const Layout layout = currentLayout(a);
  const int as = slotIn(a, layout), bs = slotIn(b, layout);
  const int ys = outputSlot(n.output(0), layout);
  const memory::desc md = descOf(dimsOf(a), ir::DType::kFloat32, slots[static_cast<size_t>(as)].layout);
  dnnl::binary::primitive_desc pd;
  try {
    pd = dnnl::binary::primitive_desc(
        dnnl::binary::desc(n.opType() == "Add" ? dnnl::algorithm::binary_add : dnnl::algorithm::binary_mul, md, md, md), engine);
  } catch (const dnnl::error&) {
    return false;
  }
  auto m0 = std::make_shared<memory>(md, engine, nullptr), m1 = std::make_shared<memory>(md, engine, nullptr);
  auto dst = std::make_shared<memory>(md, engine, nullptr);
  auto prim = std::make_shared<dnnl::binary>(pd);
  auto b0 = binder(m0, as), b1 = binder(m1, bs), bd = binder(dst, ys);
  addStep({n.name(), n.qualifiedOpType(), implName(pd), 0}, {as, bs}, {ys}, [this, prim, m0, m1, dst, b0, b1, bd](uint8_t* p) {
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

// Output dims of the compute-heavy ops, so that the shape run need not execute them.
std::optional<std::vector<int64_t>> Plan::Impl::computeHeavyOutputDims(const ir::Node& n) const {
  const std::string op = n.qualifiedOpType();
  if (n.outputs().size() != 1 || n.inputs().empty() || !n.input(0) || !known.count(n.input(0))) return std::nullopt;
  const auto& x = known.at(n.input(0)).dims();
  if ((op == "Conv" || op == "edgeopt.QConv") && n.input(1) && n.input(1)->isInitializer() && x.size() == 4) {
    auto p = runtime::convParamsOf(n, x, n.input(1)->initializer().dims());
    if (!p.ok()) return std::nullopt;
    return std::vector<int64_t>{x[0], p.value().out_channels, p.value().out[1], p.value().out[2]};
  }
  if ((op == "MaxPool" || op == "AveragePool") && x.size() == 4) {
    auto p = runtime::poolParamsOf(n, x);
    if (!p.ok()) return std::nullopt;
    return std::vector<int64_t>{x[0], x[1], p.value().out[1], p.value().out[2]};
  }
  if (op == "GlobalAveragePool" && x.size() == 4) return std::vector<int64_t>{x[0], x[1], 1, 1};
  // Elementwise ops: their dims are known without computing them (the shape run would otherwise
  // evaluate them at full size with the reference kernels, which dominated plan creation on
  // activation-heavy models such as PP-OCR det).
  if (n.output(0)->dtype() == ir::DType::kUndefined) return std::nullopt;
  static const std::set<std::string> unary = {"Relu", "Sigmoid", "HardSigmoid", "HardSwish", "LeakyRelu", "Clip", "Tanh",
                                              "Exp", "Log", "Sqrt", "Neg", "Abs", "Erf", "edgeopt.Gelu",
                                              "QuantizeLinear", "DequantizeLinear"};
  static const std::set<std::string> binary = {"Add", "Sub", "Mul", "Div", "Max", "Min", "edgeopt.QAdd", "edgeopt.QMul"};
  if (unary.count(op)) return x;
  if (binary.count(op)) {
    std::vector<int64_t> out = x;
    for (size_t i = 1; i < n.inputs().size(); ++i) {
      if (!n.input(i) || !known.count(n.input(i))) return std::nullopt;
      const auto& d = known.at(n.input(i)).dims();
      if (d.size() > out.size()) out.insert(out.begin(), d.size() - out.size(), 1);
      for (size_t k = 0; k < d.size(); ++k) {
        int64_t& o = out[out.size() - d.size() + k];
        const int64_t v = d[k];
        if (o == v || v == 1) continue;
        if (o != 1) return std::nullopt;  // not broadcastable: let the reference report it
        o = v;
      }
    }
    return out;
  }
  return std::nullopt;
}

// edgeopt.QAdd, QuantizeLinear to uint8 and the int8 global average pool with kernels/x86
// (uint8-stored activations; the same arithmetic as the reference, bit for bit).
bool Plan::Impl::int8Elementwise(const ir::Node& n) {
  if (!avx512) return false;
  const std::string op = n.qualifiedOpType();
  if (op == "QuantizeLinear") {
    const ir::Value* x = n.input(0);
    const ir::Tensor* scale = staticScalar(n.input(1));
    const ir::Tensor* zp = n.inputs().size() > 2 ? staticScalar(n.input(2)) : nullptr;
    if (x->dtype() != ir::DType::kFloat32 || isStatic.count(x) || x->isInitializer() || !scale || !zp ||
        zp->dtype() != ir::DType::kUInt8 || scale->dtype() != ir::DType::kFloat32)
      return false;
    const float s = scale->data<float>()[0];
    const int32_t z = zp->data<uint8_t>()[0];
    const Layout layout = currentLayout(x);
    const int xs = slotIn(x, layout), ys = outputSlot(n.output(0), layout);
    const int64_t count = ir::numElements(dimsOf(x));
    const size_t xi = static_cast<size_t>(xs), yi = static_cast<size_t>(ys);
    addStep({n.name(), op, "x86:qu8_quantize__avx512f", 0}, {xs}, {ys}, [this, xi, yi, count, s, z](uint8_t* a) {
      kernels::x86::qu8_quantize__avx512f(count, reinterpret_cast<const float*>(a + slots[xi].offset), s, z,
                                          a + slots[yi].offset);
    });
    return true;
  }
  if (!runtime::int8StorageOf(n).outputUint8) return false;
  auto params = runtime::int8OutputParamsOf(n);
  if (!params.ok()) return false;
  const ref::QuantParams q = ref::toUint8Domain(params.value());
  if (op == "edgeopt.QAdd") {
    const ir::Value* a = n.input(0);
    const ir::Value* b = n.input(1);
    if (a->dtype() != ir::DType::kUInt8 || b->dtype() != ir::DType::kUInt8 || isStatic.count(a) || isStatic.count(b) ||
        a->isInitializer() || b->isInitializer() || dimsOf(a) != dimsOf(b))
      return false;
    auto add = runtime::qBinaryOf(n);
    if (!add.ok()) return false;
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
    if (!avg.ok() || !avg->global || x->dtype() != ir::DType::kUInt8 || d.size() != 4) return false;
    const int64_t pixels = d[2] * d[3];
    const ref::Requantization r = ref::averageMultiplier(avg->inputOverOutputScale, pixels);
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

bool Plan::Impl::tryNative(const ir::Node& n) {
  const std::string op = n.qualifiedOpType();
  if (op == "QuantizeLinear" || op == "edgeopt.QAdd" || op == "edgeopt.QAveragePool") return int8Elementwise(n);
  if (op == "Conv") return conv(n, false);
  if (op == "edgeopt.QConv") return conv(n, true);
  if (op == "Gemm") return gemm(n, false);
  if (op == "edgeopt.QGemm") return gemm(n, true);
  if (op == "MaxPool" || op == "AveragePool" || op == "GlobalAveragePool") return pool(n);
  if (op == "Add" || op == "Mul") return binary(n);
  return eltwise(n);
}

// Runs the node with the reference kernels on copies of its inputs. Layout-free ops keep the
// layout of their operands; every other op reads and writes plain (NCHW) tensors.
Status Plan::Impl::reference(const ir::Node& n) {
  std::vector<const ir::Value*> dynamicInputs;
  for (const ir::Value* v : n.inputs())
    if (v && !v->isInitializer() && !isStatic.count(v)) dynamicInputs.push_back(v);
  Layout layout = Layout::kPlain;
  if (isLayoutFree(n) && !dynamicInputs.empty()) {
    // Every operand has the output's dims or is a single value: no broadcasting across axes.
    layout = currentLayout(dynamicInputs[0]);
    const auto& d0 = dimsOf(dynamicInputs[0]);
    for (const ir::Value* v : n.inputs()) {
      if (!v) continue;
      if (!staticScalar(v) && (v->isInitializer() || isStatic.count(v) || dimsOf(v) != d0)) layout = Layout::kPlain;
    }
    for (const ir::Value* v : n.outputs())
      if (v && dimsOf(v) != d0) layout = Layout::kPlain;
  }
  std::vector<int> reads, writes;
  std::vector<std::pair<const ir::Tensor*, int>> inputs;  // constant tensor, or slot
  for (const ir::Value* v : n.inputs()) {
    if (!v) inputs.push_back({nullptr, -1});
    else if (v->isInitializer()) inputs.push_back({&v->initializer(), -1});
    else if (isStatic.count(v)) inputs.push_back({&known.at(v), -1});
    else {
      const int s = slotIn(v, layout);
      reads.push_back(s);
      inputs.push_back({nullptr, s});
    }
  }
  for (const ir::Value* v : n.outputs()) writes.push_back(v && !v->uses().empty() ? outputSlot(v, layout) : -1);
  // A layout-free op on NHWC data sees the NHWC bytes under the logical dims: elementwise ops do not care.
  std::vector<std::vector<int64_t>> inDims;
  for (const ir::Value* v : n.inputs()) inDims.push_back(v && !v->isInitializer() && !isStatic.count(v) ? dimsOf(v) : std::vector<int64_t>{});
  std::vector<int> liveWrites;
  for (int w : writes)
    if (w >= 0) liveWrites.push_back(w);
  const bool graphOutputWrites = std::any_of(n.outputs().begin(), n.outputs().end(), [&](const ir::Value* v) {
    return v && std::find(outputs.begin(), outputs.end(), v) != outputs.end();
  });
  if (graphOutputWrites)
    for (size_t i = 0; i < n.outputs().size(); ++i)
      if (writes[i] < 0 && n.output(i)) writes[i] = outputSlot(n.output(i), layout), liveWrites.push_back(writes[i]);
  const ir::Node* node = &n;
  addStep({n.name(), n.qualifiedOpType(), "ref", 0}, reads, liveWrites, [this, node, inputs, writes, inDims](uint8_t* a) {
    std::vector<ir::Tensor> copies(inputs.size());
    std::vector<const ir::Tensor*> args(inputs.size(), nullptr);
    for (size_t i = 0; i < inputs.size(); ++i) {
      if (inputs[i].second < 0) {
        args[i] = inputs[i].first;
        continue;
      }
      const Slot& s = slots[static_cast<size_t>(inputs[i].second)];
      copies[i] = ir::Tensor(s.dtype, inDims[i]);
      std::memcpy(copies[i].rawData(), a + s.offset, s.bytes);
      args[i] = &copies[i];
    }
    auto out = runtime::evaluateNode(*node, args);
    if (!out.ok()) {
      stepError = out.status();
      return;
    }
    for (size_t i = 0; i < writes.size(); ++i) {
      if (writes[i] < 0) continue;
      const Slot& s = slots[static_cast<size_t>(writes[i])];
      if (out.value()[i].byteSize() != s.bytes) {
        stepError = invalidInput("node " + node->describe() + ": output " + ir::dimsToString(out.value()[i].dims()) +
                                 " differs from the planned " + ir::dimsToString(s.dims) + " (data-dependent shape)");
        return;
      }
      std::memcpy(a + s.offset, out.value()[i].rawData(), s.bytes);
    }
  });
  return Status::Ok();
}

// Offsets by liveness: each slot goes to the lowest offset free of every slot alive at the same time.
void Plan::Impl::allocate() {
  const int end = static_cast<int>(steps.size());
  for (Slot& s : slots) s.first = s.last = -2;
  for (int i = 0; i < end; ++i) {
    for (int r : steps[static_cast<size_t>(i)].reads) slots[static_cast<size_t>(r)].last = i;
    for (int w : steps[static_cast<size_t>(i)].writes)
      if (slots[static_cast<size_t>(w)].first == -2) slots[static_cast<size_t>(w)].first = i;
  }
  for (int s : inputSlots) slots[static_cast<size_t>(s)].first = -1;
  for (const ir::Value* v : outputs)
    for (Layout l : {Layout::kPlain, Layout::kNhwc})
      if (auto it = slotOf.find({v, l}); it != slotOf.end()) slots[static_cast<size_t>(it->second)].last = end;
  for (Slot& s : slots) {
    if (s.first == -2) s.first = -1;
    if (s.last < s.first) s.last = std::max(s.first, 0);
  }
  std::vector<targets::LiveBuffer> live;
  for (const Slot& s : slots) live.push_back({s.bytes, s.first, s.last});
  const std::vector<size_t> offsets = targets::planArena(live, kAlign, &arenaBytes);
  for (size_t i = 0; i < slots.size(); ++i) slots[i].offset = offsets[i];
  arena.reset(static_cast<uint8_t*>(std::aligned_alloc(kAlign, (arenaBytes + kAlign) / kAlign * kAlign)));
}

Status Plan::Impl::build(const std::vector<std::vector<int64_t>>& dims) {
  if (dims.size() != graph.inputs().size())
    return invalidInput("the x86 plan needs the dims of " + std::to_string(graph.inputs().size()) + " graph inputs, got " +
                        std::to_string(dims.size()));
  inputDims = dims;
  outputs.assign(graph.outputs().begin(), graph.outputs().end());
  for (size_t i = 0; i < dims.size(); ++i) {
    const ir::Value* in = graph.inputs()[i];
    if (!dnnlType(in->dtype())) return unsupported("x86 target: graph input '" + in->name() + "' of dtype " + ir::dtypeName(in->dtype()));
    known[in] = ir::Tensor(in->dtype(), dims[i]);
    inputSlots.push_back(outputSlot(in, Layout::kPlain));
  }
  omp_set_num_threads(options.threads);
  for (const ir::Node* n : graph.nodes()) {
    // Shape run: static values are computed now; the others get placeholders of their dims.
    std::vector<const ir::Tensor*> args;
    bool allStatic = true;
    for (const ir::Value* v : n->inputs()) {
      if (!v) {
        args.push_back(nullptr);
        continue;
      }
      if (v->isInitializer()) {
        args.push_back(&v->initializer());
        continue;
      }
      args.push_back(&known.at(v));
      allStatic = allStatic && isStatic.count(v);
    }
    if (!runtime::isSupportedNode(*n)) return unsupported("x86 target: node " + n->describe() + " is not supported");
    if (auto heavy = computeHeavyOutputDims(*n); heavy && !allStatic) {
      known[n->output(0)] = ir::Tensor(n->output(0)->dtype(), *heavy);
    } else {
      auto out = runtime::evaluateNode(*n, args);
      if (!out.ok()) return out.status();
      for (size_t i = 0; i < n->outputs().size(); ++i)
        if (n->output(i)) known[n->output(i)] = std::move(out.value()[i]);
    }
    if (allStatic || n->opType() == "Shape") {
      for (const ir::Value* v : n->outputs())
        if (v) isStatic.insert(v);
      continue;
    }
    for (const ir::Value* v : n->outputs())
      if (v && !dnnlType(v->dtype()) && v->dtype() != ir::DType::kInt64 && v->dtype() != ir::DType::kBool)
        return unsupported("x86 target: node " + n->describe() + " output dtype " + ir::dtypeName(v->dtype()));
    if (fused.count(n)) continue;  // computed by an earlier step's post-ops
    bool native = false;
    try {
      native = tryNative(*n);
    } catch (const dnnl::error& e) {
      return internalError("x86 target: oneDNN failed on node " + n->describe() + ": " + e.what());
    }
    if (!native) EDGEOPT_RETURN_IF_ERROR(reference(*n));
  }
  for (const ir::Value* v : outputs)
    if (!isStatic.count(v) && !v->isInitializer()) slotIn(v, Layout::kPlain);
  allocate();
  for (const Step& s : steps) infos.push_back(s.info);
  // Each observed value is shown after the first step that writes one of its slots.
  stepObserved.assign(steps.size(), {});
  std::set<const ir::Value*> observedOnce;
  for (const auto& [key, slot] : slotOf) {
    const ir::Value* v = key.first;
    const Slot& sl = slots[static_cast<size_t>(slot)];
    if (!options.observed.count(v->name()) || sl.dtype != ir::DType::kFloat32 || sl.first < 0 || !observedOnce.insert(v).second)
      continue;
    stepObserved[static_cast<size_t>(sl.first)].push_back({v->name(), slot});
  }
  // The shape run's placeholders are no longer needed; static values stay.
  for (auto it = known.begin(); it != known.end();)
    it = isStatic.count(it->first) ? std::next(it) : known.erase(it);
  return Status::Ok();
}

Plan::Plan(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Plan::~Plan() = default;

StatusOr<std::unique_ptr<Plan>> Plan::create(const ir::Graph& graph, const std::vector<std::vector<int64_t>>& inputDims,
                                             const PlanOptions& options) {
  auto impl = std::make_unique<Impl>(graph, options);
  EDGEOPT_RETURN_IF_ERROR(impl->build(inputDims));
  return std::unique_ptr<Plan>(new Plan(std::move(impl)));
}

StatusOr<std::vector<ir::Tensor>> Plan::run(const std::vector<ir::Tensor>& inputs, std::vector<double>* stepSeconds,
                                             const Observer* observer) {
  Impl& p = *impl_;
  if (inputs.size() != p.inputSlots.size())
    return invalidInput("expected " + std::to_string(p.inputSlots.size()) + " inputs, got " + std::to_string(inputs.size()));
  uint8_t* arena = p.arena.get();
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Slot& s = p.slots[static_cast<size_t>(p.inputSlots[i])];
    const ir::Value* v = p.graph.inputs()[i];
    if (inputs[i].dtype() != v->dtype() || inputs[i].dims() != s.dims)
      return invalidInput("input '" + v->name() + "' is " + ir::dtypeName(inputs[i].dtype()) + " " +
                          ir::dimsToString(inputs[i].dims()) + ", the x86 plan was made for " + ir::dtypeName(v->dtype()) +
                          " " + ir::dimsToString(s.dims));
    std::memcpy(arena + s.offset, inputs[i].rawData(), s.bytes);
  }
  omp_set_num_threads(p.options.threads);
  if (stepSeconds) stepSeconds->assign(p.steps.size(), 0.0);
  for (size_t i = 0; i < p.steps.size(); ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    p.steps[i].run(arena);
    if (!p.stepError.ok()) {
      Status st = p.stepError;
      p.stepError = Status::Ok();
      return st;
    }
    if (stepSeconds) (*stepSeconds)[i] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (observer)
      for (const auto& [name, slot] : p.stepObserved[i]) {
        const Slot& sl = p.slots[static_cast<size_t>(slot)];
        (*observer)(name, reinterpret_cast<const float*>(arena + sl.offset), static_cast<int64_t>(sl.bytes / sizeof(float)));
      }
  }
  std::vector<ir::Tensor> out;
  for (const ir::Value* v : p.outputs) {
    if (v->isInitializer()) {
      out.push_back(v->initializer());
    } else if (p.isStatic.count(v)) {
      out.push_back(p.known.at(v));
    } else {
      const Slot& s = p.slots[static_cast<size_t>(p.slotOf.at({v, Layout::kPlain}))];
      ir::Tensor t(s.dtype, s.dims);
      std::memcpy(t.rawData(), arena + s.offset, s.bytes);
      out.push_back(std::move(t));
    }
  }
  return out;
}

const std::vector<StepInfo>& Plan::steps() const { return impl_->infos; }
const std::vector<std::vector<int64_t>>& Plan::inputDims() const { return impl_->inputDims; }
int64_t Plan::arenaBytes() const { return static_cast<int64_t>(impl_->arenaBytes); }
int64_t Plan::weightBytes() const { return impl_->weightBytes; }

}  // namespace edgeopt::x86
