// edgeopt command-line interface. Exit codes: 0 success, 1 internal error, 2 bad input or usage.
#include <CLI/CLI.hpp>
#include <malloc.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>

#include <filesystem>
#include <iostream>
#include <cstdio>
#include <optional>
#include <set>
#include <sstream>

#include <unistd.h>

#include "api/edgeopt.h"
#include "api/exits.h"
#include "api/finetune.h"
#include "api/prune.h"
#include "api/report_diff.h"
#include "api/split.h"
#include "tools/edgeopt/progress.h"
#include "tools/edgeopt/recipe.h"

namespace {
namespace fs = std::filesystem;
using edgeopt::Status;
using edgeopt::StatusCode;

constexpr int kExitOk = 0;
constexpr int kExitInternal = 1;
constexpr int kExitBadInput = 2;
constexpr int kExitBudgetBroken = 3;
constexpr int kExitHookFailed = 4;

const char* kExitCodesHelp =
    "Exit codes:\n"
    "  0  success\n"
    "  1  internal error (a bug in edgeopt; please report it)\n"
    "  2  bad input or usage: unreadable or invalid model/data file, unsupported op or dtype,\n"
    "     input of the wrong dtype or shape, bad arguments\n"
    "  3  compile --budget: a budget is broken (every artifact and the report are still written);\n"
    "     report --fail-on-worse: a figure is worse in B\n"
    "  4  the fine-tune hook (finetune --hook) failed, hung past its timeout, was killed, or\n"
    "     returned a changed graph, non-finite values, lost masks or a teacher accuracy that\n"
    "     disagrees with edgeopt's (a preprocessing mismatch)\n"
    "Errors are printed as one line on stderr: 'edgeopt: error: <what>: <why>'.\n"
    "No output file is left behind when a command fails.";

int report(const Status& st) {
  if (st.ok()) return kExitOk;
  std::cerr << "edgeopt: error: " << edgeopt::api::printable(st.message()) << "\n";
  if (st.code() == StatusCode::kExternal) return kExitHookFailed;
  return st.code() == StatusCode::kInternal ? kExitInternal : kExitBadInput;
}

int cmdInspect(const std::string& modelPath, bool json) {
  auto model = edgeopt::api::loadModel(modelPath);
  if (!model.ok()) return report(model.status());
  auto summary = edgeopt::api::summarize(model.value());
  std::cout << (json ? edgeopt::api::summaryToJson(summary) + "\n"
                     : edgeopt::api::summaryToText(summary));
  return kExitOk;
}

// A file name for an output value: keeps [A-Za-z0-9._-], replaces the rest.
std::string fileNameFor(const std::string& valueName) {
  std::string s = valueName;
  for (char& c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-')) c = '_';
  if (s.empty() || s == "." || s == "..") s = "output";
  return s;
}

// *files receives each output's file, in graph output order.
Status writeOutputs(const edgeopt::ir::Graph& graph, const std::map<std::string, edgeopt::ir::Tensor>& outs, const std::string& out,
                    std::vector<std::pair<std::string, std::string>>* files) {
  if (graph.outputs().size() == 1) {
    files->push_back({graph.outputs()[0]->name(), out});
    return edgeopt::data::writeNpy(outs.at(graph.outputs()[0]->name()), out);
  }
  // Several outputs: fill a temporary folder, then move it into place as a whole.
  std::error_code ec;
  if (fs::exists(out, ec) && !fs::is_directory(out, ec))
    return edgeopt::invalidInput(out + ": exists and is not a folder (the model has " +
                                 std::to_string(graph.outputs().size()) + " outputs)");
  // A fresh, unpredictable folder of its own beside OUT (never an existing one or a symlink).
  const fs::path outPath = fs::absolute(out, ec);
  std::string tmpl = (outPath.parent_path() / ("." + outPath.filename().string() + ".tmp-edgeopt-XXXXXX")).string();
  if (ec || !::mkdtemp(tmpl.data())) return edgeopt::ioError(out + ": cannot create a working folder beside it");
  const std::string tmp = tmpl;
  // File names keep [A-Za-z0-9._-] of the output name; outputs.json maps every output name to
  // its file, and each renamed output is said on stdout, so no name is changed silently.
  std::set<std::string> used;
  nlohmann::ordered_json index = nlohmann::ordered_json::object();
  for (const auto* v : graph.outputs()) {
    std::string name = fileNameFor(v->name());
    for (int k = 2; !used.insert(name).second; ++k) name = fileNameFor(v->name()) + "_" + std::to_string(k);
    Status st = edgeopt::data::writeNpy(outs.at(v->name()), tmp + "/" + name + ".npy");
    if (!st.ok()) {
      fs::remove_all(tmp, ec);
      return st;
    }
    files->push_back({v->name(), (fs::path(out) / (name + ".npy")).string()});
    index[v->name()] = name + ".npy";
  }
  if (Status st = edgeopt::api::writeFileAtomically(tmp + "/outputs.json", index.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n"); !st.ok()) {
    fs::remove_all(tmp, ec);
    return st;
  }
  fs::create_directories(out, ec);
  for (const auto& entry : fs::directory_iterator(tmp))
    fs::rename(entry.path(), fs::path(out) / entry.path().filename(), ec);
  fs::remove_all(tmp, ec);
  if (ec) return edgeopt::ioError(out + ": cannot move outputs into place: " + ec.message());
  return Status::Ok();
}

int cmdRun(const std::string& modelPath, const std::vector<std::string>& inputArgs,
           const std::string& out, const std::string& targetName, int threads, int iters, const std::string& armCpu,
           int64_t batch, bool json) {
  auto target = edgeopt::targets::find(targetName);
  if (!target.ok()) return report(target.status());
  auto model = edgeopt::api::loadModel(modelPath);
  if (!model.ok()) return report(model.status());
  const auto& graph = *model->graph;
  // Unsupported ops are reported before any input file is read; run() checks the inputs.
  auto exec = edgeopt::api::ModelRunner::create(model.value(), edgeopt::api::runnerOptionsFor(targetName, threads, armCpu));
  if (!exec.ok()) return report(exec.status().withContext(modelPath));

  // Bind NAME=FILE arguments by name and bare FILE arguments to the remaining inputs in order.
  std::map<std::string, edgeopt::ir::Tensor> inputs;
  std::vector<std::string> positional;
  for (const auto& arg : inputArgs) {
    auto eq = arg.find('=');
    if (eq != std::string::npos && graph.findValue(arg.substr(0, eq))) {
      const std::string name = arg.substr(0, eq), file = arg.substr(eq + 1);
      const auto* v = graph.findValue(name);
      if (!v->isGraphInput()) return report(edgeopt::invalidInput("'" + name + "' is not a model input"));
      if (inputs.count(name)) return report(edgeopt::invalidInput("input '" + name + "' is given twice"));
      auto t = edgeopt::data::readNpy(file);
      if (!t.ok()) return report(t.status());
      inputs[name] = std::move(t).value();
    } else {
      positional.push_back(arg);
    }
  }
  size_t next = 0;
  for (const auto* v : graph.inputs()) {
    if (inputs.count(v->name())) continue;
    if (next == positional.size())
      return report(edgeopt::invalidInput("no data for model input '" + v->name() + "' " +
                                          edgeopt::ir::shapeToString(v->shape()) +
                                          " (use --input FILE.npy or --input " + v->name() + "=FILE.npy)"));
    auto t = edgeopt::data::readNpy(positional[next]);
    if (!t.ok()) return report(t.status());
    inputs[v->name()] = std::move(t).value();
    ++next;
  }
  if (next < positional.size())
    return report(edgeopt::invalidInput("more --input files than model inputs (" +
                                        std::to_string(graph.inputs().size()) + ")"));
  std::vector<edgeopt::ir::Tensor> ordered;
  for (const auto* v : graph.inputs()) ordered.push_back(inputs[v->name()]);
  // --iters N: time N runs (after the first) and print the median and minimum latency.
  std::vector<double> ms;
  auto results = edgeopt::api::runInBatches(*exec.value(), graph, ordered, batch);
  for (int i = 0; results.ok() && i < iters; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    results = edgeopt::api::runInBatches(*exec.value(), graph, ordered, batch);
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  if (!results.ok()) return report(results.status().withContext(modelPath));
  edgeopt::StatusOr<std::map<std::string, edgeopt::ir::Tensor>> outs = std::map<std::string, edgeopt::ir::Tensor>{};
  for (size_t i = 0; i < graph.outputs().size(); ++i) outs.value()[graph.outputs()[i]->name()] = std::move(results.value()[i]);
  std::vector<std::pair<std::string, std::string>> files;
  if (Status written = writeOutputs(graph, outs.value(), out, &files); !written.ok()) return report(written);
  std::sort(ms.begin(), ms.end());
  if (json) {
    nlohmann::ordered_json j = {{"model", modelPath}, {"target", targetName}};
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const auto& [name, file] : files) {
      const auto& tensor = outs.value().at(name);
      list.push_back({{"name", name}, {"file", file}, {"dtype", edgeopt::ir::dtypeName(tensor.dtype())}, {"dims", tensor.dims()}});
    }
    j["outputs"] = list;
    if (!ms.empty()) j["latency_ms"] = {{"runs", iters}, {"median", ms[ms.size() / 2]}, {"min", ms[0]}};
    std::cout << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return kExitOk;
  }
  for (const auto& [name, file] : files)
    if (graph.outputs().size() > 1 && fs::path(file).stem().string() != name)
      std::cout << "output '" << edgeopt::api::printable(name) << "' written as " << file << "\n";
  if (!ms.empty())
    std::printf("latency (target %s, %d runs): median %.3f ms, min %.3f ms\n", targetName.c_str(), iters, ms[ms.size() / 2], ms[0]);
  return kExitOk;
}

// "input=1x3x224x224" -> {"input", {1, 3, 224, 224}}
Status parseShapes(const std::vector<std::string>& args, std::map<std::string, std::vector<int64_t>>* shapes) {
  for (const auto& arg : args) {
    const auto eq = arg.find('=');
    if (eq == std::string::npos || eq == 0)
      return edgeopt::invalidInput("--shape '" + arg + "': expected NAME=DxDx...");
    std::vector<int64_t> dims;
    std::stringstream ss(arg.substr(eq + 1));
    std::string part;
    while (std::getline(ss, part, 'x')) {
      char* end = nullptr;
      const long long d = std::strtoll(part.c_str(), &end, 10);
      if (part.empty() || *end || d < 0) return edgeopt::invalidInput("--shape '" + arg + "': bad dimension '" + part + "'");
      dims.push_back(d);
    }
    (*shapes)[arg.substr(0, eq)] = dims;
  }
  return Status::Ok();
}

int cmdOptimize(const std::string& modelPath, const std::string& out, const std::string& passList, bool verify,
                const std::string& dumpAfter, const std::vector<std::string>& shapeArgs, bool json) {
  edgeopt::api::OptimizeOptions options;
  std::stringstream ss(passList);
  for (std::string name; std::getline(ss, name, ',');)
    if (!name.empty()) options.passes.push_back(name);
  if (!passList.empty() && options.passes.empty())
    return report(edgeopt::invalidInput("--passes is empty"));
  options.verify = verify;
  Status shapes = parseShapes(shapeArgs, &options.inputShapes);
  if (!shapes.ok()) return report(shapes);
  if (!dumpAfter.empty()) {
    options.dumpAfter = dumpAfter;
    std::string stem = out;
    if (stem.size() > 5 && stem.compare(stem.size() - 5, 5, ".onnx") == 0) stem.resize(stem.size() - 5);
    options.dumpPath = stem + ".after_" + dumpAfter + ".onnx";
  }
  auto model = edgeopt::api::loadModel(modelPath);
  if (!model.ok()) return report(model.status());
  edgeopt::api::OptimizeReport rep;
  Status st = edgeopt::api::optimize(model.value(), options, &rep);
  if (!json) std::cout << edgeopt::api::optimizeReportTable(rep, verify);
  if (!st.ok()) {
    // A pass that breaks the IR or the numerics is an edgeopt bug; everything else is the input's.
    return report(st.withContext(modelPath));
  }
  Status written = edgeopt::onnx_io::exportModel(model.value(), out);
  if (!written.ok()) {
    if (!options.dumpPath.empty()) std::remove(options.dumpPath.c_str());
    return report(written);
  }
  if (json) {
    std::cout << edgeopt::api::optimizeReportJson(rep, out, options.dumpPath) << "\n";
    return kExitOk;
  }
  std::cout << "wrote " << out;
  if (!options.dumpPath.empty()) std::cout << " (and " << options.dumpPath << ")";
  std::cout << "\n";
  return kExitOk;
}

// "Execution target: ref (...), x86 (...) or arm-neon (...)", from the target registry.
std::string targetHelp() {
  std::string s = "Execution target: ";
  const auto& all = edgeopt::targets::registry();
  for (size_t i = 0; i < all.size(); ++i) {
    if (i > 0) s += i + 1 == all.size() ? " or " : ", ";
    s += all[i]->info().name + " (" + all[i]->info().description + ")";
  }
  return s;
}

// A stage that reports (done, total) samples after each batch, as steps of `bar`.
std::function<void(int64_t, int64_t)> batchProgress(edgeopt::cli::ProgressPrinter& bar, const std::string& stage) {
  return [&bar, stage](int64_t done, int64_t total) { bar(edgeopt::api::ProgressEvent::step(stage, "samples", done, total)); };
}

struct EvalArgs {
  edgeopt::data::DataOptions data;
  int64_t batch = 32;
  bool json = false, quiet = false;
  std::string target = "ref", predictions, armCpu = "cortex-a76";
  int threads = 1;
};

// The comma-separated items of `list`, without surrounding spaces ("" gives none).
std::vector<std::string> commaItems(const std::string& list) {
  std::vector<std::string> items;
  std::stringstream ss(list);
  for (std::string item; std::getline(ss, item, ',');) {
    const auto b = item.find_first_not_of(" \t"), e = item.find_last_not_of(" \t");
    items.push_back(b == std::string::npos ? "" : item.substr(b, e - b + 1));
  }
  return items;
}

int cmdEval(const std::string& modelPath, const EvalArgs& a) {
  auto target = edgeopt::targets::find(a.target);
  if (!target.ok()) return report(target.status());
  auto model = edgeopt::api::loadModel(modelPath);
  if (!model.ok()) return report(model.status());
  edgeopt::api::EvalOptions options;
  options.data = a.data;
  options.batchSize = a.batch;
  options.keepPredictions = !a.predictions.empty();
  options.runner = edgeopt::api::runnerOptionsFor(a.target, a.threads, a.armCpu);
  edgeopt::cli::ProgressPrinter bar(a.quiet);
  options.progress = batchProgress(bar, "evaluate");
  bar({"evaluate", -1, "", true});
  auto policy = edgeopt::api::exitPolicyOf(model.value());
  if (!policy.ok()) return report(policy.status().withContext(modelPath));
  // A multi-exit model's plain figures are its final output's: the model without the heads.
  std::optional<edgeopt::ir::Model> backbone;
  if (policy.value()) {
    auto plain = edgeopt::api::withoutExits(model.value(), *policy.value());
    if (!plain.ok()) return report(plain.status().withContext(modelPath));
    backbone = std::move(plain.value());
  }
  auto result = edgeopt::api::evaluate(backbone ? *backbone : model.value(), options);
  bar.clear();
  if (!result.ok()) return report(result.status());
  std::optional<edgeopt::api::ExitStats> exitStats;
  if (policy.value()) {
    auto stats = edgeopt::api::evaluateExits(model.value(), *policy.value(), a.data, options.runner, a.batch);
    if (!stats.ok()) return report(stats.status().withContext(modelPath));
    exitStats = stats.value();
  }
  if (!a.predictions.empty()) {
    const auto& p = result->predictions;
    Status st = edgeopt::data::writeNpy(
        edgeopt::ir::Tensor::fromVector<int64_t>({static_cast<int64_t>(p.size())}, p), a.predictions);
    if (!st.ok()) return report(st);
  }
  if (a.json) {
    auto j = nlohmann::ordered_json::parse(edgeopt::api::evalResultJson(result.value(), modelPath, a.data.path));
    if (exitStats) {
      j["exits"] = nlohmann::ordered_json::parse(edgeopt::api::exitStatsJson(*policy.value(), *exitStats));
      j["average_macs"] = exitStats->averageMacs;
    }
    std::cout << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else {
    std::cout << edgeopt::api::evalResultText(result.value());
    if (exitStats) std::cout << "with early exits (the model's policy): " << edgeopt::api::exitStatsText(*policy.value(), *exitStats);
  }
  return kExitOk;
}

struct ExitsArgs {
  edgeopt::data::DataOptions data;
  std::string points, out, target = "x86", confidence = "max-softmax";
  double budget = 0.5, maxAverageMacs = -1, heldOut = 0.3;
  int grid = 4, threads = 1;
  edgeopt::train::TrainOptions optimizer = edgeopt::api::ExitOptions::headTraining();
  bool json = false;
};

int cmdExits(const std::string& modelPath, const ExitsArgs& a) {
  if (auto t = edgeopt::targets::find(a.target); !t.ok()) return report(t.status());
  std::error_code ec;
  if (std::filesystem::weakly_canonical(a.out, ec) == std::filesystem::weakly_canonical(modelPath, ec))
    return report(edgeopt::invalidInput("-o " + a.out + " names the input model; write the multi-exit model elsewhere"));
  edgeopt::api::ExitOptions o;
  o.data = a.data;
  for (const auto& p : commaItems(a.points))
    if (!p.empty()) o.points.push_back(p);
  o.budgetPoints = a.budget;
  o.maxAverageMacs = a.maxAverageMacs;
  o.heldOut = a.heldOut;
  o.grid = a.grid;
  o.optimizer = a.optimizer;
  auto confidence = edgeopt::api::parseConfidence(a.confidence);
  if (!confidence.ok()) return report(confidence.status().withContext("--confidence"));
  o.confidence = confidence.value();
  o.runner = edgeopt::api::runnerOptionsFor(a.target, a.threads);
  auto model = edgeopt::api::loadModel(modelPath);
  if (!model.ok()) return report(model.status());
  edgeopt::api::ExitReport r;
  if (Status st = edgeopt::api::addExits(model.value(), o, &r); !st.ok()) return report(st.withContext(modelPath));
  if (Status st = edgeopt::onnx_io::exportModel(model.value(), a.out); !st.ok()) return report(st);
  std::cout << (a.json ? edgeopt::api::exitReportJson(r) + "\n" : edgeopt::api::exitReportText(r) + "wrote " + a.out + "\n");
  return kExitOk;
}

struct QuantizeArgs {
  edgeopt::data::DataOptions calib, eval;
  double maxDrop = -1;
  double minSqnr = std::nan("");  // NaN: no --min-sqnr
  int64_t attributionSamples = 0;
  std::string out, calibrator = "minmax", exclude, reportPath, forTargets;
  double percentile = 99.99;
  bool percentileGiven = false;
  bool perTensor = false, sensitivity = false, json = false, quiet = false;
  std::string target = "x86";
  int threads = 0;
};

struct PruneArgs {
  double macs = -1, sparsity = 0, maxRatio = 0.9;
  int64_t roundTo = 8, bnSamples = 512;
  bool roundGiven = false;
  std::string forTargets;  // round to these targets' channel multiple unless --round
  bool l1 = false, perLayer = false, json = false;
  std::string score = "lamp";
  edgeopt::data::DataOptions data;
  std::string out;
  std::vector<std::string> shapes;
};

int cmdPrune(const std::string& modelPath, const PruneArgs& a) {
  edgeopt::api::PruneOptions o;
  o.structured = a.macs >= 0;
  o.channels.macsFraction = a.macs;
  o.channels.roundTo = a.roundTo;
  if (!a.forTargets.empty() && !a.roundGiven) {
    std::vector<std::string> names;
    std::stringstream ss(a.forTargets);
    for (std::string name; std::getline(ss, name, ',');) names.push_back(name);
    auto multiple = edgeopt::api::channelMultipleFor(names);
    if (!multiple.ok()) return report(multiple.status().withContext("--for-targets"));
    o.channels.roundTo = multiple.value();
  }
  o.channels.maxRatio = a.maxRatio;
  o.channels.l1 = a.l1;
  o.sparsity = a.sparsity;
  o.sparsityPerLayer = a.perLayer;
  o.sparsityScore = a.score == "magnitude" ? edgeopt::api::SparsityScore::kMagnitude : edgeopt::api::SparsityScore::kLamp;
  o.bnData = a.data;
  o.bnSamples = a.bnSamples;
  if (a.perLayer && a.sparsity == 0) return report(edgeopt::invalidInput("--per-layer needs --unstructured S"));
  edgeopt::onnx_io::ImportOptions io;
  if (Status shapes = parseShapes(a.shapes, &io.fixInputDims); !shapes.ok()) return report(shapes);
  auto model = edgeopt::onnx_io::importModel(modelPath, io);
  if (!model.ok()) return report(model.status());
  edgeopt::api::PruneResult r;
  Status st = edgeopt::api::pruneModel(model.value(), o, &r);
  if (!st.ok()) return report(st.withContext(modelPath));
  Status written = edgeopt::onnx_io::exportModel(model.value(), a.out);
  if (!written.ok()) return report(written);
  if (a.json) {
    std::cout << edgeopt::api::pruneResultJson(r) << "\n";
  } else {
    std::cout << edgeopt::api::pruneResultText(r) << "wrote " << a.out << "\n";
  }
  return kExitOk;
}

struct FinetuneArgs {
  std::string teacher, out;
  edgeopt::data::DataOptions data;
  double heldOut = 0.1;
  edgeopt::train::TrainOptions optimizer;
  std::string hook;
  int hookTimeout = 3600;
  int64_t inMemoryMb = 1024;
  bool json = false, quiet = false;
};

int cmdFinetune(const std::string& modelPath, const FinetuneArgs& a) {
  auto student = edgeopt::api::loadModel(modelPath);
  if (!student.ok()) return report(student.status());
  std::optional<edgeopt::ir::Model> teacher;
  if (!a.teacher.empty()) {
    auto t = edgeopt::api::loadModel(a.teacher);
    if (!t.ok()) return report(t.status());
    teacher = std::move(t).value();
  }
  edgeopt::api::FinetuneOptions o;
  o.data = a.data;
  o.heldOut = a.heldOut;
  o.optimizer = a.optimizer;
  o.hook = a.hook;
  o.hookTimeoutSeconds = a.hookTimeout;
  o.inMemoryBytes = a.inMemoryMb << 20;
  edgeopt::api::FinetuneResult r;
  const int epochs = a.optimizer.epochs;
  edgeopt::cli::ProgressPrinter bar(a.quiet);
  edgeopt::api::FinetuneProgress progress;
  progress.step = [&](const edgeopt::train::StepLog& s) { bar({"fine-tune", s.fraction(), s.describe(), false}); };
  progress.epoch = [&](const edgeopt::train::EpochLog& e) {
    if (a.json || a.quiet) return;
    bar.clear();  // the epoch's line goes above the bar
    std::printf("epoch %d/%d: loss %.4f, train top-1 %.2f %%", e.epoch, epochs, e.loss, 100 * e.trainTop1);
    if (e.heldOutTop1 >= 0) std::printf(", held-out top-1 %.2f %%", 100 * e.heldOutTop1);
    std::printf(", %.1f s\n", e.seconds);
    std::fflush(stdout);
  };
  Status st = edgeopt::api::finetuneModel(student.value(), teacher ? &*teacher : nullptr, o, &r, progress);
  bar.clear();
  if (!st.ok()) return report(st.withContext(modelPath));
  Status written = edgeopt::onnx_io::exportModel(student.value(), a.out);
  if (!written.ok()) return report(written);
  if (a.json) {
    std::cout << edgeopt::api::finetuneResultJson(r) << "\n";
  } else {
    if (r.heldOutSamples)
      std::printf("held-out top-1 (%lld samples): teacher %.2f %%, student before %.2f %%, kept epoch %.2f %%\n",
                  static_cast<long long>(r.heldOutSamples), 100 * r.teacherHeldOutTop1, 100 * r.studentHeldOutTop1Before,
                  100 * r.studentHeldOutTop1After);
    std::printf("trained on %lld samples%s in %.1f s\nwrote %s\n", static_cast<long long>(r.trainSamples),
                r.streamed ? " (streamed from the files every epoch)" : "", r.seconds, a.out.c_str());
  }
  return kExitOk;
}

int cmdQuantize(const std::string& modelPath, const QuantizeArgs& a) {
  // The report must not overwrite the model it describes (or the input model).
  if (!a.reportPath.empty()) {
    std::error_code ec;
    const auto same = [&](const std::string& x, const std::string& y) {
      return std::filesystem::weakly_canonical(x, ec) == std::filesystem::weakly_canonical(y, ec);
    };
    if (same(a.reportPath, a.out) || same(a.reportPath, modelPath))
      return report(edgeopt::invalidInput("--report " + a.reportPath + " names the same file as " +
                                          (same(a.reportPath, a.out) ? "--output" : "the model")));
  }
  edgeopt::api::QuantizeOptions options;
  options.calib = a.calib;
  auto calibrator = edgeopt::quant::parseCalibrator(a.calibrator);
  if (!calibrator.ok()) return report(calibrator.status());
  options.calibrator = calibrator.value();
  if (a.percentileGiven && options.calibrator != edgeopt::quant::Calibrator::kPercentile)
    return report(edgeopt::invalidInput("--percentile applies to --calibrator percentile only (the calibrator is " + a.calibrator + ")"));
  options.percentile = a.percentile;
  options.perTensorWeights = a.perTensor;
  options.attributionSamples = a.attributionSamples;
  options.sensitivity = a.sensitivity;
  options.target = a.target;
  options.threads = a.threads;
  if (auto t = edgeopt::targets::find(a.target); !t.ok()) return report(t.status());
  options.maxDrop = a.maxDrop;
  if (!std::isnan(a.minSqnr)) options.minSqnrDb = a.minSqnr;
  options.eval = a.eval;
  if (options.eval.preprocess.empty()) options.eval.preprocess = a.calib.preprocess;
  if (options.eval.preprocess == "none") options.eval.preprocess.clear();
  if (a.maxDrop >= 0 && a.eval.path.empty()) return report(edgeopt::invalidInput("--max-drop needs --eval DATA"));
  if (!std::isnan(a.minSqnr) && a.eval.path.empty()) return report(edgeopt::invalidInput("--min-sqnr needs --eval DATA"));
  std::stringstream ss(a.exclude);
  for (std::string name; std::getline(ss, name, ',');)
    if (!name.empty()) options.exclude.push_back(name);
  std::stringstream ts(a.forTargets);
  for (std::string name; std::getline(ts, name, ',');) {
    if (name.empty()) continue;
    if (auto t = edgeopt::targets::find(name); !t.ok()) return report(t.status().withContext("--for-targets"));
    options.forTargets.push_back(name);
  }
  auto model = edgeopt::api::loadModel(modelPath);
  if (!model.ok()) return report(model.status());
  edgeopt::api::QuantizeReport rep;
  edgeopt::cli::ProgressPrinter bar(a.quiet);
  options.calibrationProgress = batchProgress(bar, "calibrate");
  bar({"calibrate", -1, "", true});
  Status st = edgeopt::api::quantizeModel(model.value(), options, &rep);
  bar.clear();
  if (!st.ok()) return report(st.withContext(modelPath));
  Status written = edgeopt::onnx_io::exportModel(model.value(), a.out);
  if (!written.ok()) return report(written);
  if (!a.reportPath.empty()) {
    Status r = edgeopt::api::writeFileAtomically(a.reportPath, edgeopt::api::quantizeReportJson(rep) + "\n");
    if (!r.ok()) {
      std::remove(a.out.c_str());
      return report(r);
    }
  }
  if (a.json) {
    std::cout << edgeopt::api::quantizeReportJson(rep) << "\n";
    return kExitOk;
  }
  std::cout << edgeopt::api::quantizeReportTable(rep);
  char seconds[96];
  std::snprintf(seconds, sizeof seconds, " in %.1f s (errors above on %lld in %.1f s); ", rep.calibrationSeconds,
                static_cast<long long>(rep.attributionSamples), rep.attributionSeconds);
  std::cout << "calibrator " << rep.calibrator << " on " << rep.calibrationSamples << " samples" << seconds
            << rep.quantizedNodes.size() << " nodes in int8, " << rep.floatNodes.size() << " Conv/Gemm/MatMul in float\n";
  for (const auto& f : rep.floatNodes) std::cout << "  float: " << f << "\n";
  if (!rep.fp32Ops.empty()) {
    std::cout << "  fp32 ops (run between DequantizeLinear/QuantizeLinear):";
    for (const auto& [op, count] : rep.fp32Ops) std::cout << " " << op << " x" << count;
    std::cout << "\n";
  }
  std::cout << "wrote " << a.out << (a.reportPath.empty() ? "" : " and " + a.reportPath) << "\n";
  return kExitOk;
}

}  // namespace

struct CompileArgs {
  std::string targets = "x86", out, calibrator = "minmax";
  bool calibratorGiven = false;  // --calibrator on the command line
  edgeopt::data::DataOptions calib, eval;
  int64_t attributionSamples = 0, evalBatch = 32;
  std::vector<std::string> shapes, targetSettings;
  int threads = 1, iters = 20;
  // Compression stages (prune -> fine-tune) before quantizing.
  double pruneMacs = -1, pruneSparsity = 0, pruneMaxRatio = 0.9;
  int64_t pruneRound = 0;  // 0: the targets' channel multiple
  edgeopt::data::DataOptions train;
  int finetuneEpochs = 2;
  bool finetuneEpochsGiven = false;
  double heldOut = 0.1, learningRate = 0.01;
  int64_t finetuneBatch = 64;
  std::string finetuneHook;
  int hookTimeout = 3600;
  // Early exits after quantizing (their heads train on --train).
  bool exits = false;
  std::string exitPoints, exitConfidence = "max-softmax";
  double exitBudget = 0.5, exitMaxAverageMacs = -1;
  int exitEpochs = edgeopt::api::ExitOptions::headTraining().epochs;
  bool quiet = false, json = false;
  std::vector<std::string> budgets;
  std::string junit;
};

// compile's prune and fine-tune stages from its options; an option without its stage is an error.
edgeopt::Status compressionStages(const CompileArgs& a, edgeopt::api::CompileOptions* o) {
  using edgeopt::invalidInput;
  const bool pruning = a.pruneMacs >= 0 || a.pruneSparsity > 0;
  edgeopt::data::DataOptions train = a.train;
  if (!train.path.empty() && train.preprocess.empty()) train.preprocess = a.calib.preprocess;
  if (train.preprocess == "none") train.preprocess.clear();
  if (!a.train.labelsPath.empty() && a.train.path.empty()) return invalidInput("--train-labels needs --train DATA");
  if (pruning) {
    edgeopt::api::PruneOptions p;
    p.structured = a.pruneMacs >= 0;
    p.channels.macsFraction = a.pruneMacs;
    p.channels.maxRatio = a.pruneMaxRatio;
    if (a.pruneRound > 0) {
      p.channels.roundTo = a.pruneRound;
    } else {
      EDGEOPT_ASSIGN_OR_RETURN(p.channels.roundTo, edgeopt::api::channelMultipleFor(o->targets));
    }
    p.sparsity = a.pruneSparsity;
    p.bnData = train;
    o->prune = p;
  }
  const bool finetuning = !a.train.path.empty() && a.finetuneEpochs > 0 && (pruning || a.finetuneEpochsGiven);
  if (!a.finetuneHook.empty() && !finetuning)
    return invalidInput("--finetune-hook needs a fine-tune stage: --train DATA with --prune-macs/--prune-unstructured (or --finetune-epochs N)");
  if (!a.train.path.empty() && !pruning && !a.finetuneEpochsGiven && !a.exits)
    return invalidInput("--train DATA is for the prune, fine-tune and exit stages: give --prune-macs F or --prune-unstructured S "
                        "(or --finetune-epochs N to fine-tune the unpruned model, or --exits)");
  if (a.exits && a.train.path.empty()) return invalidInput("--exits needs labelled training data: --train DATA (with --train-labels)");
  if (a.exits) {
    edgeopt::api::ExitOptions x;
    x.data = train;
    for (const auto& point : commaItems(a.exitPoints))
      if (!point.empty()) x.points.push_back(point);
    x.budgetPoints = a.exitBudget;
    EDGEOPT_ASSIGN_OR_RETURN(x.confidence, edgeopt::api::parseConfidence(a.exitConfidence));
    x.maxAverageMacs = a.exitMaxAverageMacs;
    x.optimizer.epochs = a.exitEpochs;
    o->exits = x;
  }
  if (a.finetuneEpochsGiven && a.train.path.empty()) return invalidInput("--finetune-epochs needs --train DATA");
  if (finetuning) {
    edgeopt::api::FinetuneOptions f;
    f.data = train;
    f.heldOut = a.heldOut;
    f.optimizer.epochs = a.finetuneEpochs;
    f.optimizer.batch = a.finetuneBatch;
    f.optimizer.learningRate = a.learningRate;
    f.hook = a.finetuneHook;
    f.hookTimeoutSeconds = a.hookTimeout;
    o->finetune = f;
  }
  return edgeopt::Status::Ok();
}

// --target-setting's help: every target's settings with their defaults.
std::string targetSettingsHelp() {
  std::string h = "A setting of a target's artifact, TARGET.KEY=VALUE (repeatable):";
  for (const edgeopt::targets::Target* t : edgeopt::targets::registry())
    for (const auto& s : t->settings())
      h += "\n  " + t->info().name + "." + s.key + " (default " + s.defaultValue + "): " + s.description;
  return h;
}

int cmdCompile(const std::string& modelPath, const CompileArgs& a) {
  edgeopt::api::CompileOptions o;
  o.targets.clear();
  std::stringstream ss(a.targets);
  for (std::string name; std::getline(ss, name, ',');) {
    auto t = edgeopt::targets::find(name);
    if (!t.ok()) return report(edgeopt::invalidInput("--targets: " + t.status().message()));
    if (std::find(o.targets.begin(), o.targets.end(), name) != o.targets.end())
      return report(edgeopt::invalidInput("--targets names " + name + " twice"));
    o.targets.push_back(name);
  }
  // Options that would do nothing in this combination are errors, not silently ignored.
  if (a.calibratorGiven && a.calib.path.empty()) return report(edgeopt::invalidInput("--calibrator needs --calib DATA"));
  if (!a.eval.labelsPath.empty() && a.eval.path.empty()) return report(edgeopt::invalidInput("--labels needs --eval DATA"));
  o.quantize = !a.calib.path.empty();
  o.quantizeOptions.calib = a.calib;
  auto calibrator = edgeopt::quant::parseCalibrator(a.calibrator);
  if (!calibrator.ok()) return report(calibrator.status());
  o.quantizeOptions.calibrator = calibrator.value();
  o.quantizeOptions.attributionSamples = a.attributionSamples;
  o.eval = a.eval;
  if (!o.eval.path.empty() && o.eval.preprocess.empty()) o.eval.preprocess = a.calib.preprocess;
  if (o.eval.preprocess == "none") o.eval.preprocess.clear();
  o.evalBatch = a.evalBatch;
  o.threads = a.threads;
  o.benchIters = a.iters;
  Status shapes = parseShapes(a.shapes, &o.benchShapes);
  if (!shapes.ok()) return report(shapes);
  for (const std::string& setting : a.targetSettings) {
    const size_t dot = setting.find('.'), eq = setting.find('=');
    if (dot == std::string::npos || eq == std::string::npos || dot == 0 || eq < dot + 2)
      return report(edgeopt::invalidInput("--target-setting " + setting + ": expects TARGET.KEY=VALUE"));
    const std::string target = setting.substr(0, dot), key = setting.substr(dot + 1, eq - dot - 1);
    if (!o.targetSettings[target].emplace(key, setting.substr(eq + 1)).second)
      return report(edgeopt::invalidInput("--target-setting gives " + target + "." + key + " twice"));
  }
  if (Status stages = compressionStages(a, &o); !stages.ok()) return report(stages);
  if (!a.junit.empty() && a.budgets.empty()) return report(edgeopt::invalidInput("--junit needs --budget"));
  for (const std::string& spec : a.budgets) {
    auto parsed = edgeopt::api::parseBudgets(spec);
    if (!parsed.ok()) return report(parsed.status());
    o.budgets.insert(o.budgets.end(), parsed.value().begin(), parsed.value().end());
  }
  edgeopt::cli::ProgressPrinter bar(a.quiet);
  o.progress = [&](const edgeopt::api::ProgressEvent& e) { bar(e); };
  edgeopt::api::CompileReport rep;
  Status st = edgeopt::api::compile(modelPath, o, a.out, &rep);
  bar.clear();
  if (!st.ok()) return report(st);
  // The targets' artifact folders, as compile wrote them (no target is named here).
  std::string folders;
  std::error_code ec;
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(a.out, ec))
    if (entry.is_directory()) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  for (const auto& n : names) folders += ", " + n + "/";
  if (a.json)
    std::cout << edgeopt::api::compileReportJson(rep) << "\n";
  else
    std::cout << edgeopt::api::compileReportMarkdown(rep) << "\nwrote " << a.out << "/ (model.opt.onnx"
              << (rep.quantized ? ", model.int8.onnx" : "") << (rep.exits ? ", " + rep.exits->model : "") << ", report.json, report.md, report.html" << folders << ")\n";
  if (rep.budgets.empty()) return kExitOk;
  if (!a.junit.empty()) {
    const std::string suite = "edgeopt compile " + std::filesystem::path(modelPath).filename().string();
    if (Status written = edgeopt::api::writeFileAtomically(a.junit, edgeopt::api::budgetJunitXml(rep.budgets, suite)); !written.ok())
      return report(written);
  }
  size_t broken = 0;
  for (const auto& c : rep.budgets)
    if (!c.passed) {
      ++broken;
      std::cerr << "edgeopt: budget broken: " << edgeopt::api::printable(edgeopt::api::describeCheck(c)) << "\n";
    }
  if (!broken) return kExitOk;
  std::cerr << "edgeopt: " << broken << " of " << rep.budgets.size() << " budget checks broken (exit 3)\n";
  return kExitBudgetBroken;
}

struct BenchArgs {
  std::string target = "x86";
  int threads = 1, iters = 50, warmup = 5, top = 15;
  std::vector<std::string> shapes;
  bool json = false, onednnDepthwise = false, onednnGemm = false;
};

int cmdBench(const std::string& modelPath, const BenchArgs& a) {
  auto target = edgeopt::targets::find(a.target);
  if (!target.ok()) return report(target.status());
  edgeopt::api::BenchOptions options;
  options.runner = edgeopt::api::runnerOptionsFor(a.target, a.threads);
  if (a.onednnDepthwise) options.runner.switches["own-depthwise"] = false;
  if (a.onednnGemm) options.runner.switches["own-gemm"] = false;
  options.iters = a.iters;
  options.warmup = a.warmup;
  Status shapes = parseShapes(a.shapes, &options.inputShapes);
  if (!shapes.ok()) return report(shapes);
  auto model = edgeopt::api::loadModel(modelPath);
  if (!model.ok()) return report(model.status());
  auto result = edgeopt::api::benchmark(model.value(), options);
  if (!result.ok()) return report(result.status().withContext(modelPath));
  std::cout << (a.json ? edgeopt::api::benchResultJson(result.value()) + "\n" : edgeopt::api::benchResultText(result.value(), a.top));
  return kExitOk;
}

struct SplitArgs {
  std::vector<std::string> shapes, profiles, scales;
  std::string tiers = "device,edge,cloud", bandwidth, rtt, sweep = "1,2,5,10,20,50,100,200,500,1000,10000", out;
  int threads = 1, iters = 30;
  bool json = false;
};

// A number followed by one of `units` (case-insensitive; none: factor 1), times the unit's factor;
// nullopt when the text is not that.
std::optional<double> numberWithUnit(const std::string& text, const std::vector<std::pair<std::string, double>>& units) {
  std::string t;
  for (char c : text)
    if (!std::isspace(static_cast<unsigned char>(c))) t += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  double factor = 1;
  for (const auto& [unit, f] : units)
    if (t.size() > unit.size() && t.compare(t.size() - unit.size(), unit.size(), unit) == 0) {
      t.resize(t.size() - unit.size());
      factor = f;
      break;
    }
  char* end = nullptr;
  const double v = t.empty() ? 0 : std::strtod(t.c_str(), &end);
  if (t.empty() || end != t.c_str() + t.size() || !std::isfinite(v)) return std::nullopt;
  return v * factor;
}

// "20Mbps", "1.5Gbps", "800kbps" or a plain number of Mbit/s.
Status parseBandwidthMbps(const std::string& text, double* mbps) {
  const auto v = numberWithUnit(text, {{"gbps", 1e3}, {"mbps", 1}, {"kbps", 1e-3}});
  if (!v || !(*v > 0))
    return edgeopt::invalidInput("--bandwidth '" + text + "': expected a positive rate such as 20Mbps, 1Gbps or 800kbps");
  *mbps = *v;
  return Status::Ok();
}

// "10ms", "0.2s", "500us" or a plain number of milliseconds.
Status parseMilliseconds(const std::string& text, double* ms) {
  const auto v = numberWithUnit(text, {{"ms", 1}, {"us", 1e-3}, {"s", 1e3}});
  if (!v || !(*v >= 0))
    return edgeopt::invalidInput("--rtt '" + text + "': expected a time such as 10ms, 0.2s or 500us");
  *ms = *v;
  return Status::Ok();
}

int cmdSplit(const std::string& modelPath, const SplitArgs& a) {
  edgeopt::api::SplitOptions o;
  o.threads = a.threads;
  o.iters = a.iters;
  if (Status st = parseShapes(a.shapes, &o.inputShapes); !st.ok()) return report(st);
  o.tiers = commaItems(a.tiers);
  const auto bandwidths = commaItems(a.bandwidth);
  const auto rtts = commaItems(a.rtt);
  if (bandwidths.size() != rtts.size())
    return report(edgeopt::invalidInput("--bandwidth has " + std::to_string(bandwidths.size()) + " value(s) and --rtt " +
                                        std::to_string(rtts.size()) + ": give one of each per link"));
  if (o.tiers.size() != bandwidths.size() + 1) {
    if (a.tiers != SplitArgs{}.tiers)
      return report(edgeopt::invalidInput("--tiers names " + std::to_string(o.tiers.size()) + " tiers; --bandwidth and --rtt give " +
                                          std::to_string(bandwidths.size()) + " link(s), which join " +
                                          std::to_string(bandwidths.size() + 1)));
    if (bandwidths.size() + 1 > o.tiers.size() || bandwidths.empty())
      return report(edgeopt::invalidInput("--bandwidth and --rtt: one value per link, 1 (device -> edge) or 2 (device -> edge -> cloud)"));
    o.tiers.resize(bandwidths.size() + 1);
  }
  for (size_t i = 0; i < bandwidths.size(); ++i) {
    edgeopt::api::Link link;
    if (Status st = parseBandwidthMbps(bandwidths[i], &link.bandwidthMbps); !st.ok()) return report(st);
    if (Status st = parseMilliseconds(rtts[i], &link.rttMs); !st.ok()) return report(st);
    o.links.push_back(link);
  }
  for (const auto& p : a.profiles) {
    const auto eq = p.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == p.size())
      return report(edgeopt::invalidInput("--profile '" + p + "': expected TIER=FILE (a file `edgeopt bench --json` wrote)"));
    o.profileFiles[p.substr(0, eq)] = p.substr(eq + 1);
  }
  for (const auto& list : a.scales)
    for (const auto& p : commaItems(list)) {
      const auto eq = p.find('=');
      const auto v = eq == std::string::npos ? std::nullopt : numberWithUnit(p.substr(eq + 1), {});
      if (!v) return report(edgeopt::invalidInput("--scale '" + p + "': expected TIER=FACTOR, e.g. edge=0.25"));
      o.scale[p.substr(0, eq)] = *v;
    }
  if (!a.sweep.empty())
    for (const auto& b : commaItems(a.sweep)) {
      double mbps = 0;
      if (Status st = parseBandwidthMbps(b, &mbps); !st.ok()) return report(edgeopt::invalidInput("--sweep: " + st.message()));
      o.sweepMbps.push_back(mbps);
    }
  if (Status st = edgeopt::api::checkOutputFolder(a.out, "split"); !st.ok()) return report(st);
  auto model = edgeopt::api::loadModel(modelPath);
  if (!model.ok()) return report(model.status());
  auto result = edgeopt::api::planSplit(model.value(), o);
  if (!result.ok()) return report(result.status().withContext(modelPath));
  const auto& r = result.value();
  std::vector<std::pair<std::string, std::string>> files;
  for (size_t i = 0; i < r.parts.size(); ++i) {
    auto bytes = edgeopt::onnx_io::exportModelBytes(r.parts[i]);
    if (!bytes.ok()) return report(bytes.status().withContext("split part " + r.partTiers[i]));
    files.push_back({r.partTiers[i] + ".onnx", bytes.value()});
  }
  const std::string text = edgeopt::api::splitText(r), json = edgeopt::api::splitJson(r);
  files.push_back({"split.json", json + "\n"});
  files.push_back({"split.txt", text});
  files.push_back({"split.html", edgeopt::api::splitHtml(r, std::filesystem::path(modelPath).filename().string())});
  if (Status st = edgeopt::api::writeOutputFolder(a.out, "split", files); !st.ok()) return report(st);
  if (a.json) {
    std::cout << json << "\n";
  } else {
    std::cout << text << "wrote " << a.out << "/ (";
    for (size_t i = 0; i < files.size(); ++i) std::cout << (i ? ", " : "") << files[i].first;
    std::cout << ")\n";
  }
  return kExitOk;
}

// The CPUs --arm-cpu accepts: qemu-aarch64 models of ARMv8.0 (cortex-a53, -a57, -a72) and ARMv8.2
// with the dot product (cortex-a55, -a76, neoverse-n1), and qemu's "max".
const CLI::IsMember kArmCpus({"cortex-a53", "cortex-a57", "cortex-a72", "cortex-a55", "cortex-a76", "neoverse-n1", "max"});

int main(int argc, char** argv) {
  // Tensors of a few hundred KB (a batch of feature maps) are allocated and freed on every run:
  // from glibc's default of fresh mmap'ed pages each time, every run page-faulted through them
  // (a tenth of an exit cascade's time at batch 64). Up to 64 MB they now reuse the heap.
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 128 << 20);
  CLI::App app{"edgeopt " + std::string(edgeopt::api::version()) +
               ": compress and optimize ONNX models for edge targets"};
  app.footer(kExitCodesHelp);
  app.require_subcommand(1);
  app.set_version_flag("--version", edgeopt::api::version());
  // Resource limits (checked before allocating); given before or after the command.
  app.fallthrough();
  std::string maxTensorBytes, maxImagePixels, maxModelBytes;
  app.add_option("--max-tensor-bytes", maxTensorBytes,
                 "Largest tensor any command allocates (default 4294967296 = 4 GiB; also EDGEOPT_MAX_TENSOR_BYTES)")
      ->check(CLI::PositiveNumber);
  app.add_option("--max-image-pixels", maxImagePixels,
                 "Largest image (width x height from its header) the data readers decode (default 67108864; also "
                 "EDGEOPT_MAX_IMAGE_PIXELS)")
      ->check(CLI::PositiveNumber);
  app.add_option("--max-model-bytes", maxModelBytes,
                 "Largest model read: its .onnx file plus its external data (default 4294967296 = 4 GiB; also "
                 "EDGEOPT_MAX_MODEL_BYTES)")
      ->check(CLI::PositiveNumber);

  std::string modelPath, out, target = "ref";
  bool json = false;
  std::vector<std::string> inputArgs;

  auto* inspect = app.add_subcommand("inspect", "Show a model's inputs, outputs, ops, parameters and MACs");
  inspect->add_option("MODEL", modelPath, "ONNX model file")->required();
  inspect->add_flag("--json", json, "Print JSON, with MACs per node");

  auto* run = app.add_subcommand("run", "Run a model on .npy inputs and write its outputs as .npy");
  run->add_option("MODEL", modelPath, "ONNX model file")->required();
  run->add_option("--input,-i", inputArgs,
                  "Input data: FILE.npy (bound to model inputs in order) or NAME=FILE.npy; repeatable")
      ->required();
  run->add_option("--output,-o", out,
                  "Where to write: OUT.npy for a single-output model, else a folder OUT/ with NAME.npy per output")
      ->required();
  run->add_option("--target", target, targetHelp())->default_val("ref");
  int threads = 1;
  run->add_option("--threads", threads, "Threads for --target x86")->default_val(1)->check(CLI::Range(1, 1024));
  std::string armCpu = "cortex-a76";
  run->add_option("--arm-cpu", armCpu, "CPU qemu-aarch64 emulates for --target arm-neon (cortex-a76: dot product; cortex-a53: ARMv8.0)")
      ->default_val("cortex-a76")->check(kArmCpus);
  int iters = 0;
  run->add_option("--iters", iters, "Also time this many further runs and print the median and minimum latency")
      ->check(CLI::Range(0, 1000000));
  int64_t runBatch = 32;
  run->add_option("--batch", runBatch,
                  "Run a single-input model with a symbolic batch in slices of at most N samples (memory follows N)")
      ->default_val(32)->check(CLI::Range(int64_t{1}, int64_t{1} << 20));
  run->add_flag("--json", json, "Print JSON: each output's name, file, dtype and dims (and the latency with --iters)");

  std::string passList, dumpAfter;
  bool verifyPasses = false, listPasses = false;
  std::vector<std::string> shapeArgs;
  auto* optimize = app.add_subcommand("optimize", "Clean up a model's graph with the pass pipeline and write it as ONNX");
  optimize->add_option("MODEL", modelPath, "ONNX model file");
  optimize->add_option("--output,-o", out, "Where to write the optimized ONNX model");
  optimize->add_option("--passes", passList,
                       "Comma-separated passes to run, in this order (default: the whole cleanup pipeline; "
                       "see --list-passes)");
  optimize->add_flag("--verify", verifyPasses,
                     "After every pass, check the IR and compare outputs with the input model's on seeded "
                     "random inputs (reference executor); name the first pass that breaks them");
  optimize->add_option("--dump-after", dumpAfter, "Also write the model as it is after this pass, to OUT.after_NAME.onnx");
  optimize->add_option("--shape", shapeArgs, "Input shape for --verify, e.g. input=1x3x224x224 (symbolic dims default to 1)");
  optimize->add_flag("--list-passes", listPasses, "List the passes and exit");
  optimize->add_flag("--json", json, "Print JSON: every pass run (changed, nodes before/after, time, verify error) and the op counts");

  EvalArgs evalArgs;
  auto* eval = app.add_subcommand("eval", "Measure a model's top-1/top-5 accuracy on labelled data");
  eval->add_option("MODEL", modelPath, "ONNX model file")->required();
  eval->add_option("--data", evalArgs.data.path,
                   "Data: a .npy of samples, an IDX image file (.gz or not), or an image folder (one sub-folder "
                   "per class, or a labels.csv)")->required();
  eval->add_option("--labels", evalArgs.data.labelsPath, "Labels: .npy of integers, IDX label file, or labels.csv for a folder");
  eval->add_option("--preprocess", evalArgs.data.preprocess,
                   "Preprocessing spec, e.g. 'resize=256,crop=224x224,channels=rgb,scale=1/255,mean=0.485:0.456:0.406,"
                   "std=0.229:0.224:0.225,layout=NCHW'");
  eval->add_option("--limit", evalArgs.data.limit, "Use at most N samples")->check(CLI::NonNegativeNumber);
  eval->add_option("--skip", evalArgs.data.skip, "Leave out the first N samples (e.g. the ones calibration used)")
      ->check(CLI::NonNegativeNumber);
  auto* evalShuffle = eval->add_flag("--shuffle", evalArgs.data.shuffle, "Take a seeded random subset/order instead of file order");
  eval->add_option("--seed", evalArgs.data.seed, "Seed for --shuffle")->default_val(0)->needs(evalShuffle);
  eval->add_option("--batch", evalArgs.batch, "Samples per executor run")->default_val(32)->check(CLI::Range(1, 65536));
  eval->add_option("--target", evalArgs.target, targetHelp())->default_val("ref");
  eval->add_option("--threads", evalArgs.threads, "Threads for --target x86")->default_val(1)->check(CLI::Range(1, 1024));
  eval->add_option("--arm-cpu", evalArgs.armCpu, "CPU qemu-aarch64 emulates for --target arm-neon")->default_val("cortex-a76")
      ->check(kArmCpus);
  eval->add_flag("--json", evalArgs.json, "Print JSON: accuracy, per-class recall/precision/confusion, confusion matrix");
  eval->add_flag("--quiet", evalArgs.quiet, "No progress on stderr (on a terminal a progress bar; otherwise a line when it starts)");
  eval->add_option("--predictions", evalArgs.predictions, "Also write each sample's top-1 class to this .npy (int64)");

  CompileArgs ca;
  auto* compile = app.add_subcommand(
      "compile", "Prune and fine-tune (optional), clean up, quantize (optional), measure per target, check budgets, and write the artifacts and report to a folder");
  std::string recipe;
  compile->add_option("MODEL", modelPath, "ONNX model file (required, here or as the recipe's model)");
  compile->add_option("--output,-o", ca.out,
                      "Output folder, replaced if it holds a previous compile output (required, here or as the recipe's output)");
  compile->add_option("--recipe", recipe,
                      "Take compile's options from a TOML file (keys and an example: docs/edgeopt.example.toml); options "
                      "given here win over the recipe's");
  compile->add_option("--targets", ca.targets, "Comma-separated targets among: " + edgeopt::targets::names() +
                      " (arm-neon needs --calib)")->default_val("x86");
  compile->add_option("--calib", ca.calib.path, "Calibration data: quantize to int8 as well (see quantize)");
  compile->add_option("--preprocess", ca.calib.preprocess, "Preprocessing spec for --calib (and --eval, unless --eval-preprocess)");
  compile->add_option("--limit", ca.calib.limit, "Use at most N calibration samples")->check(CLI::NonNegativeNumber);
  compile->add_option("--calibrator", ca.calibrator, "minmax, percentile, entropy or mse")->default_val("minmax");
  compile->add_option("--attribution-samples", ca.attributionSamples,
                      "Calibration samples for per-layer error attribution (0, the default: chosen by cost, see quantize)")
      ->default_val(0)->check(CLI::Range(int64_t{0}, int64_t{100000}));
  compile->add_option("--eval", ca.eval.path, "Labelled evaluation data for the accuracy figures (the forms of eval's --data)");
  compile->add_option("--labels", ca.eval.labelsPath, "Labels for --eval");
  compile->add_option("--eval-preprocess", ca.eval.preprocess, "Preprocessing for --eval (default: --preprocess; 'none' for none)");
  compile->add_option("--eval-limit", ca.eval.limit, "Use at most N evaluation samples")->check(CLI::NonNegativeNumber);
  compile->add_option("--eval-skip", ca.eval.skip, "Leave out the first N evaluation samples (held-out evaluation)")
      ->check(CLI::NonNegativeNumber);
  compile->add_option("--batch", ca.evalBatch, "Samples per run when evaluating")->default_val(32)->check(CLI::Range(1, 65536));
  compile->add_option("--shape", ca.shapes, "Input shape for the latency figures, e.g. input=1x3x224x224 (symbolic dims 1); the dims after the batch are also fixed in the compiled models (arm-neon needs every per-sample dim)");
  compile->add_option("--threads", ca.threads, "Threads for the x86 target")->default_val(1)->check(CLI::Range(1, 1024));
  compile->add_option("--iters", ca.iters, "Timed runs per latency figure")->default_val(20)->check(CLI::Range(1, 1000000));
  compile->add_option("--target-setting", ca.targetSettings, targetSettingsHelp());
  compile->add_option("--prune-macs", ca.pruneMacs,
                      "Prune channels (the model shrinks) to this fraction of the MACs before quantizing (see prune)")
      ->check(CLI::Range(0.01, 1.0));
  compile->add_option("--prune-unstructured", ca.pruneSparsity, "Zero this fraction of the weights, smallest first (see prune)")
      ->check(CLI::Range(0.0, 0.99));
  compile->add_option("--prune-round", ca.pruneRound,
                      "Kept channels per group: a multiple of N (default: what the targets run best, their least common "
                      "multiple: x86 16, arm-neon 8, fpga-hls 8, ref 1)")
      ->check(CLI::Range(1, 4096));
  compile->add_option("--prune-max-ratio", ca.pruneMaxRatio, "At most this fraction of a group's channels removed")
      ->default_val(0.9)->check(CLI::Range(0.0, 0.99));
  compile->add_option("--train", ca.train.path,
                      "Labelled training data (never the --eval data): BatchNorm re-estimation after pruning, and fine-tuning "
                      "by distillation from the original model");
  compile->add_option("--train-labels", ca.train.labelsPath, "Labels for --train");
  compile->add_option("--train-preprocess", ca.train.preprocess, "Preprocessing for --train (default: --preprocess; 'none' for none)");
  compile->add_option("--train-limit", ca.train.limit, "Use at most N training samples")->check(CLI::NonNegativeNumber);
  compile->add_option("--finetune-epochs", ca.finetuneEpochs, "Fine-tuning epochs after pruning (0: none; given without a prune "
                      "stage: fine-tune the unpruned model)")->default_val(2)->check(CLI::Range(0, 1000));
  compile->add_option("--finetune-batch", ca.finetuneBatch, "Samples per fine-tuning step")->default_val(64)->check(CLI::Range(1, 65536));
  compile->add_option("--finetune-lr", ca.learningRate, "Initial fine-tuning learning rate (cosine schedule to 0)")
      ->default_val(0.01)->check(CLI::Range(1e-8, 10.0));
  compile->add_option("--finetune-held-out", ca.heldOut, "Fraction of --train held out to pick the best epoch")
      ->default_val(0.1)->check(CLI::Range(0.0, 0.5));
  compile->add_option("--finetune-hook", ca.finetuneHook, "Fine-tune with an external trainer instead (see finetune --hook)");
  compile->add_option("--finetune-hook-timeout", ca.hookTimeout, "Seconds before the hook's process group is ended")
      ->default_val(3600)->check(CLI::Range(1, 7 * 24 * 3600));
  auto* exitsFlag = compile->add_flag("--exits", ca.exits,
                                      "Add early exits after quantizing (heads trained on --train, thresholds on its held-out "
                                      "part; see exits): writes model.exits.onnx, and with --eval measures the cascade on x86");
  compile->add_option("--exit-points", ca.exitPoints, "Tensors to exit after, comma-separated (default: nearest 25/50/75 % of the MACs)")
      ->needs(exitsFlag);
  compile->add_option("--exit-budget", ca.exitBudget, "Top-1 loss the exits may cost against the final output, in points")
      ->default_val(0.5)->check(CLI::Range(0.0, 100.0))->needs(exitsFlag);
  compile->add_option("--exit-max-average-macs", ca.exitMaxAverageMacs,
                      "Fail (exit 2) unless the exits reach this share of the model's MACs on average within the budget")
      ->check(CLI::Range(0.0, 1.0))->needs(exitsFlag);
  compile->add_option("--exit-confidence", ca.exitConfidence, "max-softmax or entropy (see exits --confidence)")
      ->default_val("max-softmax")->check(CLI::IsMember({"max-softmax", "entropy"}))->needs(exitsFlag);
  compile->add_option("--exit-epochs", ca.exitEpochs, "Exit head training epochs")->capture_default_str()->check(CLI::Range(1, 1000))->needs(exitsFlag);
  compile->add_option("--budget", ca.budgets,
                      "What the results must meet, e.g. \"top1_drop<=0.5,latency.x86.int8<=5ms,size.int8<=2MB\" (repeatable): "
                      "METRIC[.TARGET][.PRECISION] OP VALUE[UNIT], METRIC one of top1, top5, top1_drop (points), latency "
                      "(ms, us, s), size, memory (B, KB, MB, GB, KiB, MiB, GiB), macs (K, M, G), peak_rss (MB); OP <=, <, "
                      ">=, >. Without a target or precision a budget applies to every result row. A broken budget: exit 3, "
                      "every artifact still written");
  compile->add_option("--junit", ca.junit, "Write the budget checks as JUnit XML (one test case per budget and result row)");
  compile->add_flag("--json", ca.json, "Print the report as JSON (what report.json holds) instead of the Markdown table");
  compile->add_flag("--quiet", ca.quiet, "No progress on stderr (on a terminal a progress bar; otherwise one line per stage and epoch)");

  BenchArgs ba;
  auto* bench = app.add_subcommand("bench", "Measure a model's latency on a target, with a per-step profile for x86");
  bench->add_option("MODEL", modelPath, "ONNX model file (fp32, or QDQ int8)")->required();
  bench->add_option("--target", ba.target, targetHelp())->default_val("x86");
  bench->add_option("--threads", ba.threads, "Threads (x86)")->default_val(1)->check(CLI::Range(1, 1024));
  bench->add_option("--shape", ba.shapes, "Input shape, e.g. input=1x3x224x224 (symbolic dims default to 1); repeatable");
  bench->add_option("--iters", ba.iters, "Timed runs")->default_val(50)->check(CLI::Range(1, 1000000));
  bench->add_option("--warmup", ba.warmup, "Untimed runs first")->default_val(5)->check(CLI::Range(0, 1000000));
  bench->add_option("--top", ba.top, "Steps shown in the profile table, slowest first")->default_val(15)->check(CLI::Range(0, 100000));
  bench->add_flag("--json", ba.json, "Print JSON (every step of the profile)");
  bench->add_flag("--onednn-depthwise", ba.onednnDepthwise,
                  "x86: run int8 depthwise 3x3 convolutions with oneDNN instead of edgeopt's kernel (to compare them)");
  bench->add_flag("--onednn-gemm", ba.onednnGemm,
                  "x86: run int8 (non-depthwise) convolutions and matrix products with oneDNN and a separate output "
                  "stage instead of edgeopt's fused-output GEMM (to compare them)");

  QuantizeArgs qa;
  PruneArgs pa;
  auto* prune = app.add_subcommand("prune", "Prune channels (the model shrinks) and/or weights, then re-estimate BatchNorm on data");
  prune->add_option("MODEL", modelPath, "ONNX model file (fp32)")->required();
  prune->add_option("--output,-o", pa.out, "Where to write the pruned ONNX model")->required();
  prune->add_option("--macs", pa.macs,
                    "Structured: keep this fraction of the Conv/Gemm/MatMul MACs (e.g. 0.5), removing whole channels "
                    "through every dependent layer")->check(CLI::Range(0.0, 1.0));
  prune->add_option("--round", pa.roundTo, "Kept channels per group: a multiple of this")->default_val(8)->check(CLI::Range(1, 4096));
  prune->add_option("--for-targets", pa.forTargets,
                    "Round kept channels to what these targets run best instead (their least common multiple: x86 16, "
                    "arm-neon 8, fpga-hls 8, ref 1), e.g. x86,arm-neon");
  prune->add_option("--max-ratio", pa.maxRatio, "At most this fraction of a group's channels removed")->default_val(0.9)
      ->check(CLI::Range(0.0, 0.99));
  prune->add_flag("--l1", pa.l1, "Channel importance by L1 norm instead of L2");
  prune->add_option("--unstructured", pa.sparsity,
                    "Unstructured: zero this fraction of the Conv/Gemm/MatMul weights, smallest magnitudes first")
      ->check(CLI::Range(0.0, 0.99));
  prune->add_flag("--per-layer", pa.perLayer, "--unstructured per layer instead of over all layers together");
  prune->add_option("--score", pa.score,
                    "How --unstructured ranks weights across layers: lamp (|w| relative to the layer's larger weights; "
                    "spares small layers) or magnitude (|w|)")
      ->default_val("lamp")->check(CLI::IsMember({"lamp", "magnitude"}));
  prune->add_option("--data", pa.data.path, "Training data (not the test set) to re-estimate BatchNorm statistics on");
  prune->add_option("--preprocess", pa.data.preprocess, "Preprocessing spec for --data (see eval)");
  prune->add_option("--bn-samples", pa.bnSamples, "Samples of --data used (held in memory at once)")->default_val(512)
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 20));
  prune->add_option("--shape", pa.shapes,
                    "Fix an input's dims after the batch, e.g. x=1x3x320x320: a model with symbolic sizes (PaddleOCR) then has "
                    "known shapes, so more channel groups can be pruned and MACs are counted at that size");
  prune->add_flag("--json", pa.json, "Print the groups, MACs, parameters and sparsity as JSON");

  FinetuneArgs fa;
  std::vector<std::string> reportFiles;
  bool reportJson = false;
  auto* reportCmd = app.add_subcommand("report", "Compare two compile reports (report.json) row by row, marking what got worse");
  reportCmd->add_option("REPORTS", reportFiles, "A/report.json B/report.json")->required()->expected(2);
  reportCmd->add_flag("--json", reportJson, "Print the comparison as JSON");
  std::string reportHtml;
  reportCmd->add_option("--html", reportHtml, "Also write the comparison as a self-contained HTML page (worse in red)");
  bool failOnWorse = false;
  reportCmd->add_flag("--fail-on-worse", failOnWorse, "Exit 3 when a figure is worse in B (a CI gate against the last run)");

  ExitsArgs xa;
  auto* exitsCmd = app.add_subcommand(
      "exits", "Add early exits: train heads by distillation (backbone frozen), choose confidence thresholds on held-out data");
  exitsCmd->add_option("MODEL", modelPath, "ONNX model file (fp32, or QDQ int8 to choose the thresholds for int8)")->required();
  exitsCmd->add_option("--output,-o", xa.out, "The multi-exit model (the original output first, then exit_1, ...)")->required();
  exitsCmd->add_option("--data", xa.data.path, "Labelled training data (never the test set); the forms of eval's --data")->required();
  exitsCmd->add_option("--labels", xa.data.labelsPath, "Labels for --data");
  exitsCmd->add_option("--preprocess", xa.data.preprocess, "Preprocessing spec (see Data below)");
  exitsCmd->add_option("--limit", xa.data.limit, "Use at most N samples")->check(CLI::NonNegativeNumber);
  exitsCmd->add_option("--skip", xa.data.skip, "Leave out the first N samples")->check(CLI::NonNegativeNumber);
  exitsCmd->add_option("--points", xa.points, "Tensors to exit after, comma-separated (default: nearest 25/50/75 % of the MACs)");
  exitsCmd->add_option("--exit-budget", xa.budget, "Top-1 loss allowed against the final exit, in points")->default_val(0.5);
  exitsCmd->add_option("--confidence", xa.confidence,
                       "What a threshold compares: max-softmax (the largest softmax probability) or entropy "
                       "(1 - H(softmax)/ln(classes))")->default_val("max-softmax")->check(CLI::IsMember({"max-softmax", "entropy"}));
  exitsCmd->add_option("--max-average-macs", xa.maxAverageMacs,
                       "Fail (exit 2) unless the average MACs reach this share of the model's within the budget, e.g. 0.5");
  exitsCmd->add_option("--held-out", xa.heldOut, "Share of the samples held out: half chooses the thresholds, half checks them")
      ->default_val(0.3);
  exitsCmd->add_option("--grid", xa.grid, "Heads average-pool to GRID x GRID before their Gemm (global pooling where GRID does not divide the map)")->default_val(4)->check(CLI::Range(1, 16));
  exitsCmd->add_option("--epochs", xa.optimizer.epochs, "Head training epochs")->capture_default_str()->check(CLI::Range(1, 1000));
  exitsCmd->add_option("--batch", xa.optimizer.batch, "Head training batch")->default_val(64)->check(CLI::Range(1, 65536));
  exitsCmd->add_option("--lr", xa.optimizer.learningRate, "Head learning rate")->capture_default_str();
  exitsCmd->add_option("--target", xa.target, "Target that computes the features (x86 or ref)")->default_val("x86");
  exitsCmd->add_option("--threads", xa.threads, "Threads for the x86 target")->default_val(1)->check(CLI::Range(1, 1024));
  exitsCmd->add_flag("--json", xa.json, "Print the report as JSON");

  SplitArgs sa;
  auto* splitCmd = app.add_subcommand(
      "split", "Choose where to cut a model between device, edge and cloud from per-node latency and link figures; write the parts");
  splitCmd->add_option("MODEL", modelPath, "ONNX model file (fp32, or QDQ int8: a cut then sends int8 tensors)")->required();
  splitCmd->add_option("--output,-o", sa.out, "Output folder: TIER.onnx per non-empty part, split.json, split.txt, split.html")->required();
  splitCmd->add_option("--bandwidth", sa.bandwidth,
                       "Link bandwidths, comma-separated, one per link in tier order (device->edge[,edge->cloud]), e.g. 20Mbps,1Gbps")
      ->required();
  splitCmd->add_option("--rtt", sa.rtt, "Link round-trip times, one per link, e.g. 10ms,30ms")->required();
  splitCmd->add_option("--tiers", sa.tiers, "Tier names, the device first (default: device,edge,cloud, as many as the links join)");
  splitCmd->add_option("--profile", sa.profiles,
                       "TIER=FILE: that tier's per-node latency, the output of `edgeopt bench --json` run there; repeatable "
                       "(a tier without one is measured here on x86)");
  splitCmd->add_option("--scale", sa.scales, "TIER=FACTOR[,...]: multiply a tier's latencies, e.g. edge=0.25 for a server 4x this machine");
  splitCmd->add_option("--shape", sa.shapes, "Input shape, e.g. input=1x3x224x224 (symbolic dims default to 1); repeatable");
  splitCmd->add_option("--sweep", sa.sweep, "Bandwidths of the first link at which to report the best cut too (\"\" for none)")
      ->default_val(sa.sweep);
  splitCmd->add_option("--threads", sa.threads, "Threads for the x86 measurement")->default_val(1)->check(CLI::Range(1, 1024));
  splitCmd->add_option("--iters", sa.iters, "Timed runs of the x86 measurement")->default_val(30)->check(CLI::Range(1, 1000000));
  splitCmd->add_flag("--json", sa.json, "Print split.json instead of the text summary");

  auto* finetune = app.add_subcommand("finetune", "Fine-tune a (pruned) model by knowledge distillation from its teacher");
  finetune->add_option("MODEL", modelPath, "The student: an fp32 ONNX model (e.g. the output of prune)")->required();
  finetune->add_option("--teacher", fa.teacher, "The uncompressed model to distill from (without it: cross-entropy on the labels)");
  finetune->add_option("--data", fa.data.path, "Labelled training data (never the test set), loaded into memory")->required();
  finetune->add_option("--labels", fa.data.labelsPath, "Labels for --data");
  finetune->add_option("--preprocess", fa.data.preprocess, "Preprocessing spec for --data (see eval)");
  finetune->add_option("--limit", fa.data.limit, "Use at most N samples of --data")->check(CLI::NonNegativeNumber);
  finetune->add_option("--held-out", fa.heldOut, "Fraction of the samples (the last ones) held out to pick the best epoch")
      ->default_val(0.1)->check(CLI::Range(0.0, 0.5));
  finetune->add_option("--epochs", fa.optimizer.epochs, "Epochs")->default_val(2)->check(CLI::Range(1, 1000));
  finetune->add_option("--batch", fa.optimizer.batch, "Samples per step")->default_val(64)->check(CLI::Range(1, 65536));
  finetune->add_option("--lr", fa.optimizer.learningRate, "Initial learning rate (cosine schedule to 0)")->default_val(0.01)
      ->check(CLI::Range(1e-8, 10.0));
  finetune->add_option("--momentum", fa.optimizer.momentum, "Nesterov momentum")->default_val(0.9)->check(CLI::Range(0.0, 0.999));
  finetune->add_option("--weight-decay", fa.optimizer.weightDecay, "On Conv/Gemm/MatMul weights only")->default_val(5e-4)
      ->check(CLI::Range(0.0, 1.0));
  finetune->add_option("--alpha", fa.optimizer.alpha, "Weight of the distillation term (1 - alpha: cross-entropy)")
      ->default_val(0.7)->check(CLI::Range(0.0, 1.0));
  finetune->add_option("--temperature", fa.optimizer.temperature, "Distillation temperature")->default_val(4.0)->check(CLI::Range(0.1, 100.0));
  finetune->add_flag("--freeze-bn", fa.optimizer.freezeBatchNorm, "Keep BatchNorm statistics fixed (train its scale and bias only)");
  finetune->add_option("--seed", fa.optimizer.seed, "Seed of the sample order")->default_val(0);
  finetune->add_option("--output,-o", fa.out, "Where to write the fine-tuned ONNX model")->required();
  finetune->add_option("--hook", fa.hook,
                       "Train with an external command instead of the built-in trainer, e.g. \"/usr/bin/python3 "
                       "tools/finetune/torch_hook.py {job}\" or \"torchrun --standalone --nproc_per_node=2 "
                       "tools/finetune/torch_hook.py {job}\" (no shell; {job} becomes the job folder; protocol in "
                       "api/finetune.h and the README)");
  finetune->add_option("--hook-timeout", fa.hookTimeout, "Seconds before the hook's process group is ended")->default_val(3600)
      ->check(CLI::Range(1, 1000000));
  finetune->add_flag("--json", fa.json, "Print the per-epoch figures as JSON");
  finetune->add_flag("--quiet", fa.quiet, "No per-epoch lines and no progress bar");
  finetune->add_option("--in-memory-mb", fa.inMemoryMb,
                       "Training data up to this size (preprocessed float32) is decoded once and held in memory; larger "
                       "data is streamed from its files every epoch (0: always stream)")
      ->default_val(1024)->check(CLI::Range(0, 1 << 30));

  auto* quantize = app.add_subcommand("quantize", "Quantize a model to int8 (QDQ ONNX) with calibration data");
  quantize->add_option("MODEL", modelPath, "ONNX model file")->required();
  quantize->add_option("--calib", qa.calib.path, "Calibration data (the forms of eval's --data; labels not needed)")->required();
  quantize->add_option("--preprocess", qa.calib.preprocess, "Preprocessing spec for the calibration data (see eval)");
  quantize->add_option("--limit", qa.calib.limit, "Use at most N calibration samples")->check(CLI::NonNegativeNumber);
  auto* quantizeShuffle = quantize->add_flag("--shuffle", qa.calib.shuffle, "Take a seeded random subset instead of the first samples");
  quantize->add_option("--seed", qa.calib.seed, "Seed for --shuffle")->default_val(0)->needs(quantizeShuffle);
  quantize->add_option("--output,-o", qa.out, "Where to write the QDQ ONNX model")->required();
  quantize->add_option("--calibrator", qa.calibrator, "minmax, percentile, entropy or mse")->default_val("minmax");
  quantize->add_option("--percentile", qa.percentile, "Percentile for --calibrator percentile")->default_val(99.99)
      ->check(CLI::Range(50.0, 100.0));
  quantize->add_flag("--per-tensor", qa.perTensor, "One weight scale per tensor instead of per output channel");
  quantize->add_option("--exclude", qa.exclude, "Comma-separated node names to keep in float");
  quantize->add_option("--for-targets", qa.forTargets,
                       "Comma-separated targets the model is for: a node none of them runs in int8 stays float "
                       "(default: every int8 form edgeopt has; compile passes its --targets)");
  quantize->add_flag("--json", qa.json, "Print the per-layer report as JSON (what --report writes) instead of the table");
  quantize->add_flag("--quiet", qa.quiet, "No progress on stderr (on a terminal a progress bar; otherwise a line when calibration starts)");
  quantize->add_option("--report", qa.reportPath,
                       "Also write a JSON report (ranges, scales, per-layer SQNR/cosine/sensitivity, int8 and float nodes)");
  quantize->add_option("--attribution-samples", qa.attributionSamples,
                       "Calibration samples used for per-layer error attribution and sensitivity; 0 (default) picks "
                       "the count by cost: about a quarter of the calibration time, or 2 s, 1 to 128 samples")->default_val(0)
      ->check(CLI::Range(int64_t{0}, int64_t{100000}));
  quantize->add_option("--target", qa.target,
                       "Target that runs calibration, sensitivity and the --max-drop/--min-sqnr measurements (x86: fast; "
                       "ref: the reference executor; the per-layer errors always use ref)")->default_val("x86");
  quantize->add_option("--threads", qa.threads, "Threads of --target (0, the default: every hardware thread)")
      ->default_val(0)->check(CLI::Range(0, 1024));
  quantize->add_flag("--sensitivity", qa.sensitivity,
                     "Also measure each layer's sensitivity: the model output's SQNR with only that layer in int8 "
                     "(one model run per layer and sample; --max-drop and --min-sqnr measure it anyway)");
  quantize->add_option("--max-drop", qa.maxDrop,
                       "Keep layers in float, most sensitive first, until the top-1 drop on --eval is at most this many points")
      ->check(CLI::Range(0.0, 100.0));
  quantize->add_option("--min-sqnr", qa.minSqnr,
                       "Keep layers in float, most sensitive first, until the SQNR (dB) of the model's outputs, int8 "
                       "against fp32, on --eval is at least this (for models without labels)");
  quantize->add_option("--eval", qa.eval.path,
                       "Evaluation data for --max-drop (labelled) or --min-sqnr (labels not needed); the forms of eval's --data");
  quantize->add_option("--eval-labels", qa.eval.labelsPath, "Labels for --eval");
  quantize->add_option("--eval-preprocess", qa.eval.preprocess, "Preprocessing for --eval (default: --preprocess; 'none' for none)");
  quantize->add_option("--eval-limit", qa.eval.limit, "Use at most N evaluation samples")->check(CLI::NonNegativeNumber);
  quantize->add_option("--eval-skip", qa.eval.skip, "Leave out the first N evaluation samples")->check(CLI::NonNegativeNumber);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    // An unknown first word is a command the user meant, not a missing one.
    const auto known = app.get_subcommands([](const CLI::App*) { return true; });
    const bool isCommand = argc > 1 && std::any_of(known.begin(), known.end(), [&](const CLI::App* c) {
      return c->get_name() == argv[1];
    });
    if (argc > 1 && argv[1][0] != '-' && !isCommand) {
      std::cerr << "edgeopt: error: unknown command '" << edgeopt::api::printable(argv[1])
                << "' (commands: inspect, run, optimize, eval, compile, bench, quantize, prune, finetune, report, split, exits; see edgeopt --help)\n";
      return kExitBadInput;
    }
    std::cerr << "edgeopt: error: " << edgeopt::api::printable(e.what()) << " (see edgeopt --help)\n";
    return kExitBadInput;
  }
  // The limits are read once, from the environment, where the options put them.
  if (!maxTensorBytes.empty()) ::setenv("EDGEOPT_MAX_TENSOR_BYTES", maxTensorBytes.c_str(), 1);
  if (!maxImagePixels.empty()) ::setenv("EDGEOPT_MAX_IMAGE_PIXELS", maxImagePixels.c_str(), 1);
  if (!maxModelBytes.empty()) ::setenv("EDGEOPT_MAX_MODEL_BYTES", maxModelBytes.c_str(), 1);
  try {
    if (*inspect) return cmdInspect(modelPath, json);
    if (*run) return cmdRun(modelPath, inputArgs, out, target, threads, iters, armCpu, runBatch, json);
    if (*bench) return cmdBench(modelPath, ba);
    if (*compile) {
      if (!recipe.empty())
        if (Status applied = edgeopt::cli::applyRecipe(*compile, recipe); !applied.ok()) return report(applied);
      if (modelPath.empty()) return report(edgeopt::invalidInput("compile needs MODEL (on the command line or as the recipe's model)"));
      if (ca.out.empty()) return report(edgeopt::invalidInput("compile needs -o OUTDIR (on the command line or as the recipe's output)"));
      ca.calibratorGiven = compile->count("--calibrator") > 0;
      ca.finetuneEpochsGiven = compile->count("--finetune-epochs") > 0;
      return cmdCompile(modelPath, ca);
    }
    if (*eval) return cmdEval(modelPath, evalArgs);
    if (*quantize) {
      qa.percentileGiven = quantize->count("--percentile") > 0;
      return cmdQuantize(modelPath, qa);
    }
    if (*prune) {
      pa.roundGiven = prune->count("--round") > 0;
      return cmdPrune(modelPath, pa);
    }
    if (*finetune) return cmdFinetune(modelPath, fa);
    if (*splitCmd) return cmdSplit(modelPath, sa);
    if (*exitsCmd) return cmdExits(modelPath, xa);
    if (*reportCmd) {
      auto diff = edgeopt::api::diffReportFiles(reportFiles[0], reportFiles[1]);
      if (!diff.ok()) return report(diff.status());
      if (!reportHtml.empty()) {
        std::error_code ec;
        for (const auto& input : reportFiles)
          if (std::filesystem::equivalent(reportHtml, input, ec))
            return report(edgeopt::invalidInput("--html " + reportHtml + " is one of the reports compared: give another path"));
        if (Status st = edgeopt::api::writeFileAtomically(reportHtml, edgeopt::api::reportDiffHtml(diff.value())); !st.ok()) return report(st);
      }
      std::cout << (reportJson ? edgeopt::api::reportDiffJson(diff.value()) + "\n"
                               : edgeopt::api::reportDiffText(diff.value(), ::isatty(STDOUT_FILENO) == 1));
      if (failOnWorse && diff->regressions > 0) {
        std::cerr << "edgeopt: " << diff->regressions << " figure(s) worse in B (exit 3)\n";
        return kExitBudgetBroken;
      }
      return kExitOk;
    }
    if (*optimize) {
      if (listPasses) {
        for (const auto& line : edgeopt::api::describePasses()) std::cout << line << "\n";
        return kExitOk;
      }
      if (modelPath.empty() || out.empty())
        return report(edgeopt::invalidInput("optimize needs MODEL and --output OUT.onnx (see edgeopt optimize --help)"));
      return cmdOptimize(modelPath, out, passList, verifyPasses, dumpAfter, shapeArgs, json);
    }
  } catch (const edgeopt::ir::TensorTooLarge& e) {  // a tensor sized by the input, past the limit
    std::cerr << "edgeopt: error: " << edgeopt::api::printable(e.what()) << "\n";
    return kExitBadInput;
  } catch (const std::exception& e) {
    std::cerr << "edgeopt: internal error: " << edgeopt::api::printable(e.what()) << "\n";
    return kExitInternal;
  }
  return kExitBadInput;
}
