#include "compiler/api/quantize.h"

#include <nlohmann/json.hpp>

#include <map>
#include <memory>

#include "compiler/api/evaluate.h"
#include "compiler/api/optimize.h"
#include "compiler/runtime/executor.h"
#include "passes/insert_qdq.h"
#include "passes/lower_qdq.h"
#include "passes/registry.h"

namespace edgeopt::api {

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

  // Calibration: observe the activation input and output of every candidate.
  std::map<const ir::Value*, std::unique_ptr<quant::TensorHistogram>> observed;
  for (const ir::Node* n : candidates) {
    for (const ir::Value* v : {n->input(0), n->output(0)})
      if (!observed.count(v)) observed[v] = std::make_unique<quant::TensorHistogram>();
  }
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
  plan.excludedNodes.insert(options.exclude.begin(), options.exclude.end());
  for (const auto& [value, hist] : observed) {
    if (hist->count() == 0) continue;
    const auto r = hist->range(options.calibrator, options.percentile);
    const quant::AffineQuant q = quant::chooseInt8(r.first, r.second);
    plan.activations[value->name()] = {q.scale, q.zeroPoint};
    report->tensors.push_back({value->name(), hist->min(), hist->max(), r.first, r.second, q.scale, q.zeroPoint});
  }
  EDGEOPT_RETURN_IF_ERROR(passes::insertQdq(g, plan, &report->quantizedNodes));
  for (const ir::Node* n : g.nodes())
    if (n->domain().empty() && (n->opType() == "Conv" || n->opType() == "Gemm" || n->opType() == "MatMul")) {
      // Quantized nodes read int8 weights through a DequantizeLinear.
      const bool inInt8 = n->input(1) && n->input(1)->producer() && n->input(1)->producer()->opType() == "DequantizeLinear";
      if (!inInt8)
        report->floatNodes.push_back(n->name() + (plan.excludedNodes.count(n->name()) ? ": excluded" : ": no int8 form"));
    }
  for (auto& o : model.opsets)
    if ((o.domain.empty() || o.domain == "ai.onnx") && o.version < 13) o.version = 13;
  return g.verify();
}

std::string quantizeReportJson(const QuantizeReport& r) {
  nlohmann::json j;
  j["calibrator"] = r.calibrator;
  j["calibration_samples"] = r.calibrationSamples;
  j["int8_nodes"] = r.quantizedNodes;
  j["float_nodes"] = r.floatNodes;
  nlohmann::json t = nlohmann::json::array();
  for (const auto& x : r.tensors)
    t.push_back({{"name", x.name}, {"observed_min", x.observedMin}, {"observed_max", x.observedMax}, {"range", {x.lo, x.hi}},
                 {"scale", x.scale}, {"zero_point", x.zeroPoint}});
  j["tensors"] = t;
  return j.dump(2);
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
