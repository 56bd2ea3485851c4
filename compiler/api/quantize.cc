#include "compiler/api/quantize.h"

#include <nlohmann/json.hpp>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <set>
#include <sstream>

#include "compiler/api/evaluate.h"
#include "compiler/api/optimize.h"
#include "compiler/ir/edgeopt_ops.h"
#include "compiler/onnx/onnx_io.h"
#include "compiler/runtime/executor.h"
#include "passes/insert_qdq.h"
#include "passes/lower_qdq.h"
#include "passes/registry.h"

namespace edgeopt::api {

namespace {


// The fp32 model in QDQ form with `excluded` kept float, lowered for int8 execution.
StatusOr<ir::Model> int8Variant(const ir::Model& fp32, const passes::QdqPlan& basePlan,
                                const std::set<std::string>& excluded, std::vector<std::string>* quantized) {
  ir::Model m = ir::cloneModel(fp32);
  // Export re-expanded fused activations; fuse them again so the value names match the plan.
  EDGEOPT_ASSIGN_OR_RETURN(auto refuse, passes::pipelineFromNames({"eliminate_noops", "fold_batchnorm", "fuse_activation"}));
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

// Float values of an int8 op's output (dequantized with its y_scale / y_zero_point).
std::vector<float> dequantizedOutput(const ir::Node& n, const ir::Tensor& t) {
  const float s = n.attrFloat("y_scale", 1.0f);
  const int64_t z = n.attrInt("y_zero_point", 0);
  std::vector<float> out(static_cast<size_t>(t.numel()));
  const bool u8 = t.dtype() == ir::DType::kUInt8;  // stored as value + 128
  for (int64_t i = 0; i < t.numel(); ++i)
    out[static_cast<size_t>(i)] = static_cast<float>((u8 ? t.data<uint8_t>()[i] - 128 : t.data<int8_t>()[i]) - z) * s;
  return out;
}

// Top-1 accuracy on labelled data, and how many samples it was measured on.
StatusOr<std::pair<double, int64_t>> top1(const ir::Model& m, const data::DataOptions& d) {
  EvalOptions o;
  o.data = d;
  auto r = evaluate(m, o);
  if (!r.ok()) return r.status().withContext("--eval");
  return std::make_pair(static_cast<double>(r->top1Correct) / static_cast<double>(r->samples), r->samples);
}

}  // namespace

Status quantizeModel(ir::Model& model, const QuantizeOptions& options, QuantizeReport* report) {
  ir::Graph& g = *model.graph;
  if (passes::hasQdq(g)) return invalidInput("the model is already quantized (it holds QuantizeLinear/DequantizeLinear)");
  report->calibrator = quant::calibratorName(options.calibrator);

  OptimizeReport cleanup;
  EDGEOPT_RETURN_IF_ERROR(optimize(model, {}, &cleanup));

  const auto candidates = passes::quantizableNodes(g);
  for (const std::string& name : options.exclude) {
    bool found = false;
    for (const ir::Node* n : g.nodes()) found = found || n->name() == name;
    if (!found) return invalidInput("--exclude '" + name + "' names no node of the (cleaned-up) model");
  }
  if (candidates.empty()) return unsupported("the model has no Conv, Gemm or MatMul with constant weights to quantize");

  // Calibration: observe every activation whose parameters insert_qdq may use.
  std::map<const ir::Value*, std::unique_ptr<quant::TensorHistogram>> observed;
  for (const ir::Value* v : passes::calibratedValues(g)) observed[v] = std::make_unique<quant::TensorHistogram>();
  EDGEOPT_ASSIGN_OR_RETURN(auto source, data::openDataSource(options.calib));
  EDGEOPT_RETURN_IF_ERROR(checkSamplesFitInput(model, *source));
  auto exec = runtime::Executor::create(g);
  if (!exec.ok()) return exec.status();
  int64_t batch = options.batchSize;
  const ir::Shape& inShape = g.inputs()[0]->shape();
  if (inShape && !inShape->empty() && (*inShape)[0].isKnown()) batch = (*inShape)[0].value;
  data::BatchReader reader(*source, options.calib, batch);
  if (reader.total() == 0) return invalidInput(options.calib.path + ": the calibration set is empty");
  const ir::Value* graphInput = g.inputs()[0];
  auto observe = [&](const ir::Value& v, const ir::Tensor& t) {
    auto it = observed.find(&v);
    if (it != observed.end() && t.dtype() == ir::DType::kFloat32) it->second->observe(t.data<float>(), t.numel());
  };
  data::Batch b;
  for (;;) {
    auto more = reader.next(&b);
    if (!more.ok()) return more.status();
    if (!more.value()) break;
    if (static_cast<int64_t>(b.indices.size()) != batch && inShape && (*inShape)[0].isKnown()) break;  // fixed batch
    if (auto it = observed.find(graphInput); it != observed.end())
      it->second->observe(b.inputs.data<float>(), b.inputs.numel());
    auto outs = exec.value()->run({b.inputs}, observe);
    if (!outs.ok()) return outs.status().withContext(source->describe(b.indices[0]));
    report->calibrationSamples += static_cast<int64_t>(b.indices.size());
  }
  if (report->calibrationSamples == 0) return invalidInput(options.calib.path + ": no calibration sample was used");

  passes::QdqPlan plan;
  plan.perTensorWeights = options.perTensorWeights;
  for (const auto& [value, hist] : observed) {
    if (hist->count() == 0) continue;
    const auto r = hist->range(options.calibrator, options.percentile);
    const quant::AffineQuant q = quant::chooseInt8(r.first, r.second);
    plan.activations[value->name()] = {q.scale, q.zeroPoint};
    report->tensors.push_back({value->name(), hist->min(), hist->max(), r.first, r.second, q.scale, q.zeroPoint});
  }
  // Error attribution on the first calibration samples: each int8 layer's output against fp32
  // (all layers in int8), and the model output with only that layer in int8 (sensitivity).
  const std::set<std::string> userExcluded(options.exclude.begin(), options.exclude.end());
  std::vector<std::string> int8Nodes;
  const auto int8Candidates = passes::int8CandidateNodes(g);
  for (const ir::Node* n : int8Candidates)
    if (!userExcluded.count(n->name())) int8Nodes.push_back(n->name());
  {
    data::DataOptions first = options.calib;
    first.limit = std::min<int64_t>(options.attributionSamples, reader.total());
    first.shuffle = false;
    EDGEOPT_ASSIGN_OR_RETURN(auto src, data::openDataSource(first));
    data::BatchReader r2(*src, first, first.limit);
    data::Batch sample;
    auto got = r2.next(&sample);
    if (!got.ok()) return got.status();
    std::map<std::string, std::vector<float>> fp32Outputs;  // node name -> float output
    std::set<std::string> wanted(int8Nodes.begin(), int8Nodes.end());
    std::map<const ir::Value*, std::string> producerName;
    for (const ir::Node* n : int8Candidates) {
      producerName[n->output(0)] = n->name();
      // A Relu insert_qdq folds into the node's int8 output: compare with fp32 after it.
      if (const ir::Node* relu = passes::foldableRelu(g, *n)) producerName[relu->output(0)] = n->name();
    }
    std::vector<ir::Tensor> fp32Final;
    {
      auto out = exec.value()->run({sample.inputs}, [&](const ir::Value& v, const ir::Tensor& t) {
        auto it = producerName.find(&v);
        if (it != producerName.end() && wanted.count(it->second))
          fp32Outputs[it->second] = std::vector<float>(t.data<float>(), t.data<float>() + t.numel());
      });
      if (!out.ok()) return out.status();
      fp32Final = std::move(out).value();
    }
    std::set<std::string> allButNone = userExcluded;
    EDGEOPT_ASSIGN_OR_RETURN(ir::Model all, int8Variant(model, plan, allButNone, nullptr));
    std::map<std::string, ErrorSums> layerSums;
    auto allExec = runtime::Executor::create(*all.graph);
    if (!allExec.ok()) return allExec.status();
    auto allOut = allExec.value()->run({sample.inputs}, [&](const ir::Value& v, const ir::Tensor& t) {
      const ir::Node* p = v.producer();
      if (!p || p->domain() != ir::kEdgeoptDomain || (t.dtype() != ir::DType::kInt8 && t.dtype() != ir::DType::kUInt8)) return;
      const std::string name = p->name().substr(0, p->name().size() - 5);  // strip "_int8"
      auto ref = fp32Outputs.find(name);
      if (ref == fp32Outputs.end() || static_cast<int64_t>(ref->second.size()) != t.numel()) return;
      const auto deq = dequantizedOutput(*p, t);
      layerSums[name].add(ref->second.data(), deq.data(), t.numel());
    });
    if (!allOut.ok()) return allOut.status();
    for (const std::string& name : int8Nodes) {
      std::set<std::string> others = userExcluded;
      for (const std::string& o : int8Nodes)
        if (o != name) others.insert(o);
      EDGEOPT_ASSIGN_OR_RETURN(ir::Model single, int8Variant(model, plan, others, nullptr));
      auto singleExec = runtime::Executor::create(*single.graph);
      if (!singleExec.ok()) return singleExec.status();
      auto out = singleExec.value()->run({sample.inputs});
      if (!out.ok()) return out.status();
      ErrorSums o;
      o.add(fp32Final[0].data<float>(), out.value()[0].data<float>(), fp32Final[0].numel());
      const ErrorSums& l = layerSums[name];
      report->layers.push_back({name, l.sqnrDb(), l.cosine(), o.sqnrDb()});
    }
  }

  // Mixed precision: return the most sensitive layers to float until the drop fits.
  std::set<std::string> excluded = userExcluded;
  if (options.maxDrop >= 0) {
    if (options.eval.path.empty()) return invalidInput("--max-drop needs labelled evaluation data (--eval)");
    EDGEOPT_ASSIGN_OR_RETURN(auto fp32, top1(model, options.eval));
    report->fp32Top1 = fp32.first;
    report->evalSamples = fp32.second;
    std::vector<LayerError> bySensitivity = report->layers;
    std::sort(bySensitivity.begin(), bySensitivity.end(),
              [](const LayerError& a, const LayerError& b) { return a.outputSqnrDb < b.outputSqnrDb; });
    size_t next = 0;
    for (;;) {
      EDGEOPT_ASSIGN_OR_RETURN(ir::Model q, int8Variant(model, plan, excluded, nullptr));
      EDGEOPT_ASSIGN_OR_RETURN(auto int8, top1(q, options.eval));
      report->int8Top1 = int8.first;
      const double drop = (report->fp32Top1 - report->int8Top1) * 100.0;
      if (drop <= options.maxDrop || next == bySensitivity.size()) break;
      const LayerError& l = bySensitivity[next++];
      excluded.insert(l.node);
      char why[160];
      std::snprintf(why, sizeof why, ": kept in float (top-1 drop %.2f points > %.2f; output SQNR with only it in int8 %.1f dB, the lowest left)",
                    drop, options.maxDrop, l.outputSqnrDb);
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
        report->floatNodes.push_back(n->name() + (userExcluded.count(n->name())   ? ": excluded (--exclude)"
                                                  : excluded.count(n->name()) ? ": kept in float by --max-drop"
                                                                              : ": no int8 form"));
    }
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
  if (r.fp32Top1 >= 0) {
    j["mixed_precision"] = {{"eval_samples", r.evalSamples}, {"fp32_top1", r.fp32Top1}, {"int8_top1", r.int8Top1},
                            {"kept_in_float", r.keptInFloat}};
  }
  return j.dump(2);
}

std::string quantizeReportTable(const QuantizeReport& r) {
  std::ostringstream os;
  char line[256];
  std::snprintf(line, sizeof line, "%-44s %9s %9s %14s\n", "int8 layer", "SQNR dB", "cosine", "out SQNR dB*");
  os << line;
  for (const auto& l : r.layers) {
    std::snprintf(line, sizeof line, "%-44s %9.2f %9.5f %14.2f\n", l.node.substr(0, 44).c_str(), l.sqnrDb, l.cosine, l.outputSqnrDb);
    os << line;
  }
  os << "* model output SQNR with only that layer in int8 (lower = more sensitive)\n";
  if (r.fp32Top1 >= 0) {
    std::snprintf(line, sizeof line, "eval (%lld samples): fp32 top-1 %.4f, int8 top-1 %.4f\n",
                  static_cast<long long>(r.evalSamples), r.fp32Top1, r.int8Top1);
    os << line;
    for (const auto& k : r.keptInFloat) os << "  " << k << "\n";
  }
  return os.str();
}

Status prepareForExecution(ir::Model& model) {
  if (!passes::hasQdq(*model.graph)) return Status::Ok();
  auto pm = passes::pipelineFromNames({"eliminate_noops", "fold_batchnorm", "fuse_activation"});
  if (!pm.ok()) return pm.status();
  pm->add(passes::makeLowerQdq());
  std::vector<pass::PassRecord> records;
  return pm->run(model, {}, &records);
}

}  // namespace edgeopt::api
