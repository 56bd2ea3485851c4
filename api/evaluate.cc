#include "api/evaluate.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <numeric>
#include <sstream>

#include "compiler/runtime/executor.h"

namespace edgeopt::api {

std::optional<int64_t> fixedBatch(const ir::Graph& graph) {
  if (graph.inputs().empty()) return std::nullopt;
  const ir::Shape& shape = graph.inputs()[0]->shape();
  if (!shape || shape->empty() || !(*shape)[0].isKnown()) return std::nullopt;
  return (*shape)[0].value;
}

Status checkSamplesFitInput(const ir::Model& model, const data::DataSource& source) {
  const ir::Graph& g = *model.graph;
  if (g.inputs().size() != 1)
    return unsupported("the data feeds one input; the model has " + std::to_string(g.inputs().size()));
  const ir::Value* input = g.inputs()[0];
  if (input->dtype() != ir::DType::kFloat32)
    return unsupported("model input '" + input->name() + "' is " + ir::dtypeName(input->dtype()) + ", data is float32");
  const auto& sample = source.sampleDims();
  const ir::Shape& shape = input->shape();
  if (!shape) return Status::Ok();
  bool fits = shape->size() == sample.size() + 1;
  for (size_t i = 0; fits && i < sample.size(); ++i)
    if ((*shape)[i + 1].isKnown() && (*shape)[i + 1].value != sample[i]) fits = false;
  if (!fits)
    return invalidInput(source.describe(0) + ": sample shape " + ir::dimsToString(sample) + " does not fit model input '" +
                        input->name() + "' " + ir::shapeToString(shape) + " (check --preprocess)");
  return Status::Ok();
}

StatusOr<EvalResult> evaluate(const ir::Model& model, const EvalOptions& options) {
  EDGEOPT_ASSIGN_OR_RETURN(auto runner, ModelRunner::create(model, options.runner));
  return evaluate(model, *runner, options);
}

StatusOr<EvalResult> evaluate(const ir::Model& model, ModelRunner& runner, const EvalOptions& options) {
  const ir::Graph& g = *model.graph;
  if (g.outputs().empty()) return invalidInput("the model has no outputs");
  EDGEOPT_ASSIGN_OR_RETURN(auto source, data::openDataSource(options.data));
  if (!source->hasLabels()) return invalidInput(options.data.path + ": eval needs labels (--labels)");
  EDGEOPT_RETURN_IF_ERROR(checkSamplesFitInput(model, *source));
  const std::optional<int64_t> fixed = fixedBatch(g);
  const int64_t batch = fixed.value_or(options.batchSize);
  EvalResult r;
  data::BatchReader reader(*source, options.data, batch);
  const auto t0 = std::chrono::steady_clock::now();
  data::Batch b;
  for (;;) {
    auto more = reader.next(&b);
    if (!more.ok()) return more.status();
    if (!more.value()) break;
    const int64_t count = static_cast<int64_t>(b.indices.size());
    ir::Tensor in = std::move(b.inputs);
    if (count < batch && fixed) {  // fixed batch: pad the last one
      std::vector<int64_t> dims = in.dims();
      dims[0] = batch;
      ir::Tensor padded(ir::DType::kFloat32, dims);
      std::copy(in.data<float>(), in.data<float>() + in.numel(), padded.data<float>());
      in = std::move(padded);
    }
    auto outs = runner.run({in});
    if (!outs.ok()) return outs.status().withContext(source->describe(b.indices[0]));
    const ir::Tensor& logits = outs.value()[0];
    if (logits.dtype() != ir::DType::kFloat32 || logits.rank() < 2 || logits.dims()[0] != in.dims()[0])
      return invalidInput("model output '" + g.outputs()[0]->name() + "' is " + ir::dtypeName(logits.dtype()) +
                          ir::dimsToString(logits.dims()) + "; eval expects float32 [batch, classes]");
    const int64_t classes = logits.numel() / logits.dims()[0];
    if (r.classes == 0) {
      r.classes = classes;
      r.confusion.assign(static_cast<size_t>(classes), std::vector<int64_t>(static_cast<size_t>(classes), 0));
      if (classes >= 5) r.top5Correct = 0;
    }
    std::vector<int64_t> order(static_cast<size_t>(classes));
    for (int64_t i = 0; i < count; ++i) {
      const int64_t label = b.labels[static_cast<size_t>(i)];
      if (label < 0 || label >= classes)
        return invalidInput(source->describe(b.indices[static_cast<size_t>(i)]) + ": label " + std::to_string(label) +
                            " is outside the model's " + std::to_string(classes) + " classes");
      const float* row = logits.data<float>() + i * classes;
      std::iota(order.begin(), order.end(), int64_t{0});
      // Ties go to the lower class index (as argmax in NumPy and PyTorch).
      const size_t k = static_cast<size_t>(std::min<int64_t>(5, classes));
      std::partial_sort(order.begin(), order.begin() + static_cast<long>(k), order.end(),
                        [&](int64_t x, int64_t y) { return row[x] > row[y] || (row[x] == row[y] && x < y); });
      const int64_t top1 = order[0];
      r.confusion[static_cast<size_t>(label)][static_cast<size_t>(top1)]++;
      if (top1 == label) ++r.top1Correct;
      if (r.top5Correct >= 0 && std::find(order.begin(), order.begin() + 5, label) != order.begin() + 5) ++r.top5Correct;
      if (options.keepPredictions) r.predictions.push_back(top1);
      ++r.samples;
    }
    if (options.progress) options.progress(reader.done(), reader.total());
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (r.samples == 0) return invalidInput(options.data.path + ": no samples to evaluate");
  return r;
}

std::string evalResultJson(const EvalResult& r, const std::string& modelPath, const std::string& dataPath) {
  nlohmann::json j;
  j["model"] = modelPath;
  j["data"] = dataPath;
  j["target"] = "ref";
  j["samples"] = r.samples;
  j["classes"] = r.classes;
  j["top1"] = static_cast<double>(r.top1Correct) / static_cast<double>(r.samples);
  j["top1_correct"] = r.top1Correct;
  if (r.top5Correct >= 0) {
    j["top5"] = static_cast<double>(r.top5Correct) / static_cast<double>(r.samples);
    j["top5_correct"] = r.top5Correct;
  }
  nlohmann::json perClass = nlohmann::json::array();
  for (int64_t c = 0; c < r.classes; ++c) {
    const auto& row = r.confusion[static_cast<size_t>(c)];
    const int64_t support = std::accumulate(row.begin(), row.end(), int64_t{0});
    int64_t predicted = 0;
    for (int64_t t = 0; t < r.classes; ++t) predicted += r.confusion[static_cast<size_t>(t)][static_cast<size_t>(c)];
    int64_t confusedWith = -1, confusedCount = 0;
    for (int64_t p = 0; p < r.classes; ++p)
      if (p != c && row[static_cast<size_t>(p)] > confusedCount) {
        confusedCount = row[static_cast<size_t>(p)];
        confusedWith = p;
      }
    nlohmann::json e = {{"class", c}, {"samples", support}, {"correct", row[static_cast<size_t>(c)]}, {"predicted", predicted}};
    const double hits = static_cast<double>(row[static_cast<size_t>(c)]);
    e["recall"] = support ? nlohmann::json(hits / static_cast<double>(support)) : nlohmann::json(nullptr);
    e["precision"] = predicted ? nlohmann::json(hits / static_cast<double>(predicted)) : nlohmann::json(nullptr);
    e["most_confused_with"] = confusedWith >= 0 ? nlohmann::json{{"class", confusedWith}, {"count", confusedCount}} : nullptr;
    perClass.push_back(e);
  }
  j["per_class"] = perClass;
  j["confusion_matrix"] = r.confusion;
  j["seconds"] = r.seconds;
  return j.dump(2);
}

std::string evalResultText(const EvalResult& r) {
  std::ostringstream os;
  char line[160];
  std::snprintf(line, sizeof line, "samples: %lld  classes: %lld\ntop-1: %.4f (%lld/%lld)\n", static_cast<long long>(r.samples),
                static_cast<long long>(r.classes), static_cast<double>(r.top1Correct) / static_cast<double>(r.samples),
                static_cast<long long>(r.top1Correct), static_cast<long long>(r.samples));
  os << line;
  if (r.top5Correct >= 0) {
    std::snprintf(line, sizeof line, "top-5: %.4f (%lld/%lld)\n", static_cast<double>(r.top5Correct) / static_cast<double>(r.samples),
                  static_cast<long long>(r.top5Correct), static_cast<long long>(r.samples));
    os << line;
  }
  os << "per class (recall):";
  for (int64_t c = 0; c < r.classes; ++c) {
    const auto& row = r.confusion[static_cast<size_t>(c)];
    const int64_t support = std::accumulate(row.begin(), row.end(), int64_t{0});
    std::snprintf(line, sizeof line, " %lld:%.3f", static_cast<long long>(c),
                  support ? static_cast<double>(row[static_cast<size_t>(c)]) / static_cast<double>(support) : 0.0);
    os << line;
  }
  std::snprintf(line, sizeof line, "\ntime: %.2f s\n", r.seconds);
  os << line;
  return os.str();
}

}  // namespace edgeopt::api
