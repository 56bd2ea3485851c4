#include "api/quantize.h"

#include <nlohmann/json.hpp>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "api/evaluate.h"
#include "api/optimize.h"
#include "compiler/ir/edgeopt_ops.h"
#include "compiler/onnx/onnx_io.h"
#include "compiler/runtime/executor.h"
#include "targets/target.h"
#include "passes/activation_storage.h"
#include "passes/fuse_activation.h"
#include "passes/insert_qdq.h"
#include "passes/lower_qdq.h"
#include "passes/registry.h"

namespace edgeopt::api {

namespace {


// The fp32 model in QDQ form with `excluded` kept float, lowered for int8 execution.
StatusOr<ir::Model> int8Variant(const ir::Model& fp32, const passes::QdqPlan& basePlan,
                                const std::set<std::string>& excluded, std::vector<std::string>* quantized) {
  ir::Model m = ir::cloneModel(fp32);
  // Fuse Relu/Clip again, as quantizeModel's graph has them, so the value names match the plan;
  // other activations stay split after their producer (it runs in int8, they in float).
  EDGEOPT_ASSIGN_OR_RETURN(auto refuse, passes::pipelineFromNames({"eliminate_noops", "fold_batchnorm"}));
  refuse.add(passes::makeFuseActivation(passes::FusibleActivations::kInt8Bounds));
  std::vector<pass::PassRecord> records;
  EDGEOPT_RETURN_IF_ERROR(refuse.run(m, {}, &records));
  passes::QdqPlan plan = basePlan;
  plan.excludedNodes = excluded;
  std::vector<std::string> q;
  EDGEOPT_RETURN_IF_ERROR(passes::insertQdq(*m.graph, plan, quantized ? quantized : &q));
  EDGEOPT_RETURN_IF_ERROR(prepareForExecution(m));
  return m;
}

struct ErrorSums {
  double signal = 0, noise = 0, dot = 0, actualSq = 0;
  void add(const float* ref, const float* got, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
      signal += static_cast<double>(ref[i]) * ref[i];
      noise += static_cast<double>(ref[i] - got[i]) * (ref[i] - got[i]);
      dot += static_cast<double>(ref[i]) * got[i];
      actualSq += static_cast<double>(got[i]) * got[i];
    }
  }
  // NaN when nothing was compared; +infinity when int8 matched exactly.
  double sqnrDb() const {
    if (signal == 0 && noise == 0) return std::nan("");
    return noise > 0 ? 10 * std::log10(signal / noise) : INFINITY;
  }
  double cosine() const { return signal > 0 && actualSq > 0 ? dot / std::sqrt(signal * actualSq) : std::nan(""); }
};

// Float values of an int8 tensor (int8, or uint8 storing value + 128) at scale / zero point.
std::vector<float> dequantize(const ir::Tensor& t, const passes::ActivationQuant& q) {
  std::vector<float> out(static_cast<size_t>(t.numel()));
  const bool u8 = t.dtype() == ir::DType::kUInt8;
  for (int64_t i = 0; i < t.numel(); ++i)
    out[static_cast<size_t>(i)] =
        static_cast<float>((u8 ? t.data<uint8_t>()[i] - 128 : t.data<int8_t>()[i]) - q.zeroPoint) * q.scale;
  return out;
}

// Threads of the quantization target: as asked, or every hardware thread.
int quantizationThreads(const QuantizeOptions& options) {
  return options.threads > 0 ? options.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

// Ops whose output range is known whatever the data: [0, 1].
bool hasUnitRange(const ir::Node& n) {
  if (!n.domain().empty()) return false;
  const std::string& op = n.opType();
  return op == "Sigmoid" || op == "HardSigmoid" || op == "Softmax";
}

// Graph outputs stay float. A Conv/Gemm/MatMul whose output reaches a graph output only through
// a [0, 1]-range op (Sigmoid, HardSigmoid, Softmax) and ops that pass values through (a constant
// Add/Sub/Mul/Div, reshapes) stays float too: an int8 output would clamp its logits to the range
// calibration saw, and a detector calibrated on ordinary data could then never fire.
std::map<std::string, std::string> logitsFeedingBoundedOutputs(const ir::Graph& g,
                                                               const std::vector<const ir::Node*>& candidates) {
  std::map<std::string, std::string> out;
  const std::set<const ir::Node*> weighted(candidates.begin(), candidates.end());
  auto isConstant = [](const ir::Value* v) { return v && v->isInitializer(); };
  for (const ir::Value* o : g.outputs()) {
    const ir::Node* p = o->producer();
    if (!p || !hasUnitRange(*p)) continue;
    const ir::Value* x = p->input(0);
    for (;;) {
      const ir::Node* q = x ? x->producer() : nullptr;
      if (!q || x->uses().size() != 1) break;
      if (weighted.count(q)) {
        out[q->name()] = "its output reaches graph output '" + o->name() + "' through " + p->opType() +
                         " (an int8 output would clamp it to the calibrated range)";
        break;
      }
      const std::string& op = q->opType();
      const bool constOperand = (op == "Add" || op == "Sub" || op == "Mul" || op == "Div") && isConstant(q->input(1));
      const bool reshape = op == "Reshape" || op == "Flatten" || op == "Transpose" || op == "Squeeze" || op == "Unsqueeze";
      if (!q->domain().empty() || (!constOperand && !reshape)) break;
      x = q->input(0);
    }
  }
  return out;
}

std::string opTypeOf(const ir::Graph& g, const std::string& nodeName) {
  for (const ir::Node* n : g.nodes())
    if (n->name() == nodeName) return n->opType();
  return "";
}

// The nodes with an int8 form that none of `targetNames` runs in int8 (Target::runsInt8), with the
// reason; none when no targets are named.
StatusOr<std::map<std::string, std::string>> nodesNoTargetRunsInt8(const ir::Graph& g,
                                                                   const std::vector<std::string>& targetNames) {
  std::vector<const targets::Target*> chosen;
  std::string names;
  for (const std::string& name : targetNames) {
    EDGEOPT_ASSIGN_OR_RETURN(const targets::Target* t, targets::find(name));
    chosen.push_back(t);
    names += (names.empty() ? "" : ", ") + name;
  }
  std::map<std::string, std::string> out;
  for (const ir::Node* n : g.nodes()) {
    if (chosen.empty() || !n->domain().empty() || !passes::opsWithInt8Form().count(n->opType())) continue;
    if (std::none_of(chosen.begin(), chosen.end(), [n](const targets::Target* t) { return t->runsInt8(*n); }))
      out[n->name()] = "no target of " + names + " runs this " + n->opType() + " in int8";
  }
  return out;
}

// An executable of `model` on the quantization target (x86 by default: every stage's model runs
// there bit-exactly in int8 and within float rounding in fp32). `observed` names the values
// runObserving must show.
StatusOr<std::unique_ptr<targets::Executable>> loadForQuantization(ir::Model model, const QuantizeOptions& options,
                                                                  const std::set<std::string>& observed = {}) {
  EDGEOPT_ASSIGN_OR_RETURN(const targets::Target* target, targets::find(options.target));
  targets::TargetOptions to;
  to.observed = observed;
  to.threads = quantizationThreads(options);
  return target->load(std::move(model), to);
}

// Top-1 accuracy on labelled data, and how many samples it was measured on.
StatusOr<std::pair<double, int64_t>> top1(const ir::Model& m, const data::DataOptions& d, const QuantizeOptions& options) {
  EvalOptions o;
  o.data = d;
  o.runner = runnerOptionsFor(options.target, quantizationThreads(options));
  auto r = evaluate(m, o);
  if (!r.ok()) return r.status().withContext("--eval");
  return std::make_pair(static_cast<double>(r->top1Correct) / static_cast<double>(r->samples), r->samples);
}

// SQNR of a model's outputs (all of them, over all samples) against the fp32 model's on
// evaluation data, labels not needed: the accuracy budget of models without classes.
class OutputSqnrMeter {
 public:
  static StatusOr<std::unique_ptr<OutputSqnrMeter>> create(const ir::Model& fp32, const data::DataOptions& data,
                                                           const QuantizeOptions& options) {
    auto meter = std::unique_ptr<OutputSqnrMeter>(new OutputSqnrMeter());
    meter->options_ = options;
    EDGEOPT_ASSIGN_OR_RETURN(auto source, data::openDataSource(data));
    EDGEOPT_RETURN_IF_ERROR(checkSamplesFitInput(fp32, *source));
    const std::optional<int64_t> fixed = fixedBatch(*fp32.graph);
    const int64_t batch = fixed.value_or(32);
    EDGEOPT_ASSIGN_OR_RETURN(auto exec, loadForQuantization(ir::cloneModel(fp32), options));
    data::BatchReader reader(*source, data, batch);
    data::Batch b;
    for (;;) {
      auto more = reader.next(&b);
      if (!more.ok()) return more.status();
      if (!more.value() || (fixed && static_cast<int64_t>(b.indices.size()) != batch)) break;
      auto out = exec->run({b.inputs});
      if (!out.ok()) return out.status().withContext(source->describe(b.indices[0]));
      meter->inputs_.push_back(b.inputs);
      meter->reference_.push_back(std::move(out).value());
      meter->samples_ += static_cast<int64_t>(b.indices.size());
    }
    if (meter->samples_ == 0) return invalidInput(data.path + ": no evaluation sample was used");
    return meter;
  }
  int64_t samples() const { return samples_; }
  StatusOr<double> measure(const ir::Model& int8) const {
    EDGEOPT_ASSIGN_OR_RETURN(auto exec, loadForQuantization(ir::cloneModel(int8), options_));
    ErrorSums sums;
    for (size_t k = 0; k < inputs_.size(); ++k) {
      auto out = exec->run({inputs_[k]});
      if (!out.ok()) return out.status();
      for (size_t o = 0; o < reference_[k].size(); ++o) {
        const ir::Tensor& ref = reference_[k][o];
        const ir::Tensor& got = out.value()[o];
        if (ref.dtype() != ir::DType::kFloat32 || got.dtype() != ir::DType::kFloat32 || ref.numel() != got.numel()) continue;
        sums.add(ref.data<float>(), got.data<float>(), ref.numel());
      }
    }
    return sums.sqnrDb();
  }

 private:
  OutputSqnrMeter() = default;
  QuantizeOptions options_;
  std::vector<ir::Tensor> inputs_;
  std::vector<std::vector<ir::Tensor>> reference_;
  int64_t samples_ = 0;
};

}  // namespace

Status quantizeModel(ir::Model& model, const QuantizeOptions& options, QuantizeReport* report) {
  ir::Graph& g = *model.graph;
  if (passes::hasQdq(g)) return invalidInput("the model is already quantized (it holds QuantizeLinear/DequantizeLinear)");
  report->calibrator = quant::calibratorName(options.calibrator);

  OptimizeReport cleanup;
  EDGEOPT_RETURN_IF_ERROR(optimize(model, {}, &cleanup));
  // The int8 arithmetic computes Relu and Clip through its output range; other activations
  // (HardSwish, Sigmoid, ...) run in float after their int8 producer.
  passes::splitFusedActivations(g, passes::FusibleActivations::kInt8Bounds);

  const auto candidates = passes::quantizableNodes(g);
  for (const std::string& name : options.exclude) {
    bool found = false;
    for (const ir::Node* n : g.nodes()) found = found || n->name() == name;
    if (!found) return invalidInput("--exclude '" + name + "' names no node of the (cleaned-up) model");
  }
  if (candidates.empty()) return unsupported("the model has no Conv, Gemm or MatMul with constant weights to quantize");
  std::map<std::string, std::string> floatByRule = logitsFeedingBoundedOutputs(g, candidates);
  EDGEOPT_ASSIGN_OR_RETURN(const auto withoutInt8Form, nodesNoTargetRunsInt8(g, options.forTargets));
  floatByRule.insert(withoutInt8Form.begin(), withoutInt8Form.end());

  // Calibration: observe every activation whose parameters insert_qdq may use.
  std::map<const ir::Value*, std::unique_ptr<quant::TensorHistogram>> observed;
  for (const ir::Value* v : passes::calibratedValues(g)) observed[v] = std::make_unique<quant::TensorHistogram>();
  EDGEOPT_ASSIGN_OR_RETURN(auto source, data::openDataSource(options.calib));
  EDGEOPT_RETURN_IF_ERROR(checkSamplesFitInput(model, *source));
  // Calibration runs on the quantization target, which shows every calibrated activation.
  std::map<std::string, quant::TensorHistogram*> histogramOf;
  std::set<std::string> observedNames;
  for (const auto& [value, hist] : observed) {
    histogramOf[value->name()] = hist.get();
    observedNames.insert(value->name());
  }
  EDGEOPT_ASSIGN_OR_RETURN(auto calibrator, loadForQuantization(ir::cloneModel(model), options, observedNames));
  const std::optional<int64_t> fixed = fixedBatch(g);
  const int64_t batch = fixed.value_or(options.batchSize);
  data::BatchReader reader(*source, options.calib, batch);
  if (reader.total() == 0) return invalidInput(options.calib.path + ": the calibration set is empty");
  const ir::Value* graphInput = g.inputs()[0];
  const targets::Executable::Observer observe = [&](const std::string& name, const float* data, int64_t count) {
    if (auto it = histogramOf.find(name); it != histogramOf.end()) it->second->observe(data, count);
  };
  const auto calibrationStart = std::chrono::steady_clock::now();
  data::Batch b;
  for (;;) {
    auto more = reader.next(&b);
    if (!more.ok()) return more.status();
    if (!more.value()) break;
    if (static_cast<int64_t>(b.indices.size()) != batch && fixed) break;
    if (auto it = observed.find(graphInput); it != observed.end())
      it->second->observe(b.inputs.data<float>(), b.inputs.numel());
    auto outs = calibrator->runObserving({b.inputs}, observe);
    if (!outs.ok()) return outs.status().withContext(source->describe(b.indices[0]));
    report->calibrationSamples += static_cast<int64_t>(b.indices.size());
    if (options.calibrationProgress) options.calibrationProgress(report->calibrationSamples, reader.total());
  }
  if (report->calibrationSamples == 0) return invalidInput(options.calib.path + ": no calibration sample was used");
  const double calibrationSeconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - calibrationStart).count();
  report->calibrationSeconds = calibrationSeconds;

  passes::QdqPlan plan;
  plan.perTensorWeights = options.perTensorWeights;
  for (const auto& [value, hist] : observed) {
    if (hist->count() == 0) continue;
    auto r = hist->range(options.calibrator, options.percentile);
    // A [0, 1]-range op's output is encoded over [0, 1], not over what calibration happened to see.
    if (value->producer() && hasUnitRange(*value->producer())) r = {0.0f, 1.0f};
    const quant::AffineQuant q = quant::chooseInt8(r.first, r.second);
    plan.activations[value->name()] = {q.scale, q.zeroPoint};
    report->tensors.push_back({value->name(), hist->min(), hist->max(), r.first, r.second, q.scale, q.zeroPoint});
  }
  // Layers kept in float: by the user, and by rule (logits of a bounded graph output).
  std::set<std::string> userExcluded(options.exclude.begin(), options.exclude.end());
  for (const auto& [name, why] : floatByRule) userExcluded.insert(name);

  // Error attribution: each int8 layer's output against fp32 (all layers in int8: two model runs
  // per sample), and, when asked or when a mixed-precision budget needs it, the model output with
  // only that layer in int8 (sensitivity: one more run per layer and sample). The default sample
  // count keeps it to about a quarter of the calibration time (or two seconds, whichever allows
  // more samples), between 1 and 128.
  const bool needSensitivity = options.sensitivity || options.maxDrop >= 0 || options.minSqnrDb.has_value();
  const auto int8Candidates = passes::int8CandidateNodes(g);
  std::vector<std::string> quantizedAll;
  EDGEOPT_ASSIGN_OR_RETURN(ir::Model all, int8Variant(model, plan, userExcluded, &quantizedAll));
  const std::set<std::string> inInt8(quantizedAll.begin(), quantizedAll.end());
  std::vector<std::string> int8Nodes;  // what insert_qdq really puts in int8, in graph order
  for (const ir::Node* n : int8Candidates)
    if (inInt8.count(n->name())) int8Nodes.push_back(n->name());
  {
    // The per-layer errors run on the reference executor (they compare values element by
    // element), until the count asked for (in batches of at most 8), or by default one sample at a
    // time until a quarter of the calibration time (at least 2 s) is spent; a fixed batch is kept.
    const bool byTime = options.attributionSamples <= 0;
    const int64_t cap = std::min<int64_t>(byTime ? 128 : options.attributionSamples, report->calibrationSamples);
    const double budgetSeconds = std::max(0.25 * calibrationSeconds, 2.0);
    const int64_t attrBatch = fixed ? batch : byTime ? 1 : std::min<int64_t>(cap, 8);
    data::DataOptions first = options.calib;
    first.limit = std::max(cap, attrBatch);
    first.shuffle = false;
    EDGEOPT_ASSIGN_OR_RETURN(auto src, data::openDataSource(first));
    data::BatchReader r2(*src, first, attrBatch);
    std::vector<ir::Tensor> sampleBatches;
    std::set<std::string> wanted(int8Nodes.begin(), int8Nodes.end());
    std::map<const ir::Value*, std::string> producerName;
    std::map<std::string, passes::ActivationQuant> outputParams;  // node name -> its output's int8 parameters
    for (const ir::Node* n : int8Candidates) {
      const ir::Value* encoded = n->output(0);
      // A Relu/Clip insert_qdq folds into the node's int8 output: compare with fp32 after it.
      if (const ir::Node* clamp = passes::foldableClamp(g, *n)) encoded = clamp->output(0);
      producerName[encoded] = n->name();
      if (auto q = plan.activations.find(encoded->name()); q != plan.activations.end()) outputParams[n->name()] = q->second;
    }
    auto exec = runtime::Executor::create(g);
    if (!exec.ok()) return exec.status();
    auto allExec = runtime::Executor::create(*all.graph);
    if (!allExec.ok()) return allExec.status();
    std::map<std::string, ErrorSums> layerSums;
    std::vector<ir::Tensor> fp32Final;  // model output 0 per batch
    const auto attributionStart = std::chrono::steady_clock::now();
    data::Batch sample;
    for (;;) {
      const double spent = std::chrono::duration<double>(std::chrono::steady_clock::now() - attributionStart).count();
      if (!sampleBatches.empty() && byTime && spent >= budgetSeconds) break;
      auto got = r2.next(&sample);
      if (!got.ok()) return got.status();
      if (!got.value() || static_cast<int64_t>(sample.indices.size()) != attrBatch) break;
      sampleBatches.push_back(sample.inputs);
      report->attributionSamples += attrBatch;
      const ir::Tensor& inputs = sampleBatches.back();
      std::map<std::string, std::vector<float>> fp32Outputs;  // node name -> float output
      auto out = exec.value()->run({inputs}, [&](const ir::Value& v, const ir::Tensor& t) {
        auto it = producerName.find(&v);
        if (it != producerName.end() && wanted.count(it->second) && t.dtype() == ir::DType::kFloat32)
          fp32Outputs[it->second] = std::vector<float>(t.data<float>(), t.data<float>() + t.numel());
      });
      if (!out.ok()) return out.status();
      fp32Final.push_back(std::move(out.value()[0]));
      auto allOut = allExec.value()->run({inputs}, [&](const ir::Value& v, const ir::Tensor& t) {
        const ir::Node* p = v.producer();
        if (!p) return;
        // Ops that run as themselves on integer tensors (Concat, pooling) are compared where a
        // DequantizeLinear reads their output.
        if (p->domain().empty() && p->opType() == "DequantizeLinear" && t.dtype() == ir::DType::kFloat32) {
          const ir::Node* q = p->input(0)->producer();
          if (!q || !q->domain().empty()) return;
          auto ref = fp32Outputs.find(q->name());
          if (ref != fp32Outputs.end() && static_cast<int64_t>(ref->second.size()) == t.numel())
            layerSums[q->name()].add(ref->second.data(), t.data<float>(), t.numel());
          return;
        }
        // An int8 output: of edgeopt's int8 ops ("<node>_int8", their own output parameters), or
        // of an op lowered to run as itself on the integers (its calibrated output parameters).
        if (t.dtype() != ir::DType::kInt8 && t.dtype() != ir::DType::kUInt8) return;
        const bool edgeoptOp = p->domain() == ir::kEdgeoptDomain;
        if (!edgeoptOp && !p->domain().empty()) return;
        const std::string& pn = p->name();
        const bool suffixed = pn.size() > 5 && pn.compare(pn.size() - 5, 5, "_int8") == 0;
        const std::string name = suffixed ? pn.substr(0, pn.size() - 5) : pn;
        passes::ActivationQuant q;
        if (edgeoptOp) {
          q = {p->attrFloat("y_scale", 1.0f), static_cast<int32_t>(p->attrInt("y_zero_point", 0))};
        } else if (auto it = outputParams.find(name); it != outputParams.end()) {
          q = it->second;
        } else {
          return;
        }
        auto ref = fp32Outputs.find(name);
        if (ref == fp32Outputs.end() || static_cast<int64_t>(ref->second.size()) != t.numel()) return;
        layerSums[name].add(ref->second.data(), dequantize(t, q).data(), t.numel());
      });
      if (!allOut.ok()) return allOut.status();
    }
    for (const std::string& name : int8Nodes) {
      const ErrorSums& l = layerSums[name];
      if (!needSensitivity) {
        report->layers.push_back({name, l.sqnrDb(), l.cosine(), std::nan("")});
        continue;
      }
      std::set<std::string> others = userExcluded;
      for (const std::string& o : int8Nodes)
        if (o != name) others.insert(o);
      EDGEOPT_ASSIGN_OR_RETURN(ir::Model single, int8Variant(model, plan, others, nullptr));
      auto singleExec = loadForQuantization(std::move(single), options);
      if (!singleExec.ok()) return singleExec.status();
      ErrorSums o;
      for (size_t k = 0; k < sampleBatches.size(); ++k) {
        auto out = singleExec.value()->run({sampleBatches[k]});
        if (!out.ok()) return out.status();
        o.add(fp32Final[k].data<float>(), out.value()[0].data<float>(), fp32Final[k].numel());
      }
      report->layers.push_back({name, l.sqnrDb(), l.cosine(), o.sqnrDb()});
    }
    report->attributionSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - attributionStart).count();
  }

  // Mixed precision: return the most sensitive layers to float until every budget holds. A
  // budget measures an int8 variant and says whether it holds, and if not, by how much it misses.
  std::set<std::string> excluded = userExcluded;
  using Budget = std::function<StatusOr<std::pair<bool, std::string>>(const ir::Model&)>;
  std::vector<Budget> budgets;
  if (options.maxDrop >= 0) {
    if (options.eval.path.empty()) return invalidInput("--max-drop needs labelled evaluation data (--eval)");
    EDGEOPT_ASSIGN_OR_RETURN(auto fp32, top1(model, options.eval, options));
    report->fp32Top1 = fp32.first;
    report->evalSamples = fp32.second;
    budgets.push_back([&](const ir::Model& q) -> StatusOr<std::pair<bool, std::string>> {
      EDGEOPT_ASSIGN_OR_RETURN(auto int8, top1(q, options.eval, options));
      report->int8Top1 = int8.first;
      const double drop = (report->fp32Top1 - report->int8Top1) * 100.0;
      char why[96];
      std::snprintf(why, sizeof why, "top-1 drop %.2f points > %.2f", drop, options.maxDrop);
      return std::make_pair(drop <= options.maxDrop, std::string(why));
    });
  }
  std::unique_ptr<OutputSqnrMeter> sqnrMeter;
  if (options.minSqnrDb) {
    if (options.eval.path.empty()) return invalidInput("--min-sqnr needs evaluation data (--eval; labels not needed)");
    EDGEOPT_ASSIGN_OR_RETURN(sqnrMeter, OutputSqnrMeter::create(model, options.eval, options));
    report->evalSamples = sqnrMeter->samples();
    budgets.push_back([&](const ir::Model& q) -> StatusOr<std::pair<bool, std::string>> {
      EDGEOPT_ASSIGN_OR_RETURN(report->outputSqnrDb, sqnrMeter->measure(q));
      char why[96];
      std::snprintf(why, sizeof why, "output SQNR %.2f dB < %.2f", report->outputSqnrDb, *options.minSqnrDb);
      return std::make_pair(report->outputSqnrDb >= *options.minSqnrDb, std::string(why));
    });
  }
  if (!budgets.empty()) {
    // The k most sensitive layers go to float, with the smallest k for which every budget holds,
    // found by doubling k and then bisecting (the budgets are taken as monotone in k): about
    // 2 log2(layers) measurements instead of one per layer.
    std::vector<LayerError> bySensitivity = report->layers;
    std::sort(bySensitivity.begin(), bySensitivity.end(),
              [](const LayerError& a, const LayerError& b) { return a.outputSqnrDb < b.outputSqnrDb; });
    const size_t layers = bySensitivity.size();
    size_t measuredK = SIZE_MAX;
    auto missedWith = [&](size_t k) -> StatusOr<std::string> {
      std::set<std::string> floatLayers = userExcluded;
      for (size_t i = 0; i < k; ++i) floatLayers.insert(bySensitivity[i].node);
      EDGEOPT_ASSIGN_OR_RETURN(ir::Model q, int8Variant(model, plan, floatLayers, nullptr));
      measuredK = k;
      std::string missed;
      for (const Budget& b : budgets) {
        EDGEOPT_ASSIGN_OR_RETURN(auto held, b(q));
        if (!held.first && missed.empty()) missed = held.second;
      }
      return missed;
    };
    EDGEOPT_ASSIGN_OR_RETURN(std::string missedBelow, missedWith(0));
    size_t k = 0;
    if (!missedBelow.empty()) {
      size_t lo = 0, hi = 1;  // lo misses the budget
      bool held = false;
      for (; lo < layers; hi = std::min(layers, hi * 2)) {
        EDGEOPT_ASSIGN_OR_RETURN(std::string missed, missedWith(hi));
        if (missed.empty()) { held = true; break; }
        lo = hi;
        missedBelow = missed;
      }
      if (held) {
        while (hi - lo > 1) {
          const size_t mid = lo + (hi - lo) / 2;
          EDGEOPT_ASSIGN_OR_RETURN(std::string missed, missedWith(mid));
          if (missed.empty()) hi = mid;
          else { lo = mid; missedBelow = missed; }
        }
        k = hi;
      } else {
        k = layers;
      }
      if (measuredK != k) EDGEOPT_RETURN_IF_ERROR(missedWith(k).status());  // the report's figures are k's
    }
    for (size_t i = 0; i < k; ++i) {
      const LayerError& l = bySensitivity[i];
      excluded.insert(l.node);
      char why[240];
      std::snprintf(why, sizeof why, ": kept in float (one of the %zu most sensitive layers; with %s; output SQNR with only it in int8 %.1f dB)",
                    k, k == layers ? "every layer in float the budget still misses" : ("fewer, " + missedBelow).c_str(),
                    l.outputSqnrDb);
      report->keptInFloat.push_back(l.node + why);
    }
  }
  plan.excludedNodes = excluded;
  EDGEOPT_RETURN_IF_ERROR(passes::insertQdq(g, plan, &report->quantizedNodes));
  for (const ir::Node* n : g.nodes())
    if (n->domain().empty() && (n->opType() == "Conv" || n->opType() == "Gemm" || n->opType() == "MatMul")) {
      // Quantized nodes read int8 weights through a DequantizeLinear.
      const bool inInt8 = n->input(1) && n->input(1)->producer() && n->input(1)->producer()->opType() == "DequantizeLinear";
      if (!inInt8)
        report->floatNodes.push_back(n->name() + (floatByRule.count(n->name())  ? ": kept in float: " + floatByRule.at(n->name())
                                                  : userExcluded.count(n->name()) ? std::string(": excluded (--exclude)")
                                                  : excluded.count(n->name())     ? std::string(": kept in float by --max-drop/--min-sqnr")
                                                                                  : std::string(": no int8 form")));
    }
  for (const auto& [name, why] : withoutInt8Form)
    if (const std::string op = opTypeOf(g, name); op != "Conv" && op != "Gemm" && op != "MatMul")
      report->floatNodes.push_back(name + ": kept in float: " + why);
  {
    // What still runs in fp32 once lowered for execution: the float ops other than Q/DQ.
    ir::Model lowered = ir::cloneModel(model);
    EDGEOPT_RETURN_IF_ERROR(prepareForExecution(lowered));
    for (const ir::Node* n : lowered.graph->nodes()) {
      const std::string& op = n->opType();
      if (op == "QuantizeLinear" || op == "DequantizeLinear" || op == "Conv" || op == "Gemm" || op == "MatMul") continue;
      if (n->outputs().empty() || n->output(0)->dtype() != ir::DType::kFloat32) continue;
      ++report->fp32Ops[n->qualifiedOpType()];
    }
  }
  for (auto& o : model.opsets)
    if ((o.domain.empty() || o.domain == "ai.onnx") && o.version < 13) o.version = 13;
  return g.verify();
}

namespace {
nlohmann::json finiteOrNull(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }
}  // namespace

std::string quantizeReportJson(const QuantizeReport& r) {
  nlohmann::json j;
  j["calibrator"] = r.calibrator;
  j["calibration_samples"] = r.calibrationSamples;
  j["attribution_samples"] = r.attributionSamples;
  j["seconds"] = {{"calibration", r.calibrationSeconds}, {"attribution", r.attributionSeconds}};
  j["int8_nodes"] = r.quantizedNodes;
  j["float_nodes"] = r.floatNodes;
  j["fp32_ops"] = r.fp32Ops;
  nlohmann::json t = nlohmann::json::array();
  for (const auto& x : r.tensors)
    t.push_back({{"name", x.name}, {"observed_min", x.observedMin}, {"observed_max", x.observedMax}, {"range", {x.lo, x.hi}},
                 {"scale", x.scale}, {"zero_point", x.zeroPoint}});
  j["tensors"] = t;
  nlohmann::json layers = nlohmann::json::array();
  for (const auto& l : r.layers)
    layers.push_back({{"node", l.node}, {"sqnr_db", finiteOrNull(l.sqnrDb)}, {"cosine", finiteOrNull(l.cosine)},
                      {"output_sqnr_db_only_this_int8", finiteOrNull(l.outputSqnrDb)}});
  j["layers"] = layers;
  if (r.fp32Top1 >= 0 || std::isfinite(r.outputSqnrDb)) {
    j["mixed_precision"] = {{"eval_samples", r.evalSamples}, {"kept_in_float", r.keptInFloat}};
    if (r.fp32Top1 >= 0) {
      j["mixed_precision"]["fp32_top1"] = r.fp32Top1;
      j["mixed_precision"]["int8_top1"] = r.int8Top1;
    }
    if (std::isfinite(r.outputSqnrDb)) j["mixed_precision"]["output_sqnr_db"] = r.outputSqnrDb;
  }
  return j.dump(2);
}

std::string quantizeReportTable(const QuantizeReport& r) {
  std::ostringstream os;
  char line[256];
  std::snprintf(line, sizeof line, "%-44s %9s %9s %14s\n", "int8 layer", "SQNR dB", "cosine", "out SQNR dB*");
  os << line;
  for (const auto& l : r.layers) {
    if (std::isnan(l.outputSqnrDb))
      std::snprintf(line, sizeof line, "%-44s %9.2f %9.5f %14s\n", l.node.substr(0, 44).c_str(), l.sqnrDb, l.cosine, "-");
    else
      std::snprintf(line, sizeof line, "%-44s %9.2f %9.5f %14.2f\n", l.node.substr(0, 44).c_str(), l.sqnrDb, l.cosine, l.outputSqnrDb);
    os << line;
  }
  os << "* model output SQNR with only that layer in int8 (lower = more sensitive; with --sensitivity,\n"
        "  --max-drop or --min-sqnr)\n";
  if (r.fp32Top1 >= 0) {
    std::snprintf(line, sizeof line, "eval (%lld samples): fp32 top-1 %.4f, int8 top-1 %.4f\n",
                  static_cast<long long>(r.evalSamples), r.fp32Top1, r.int8Top1);
    os << line;
  }
  if (std::isfinite(r.outputSqnrDb)) {
    std::snprintf(line, sizeof line, "eval (%lld samples): model output SQNR int8 vs fp32 %.2f dB\n",
                  static_cast<long long>(r.evalSamples), r.outputSqnrDb);
    os << line;
  }
  for (const auto& k : r.keptInFloat) os << "  " << k << "\n";
  return os.str();
}

Status prepareForExecution(ir::Model& model, const targets::Target* target, std::vector<std::string>* keptInFloat) {
  if (!passes::hasQdq(*model.graph)) return Status::Ok();
  auto pm = passes::pipelineFromNames({"eliminate_noops", "fold_batchnorm", "fuse_activation"});
  if (!pm.ok()) return pm.status();
  passes::LowerQdqOptions lowering;
  std::set<std::string> declined;
  if (target) lowering.runsInt8 = [target](const ir::Node& n) { return target->runsInt8(n); };
  lowering.declined = &declined;
  pm->add(passes::makeLowerQdq(std::move(lowering)));
  std::vector<pass::PassRecord> records;
  EDGEOPT_RETURN_IF_ERROR(pm->run(model, {}, &records));
  // One storage encoding in the lowered IR: int8 (QDQ exports store activations as uint8 for ONNX
  // Runtime; a target that wants uint8 converts its own copy).
  passes::setActivationStorage(*model.graph, ir::DType::kInt8);
  if (keptInFloat) keptInFloat->assign(declined.begin(), declined.end());
  return Status::Ok();
}

}  // namespace edgeopt::api
