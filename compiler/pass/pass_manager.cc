#include "compiler/pass/pass_manager.h"

#include <chrono>
#include <cstdio>
#include <cmath>
#include <random>
#include <set>

#include "compiler/runtime/executor.h"

namespace edgeopt::pass {

Status PassManager::checkPrerequisites() const {
  std::set<std::string> before;
  for (const auto& p : passes_) {
    for (const auto& pre : p->info().prerequisites)
      if (!before.count(pre))
        return invalidInput("pass '" + p->info().name + "' cannot apply: it needs '" + pre +
                            "' to run before it in the pipeline");
    before.insert(p->info().name);
  }
  return Status::Ok();
}

StatusOr<std::vector<ir::Tensor>> randomInputs(const ir::Graph& graph,
                                               const std::map<std::string, std::vector<int64_t>>& shapes,
                                               uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  std::vector<ir::Tensor> out;
  for (const ir::Value* in : graph.inputs()) {
    std::vector<int64_t> dims;
    auto given = shapes.find(in->name());
    if (given != shapes.end()) {
      dims = given->second;
    } else if (in->shape()) {
      for (const auto& d : *in->shape()) dims.push_back(d.isKnown() ? d.value : 1);
    } else {
      return invalidInput("input '" + in->name() + "' has no known rank; give its shape");
    }
    if (!ir::isDenseDType(in->dtype()))
      return unsupported("input '" + in->name() + "' has dtype " + ir::dtypeName(in->dtype()));
    ir::Tensor t(in->dtype(), dims);
    if (in->dtype() == ir::DType::kFloat32)
      for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = uniform(rng);
    out.push_back(std::move(t));
  }
  return out;
}

StatusOr<double> maxRelativeError(const std::vector<ir::Tensor>& reference,
                                  const std::vector<ir::Tensor>& actual) {
  if (reference.size() != actual.size()) return internalError("output count changed");
  double worst = 0;
  for (size_t o = 0; o < reference.size(); ++o) {
    const ir::Tensor& a = reference[o];
    const ir::Tensor& b = actual[o];
    if (a.dtype() != b.dtype() || a.dims() != b.dims())
      return internalError("output " + std::to_string(o) + " changed from " + ir::dtypeName(a.dtype()) +
                           ir::dimsToString(a.dims()) + " to " + ir::dtypeName(b.dtype()) + ir::dimsToString(b.dims()));
    double maxAbs = 0, scale = 0;
    for (int64_t i = 0; i < a.numel(); ++i) {
      const double x = a.getAsDouble(i), y = b.getAsDouble(i);
      if (std::isnan(x) && std::isnan(y)) continue;
      maxAbs = std::max(maxAbs, std::isnan(x - y) ? INFINITY : std::fabs(x - y));
      scale = std::max(scale, std::fabs(x));
    }
    worst = std::max(worst, scale > 0 ? maxAbs / scale : maxAbs);
  }
  return worst;
}

namespace {
StatusOr<std::vector<ir::Tensor>> execute(const ir::Graph& g, const std::vector<ir::Tensor>& inputs) {
  auto exec = runtime::Executor::create(g);
  if (!exec.ok()) return exec.status();
  return exec.value()->run(inputs);
}
}  // namespace

Status PassManager::run(ir::Model& model, const PipelineOptions& options,
                        std::vector<PassRecord>* records) const {
  EDGEOPT_RETURN_IF_ERROR(checkPrerequisites());
  ir::Graph& graph = *model.graph;
  PassContext context;
  std::vector<ir::Tensor> inputs, reference, previous;
  if (options.verify) {
    EDGEOPT_ASSIGN_OR_RETURN(inputs, randomInputs(graph, options.inputShapes, options.seed));
    auto ref = execute(graph, inputs);
    if (!ref.ok()) return ref.status().withContext("--verify cannot run the input model");
    reference = std::move(ref).value();
    previous = reference;
  }
  for (int iteration = 1; iteration <= std::max(1, options.maxIterations); ++iteration) {
    bool anyChanged = false;
    for (const auto& p : passes_) {
      PassRecord rec;
      rec.name = p->info().name;
      rec.iteration = iteration;
      rec.nodesBefore = graph.numNodes();
      const auto t0 = std::chrono::steady_clock::now();
      Status st = p->run(graph, context, &rec.changed);
      rec.milliseconds = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      rec.nodesAfter = graph.numNodes();
      if (!st.ok()) {
        records->push_back(rec);
        return st.withContext("pass '" + rec.name + "'");
      }
      if (options.verify) {
        Status structure = graph.verify();
        if (!structure.ok()) {
          records->push_back(rec);
          return internalError("pass '" + rec.name + "' broke the IR: " + structure.message());
        }
        auto outs = execute(graph, inputs);
        if (!outs.ok()) {
          records->push_back(rec);
          return internalError("pass '" + rec.name + "' left a graph the reference executor cannot run: " +
                               outs.status().message());
        }
        // The pass is judged against the graph just before it (its own tolerance); the table
        // shows the drift from the input model accumulated so far.
        auto step = maxRelativeError(previous, outs.value());
        auto total = maxRelativeError(reference, outs.value());
        if (!step.ok() || !total.ok()) {
          records->push_back(rec);
          return internalError("pass '" + rec.name + "' changed the outputs: " +
                               (step.ok() ? total.status() : step.status()).message());
        }
        rec.maxRelativeError = total.value();
        if (step.value() > p->info().tolerance) {
          records->push_back(rec);
          char buf[160];
          std::snprintf(buf, sizeof buf, "max relative error %.3g exceeds its tolerance %.3g", step.value(),
                        p->info().tolerance);
          return internalError("pass '" + rec.name + "' broke numerical equivalence: " + buf);
        }
        previous = std::move(outs).value();
      }
      records->push_back(rec);
      anyChanged = anyChanged || rec.changed;
      if (options.dump && rec.name == options.dumpAfter) EDGEOPT_RETURN_IF_ERROR(options.dump(model, rec.name));
    }
    if (!anyChanged) break;
  }
  return Status::Ok();
}

}  // namespace edgeopt::pass
