#include "api/finetune.h"

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>

#include "api/runner.h"

namespace edgeopt::api {
namespace {

// Logits of `model` on samples [first, first + count) of `set`, in batches, on `target`.
StatusOr<std::vector<float>> logitsOf(const ir::Model& model, const train::TrainingSet& set, int64_t first, int64_t count,
                                      const std::string& target, int64_t* classes) {
  EDGEOPT_ASSIGN_OR_RETURN(auto runner, ModelRunner::create(model, runnerOptionsFor(target, 1)));
  const int64_t sample = static_cast<int64_t>(set.inputs.size()) / set.count();
  std::vector<float> out;
  for (int64_t at = first; at < first + count; at += 256) {
    const int64_t n = std::min<int64_t>(256, first + count - at);
    std::vector<int64_t> dims = {n};
    dims.insert(dims.end(), set.sampleDims.begin(), set.sampleDims.end());
    ir::Tensor x(ir::DType::kFloat32, dims);
    std::copy_n(set.inputs.data() + at * sample, n * sample, x.data<float>());
    EDGEOPT_ASSIGN_OR_RETURN(auto y, runner->run({x}));
    if (y.size() != 1 || y[0].dtype() != ir::DType::kFloat32 || y[0].rank() != 2 || y[0].dims()[0] != n)
      return invalidInput("the model must give one [batch, classes] float output to be fine-tuned");
    *classes = y[0].dims()[1];
    out.insert(out.end(), y[0].data<float>(), y[0].data<float>() + y[0].numel());
  }
  return out;
}

double top1(const std::vector<float>& logits, const std::vector<int64_t>& labels, int64_t first, int64_t classes) {
  int64_t correct = 0, n = static_cast<int64_t>(logits.size()) / classes;
  for (int64_t i = 0; i < n; ++i) {
    const float* row = logits.data() + i * classes;
    correct += std::max_element(row, row + classes) - row == labels[static_cast<size_t>(first + i)];
  }
  return n ? static_cast<double>(correct) / static_cast<double>(n) : 0;
}

}  // namespace

Status finetuneModel(ir::Model& student, const ir::Model* teacher, const FinetuneOptions& o, FinetuneResult* r,
                     const std::function<void(const train::EpochLog&)>& progress) {
  const auto start = std::chrono::steady_clock::now();
  if (!(o.heldOut >= 0 && o.heldOut <= 0.5)) return invalidInput("--held-out must be in [0, 0.5]");
  if (o.data.path.empty()) return invalidInput("fine-tuning needs labelled training data (--data)");
  EDGEOPT_ASSIGN_OR_RETURN(auto source, data::openDataSource(o.data));
  data::BatchReader reader(*source, o.data, 1024);
  train::TrainingSet all;
  data::Batch b;
  while (true) {
    EDGEOPT_ASSIGN_OR_RETURN(const bool more, reader.next(&b));
    if (!more) break;
    if (b.labels.empty()) return invalidInput(o.data.path + ": fine-tuning needs labels (--labels)");
    all.sampleDims.assign(b.inputs.dims().begin() + 1, b.inputs.dims().end());
    all.inputs.insert(all.inputs.end(), b.inputs.data<float>(), b.inputs.data<float>() + b.inputs.numel());
    all.labels.insert(all.labels.end(), b.labels.begin(), b.labels.end());
  }
  if (all.count() < 2) return invalidInput(o.data.path + ": fewer than 2 labelled samples");
  const int64_t held = static_cast<int64_t>(static_cast<double>(all.count()) * o.heldOut);
  const int64_t trainCount = all.count() - held;
  r->trainSamples = trainCount;
  r->heldOutSamples = held;
  int64_t classes = 0;
  train::TrainingSet train;
  train.sampleDims = all.sampleDims;
  const int64_t sample = static_cast<int64_t>(all.inputs.size()) / all.count();
  train.inputs.assign(all.inputs.begin(), all.inputs.begin() + trainCount * sample);
  train.labels.assign(all.labels.begin(), all.labels.begin() + trainCount);
  if (teacher) {
    EDGEOPT_ASSIGN_OR_RETURN(train.teacherLogits, logitsOf(*teacher, all, 0, trainCount, o.target, &classes));
    if (held) {
      EDGEOPT_ASSIGN_OR_RETURN(auto t, logitsOf(*teacher, all, trainCount, held, o.target, &classes));
      r->teacherHeldOutTop1 = top1(t, all.labels, trainCount, classes);
    }
  }
  std::function<StatusOr<double>(const ir::Model&)> heldOutTop1;
  if (held) {
    heldOutTop1 = [&](const ir::Model& m) -> StatusOr<double> {
      int64_t k = 0;
      EDGEOPT_ASSIGN_OR_RETURN(auto logits, logitsOf(m, all, trainCount, held, o.target, &k));
      return top1(logits, all.labels, trainCount, k);
    };
    EDGEOPT_ASSIGN_OR_RETURN(r->studentHeldOutTop1Before, heldOutTop1(student));
  }
  EDGEOPT_RETURN_IF_ERROR(train::fineTune(student, train, o.optimizer, heldOutTop1, [&](const train::EpochLog& e) {
    r->epochs.push_back(e);
    if (progress) progress(e);
  }));
  if (held) {
    double best = -1;
    for (const auto& e : r->epochs) best = std::max(best, e.heldOutTop1);
    r->studentHeldOutTop1After = best;
  }
  r->seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return Status::Ok();
}

std::string finetuneResultJson(const FinetuneResult& r) {
  nlohmann::json j;
  j["train_samples"] = r.trainSamples;
  j["held_out_samples"] = r.heldOutSamples;
  j["held_out_top1"] = {{"teacher", r.teacherHeldOutTop1}, {"before", r.studentHeldOutTop1Before}, {"after", r.studentHeldOutTop1After}};
  nlohmann::json epochs = nlohmann::json::array();
  for (const auto& e : r.epochs)
    epochs.push_back({{"epoch", e.epoch}, {"loss", e.loss}, {"train_top1", e.trainTop1}, {"held_out_top1", e.heldOutTop1}, {"seconds", e.seconds}});
  j["epochs"] = epochs;
  j["seconds"] = r.seconds;
  return j.dump(2);
}

}  // namespace edgeopt::api
