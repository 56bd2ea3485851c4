#include "targets/x86/plan_impl.h"

#include <omp.h>

namespace edgeopt::x86 {

// Output dims of the compute-heavy ops, so that the shape run need not execute them.
std::optional<std::vector<int64_t>> Plan::Impl::computeHeavyOutputDims(const ir::Node& n) const {
  const std::string op = n.qualifiedOpType();
  if (n.outputs().size() != 1 || n.inputs().empty() || !n.input(0) || !valueDims.count(n.input(0))) return std::nullopt;
  const auto& x = valueDims.at(n.input(0));
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
  if (op == "ConvTranspose" && x.size() == 4 && n.input(1) && n.input(1)->isInitializer() && !n.hasAttr("output_shape") &&
      n.attrString("auto_pad", "NOTSET") == "NOTSET" && n.input(1)->initializer().rank() == 4) {
    const auto& w = n.input(1)->initializer().dims();
    auto attrOr = [&](const char* name, std::vector<int64_t> fallback) { return n.hasAttr(name) ? n.attrInts(name) : fallback; };
    const auto s = attrOr("strides", {1, 1}), d = attrOr("dilations", {1, 1}), p = attrOr("pads", {0, 0, 0, 0}),
               op2 = attrOr("output_padding", {0, 0});
    if (s.size() != 2 || d.size() != 2 || p.size() != 4 || op2.size() != 2) return std::nullopt;
    std::vector<int64_t> y = {x[0], w[1] * n.attrInt("group", 1), 0, 0};
    for (size_t i = 0; i < 2; ++i) y[2 + i] = (x[2 + i] - 1) * s[i] - p[i] - p[2 + i] + (w[2 + i] - 1) * d[i] + 1 + op2[i];
    return y;
  }
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
      if (!n.input(i) || !valueDims.count(n.input(i))) return std::nullopt;
      const auto& d = valueDims.at(n.input(i));
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


// The dims the IR declares for v once the graph inputs' symbolic dims are bound, when every dim
// is then known (shape inference at import, e.g. through Resize, Concat, Transpose).
std::optional<std::vector<int64_t>> Plan::Impl::declaredOutputDims(const ir::Value* v) const {
  if (!v || !v->shape()) return std::nullopt;
  std::vector<int64_t> d;
  for (const ir::Dim& x : *v->shape()) {
    if (x.isKnown()) d.push_back(x.value);
    else if (auto it = symbolValues.find(x.symbol); !x.symbol.empty() && it != symbolValues.end()) d.push_back(it->second);
    else return std::nullopt;
  }
  return d;
}

bool Plan::Impl::tryNative(const ir::Node& n) {
  const std::string op = n.qualifiedOpType();
  if (op == "QuantizeLinear" || op == "DequantizeLinear" || op == "edgeopt.QAdd" || op == "edgeopt.QAveragePool")
    return int8Elementwise(n);
  if (op == "Conv") return conv(n, false);
  if (op == "edgeopt.QConv") return conv(n, true);
  if (op == "ConvTranspose") return convTranspose(n);
  if (op == "Gemm") return gemm(n, false);
  if (op == "edgeopt.QGemm") return gemm(n, true);
  if (op == "MaxPool" || op == "AveragePool" || op == "GlobalAveragePool") return pool(n);
  if (op == "Add" || op == "Mul" || op == "Sub") return binary(n);
  if (op == "Flatten" || op == "Reshape" || op == "Squeeze" || op == "Unsqueeze" || op == "Identity") return reshapeCopy(n);
  return eltwise(n);
}

// Ops that only relabel the dims of plain (row-major) data: a copy of the bytes into the output
// slot (the reference fallback allocated a tensor per run and, with glibc's large-allocation
// mmaps, page-faulted through it: 0.65 ms for a batch-64 MNIST Flatten). Other operands (a
// Reshape's shape, Squeeze's axes) are constants the shape run has used.
bool Plan::Impl::reshapeCopy(const ir::Node& n) {
  if (n.inputs().empty() || !n.input(0) || n.outputs().size() != 1 || !n.output(0)) return false;
  const ir::Value* x = n.input(0);
  const ir::Value* y = n.output(0);
  if (x->isInitializer() || isStatic.count(x) || !valueDims.count(x) || !valueDims.count(y) || x->dtype() != y->dtype())
    return false;
  for (size_t i = 1; i < n.inputs().size(); ++i)
    if (n.input(i) && !n.input(i)->isInitializer() && !isStatic.count(n.input(i))) return false;
  const int64_t bytes = ir::numElements(dimsOf(x)) * static_cast<int64_t>(ir::dtypeSize(x->dtype()));
  if (bytes != ir::numElements(dimsOf(y)) * static_cast<int64_t>(ir::dtypeSize(y->dtype()))) return false;
  const int xs = slotIn(x, Layout::kPlain), ys = outputSlot(y, Layout::kPlain);
  const size_t xi = static_cast<size_t>(xs), yi = static_cast<size_t>(ys);
  addStep({n.name(), n.qualifiedOpType(), "x86:copy", 0}, {xs}, {ys}, [this, xi, yi, bytes](uint8_t* a) {
    std::memmove(a + slots[yi].offset, a + slots[xi].offset, static_cast<size_t>(bytes));
  });
  return true;
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
    if (std::any_of(dims[i].begin(), dims[i].end(), [](int64_t d) { return d <= 0; }))
      return invalidInput("x86 target: input '" + in->name() + "' has dims " + ir::dimsToString(dims[i]) +
                          ": an empty batch or dimension is not run (every dim must be at least 1)");
    valueDims[in] = dims[i];
    if (in->shape() && in->shape()->size() == dims[i].size())
      for (size_t k = 0; k < dims[i].size(); ++k)
        if (const ir::Dim& d = (*in->shape())[k]; !d.isKnown() && !d.symbol.empty()) symbolValues[d.symbol] = dims[i][k];
    inputSlots.push_back(outputSlot(in, ioLayout(in)));
  }
  omp_set_num_threads(options.threads);
  for (const ir::Node* n : graph.nodes()) {
    // Shape run: static values (computed from constants and dims only) are computed now; the
    // others need only their dims, from the op where it is cheap to say, else from the IR's
    // declared shape, else by running the node on zero placeholders of its inputs' dims.
    bool allStatic = true;
    for (const ir::Value* v : n->inputs())
      if (v && !v->isInitializer()) allStatic = allStatic && isStatic.count(v);
    if (!runtime::isSupportedNode(*n)) return unsupported("x86 target: node " + n->describe() + " is not supported");
    std::optional<std::vector<int64_t>> outDims;
    if (!allStatic && n->outputs().size() == 1 && n->opType() != "Shape") {
      outDims = computeHeavyOutputDims(*n);
      if (!outDims && n->output(0)->dtype() != ir::DType::kUndefined) outDims = declaredOutputDims(n->output(0));
    }
    if (outDims) {
      valueDims[n->output(0)] = *outDims;
    } else if (!allStatic && n->opType() == "Shape" && n->domain().empty() && !n->hasAttr("start") && !n->hasAttr("end")) {
      const auto& d = dimsOf(n->input(0));
      known[n->output(0)] = ir::Tensor::fromVector<int64_t>({static_cast<int64_t>(d.size())}, d);
      valueDims[n->output(0)] = {static_cast<int64_t>(d.size())};
    } else {
      std::vector<ir::Tensor> placeholders;
      placeholders.reserve(n->inputs().size());
      std::vector<const ir::Tensor*> args;
      for (const ir::Value* v : n->inputs()) {
        if (!v) args.push_back(nullptr);
        else if (v->isInitializer()) args.push_back(&v->initializer());
        else if (isStatic.count(v)) args.push_back(&known.at(v));
        else args.push_back(&placeholders.emplace_back(v->dtype(), dimsOf(v)));
      }
      auto out = runtime::evaluateNode(*n, args);
      if (!out.ok()) return out.status();
      for (size_t i = 0; i < n->outputs().size(); ++i) {
        if (!n->output(i)) continue;
        valueDims[n->output(i)] = out.value()[i].dims();
        if (allStatic || n->opType() == "Shape") known[n->output(i)] = std::move(out.value()[i]);
      }
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
    if (!lowerError.ok()) return lowerError;
    if (!native) EDGEOPT_RETURN_IF_ERROR(reference(*n));
  }
  for (const ir::Value* v : outputs)
    if (!isStatic.count(v) && !v->isInitializer()) slotIn(v, ioLayout(v));
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
      const Slot& s = p.slots[static_cast<size_t>(p.slotOf.at({v, p.ioLayout(v)}))];
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
