// Internal to the x86 target: the plan's state (Plan::Impl) and the helpers its lowering files
// share. plan.cc builds and runs the plan (shape run, reference fallback, arena); the lowering of
// each op family is in plan_conv.cc (convolutions and matrix products) and plan_elementwise.cc
// (pooling, element-wise and the int8 data-movement ops).
//
// A lowering method returns true when it added the node's steps, false when it does not apply
// (the node then runs with the reference kernels); a real error on the node (e.g. int8 attributes
// that fail validation) is recorded with fail(), which build() returns.
#pragma once

#include "targets/x86/plan.h"


#include <algorithm>
#include <chrono>
#include <cstring>
#include <functional>
#include <map>
#include <oneapi/dnnl/dnnl.hpp>
#include <set>

#include "compiler/ir/edgeopt_ops.h"
#include "compiler/runtime/executor.h"
#include "kernels/ref/pool.h"
#include "kernels/ref/quant.h"
#include "kernels/x86/dwconv.h"
#include "kernels/x86/gemm.h"
#include "kernels/x86/requantize.h"
#include "targets/common/memory_plan.h"

namespace edgeopt::x86 {


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

inline std::optional<DT> dnnlType(ir::DType t) {
  switch (t) {
    case ir::DType::kFloat32: return DT::f32;
    case ir::DType::kUInt8: return DT::u8;
    case ir::DType::kInt8: return DT::s8;
    case ir::DType::kInt32: return DT::s32;
    default: return std::nullopt;
  }
}

inline memory::dims toDims(const std::vector<int64_t>& d) { return memory::dims(d.begin(), d.end()); }

inline Tag plainTag(size_t rank) {
  static const Tag tags[] = {Tag::a, Tag::a, Tag::ab, Tag::abc, Tag::abcd, Tag::abcde, Tag::abcdef};
  return rank < 7 ? tags[rank] : Tag::undef;
}

inline memory::desc descOf(const std::vector<int64_t>& dims, ir::DType dtype, Layout layout) {
  const Tag tag = layout == Layout::kNhwc ? Tag::nhwc : plainTag(dims.size());
  return memory::desc(dims.empty() ? memory::dims{1} : toDims(dims), *dnnlType(dtype), tag);
}

// The oneDNN implementation a primitive descriptor picked, e.g. "brg:avx512_core_vnni".
template <typename PD>
inline std::string implName(const PD& pd) {
  return "onednn:" + std::string(pd.impl_info_str());
}

// oneDNN eltwise form of a fused (or standalone) activation, when there is one.
struct Eltwise {
  dnnl::algorithm alg;
  float alpha = 0, beta = 0;
};
inline std::optional<Eltwise> eltwiseOf(const std::string& op, const std::vector<float>& params) {
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
inline bool isLayoutFree(const ir::Node& n) {
  static const std::set<std::string> ops = {"Relu", "Clip", "Sigmoid", "Tanh", "LeakyRelu", "HardSigmoid",
                                            "HardSwish", "Add", "Sub", "Mul", "Div", "QuantizeLinear",
                                            "DequantizeLinear", "edgeopt.QAdd", "edgeopt.QMul", "edgeopt.QRequantize"};
  return ops.count(n.qualifiedOpType()) != 0;
}


struct Plan::Impl {
  const ir::Graph& graph;
  PlanOptions options;
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
  std::vector<Slot> slots;
  std::vector<Step> steps;
  std::vector<StepInfo> infos;
  std::map<std::pair<const ir::Value*, Layout>, int> slotOf;
  std::map<const ir::Value*, ir::Tensor> known;  // static values, computed in the shape run
  std::map<const ir::Value*, std::vector<int64_t>> valueDims;  // every value's dims, from the shape run
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
  Status lowerError;  // set by fail(): the node being lowered is invalid (build() returns it)

  // For a lowering method that cannot lower a node: kUnsupported means "not applicable here" (the
  // reference kernels run it); any other error is recorded for build() to return. Returns false.
  bool fail(const Status& st) {
    if (st.code() != StatusCode::kUnsupported && lowerError.ok()) lowerError = st;
    return false;
  }
  // PlanOptions::observed: per step, the (value name, slot) pairs to show after it.
  std::vector<std::vector<std::pair<std::string, int>>> stepObserved;

  Impl(const ir::Graph& g, PlanOptions o) : graph(g), options(o) {}

  // A slot past the tensor limit (its dims follow run-time data, e.g. Resize scales) is refused as
  // a Tensor would be: TensorTooLarge, which the runner turns into an error naming the size.
  int newSlot(const std::vector<int64_t>& dims, ir::DType dtype, Layout layout) {
    if (const std::string problem = ir::tensorSizeProblem(dims, dtype); !problem.empty()) throw ir::TensorTooLarge(problem);
    Slot s;
    s.dims = dims;
    s.dtype = dtype;
    s.layout = layout;
    s.bytes = static_cast<size_t>(std::max<int64_t>(ir::numElements(dims), 1)) * ir::dtypeSize(dtype);
    slots.push_back(s);
    return static_cast<int>(slots.size()) - 1;
  }

  const std::vector<int64_t>& dimsOf(const ir::Value* v) const { return valueDims.at(v); }

  // The slot holding v in `layout`, adding a reorder step from its existing slot if needed.
  int slotIn(const ir::Value* v, Layout layout) {
    if (dimsOf(v).size() != 4) layout = Layout::kPlain;
    if (auto it = slotOf.find({v, layout}); it != slotOf.end()) return it->second;
    const Layout other = layout == Layout::kPlain ? Layout::kNhwc : Layout::kPlain;
    const int from = slotOf.at({v, other});
    const int to = newSlot(dimsOf(v), v->dtype(), layout);
    slotOf[{v, layout}] = to;
    const char* direction = layout == Layout::kNhwc ? "nchw->nhwc" : "nhwc->nchw";
    const size_t elementBytes = ir::dtypeSize(v->dtype());
    if (avx512 && (elementBytes == 1 || elementBytes == 4)) {
      // edgeopt's transpose: oneDNN's reorder of a small int8 map costs several times the copy.
      const std::vector<int64_t>& d = dimsOf(v);
      const int64_t pixels = d[2] * d[3], rows = layout == Layout::kNhwc ? d[1] : pixels, cols = layout == Layout::kNhwc ? pixels : d[1];
      const size_t src = static_cast<size_t>(from), dst = static_cast<size_t>(to);
      addStep({v->name(), "Reorder", std::string("x86:transpose_matrices__x86 ") + direction, 0}, {from}, {to},
              [this, d, rows, cols, elementBytes, src, dst](uint8_t* a) {
                kernels::x86::transpose_matrices__x86(d[0], rows, cols, elementBytes, a + slots[src].offset, a + slots[dst].offset);
              });
      return to;
    }
    const memory::desc srcMd = descOf(slots[from].dims, slots[from].dtype, slots[from].layout);
    const memory::desc dstMd = descOf(slots[to].dims, slots[to].dtype, slots[to].layout);
    addSrcDstStep({v->name(), "Reorder", std::string("onednn:reorder ") + direction, 0},
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

  // A graph input's or output's layout at run()'s interface (PlanOptions::channelsLast).
  Layout ioLayout(const ir::Value* v) const {
    return options.channelsLast.count(v->name()) && dimsOf(v).size() == 4 ? Layout::kNhwc : Layout::kPlain;
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
  std::optional<std::vector<int64_t>> declaredOutputDims(const ir::Value* v) const;
  std::map<std::string, int64_t> symbolValues;  // graph input dim symbols bound by the plan's input dims
  bool tryNative(const ir::Node& n);
  bool dequantizeIntoPool(const ir::Node& n, float scale, int32_t zeroPoint);
  // One primitive run over a range of output rows (rows x channels, channels innermost).
  struct Piece {
    std::shared_ptr<dnnl::primitive> prim;
    std::shared_ptr<memory> src, dst;
    size_t srcOffset = 0;  // bytes into the input slot
    int64_t firstRow = 0, rows = 0;
  };
  // A post-op operand read from a slot (e.g. the residual of a fused Add).
  struct ExtraArg {
    int arg;  // DNNL_ARG_..., or kSumSource
    int slot;
    std::shared_ptr<memory> mem;
  };
  // Not a oneDNN argument: the slot whose bytes are copied into the destination before the
  // primitive runs, for a sum post-op to accumulate into (mem unused).
  static constexpr int kSumSource = -1;
  // An int8 Add fused into the output stage of the layer producing one of its operands: the
  // other operand's slot and the Add's arithmetic.
  struct FusedInt8Add {
    int skipSlot = -1;
    kernels::x86::Requantizer::ResidualAdd params;
  };
  // The edgeopt.QAdd that consumes only `y` (a layer's output of dims yDims) and whose other
  // operand is already computed in NHWC, when it can run in y's output stage; null otherwise.
  const ir::Node* fusableInt8Add(const ir::Value* y, const std::vector<int64_t>& yDims, FusedInt8Add* fusedAdd);
  void addWeightedStep(const ir::Node& n, std::vector<Piece> pieces, const std::string& impl,
                       std::shared_ptr<memory> weights, std::shared_ptr<memory> bias, int xs, int ys, int64_t macs,
                       std::optional<runtime::Int8OutputStage> stage, std::vector<int32_t> biasQ, int64_t channels,
                       std::vector<ExtraArg> extra = {}, std::optional<FusedInt8Add> fusedAdd = std::nullopt);
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
  bool convTranspose(const ir::Node& n);
  bool gemm(const ir::Node& n, bool int8);
  bool pool(const ir::Node& n);
  bool binary(const ir::Node& n);
  bool reshapeCopy(const ir::Node& n);
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

// The zero point of an int8 op's input in its uint8 storage.
inline int32_t inputZeroPointU8(const ir::Node& n) {
  auto q = runtime::int8OutputParamsOf(n);
  return (q.ok() ? q->input_zero_point : 0) + 128;
}

// The int32 bias of an int8 conv/gemm for the x86 output stage (empty: none). Without padding,
// every tap reads the input, so sum((x - zp) * w) = sum(x * w) - zp * sum(w): the zero point folds
// into the bias exactly and oneDNN runs without zero points (its zero-point path is several times
// slower in 2.6). With padding, padded taps must contribute nothing, which needs oneDNN's src zero
// point; the bias is then the node's own. Weights are [channels, K] (channelsFirst) or [K, channels].
inline std::vector<int32_t> int8Bias(const ir::Node& n, const ir::Tensor& w, int64_t channels, bool channelsFirst, bool padded) {
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
inline bool int8Storage(const ir::Node& n) {
  const runtime::Int8Storage s = runtime::int8StorageOf(n);
  return s.inputUint8 && s.outputUint8;
}

// oneDNN post-ops for a node's fused activation; false when it has none in oneDNN.
inline bool fusedPostOps(const ir::Node& n, dnnl::primitive_attr& attr) {
  auto act = ir::fusedActivation(n);
  if (!act) return true;
  auto e = eltwiseOf(act->op, act->params);
  if (!e) return false;
  dnnl::post_ops ops;
  ops.append_eltwise(1.0f, e->alg, e->alpha, e->beta);
  attr.set_post_ops(ops);
  return true;
}

}  // namespace edgeopt::x86
