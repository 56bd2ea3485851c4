#include "api/compile.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <numeric>
#include <filesystem>
#include <fstream>
#include <set>
#include <optional>
#include <nlohmann/json.hpp>

#include "api/bench.h"
#include "api/edgeopt.h"
#include "api/evaluate.h"
#include "api/inspect.h"
#include "api/optimize.h"
#include "compiler/onnx/onnx_io.h"
#include "compiler/support/files.h"

namespace edgeopt::api {
namespace fs = std::filesystem;

namespace {

// What compile writes into its output folder; an output written before manifests holds only these.
const std::set<std::string> kCompileOutputNames = {"model.opt.onnx", "model.int8.onnx", "model.exits.onnx", "report.json", "report.md",
                                                   "report.html", "x86", "arm_neon"};

int64_t fileBytes(const std::string& path) {
  std::error_code ec;
  const auto n = fs::file_size(path, ec);
  return ec ? 0 : static_cast<int64_t>(n);
}

// A loop's (done, total) reports as steps of compile's `stage` ("measure x86 int8: evaluate
// 64/500"); empty without a progress callback.
std::function<void(int64_t, int64_t)> stepProgress(const CompileOptions& options, const std::string& stage, const std::string& verb) {
  if (!options.progress) return {};
  return [&options, stage, verb](int64_t done, int64_t total) { options.progress(ProgressEvent::step(stage, verb, done, total)); };
}

void setAccuracy(const EvalResult& r, CompileEntry* e) {
  e->evalSamples = r.samples;
  e->top1 = static_cast<double>(r.top1Correct) / static_cast<double>(r.samples);
  if (r.top5Correct >= 0) e->top5 = static_cast<double>(r.top5Correct) / static_cast<double>(r.samples);
}

Status measure(const ir::Model& model, const std::string& target, const std::string& precision, const std::string& file,
               const CompileOptions& options, CompileEntry* e) {
  e->target = target;
  e->precision = precision;
  e->model = fs::path(file).filename().string();
  e->modelBytes = fileBytes(file);
  // One runner (model copy, cleanup, plans) serves the accuracy and the latency figures.
  const RunnerOptions ro = runnerOptionsFor(target, options.threads);
  EDGEOPT_ASSIGN_OR_RETURN(auto runner, ModelRunner::create(model, ro));
  if (!options.eval.path.empty()) {
    EvalOptions eo;
    eo.data = options.eval;
    eo.batchSize = options.evalBatch;
    eo.progress = stepProgress(options, "measure " + target + " " + precision, "evaluate");
    EDGEOPT_ASSIGN_OR_RETURN(EvalResult r, evaluate(model, *runner, eo));
    setAccuracy(r, e);
  }
  BenchOptions bo;
  bo.runner = ro;
  bo.inputShapes = options.benchShapes;
  bo.iters = options.benchIters;
  bo.warmup = options.benchWarmup;
  EDGEOPT_ASSIGN_OR_RETURN(BenchResult b, benchmark(model, *runner, bo));
  e->benchDims = b.inputDims;
  e->latencyMedianMs = b.medianMs;
  e->latencyP90Ms = b.p90Ms;
  e->latencyMinMs = b.minMs;
  e->arenaBytes = b.arenaBytes;
  e->packedWeightBytes = b.weightBytes;
  for (const StepProfile& step : b.steps) e->layers.push_back({step.node, step.op, step.medianMs});
  return Status::Ok();
}

// A target timed elsewhere (emulated here): the artifact's size and latency estimate, and the
// accuracy of the emulated executable when its tools are installed.
Status measureEmulated(const ir::Model& model, const targets::Target& target, const targets::Artifact& artifact,
                       const std::string& artifactDir, const std::string& precision, const std::string& file,
                       const CompileOptions& options, CompileEntry* e) {
  e->target = target.info().name;
  e->precision = precision;
  e->model = fs::path(file).filename().string();
  e->modelBytes = artifact.folder.empty() ? fileBytes(file) : artifact.bytes;
  e->packedWeightBytes = artifact.packedWeightBytes;
  e->arenaBytes = artifact.arenaBytes;
  if (artifact.estimatedLatencyMs >= 0) {
    e->latencyMedianMs = e->latencyP90Ms = e->latencyMinMs = artifact.estimatedLatencyMs;
    e->latencyEstimated = true;
    e->layers = artifact.estimatedLayers;
  }
  e->note = artifact.note;
  e->hardware = artifact.hardware;
  if (options.eval.path.empty()) return Status::Ok();
  if (Status tools = target.available(); !tools.ok()) {
    e->note += "; accuracy not measured: " + tools.message();
    return Status::Ok();
  }
  EvalOptions eo;
  eo.data = options.eval;
  eo.batchSize = std::max<int64_t>(options.evalBatch, 256);  // fewer emulator launches
  eo.runner = runnerOptionsFor(target.info().name, 1, options.armCpu);
  eo.progress = stepProgress(options, "measure " + target.info().name + " " + precision, "evaluate");
  if (!artifact.folder.empty()) eo.runner.artifactDir = artifactDir;
  EDGEOPT_ASSIGN_OR_RETURN(EvalResult r, evaluate(model, eo));
  setAccuracy(r, e);
  e->note += "; accuracy: " + target.info().description + (target.info().emulatesCpu ? ", emulating " + options.armCpu : "");
  return Status::Ok();
}

// Top-1 on the evaluation data on x86 (-1 without evaluation data).
StatusOr<double> x86Top1(const ir::Model& model, const CompileOptions& options, const std::string& stage) {
  if (options.eval.path.empty()) return -1.0;
  EvalOptions eo;
  eo.data = options.eval;
  eo.batchSize = options.evalBatch;
  eo.runner = runnerOptionsFor("x86", options.threads);
  eo.progress = stepProgress(options, "stage " + stage, "evaluate");
  EDGEOPT_ASSIGN_OR_RETURN(EvalResult r, evaluate(model, eo));
  return static_cast<double>(r.top1Correct) / static_cast<double>(r.samples);
}

// A stage's row; modelBytes < 0: serialize the model to count them. Without `measureTop1` the
// caller fills top1.
StatusOr<StageRow> stageRow(const std::string& stage, const ir::Model& model, double seconds, const CompileOptions& options,
                            int64_t modelBytes = -1, bool measureTop1 = true) {
  StageRow row;
  row.stage = stage;
  row.seconds = seconds;
  const ModelSummary s = summarize(model);
  row.macs = s.macs;
  row.parameters = s.parameters;
  row.modelBytes = modelBytes;
  if (modelBytes < 0) {
    EDGEOPT_ASSIGN_OR_RETURN(const std::string bytes, onnx_io::exportModelBytes(model));
    row.modelBytes = static_cast<int64_t>(bytes.size());
  }
  if (measureTop1) {
    EDGEOPT_ASSIGN_OR_RETURN(row.top1, x86Top1(model, options, stage));
  }
  return row;
}

double secondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// The prune and fine-tune stages on the imported `model`, in place, with a report row per stage.
Status compress(ir::Model& model, const CompileOptions& options, CompileReport* report) {
  auto progress = [&](const std::string& stage, double fraction, const std::string& detail, bool milestone) {
    if (options.progress) options.progress({stage, fraction, detail, milestone});
  };
  progress("evaluate original", -1, "", true);
  EDGEOPT_ASSIGN_OR_RETURN(StageRow original, stageRow("original", model, 0, options));
  report->stages.push_back(original);
  std::optional<ir::Model> teacher;
  if (options.finetune) teacher = ir::cloneModel(model);
  if (options.prune) {
    progress("prune", -1, "", true);
    const auto start = std::chrono::steady_clock::now();
    report->prune.emplace();
    EDGEOPT_RETURN_IF_ERROR(pruneModel(model, *options.prune, &*report->prune).withContext("prune"));
    EDGEOPT_ASSIGN_OR_RETURN(StageRow row, stageRow("pruned", model, secondsSince(start), options));
    report->stages.push_back(row);
  }
  if (options.finetune) {
    const FinetuneOptions& fo = *options.finetune;
    progress("fine-tune", 0, fo.hook.empty() ? "" : "hook: " + fo.hook, true);
    const auto start = std::chrono::steady_clock::now();
    FinetuneProgress fp;
    fp.step = [&](const train::StepLog& s) { progress("fine-tune", s.fraction(), s.describe(), false); };
    fp.epoch = [&](const train::EpochLog& e) {
      char detail[160];
      std::snprintf(detail, sizeof detail, "epoch %d/%d: loss %.4f, held-out top-1 %.2f %%, %.1f s", e.epoch,
                    fo.optimizer.epochs, e.loss, 100 * e.heldOutTop1, e.seconds);
      progress("fine-tune", static_cast<double>(e.epoch) / fo.optimizer.epochs, detail, true);
    };
    report->finetune.emplace();
    EDGEOPT_RETURN_IF_ERROR(finetuneModel(model, &*teacher, fo, &*report->finetune, fp).withContext("fine-tune"));
    EDGEOPT_ASSIGN_OR_RETURN(StageRow row, stageRow("fine-tuned", model, secondsSince(start), options));
    report->stages.push_back(row);
  }
  return Status::Ok();
}

// The early-exit stage on the last model of the pipeline (int8 when quantized): model.exits.onnx,
// and the cascade on the evaluation data, on x86 at batch 1 (the latency that exits save).
Status exitStage(const std::pair<std::string, ir::Model>& last, const CompileOptions& options, const std::string& tmp,
                 CompileReport* report) {
  if (options.progress) options.progress({"exits", -1, "", true});
  ir::Model multiExit = ir::cloneModel(last.second);
  ExitOptions eo = *options.exits;
  eo.runner = runnerOptionsFor("x86", options.threads);
  CompileExits exits;
  exits.model = "model.exits.onnx";
  exits.precision = last.first;
  EDGEOPT_RETURN_IF_ERROR(addExits(multiExit, eo, &exits.training));
  EDGEOPT_RETURN_IF_ERROR(onnx_io::exportModel(multiExit, tmp + "/" + exits.model));
  if (!options.eval.path.empty()) {
    if (options.progress) options.progress({"measure exits", -1, "", true});
    // The file the user gets, as eval would read it (import infers every value's shape).
    EDGEOPT_ASSIGN_OR_RETURN(const ir::Model written, onnx_io::importModel(tmp + "/" + exits.model));
    EDGEOPT_ASSIGN_OR_RETURN(exits.evaluation, evaluateExits(written, exits.training.policy, options.eval, eo.runner, 1));
  }
  report->exits = std::move(exits);
  return Status::Ok();
}

}  // namespace

StatusOr<int64_t> channelMultipleFor(const std::vector<std::string>& targetNames) {
  int64_t multiple = 1;
  for (const auto& name : targetNames) {
    EDGEOPT_ASSIGN_OR_RETURN(const targets::Target* target, targets::find(name));
    multiple = std::lcm(multiple, std::max<int64_t>(1, target->info().channelMultiple));
  }
  return multiple;
}

Status compile(const std::string& modelPath, const CompileOptions& options, const std::string& outDir,
               CompileReport* report) {
  if (options.targets.empty()) return invalidInput("--targets names no target");
  if (outDir.empty()) return invalidInput("compile needs -o OUTDIR");
  report->modelPath = modelPath;
  report->version = version();
  EDGEOPT_RETURN_IF_ERROR(support::checkOutputFolder(outDir, "compile", kCompileOutputNames));  // before any work: say so now
  for (const auto& [name, settings] : options.targetSettings) {
    if (std::find(options.targets.begin(), options.targets.end(), name) == options.targets.end())
      return invalidInput("--target-setting names target '" + name + "', which --targets does not");
    EDGEOPT_ASSIGN_OR_RETURN(const targets::Target* target, targets::find(name));
    const auto known = target->settings();
    for (const auto& setting : settings) {
      const std::string& key = setting.first;  // named: a C++17 lambda cannot capture a structured binding
      if (std::none_of(known.begin(), known.end(), [&](const targets::SettingInfo& s) { return s.key == key; })) {
        std::string keys;
        for (const auto& s : known) keys += (keys.empty() ? "" : ", ") + s.key;
        return invalidInput("--target-setting " + name + "." + key + ": " + name + " has no setting '" + key + "'" +
                            (keys.empty() ? " (it takes none)" : " (it takes: " + keys + ")"));
      }
    }
  }
  for (const Budget& b : options.budgets) {
    if (!b.target.empty() && std::find(options.targets.begin(), options.targets.end(), b.target) == options.targets.end())
      return invalidInput("--budget '" + b.text + "' names target " + b.target + ", which --targets does not");
    if (b.precision == "int8" && !options.quantize) return invalidInput("--budget '" + b.text + "' needs int8 results: give --calib");
  }
  // The folder is locked from here on; its working folder is removed unless compile succeeds.
  EDGEOPT_ASSIGN_OR_RETURN(const auto folder, support::OutputFolder::begin(outDir, "compile", kCompileOutputNames));
  const std::string tmp = folder->workDir();
  // --shape fixes the per-sample dims of the inputs it names (the emitted packages need them).
  onnx_io::ImportOptions io;
  io.fixInputDims = options.benchShapes;
  EDGEOPT_ASSIGN_OR_RETURN(ir::Model model, onnx_io::importModel(modelPath, io));
  // Compression runs on the model as imported: the cleanup folds BatchNorm (which pruning
  // re-estimates and fine-tuning trains) and fuses activations into edgeopt's own ops.
  if (options.prune || options.finetune) EDGEOPT_RETURN_IF_ERROR(compress(model, options, report));
  OptimizeReport cleanup;
  EDGEOPT_RETURN_IF_ERROR(optimize(model, {}, &cleanup));
  const ModelSummary summary = summarize(model);
  report->parameters = summary.parameters;
  auto progress = [&](const std::string& stage) {
    if (options.progress) options.progress({stage, -1, "", true});
  };

  const std::string optFile = tmp + "/model.opt.onnx";
  if (Status st = onnx_io::exportModel(model, optFile); !st.ok()) return st;
  std::vector<std::pair<std::string, ir::Model>> precisions;
  precisions.emplace_back("fp32", std::move(model));
  std::string int8File;
  if (options.quantize) {
    ir::Model q = ir::cloneModel(precisions.front().second);
    QuantizeOptions qo = options.quantizeOptions;
    if (qo.forTargets.empty()) qo.forTargets = options.targets;  // what none of them runs in int8 stays float
    progress("quantize");
    qo.calibrationProgress = stepProgress(options, "quantize", "calibrate");
    if (Status st = quantizeModel(q, qo, &report->quantization); !st.ok()) return st;
    report->quantized = true;
    int8File = tmp + "/model.int8.onnx";
    if (Status st = onnx_io::exportModel(q, int8File); !st.ok()) return st;
    if (!report->stages.empty()) {
      // Its top-1 is the x86 int8 row's (the same model, data and target), measured below.
      auto row = stageRow("int8", q, 0, options, fileBytes(int8File), /*measureTop1=*/false);
      if (!row.ok()) return row.status();
      report->stages.push_back(row.value());
    }
    precisions.emplace_back("int8", std::move(q));
  }
  for (const std::string& name : options.targets) {
    auto found = targets::find(name);
    if (!found.ok()) return found.status();
    const targets::Target& target = *found.value();
    const targets::TargetInfo& info = target.info();
    if (!info.fp32 && !options.quantize)
      return invalidInput("--targets " + name + " runs int8 models only: give calibration data (--calib)");
    // The artifact is made from the models prepared for this target: an fp32 model needs no
    // preparing; the int8 one is lowered with the int8 forms this target has.
    std::optional<ir::Model> int8Prepared;
    std::vector<std::string> keptInFloat;
    if (options.quantize) {
      int8Prepared = ir::cloneModel(precisions.back().second);
      if (Status st = prepareForExecution(*int8Prepared, &target, &keptInFloat); !st.ok()) return st.withContext(name);
    }
    targets::ArtifactInputs inputs;
    inputs.fp32 = &precisions.front().second;
    inputs.int8 = int8Prepared ? &*int8Prepared : nullptr;
    if (auto it = options.targetSettings.find(name); it != options.targetSettings.end()) inputs.settings = it->second;
    auto artifact = target.emit(inputs, tmp);
    if (!artifact.ok()) return artifact.status().withContext(name);
    for (auto& [precision, m] : precisions) {
      if ((precision == "fp32" && !info.fp32) || (precision == "int8" && !info.int8)) continue;
      progress("measure " + name + " " + precision);
      CompileEntry e;
      const std::string file = precision == "int8" ? int8File : optFile;
      Status st = info.emulated ? measureEmulated(m, target, artifact.value(), tmp + "/" + artifact->folder, precision, file, options, &e)
                                : measure(m, name, precision, file, options, &e);
      if (!st.ok()) return st.withContext(name + " " + precision);
      e.macs = summary.macs;
      if (precision == "int8") e.keptInFloat = keptInFloat;
      report->entries.push_back(std::move(e));
    }
  }
  if (options.exits) EDGEOPT_RETURN_IF_ERROR(exitStage(precisions.back(), options, tmp, report).withContext("exits"));
  if (!report->stages.empty() && report->stages.back().stage == "int8") {
    StageRow& int8Stage = report->stages.back();
    for (const CompileEntry& e : report->entries)
      if (e.target == "x86" && e.precision == "int8") int8Stage.top1 = e.top1;
    if (int8Stage.top1 < 0 && !options.eval.path.empty()) {  // x86 was not among the targets
      auto top1 = x86Top1(precisions.back().second, options, "int8");
      if (!top1.ok()) return top1.status();
      int8Stage.top1 = top1.value();
    }
  }
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  report->peakRssMb = static_cast<double>(ru.ru_maxrss) / 1024.0;
  report->budgets = checkBudgets(options.budgets, *report);
  if (Status st = support::writeFileAtomically(tmp + "/report.json", compileReportJson(*report) + "\n"); !st.ok())
    return st;
  if (Status st = support::writeFileAtomically(tmp + "/report.md", compileReportMarkdown(*report)); !st.ok()) return st;
  if (Status st = support::writeFileAtomically(tmp + "/report.html", compileReportHtml(*report)); !st.ok()) return st;
  return folder->commit();
}

std::string compileReportJson(const CompileReport& r) {
  nlohmann::json j;
  j["schema"] = kReportSchema;
  j["edgeopt_version"] = r.version;
  j["model"] = r.modelPath;
  j["parameters"] = r.parameters;
  j["peak_rss_mb"] = r.peakRssMb;
  nlohmann::json entries = nlohmann::json::array();
  for (const auto& e : r.entries) {
    nlohmann::json x = {{"target", e.target},
                        {"precision", e.precision},
                        {"model", e.model},
                        {"model_bytes", e.modelBytes},
                        {"macs", e.macs},
                        {"latency_ms", {{"median", e.latencyMedianMs}, {"p90", e.latencyP90Ms}, {"min", e.latencyMinMs}}},
                        {"bench_input_dims", e.benchDims},
                        {"memory_bytes", {{"arena", e.arenaBytes}, {"packed_weights", e.packedWeightBytes}}}};
    if (e.latencyEstimated) x["latency_ms"]["estimated"] = true;
    if (!e.note.empty()) x["note"] = e.note;
    if (e.precision == "int8") x["kept_in_float"] = e.keptInFloat;
    if (!e.layers.empty()) {
      nlohmann::json layers = nlohmann::json::array();
      for (const auto& l : e.layers) layers.push_back({{"node", l.node}, {"op", l.op}, {"ms", l.ms}});
      x["layers"] = layers;
    }
    if (const auto& hw = e.hardware) {
      nlohmann::json res = nlohmann::json::object();
      for (const auto& r : hw->resources) res[r.name] = {{"estimate", r.estimate}, {"capacity", r.capacity}};
      x["hardware"] = {{"part", hw->part},
                       {"clock_mhz", hw->clockMhz},
                       {"cycles_per_frame", hw->cyclesPerFrame},
                       {"latency_cycles_upper_bound", hw->latencyCycles},
                       {"resources", res},
                       {"fits", hw->fits}};
    }
    if (e.evalSamples > 0) {
      x["accuracy"] = {{"samples", e.evalSamples}, {"top1", e.top1}};
      if (e.top5 >= 0) x["accuracy"]["top5"] = e.top5;
    }
    entries.push_back(x);
  }
  j["results"] = entries;
  if (!r.stages.empty()) {
    nlohmann::json stages = nlohmann::json::array();
    for (const auto& s : r.stages) {
      nlohmann::json x = {{"stage", s.stage}, {"macs", s.macs}, {"parameters", s.parameters}, {"model_bytes", s.modelBytes},
                          {"seconds", s.seconds}};
      if (s.top1 >= 0) x["top1"] = s.top1;
      stages.push_back(x);
    }
    j["stages"] = stages;
  }
  if (!r.budgets.empty()) {
    nlohmann::json budgets = nlohmann::json::array();
    for (const auto& c : r.budgets) {
      nlohmann::json x = {{"budget", c.budget.text}, {"metric", c.budget.metric}, {"op", c.budget.op},
                          {"limit", c.budget.limit}, {"unit", budgetUnit(c.budget.metric)}, {"passed", c.passed}};
      if (!c.target.empty()) x["target"] = c.target;
      if (!c.precision.empty()) x["precision"] = c.precision;
      if (c.measured) x["value"] = c.value;
      if (!c.detail.empty()) x["detail"] = c.detail;
      budgets.push_back(x);
    }
    j["budgets"] = budgets;
  }
  if (r.prune) j["prune"] = nlohmann::json::parse(pruneResultJson(*r.prune));
  if (r.finetune) j["finetune"] = nlohmann::json::parse(finetuneResultJson(*r.finetune));
  if (r.exits) {
    nlohmann::json x = {{"model", r.exits->model}, {"precision", r.exits->precision},
                        {"training", nlohmann::json::parse(exitReportJson(r.exits->training))}};
    if (r.exits->evaluation) {
      x["evaluation"] = nlohmann::json::parse(exitStatsJson(r.exits->training.policy, *r.exits->evaluation));
      x["evaluation"]["target"] = "x86";
      x["evaluation"]["batch"] = 1;
    }
    j["exits"] = x;
  }
  if (r.quantized) j["quantization"] = nlohmann::json::parse(quantizeReportJson(r.quantization));
  return j.dump(2);
}

namespace {
// A fraction as a percentage rounded to two decimals ("90.52%"), "-" when not measured (< 0).
std::string percent(double fraction) {
  if (fraction < 0) return "-";
  char b[32];
  std::snprintf(b, sizeof b, "%.2f%%", 100 * fraction);
  return b;
}

// The early-exit section: per exit its place, threshold and cost, and (with evaluation data) how
// many samples left there and how many of those were right.
std::string exitsMarkdown(const CompileExits& x) {
  const ExitPolicy& p = x.training.policy;
  const ExitStats* ev = x.evaluation ? &*x.evaluation : nullptr;
  auto share = [&](double macs) { return p.backboneMacs > 0 ? macs / static_cast<double>(p.backboneMacs) : 0.0; };
  char line[512];
  std::string s = "\n## Early exits\n\n" + x.model + " (" + x.precision + "): " + std::to_string(p.exits.size()) +
                  " exits, thresholds chosen on " + std::to_string(x.training.calibrationSamples) + " held-out training samples";
  std::snprintf(line, sizeof line, " (top-1 %.2f %% against %.2f %% without exits, %.3fx MACs; checked on %lld more: %.2f %% against %.2f %%).\n\n",
                100 * x.training.calibration.cascadeTop1(), 100 * x.training.calibration.finalTop1(), share(x.training.calibration.averageMacs),
                static_cast<long long>(x.training.checkSamples), 100 * x.training.check.cascadeTop1(), 100 * x.training.check.finalTop1());
  s += line;
  s += std::string("| exit | tensor | threshold | MACs (share) |") + (ev ? " rate | accuracy |" : "") + "\n|---|---|---|---|" + (ev ? "---|---|" : "") + "\n";
  for (size_t e = 0; e <= p.exits.size(); ++e) {
    const bool last = e == p.exits.size();
    char threshold[32] = "-";
    if (!last) std::snprintf(threshold, sizeof threshold, p.exits[e].threshold > 1 ? "never" : "%.3f", p.exits[e].threshold);
    std::snprintf(line, sizeof line, "| %s | %s | %s | %.3f |", last ? p.finalOutput.c_str() : p.exits[e].output.c_str(),
                  last ? "-" : p.exits[e].tensor.c_str(), threshold, share(static_cast<double>(last ? p.finalMacs : p.exits[e].macs)));
    s += line;
    if (ev) {
      std::snprintf(line, sizeof line, " %.2f %% | %s |", 100 * ev->rate(e), ev->accuracy(e) >= 0 ? percent(ev->accuracy(e)).c_str() : "-");
      s += line;
    }
    s += "\n";
  }
  if (ev) {
    std::snprintf(line, sizeof line, "\nOn the evaluation data (%lld samples, x86, batch 1): top-1 %s with exits, %s without; average MACs "
                  "%.3fx; %.4f ms per sample with exits, %.4f ms without (%.3fx).\n", static_cast<long long>(ev->samples),
                  percent(ev->cascadeTop1()).c_str(), percent(ev->finalTop1()).c_str(), share(ev->averageMacs),
                  ev->cascadeMsPerSample, ev->backboneMsPerSample, ev->backboneMsPerSample > 0 ? ev->cascadeMsPerSample / ev->backboneMsPerSample : 0.0);
    s += line;
  }
  return s;
}
}  // namespace

std::string compileReportMarkdown(const CompileReport& r) {
  std::string s = "# edgeopt report: " + fs::path(r.modelPath).filename().string() + "\n\n";
  s += "Generated by `edgeopt compile` " + r.version + " (schema " + kReportSchema + "; the same figures are in report.json).\n\n";
  s += "| target | precision | top-1 | top-5 | latency median (ms) | p90 (ms) | model size (KB) | arena (KB) | packed weights (KB) | MACs |\n";
  s += "|---|---|---|---|---|---|---|---|---|---|\n";
  char line[512];
  for (const auto& e : r.entries) {
    auto pct = percent;
    std::snprintf(line, sizeof line, "| %s | %s | %s | %s | %s%.3f | %s%.3f | %.1f | %.1f | %.1f | %lld |\n", e.target.c_str(),
                  e.precision.c_str(), pct(e.top1).c_str(), pct(e.top5).c_str(), e.latencyEstimated ? "~" : "",
                  e.latencyMedianMs, e.latencyEstimated ? "~" : "", e.latencyP90Ms,
                  e.modelBytes / 1024.0, e.arenaBytes / 1024.0, e.packedWeightBytes / 1024.0, static_cast<long long>(e.macs));
    s += line;
  }
  if (!r.entries.empty()) {
    std::string dims;
    for (const auto& d : r.entries[0].benchDims) dims += (dims.empty() ? "" : ", ") + ir::dimsToString(d);
    s += "\nLatency: median and p90 of timed runs after warm-up, one input of " + dims +
         ", on the machine that ran compile (compare figures from one run on one machine). Accuracy: on the "
         "evaluation data given to compile" + std::string(r.entries[0].evalSamples ? " (" + std::to_string(r.entries[0].evalSamples) + " samples)" : " (none given)") +
         ". MACs: Conv/Gemm/MatMul at batch 1.\n";
  }
  for (const auto& e : r.entries)
    if (!e.note.empty()) s += "\n" + e.target + ": " + e.note + ".\n";
  if (!r.budgets.empty()) {
    s += "\n## Budgets\n\n| budget | result | measured |\n|---|---|---|\n";
    for (const auto& c : r.budgets) s += "| `" + c.budget.text + "` | " + (c.passed ? "pass" : "**FAIL**") + " | " + describeCheck(c) + " |\n";
  }
  if (!r.stages.empty()) {
    s += "\n## Compression stages\n\nTop-1 on x86 (fp32; int8 for the int8 stage) on the evaluation data; MACs at batch 1; "
         "size of the ONNX file; time of the stage itself.\n\n";
    s += "| stage | top-1 | MACs | parameters | size (KB) | time (s) |\n|---|---|---|---|---|---|\n";
    for (const auto& st : r.stages) {
      std::snprintf(line, sizeof line, "| %s | %s | %lld | %lld | %.1f | %.1f |\n", st.stage.c_str(),
                    percent(st.top1).c_str(), static_cast<long long>(st.macs),
                    static_cast<long long>(st.parameters), st.modelBytes / 1024.0, st.seconds);
      s += line;
    }
    if (r.prune) {
      int64_t weights = 0, zeros = 0;
      for (const auto& l : r.prune->sparsity) weights += l.weights, zeros += l.zeros;
      std::snprintf(line, sizeof line, "\nPruning: %lld channels removed; %lld of %lld Conv/Gemm/MatMul weights zero (%.1f %%; per layer "
                    "and per channel group in report.json).\n", static_cast<long long>(r.prune->channels.removedChannels),
                    static_cast<long long>(zeros), static_cast<long long>(weights), weights ? 100.0 * zeros / weights : 0.0);
      s += line;
    }
    if (r.finetune && r.finetune->heldOutSamples) {
      std::snprintf(line, sizeof line, "\nFine-tuning: %lld training samples, %lld held out (teacher %.2f %%, student before %.2f %%, "
                    "kept epoch %.2f %% held-out top-1).\n", static_cast<long long>(r.finetune->trainSamples),
                    static_cast<long long>(r.finetune->heldOutSamples), 100 * r.finetune->teacherHeldOutTop1,
                    100 * r.finetune->studentHeldOutTop1Before, 100 * r.finetune->studentHeldOutTop1After);
      s += line;
    }
  }
  if (r.exits) s += exitsMarkdown(*r.exits);
  for (const auto& e : r.entries) {
    if (!e.hardware) continue;
    const auto& hw = *e.hardware;
    s += "\n" + e.target + " on " + hw.part + " at " + std::to_string(static_cast<int>(hw.clockMhz)) +
         " MHz (estimate): one frame every " + std::to_string(hw.cyclesPerFrame) + " cycles, latency at most " +
         std::to_string(hw.latencyCycles) + " cycles; " + (hw.fits ? "fits" : "**does not fit**") + ":";
    for (const auto& res : hw.resources)
      s += " " + res.name + " " + std::to_string(res.estimate) + "/" + std::to_string(res.capacity) + " (" +
           std::to_string(res.capacity > 0 ? (100 * res.estimate + res.capacity / 2) / res.capacity : 0) + "%)";
    s += ".\n";
  }
  for (const auto& e : r.entries) {
    if (e.keptInFloat.empty()) continue;
    s += "\n" + e.target + " int8: " + std::to_string(e.keptInFloat.size()) +
         " node(s) with an int8 form run in float on this target (it has no int8 kernel for them):\n";
    for (const auto& n : e.keptInFloat) s += "- " + n + "\n";
  }
  if (r.quantized) {
    const auto& q = r.quantization;
    std::snprintf(line, sizeof line, "\n## int8\n\nCalibrator %s on %lld samples; %zu nodes in int8.\n", q.calibrator.c_str(),
                  static_cast<long long>(q.calibrationSamples), q.quantizedNodes.size());
    s += line;
    if (!q.floatNodes.empty()) {
      s += "\nKept in float:\n";
      for (const auto& n : q.floatNodes) s += "- " + n + "\n";
    }
    if (!q.fp32Ops.empty()) {
      s += "\nfp32 ops between DequantizeLinear/QuantizeLinear:";
      for (const auto& [op, n] : q.fp32Ops) s += " " + op + " x" + std::to_string(n);
      s += "\n";
    }
  }
  return s;
}

}  // namespace edgeopt::api
