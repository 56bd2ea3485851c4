#include "api/runner.h"

#include "api/quantize.h"

#include <algorithm>
#include <cstring>

namespace edgeopt::api {

ModelRunner::~ModelRunner() = default;

StatusOr<std::unique_ptr<ModelRunner>> ModelRunner::create(const ir::Model& model, const RunnerOptions& options) {
  EDGEOPT_ASSIGN_OR_RETURN(const targets::Target* target, targets::find(options.target));
  if (options.threads < 1) return invalidInput("--threads must be at least 1");
  try {  // a target may size its buffers from the model's shapes
    ir::Model prepared = ir::cloneModel(model);
    EDGEOPT_RETURN_IF_ERROR(prepareForExecution(prepared, target));
    targets::TargetOptions to;
    to.threads = options.threads;
    to.cpu = options.cpu;
    to.switches = options.switches;
    to.artifactDir = options.artifactDir;
    if (!options.channelsLast.empty() && !target->info().channelsLastIo)
      return invalidInput("target " + target->info().name + " does not exchange tensors channels-last");
    to.channelsLast = options.channelsLast;
    EDGEOPT_ASSIGN_OR_RETURN(auto executable, target->load(std::move(prepared), to));
    return std::unique_ptr<ModelRunner>(new ModelRunner(target, std::move(executable)));
  } catch (const ir::TensorTooLarge& e) {
    return invalidInput(e.what());
  }
}

StatusOr<std::vector<ir::Tensor>> ModelRunner::run(const std::vector<ir::Tensor>& inputs) {
  try {
    return executable_->run(inputs);
  } catch (const ir::TensorTooLarge& e) {  // shapes that follow run-time data
    return invalidInput(e.what());
  }
}

namespace {

// Rows [begin, end) of t along its first dimension.
ir::Tensor rows(const ir::Tensor& t, int64_t begin, int64_t end) {
  std::vector<int64_t> dims = t.dims();
  const size_t rowBytes = t.byteSize() / static_cast<size_t>(dims[0]);
  dims[0] = end - begin;
  ir::Tensor out(t.dtype(), dims);
  std::memcpy(out.rawData(), static_cast<const char*>(t.rawData()) + static_cast<size_t>(begin) * rowBytes,
              static_cast<size_t>(end - begin) * rowBytes);
  return out;
}

}  // namespace

StatusOr<std::vector<ir::Tensor>> runInBatches(ModelRunner& runner, const ir::Graph& graph,
                                               const std::vector<ir::Tensor>& inputs, int64_t maxBatch) {
  const bool sliceable = graph.inputs().size() == 1 && inputs.size() == 1 && inputs[0].rank() > 0 &&
                         graph.inputs()[0]->shape() && !graph.inputs()[0]->shape()->empty() &&
                         !(*graph.inputs()[0]->shape())[0].isKnown();
  const int64_t n = sliceable ? inputs[0].dims()[0] : 0;
  if (!sliceable || maxBatch < 1 || n <= maxBatch) return runner.run(inputs);
  std::vector<ir::Tensor> stacked;
  for (int64_t begin = 0; begin < n; begin += maxBatch) {
    const int64_t end = std::min(n, begin + maxBatch);
    EDGEOPT_ASSIGN_OR_RETURN(std::vector<ir::Tensor> part, runner.run({rows(inputs[0], begin, end)}));
    if (begin == 0) {
      for (const ir::Tensor& t : part) {
        if (t.rank() == 0 || t.dims()[0] != end) return runner.run(inputs);  // an output without the batch
        std::vector<int64_t> dims = t.dims();
        dims[0] = n;
        stacked.emplace_back(t.dtype(), dims);
      }
    }
    for (size_t o = 0; o < part.size(); ++o) {
      if (part[o].rank() == 0 || part[o].dims()[0] != end - begin)
        return internalError("output " + std::to_string(o) + " changed its batch between slices");
      const size_t rowBytes = part[o].byteSize() / static_cast<size_t>(end - begin);
      std::memcpy(static_cast<char*>(stacked[o].rawData()) + static_cast<size_t>(begin) * rowBytes, part[o].rawData(),
                  part[o].byteSize());
    }
  }
  return stacked;
}

}  // namespace edgeopt::api
