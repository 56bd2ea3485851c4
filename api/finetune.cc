#include "api/finetune.h"

#include <algorithm>
#include <cstring>
#include <chrono>
#include <nlohmann/json.hpp>

#include "api/runner.h"
#include "compiler/data/npy.h"
#include "compiler/onnx/onnx_io.h"
#include "compiler/support/files.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace edgeopt::api {
namespace {

// Logits of the runner's model on samples [first, first + count) of `set`, in batches.
StatusOr<std::vector<float>> logitsOf(ModelRunner& runner, const train::TrainingSet& set, int64_t first, int64_t count,
                                      int64_t* classes) {
  const int64_t sample = set.sampleSize();
  std::vector<float> out;
  for (int64_t at = first; at < first + count; at += 256) {
    const int64_t n = std::min<int64_t>(256, first + count - at);
    std::vector<int64_t> dims = {n};
    dims.insert(dims.end(), set.sampleDims.begin(), set.sampleDims.end());
    ir::Tensor x(ir::DType::kFloat32, dims);
    for (int64_t i = 0; i < n; ++i) EDGEOPT_RETURN_IF_ERROR(set.sample(at + i, x.data<float>() + i * sample));
    EDGEOPT_ASSIGN_OR_RETURN(auto y, runner.run({x}));
    if (y.size() != 1 || y[0].dtype() != ir::DType::kFloat32 || y[0].rank() != 2 || y[0].dims()[0] != n)
      return invalidInput("the model must give one [batch, classes] float output to be fine-tuned");
    *classes = y[0].dims()[1];
    out.insert(out.end(), y[0].data<float>(), y[0].data<float>() + y[0].numel());
  }
  return out;
}

// Top-1 of a set's logits against its labels.
double top1(const std::vector<float>& logits, const std::vector<int64_t>& labels, int64_t classes) {
  int64_t correct = 0, n = static_cast<int64_t>(logits.size()) / classes;
  for (int64_t i = 0; i < n; ++i) {
    const float* row = logits.data() + i * classes;
    correct += std::max_element(row, row + classes) - row == labels[static_cast<size_t>(i)];
  }
  return n ? static_cast<double>(correct) / static_cast<double>(n) : 0;
}

// The last `count` samples of `set`, moved out of it (a streamed set's tail reads on from where
// the set now ends).
train::TrainingSet splitOffTail(train::TrainingSet& set, int64_t count) {
  train::TrainingSet tail;
  tail.sampleDims = set.sampleDims;
  const int64_t sample = set.sampleSize(), keep = set.count() - count;
  if (set.read) {
    tail.read = [read = set.read, keep](int64_t i, float* out) { return read(keep + i, out); };
  } else {
    tail.inputs.assign(set.inputs.begin() + keep * sample, set.inputs.end());
    set.inputs.resize(static_cast<size_t>(keep * sample));
    set.inputs.shrink_to_fit();
  }
  tail.labels.assign(set.labels.begin() + keep, set.labels.end());
  set.labels.resize(static_cast<size_t>(keep));
  return tail;
}


namespace fs = std::filesystem;

ir::Tensor tensorOf(const std::vector<float>& v, std::vector<int64_t> dims) {
  ir::Tensor t(ir::DType::kFloat32, std::move(dims));
  std::copy(v.begin(), v.end(), t.data<float>());
  return t;
}
// A set's samples [count, sample dims...] and labels [count], as .npy files.
Status writeSet(const train::TrainingSet& set, const fs::path& x, const fs::path& y) {
  std::vector<int64_t> dims = {set.count()};
  dims.insert(dims.end(), set.sampleDims.begin(), set.sampleDims.end());
  EDGEOPT_RETURN_IF_ERROR(data::writeNpyRows(x.string(), dims, [&](int64_t row, float* out) { return set.sample(row, out); }));
  return data::writeNpy(ir::Tensor::fromVector<int64_t>({set.count()}, set.labels), y.string());
}

// What a hook may change: Conv/Gemm/MatMul weights and biases, BatchNorm scales and biases
// (trained), BatchNorm running statistics (updated); and the weights whose zeros it must keep.
struct HookTensors {
  std::vector<std::string> trainable, running, masked;
};
HookTensors hookTensors(const ir::Graph& g) {
  HookTensors t;
  auto add = [](std::vector<std::string>& list, const ir::Value* v) {
    if (v && v->isInitializer() && std::find(list.begin(), list.end(), v->name()) == list.end()) list.push_back(v->name());
  };
  for (const ir::Node* n : g.nodes()) {
    const std::string& op = n->opType();
    if (op == "Conv" || op == "Gemm" || op == "MatMul") {
      add(t.trainable, n->input(1));
      add(t.masked, n->input(1));
      if (op != "MatMul") add(t.trainable, n->input(2));
    } else if (op == "BatchNormalization") {
      add(t.trainable, n->input(1));
      add(t.trainable, n->input(2));
      add(t.running, n->input(3));
      add(t.running, n->input(4));
    }
  }
  return t;
}

// The last non-empty line of a file (the hook's own error text).
std::string lastLine(const fs::path& p) {
  std::ifstream in(p);
  std::string line, last;
  while (std::getline(in, line))
    if (line.find_first_not_of(" \t\r") != std::string::npos) last = line;
  return last.size() > 300 ? last.substr(0, 300) + "..." : last;
}

// Same nodes (op types, in order), same initializer names and dims, every float value finite,
// and every exact zero of a trainable weight still zero.
Status checkHookResult(const ir::Model& before, const ir::Model& after, const HookTensors& may) {
  auto in = [](const std::vector<std::string>& list, const std::string& name) {
    return std::find(list.begin(), list.end(), name) != list.end();
  };
  const auto a = before.graph->nodes(), b = after.graph->nodes();
  if (a.size() != b.size()) return externalFailure("the hook returned a changed graph (" + std::to_string(b.size()) + " nodes, not " + std::to_string(a.size()) + ")");
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i]->opType() != b[i]->opType()) return externalFailure("the hook returned a changed graph (node " + a[i]->describe() + " became " + b[i]->describe() + ")");
  std::map<std::string, const ir::Tensor*> inits;
  for (const ir::Value* v : after.graph->initializers()) inits[v->name()] = &v->initializer();
  for (const ir::Value* v : before.graph->initializers()) {
    auto it = inits.find(v->name());
    if (it == inits.end() || it->second->dims() != v->initializer().dims() || it->second->dtype() != v->initializer().dtype())
      return externalFailure("the hook returned a changed graph (initializer '" + v->name() + "' is missing or reshaped)");
    const ir::Tensor& t = *it->second;
    if (t.dtype() != ir::DType::kFloat32) continue;
    for (int64_t i = 0; i < t.numel(); ++i)
      if (!std::isfinite(t.data<float>()[i])) return externalFailure("the hook returned non-finite values in '" + v->name() + "'");
    if (!in(may.trainable, v->name()) && !in(may.running, v->name())) {
      if (std::memcmp(t.rawData(), v->initializer().rawData(), t.byteSize()) != 0)
        return externalFailure("the hook changed '" + v->name() + "', which is not trainable");
      continue;
    }
    if (!in(may.masked, v->name())) continue;
    for (int64_t i = 0; i < t.numel(); ++i)
      if (v->initializer().data<float>()[i] == 0.0f && t.data<float>()[i] != 0.0f)
        return externalFailure("the hook did not keep the zero weights (masks) of '" + v->name() + "'");
  }
  return Status::Ok();
}

// Runs argv in its own process group; progress lines from `progressFile` go to `onLine`.
Status runInGroup(std::vector<std::string> argv, const fs::path& job, int timeoutSeconds,
                  const std::function<void(const std::string&)>& onLine) {
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  const std::string out = (job / "hook.stdout").string(), err = (job / "hook.stderr").string();
  const pid_t child = ::fork();
  if (child < 0) return ioError("cannot start the hook: fork failed");
  if (child == 0) {
    ::setpgid(0, 0);
    const int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644), e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (o >= 0) ::dup2(o, 1);
    if (e >= 0) ::dup2(e, 2);
    ::execvp(args[0], args.data());
    std::fprintf(stderr, "cannot run '%s': %s\n", args[0], std::strerror(errno));
    ::_exit(127);
  }
  ::setpgid(child, child);
  const auto start = std::chrono::steady_clock::now();
  std::streampos read = 0;
  auto pump = [&]() {
    std::ifstream in(job / "progress.jsonl");
    if (!in) return;
    in.seekg(read);
    std::string line;
    while (std::getline(in, line)) {
      if (in.eof()) break;  // a partial last line: read it when it is complete
      read = in.tellg();
      if (onLine) onLine(line);
    }
  };
  int status = 0;
  bool timedOut = false;
  while (true) {
    const pid_t r = ::waitpid(child, &status, WNOHANG);
    if (r == child) break;
    pump();
    if (std::chrono::steady_clock::now() - start > std::chrono::seconds(timeoutSeconds)) {
      timedOut = true;
      ::kill(-child, SIGTERM);
      for (int i = 0; i < 50 && ::waitpid(child, &status, WNOHANG) == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
      ::kill(-child, SIGKILL);
      ::waitpid(child, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  pump();
  ::kill(-child, SIGKILL);  // whatever the hook left running in its group (e.g. torchrun workers)
  if (timedOut) return externalFailure("the fine-tune hook did not finish within " + std::to_string(timeoutSeconds) + " s; its process group was ended");
  if (WIFSIGNALED(status)) return externalFailure("the fine-tune hook was killed by signal " + std::to_string(WTERMSIG(status)));
  if (WEXITSTATUS(status) != 0) {
    const std::string why = lastLine(err);
    return externalFailure("the fine-tune hook exited with status " + std::to_string(WEXITSTATUS(status)) + (why.empty() ? "" : ": " + why));
  }
  return Status::Ok();
}

Status runHook(ir::Model& student, const ir::Model* teacher, const FinetuneOptions& o, const train::TrainingSet& trainSet,
               const train::TrainingSet& held, int64_t classes, FinetuneResult* r,
               const std::function<void(const train::EpochLog&)>& progress) {
  std::vector<std::string> argv;
  std::stringstream ss(o.hook);
  bool hasJob = false;
  for (std::string token; ss >> token;) {
    hasJob = hasJob || token.find("{job}") != std::string::npos;
    argv.push_back(token);
  }
  if (argv.empty() || !hasJob) return invalidInput("--hook must be a command line containing {job} (the job folder)");
  if (o.hookTimeoutSeconds < 1) return invalidInput("--hook-timeout must be at least 1 s");
  std::string tmpl = (fs::temp_directory_path() / "edgeopt-finetune-XXXXXX").string();
  support::SignalsHeld signalsHeld;
  if (!::mkdtemp(tmpl.data())) return ioError("cannot create the fine-tune job folder in " + fs::temp_directory_path().string());
  const fs::path job = tmpl;
  const support::PendingRemoval removed(job.string(), /*folder=*/true);
  signalsHeld.release();
  struct Cleanup {
    fs::path p;
    ~Cleanup() {
      std::error_code ec;
      fs::remove_all(p, ec);
    }
  } cleanup{job};
  for (auto& a : argv)
    for (size_t at; (at = a.find("{job}")) != std::string::npos;) a.replace(at, 5, job.string());
  EDGEOPT_RETURN_IF_ERROR(onnx_io::exportModel(student, (job / "student.onnx").string()));
  if (teacher) EDGEOPT_RETURN_IF_ERROR(onnx_io::exportModel(*teacher, (job / "teacher.onnx").string()));
  EDGEOPT_RETURN_IF_ERROR(writeSet(trainSet, job / "train_x.npy", job / "train_y.npy"));
  EDGEOPT_RETURN_IF_ERROR(writeSet(held, job / "held_x.npy", job / "held_y.npy"));
  if (!trainSet.teacherLogits.empty())
    EDGEOPT_RETURN_IF_ERROR(data::writeNpy(tensorOf(trainSet.teacherLogits, {trainSet.count(), classes}), (job / "teacher_logits.npy").string()));
  const HookTensors may = hookTensors(*student.graph);
  const train::TrainOptions& t = o.optimizer;
  nlohmann::json req = {{"schema", "edgeopt.finetune-request/1"},
                        {"epochs", t.epochs},
                        {"batch", t.batch},
                        {"seed", t.seed},
                        {"optimizer", {{"kind", "sgd"}, {"lr", t.learningRate}, {"momentum", t.momentum}, {"nesterov", true},
                                       {"weight_decay", t.weightDecay}, {"weight_decay_on", "Conv/Gemm/MatMul weights"},
                                       {"schedule", "cosine"}}},
                        {"loss", {{"alpha", teacher ? t.alpha : 0.0}, {"temperature", t.temperature}}},
                        {"freeze_batchnorm", t.freezeBatchNorm},
                        {"trainable", may.trainable},
                        {"running_statistics", may.running},
                        {"keep_zero_weights", may.masked},
                        {"classes", classes}};
  EDGEOPT_RETURN_IF_ERROR(support::writeFileAtomically((job / "request.json").string(), req.dump(2) + "\n"));
  EDGEOPT_RETURN_IF_ERROR(runInGroup(argv, job, o.hookTimeoutSeconds, [&](const std::string& line) {
    try {
      const auto j = nlohmann::json::parse(line);
      train::EpochLog e;
      e.epoch = j.value("epoch", 0);
      e.loss = j.value("loss", 0.0);
      e.trainTop1 = j.value("train_top1", -1.0);
      e.heldOutTop1 = j.value("held_out_top1", -1.0);
      e.seconds = j.value("seconds", 0.0);
      r->epochs.push_back(e);
      if (progress) progress(e);
    } catch (const std::exception&) {
      // a line that is not JSON: progress only, ignored
    }
  }));
  auto text = support::readFile((job / "result.json").string());
  if (!text.ok()) return externalFailure("the fine-tune hook exited 0 but wrote no result.json");
  nlohmann::json result;
  try {
    result = nlohmann::json::parse(text.value());
  } catch (const std::exception& e) {
    return externalFailure(std::string("the fine-tune hook's result.json is not JSON: ") + e.what());
  }
  if (result.value("schema", "") != "edgeopt.finetune-result/1")
    return externalFailure("the fine-tune hook's result.json is not schema edgeopt.finetune-result/1");
  auto trained = onnx_io::importModel((job / "student_out.onnx").string());
  if (!trained.ok()) return externalFailure("the fine-tune hook's student_out.onnx: " + trained.status().message());
  EDGEOPT_RETURN_IF_ERROR(checkHookResult(student, trained.value(), may));
  if (teacher && r->teacherHeldOutTop1 >= 0) {
    const double theirs = result.value("teacher_held_out_top1", -1.0);
    if (std::fabs(theirs - r->teacherHeldOutTop1) > 0.005)
      return externalFailure("the fine-tune hook measured the teacher's held-out top-1 as " + std::to_string(theirs) +
                             ", edgeopt " + std::to_string(r->teacherHeldOutTop1) + " (a preprocessing mismatch)");
  }
  r->studentHeldOutTop1After = result.value("student_held_out_top1", -1.0);
  student = std::move(trained).value();
  return Status::Ok();
}
}  // namespace

Status finetuneModel(ir::Model& student, const ir::Model* teacher, const FinetuneOptions& o, FinetuneResult* r,
                     const FinetuneProgress& progress) {
  const auto start = std::chrono::steady_clock::now();
  if (!(o.heldOut >= 0 && o.heldOut <= 0.5)) return invalidInput("--held-out must be in [0, 0.5]");
  if (o.data.path.empty()) return invalidInput("fine-tuning needs labelled training data (--data)");
  EDGEOPT_ASSIGN_OR_RETURN(auto source, data::openDataSource(o.data));
  data::BatchReader reader(*source, o.data, 1024);
  train::TrainingSet trainSet;
  trainSet.sampleDims = source->sampleDims();
  // Above the memory limit the samples are streamed: one pass here for the labels (and to check
  // every sample), then decoded again when needed, by their index in the source.
  const double bytes = static_cast<double>(reader.total()) * static_cast<double>(trainSet.sampleSize()) * sizeof(float);
  const bool streamed = bytes > static_cast<double>(o.inMemoryBytes);
  std::vector<int64_t> sourceIndex;
  data::Batch b;
  while (true) {
    EDGEOPT_ASSIGN_OR_RETURN(const bool more, reader.next(&b));
    if (!more) break;
    if (b.labels.empty()) return invalidInput(o.data.path + ": fine-tuning needs labels (--labels)");
    if (streamed) sourceIndex.insert(sourceIndex.end(), b.indices.begin(), b.indices.end());
    else trainSet.inputs.insert(trainSet.inputs.end(), b.inputs.data<float>(), b.inputs.data<float>() + b.inputs.numel());
    trainSet.labels.insert(trainSet.labels.end(), b.labels.begin(), b.labels.end());
  }
  if (trainSet.count() < 2) return invalidInput(o.data.path + ": fewer than 2 labelled samples");
  r->streamed = streamed;
  if (streamed) {
    // (The pass above checked every sample finite.)
    trainSet.read = [&source, &sourceIndex](int64_t i, float* out) {
      int64_t label = 0;
      return source->read(sourceIndex[static_cast<size_t>(i)], out, &label);
    };
  }
  const train::TrainingSet held = splitOffTail(trainSet, static_cast<int64_t>(static_cast<double>(trainSet.count()) * o.heldOut));
  r->trainSamples = trainSet.count();
  r->heldOutSamples = held.count();
  int64_t classes = 0;
  if (teacher) {  // one runner for both parts
    EDGEOPT_ASSIGN_OR_RETURN(auto runner, ModelRunner::create(*teacher, runnerOptionsFor(o.target, 1)));
    EDGEOPT_ASSIGN_OR_RETURN(trainSet.teacherLogits, logitsOf(*runner, trainSet, 0, trainSet.count(), &classes));
    if (held.count()) {
      EDGEOPT_ASSIGN_OR_RETURN(auto t, logitsOf(*runner, held, 0, held.count(), &classes));
      r->teacherHeldOutTop1 = top1(t, held.labels, classes);
    }
  }
  std::function<StatusOr<double>(const ir::Model&)> heldOutTop1;
  if (held.count()) {
    heldOutTop1 = [&](const ir::Model& m) -> StatusOr<double> {
      int64_t k = 0;
      EDGEOPT_ASSIGN_OR_RETURN(auto runner, ModelRunner::create(m, runnerOptionsFor(o.target, 1)));
      EDGEOPT_ASSIGN_OR_RETURN(auto logits, logitsOf(*runner, held, 0, held.count(), &k));
      return top1(logits, held.labels, k);
    };
    EDGEOPT_ASSIGN_OR_RETURN(r->studentHeldOutTop1Before, heldOutTop1(student));
  }
  if (!o.hook.empty()) {
    if (classes == 0) {
      EDGEOPT_ASSIGN_OR_RETURN(auto runner, ModelRunner::create(student, runnerOptionsFor(o.target, 1)));
      EDGEOPT_RETURN_IF_ERROR(logitsOf(*runner, trainSet, 0, 1, &classes).status());
    }
    EDGEOPT_RETURN_IF_ERROR(runHook(student, teacher, o, trainSet, held, classes, r, progress.epoch));
    r->seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return Status::Ok();
  }
  EDGEOPT_RETURN_IF_ERROR(train::fineTune(student, trainSet, o.optimizer, heldOutTop1, [&](const train::EpochLog& e) {
    r->epochs.push_back(e);
    if (progress.epoch) progress.epoch(e);
  }, progress.step));
  if (held.count()) {
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
  j["streamed"] = r.streamed;
  j["held_out_top1"] = {{"teacher", r.teacherHeldOutTop1}, {"before", r.studentHeldOutTop1Before}, {"after", r.studentHeldOutTop1After}};
  nlohmann::json epochs = nlohmann::json::array();
  for (const auto& e : r.epochs)
    epochs.push_back({{"epoch", e.epoch}, {"loss", e.loss}, {"train_top1", e.trainTop1}, {"held_out_top1", e.heldOutTop1}, {"seconds", e.seconds}});
  j["epochs"] = epochs;
  j["seconds"] = r.seconds;
  return j.dump(2);
}

}  // namespace edgeopt::api
