// `edgeopt compile`: the whole pipeline into one folder (../shared/ARCHITECTURE.md, artifacts):
// [prune -> fine-tune ->] cleanup -> model.opt.onnx; with calibration data, int8 PTQ -> model.int8.onnx; per target and
// precision, accuracy on the evaluation data, latency, size, memory and MACs -> report.json
// (schema "edgeopt.report/1"), report.md and report.html; for x86, x86/ with a small runner to build against
// find_package(edgeopt). The folder appears whole or not at all.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "api/budget.h"
#include "api/exits.h"
#include "api/finetune.h"
#include "api/prune.h"
#include "api/quantize.h"
#include "api/runner.h"
#include "compiler/data/dataset.h"
#include "compiler/ir/status.h"

namespace edgeopt::api {

inline constexpr const char* kReportSchema = "edgeopt.report/1";  // report.json's "schema"

// What compile reports while it runs: the stage ("fine-tune", "measure x86 int8", ...), the
// fraction of it done in [0, 1] (-1: unknown), a one-line detail, and whether the event is a
// milestone worth a line in a log (a stage's start or end, an epoch) rather than a step.
struct ProgressEvent {
  std::string stage;
  double fraction = -1;
  std::string detail;
  bool milestone = false;

  // Step `done` of `total` of a loop in `stage` (calibration, an evaluation), with the detail
  // "VERB done/total".
  static ProgressEvent step(std::string stage, const std::string& verb, int64_t done, int64_t total) {
    return {std::move(stage), total > 0 ? static_cast<double>(done) / static_cast<double>(total) : -1,
            verb + " " + std::to_string(done) + "/" + std::to_string(total), false};
  }
};

struct CompileOptions {
  std::vector<std::string> targets = {"x86"};  // names from targets::registry()
  // Compression stages before quantization, in this order (each optional): prune, then fine-tune
  // by distillation from the original (both on the model as imported, before the cleanup). Their data: prune.bnData, finetune.data
  // (training data, never the evaluation data).
  std::optional<PruneOptions> prune;
  std::optional<FinetuneOptions> finetune;
  // Early exits after quantization (on the int8 model when there is one): heads trained on
  // exits.data, thresholds chosen on its held-out part, model.exits.onnx written; with evaluation
  // data, the cascade is measured on x86 at batch 1 against the model without exits.
  std::optional<ExitOptions> exits;
  std::string armCpu = "cortex-a76";  // arm-neon accuracy: the CPU qemu emulates
  bool quantize = false;          // int8 when calibration data is given (quantizeOptions.calib)
  QuantizeOptions quantizeOptions;
  data::DataOptions eval;         // labelled evaluation data; empty path: no accuracy figures
  int64_t evalBatch = 32;
  // Latency inputs (symbolic dims 1). Their dims after the batch are also fixed in the compiled
  // models, so that a model with a symbolic width (PaddleOCR) can be emitted for arm-neon.
  std::map<std::string, std::vector<int64_t>> benchShapes;
  int benchIters = 20, benchWarmup = 3, threads = 1;
  // Per target name, settings of its artifact (--target-setting fpga-hls.cycles=2048); the
  // targets' settings and their meaning: `edgeopt compile --help`.
  std::map<std::string, std::map<std::string, std::string>> targetSettings;
  std::function<void(const ProgressEvent&)> progress;  // may be empty
  // Checked against the report before it is written (report.json "budgets"); compile itself
  // succeeds either way: the caller decides what a broken budget means (the CLI exits 3).
  std::vector<Budget> budgets;
};

// The channel multiple that suits every one of `targets` (TargetInfo::channelMultiple: their
// least common multiple): what compile rounds pruned channel counts to unless told otherwise.
StatusOr<int64_t> channelMultipleFor(const std::vector<std::string>& targets);

// One stage of the compression pipeline as the report shows it (fp32 on x86 unless int8).
struct StageRow {
  std::string stage;   // "original" (cleaned up), "pruned", "fine-tuned", "int8"
  double top1 = -1;    // on the evaluation data (-1: none given)
  int64_t macs = 0, parameters = 0, modelBytes = 0;
  double seconds = 0;  // the stage's own time (not its measurement)
};


// One target x precision row of the report.
struct CompileEntry {
  std::string target, precision, model;  // model: file name in the output folder
  int64_t evalSamples = 0;
  double top1 = -1, top5 = -1;            // -1: not measured (no --eval) or fewer than 5 classes
  std::vector<std::vector<int64_t>> benchDims;
  double latencyMedianMs = 0, latencyP90Ms = 0, latencyMinMs = 0;
  int64_t modelBytes = 0;                 // the ONNX file
  int64_t arenaBytes = 0, packedWeightBytes = 0;  // intermediates and packed weights (arm-neon: per sample)
  int64_t macs = 0;                       // per run at benchDims' batch of the summary (batch 1)
  bool latencyEstimated = false;          // arm-neon: a cost-model estimate, not a measurement
  // Per step, in run order: x86's measured profile (medians of the timed runs), an emulated
  // target's cost-model estimate (latencyEstimated); empty where the target has neither.
  std::vector<targets::LayerLatency> layers;
  std::string note;                       // what was not measured and why
  // int8 entries: nodes that have an int8 form but that this target runs in float (it declines
  // their int8 form, Target::runsInt8), as Node::describe gives them.
  std::vector<std::string> keptInFloat;
  std::optional<targets::Artifact::HardwareEstimate> hardware;  // hardware targets (fpga-hls): the artifact's estimate
};

// The early-exit stage: how the heads and thresholds were chosen, and the cascade on the
// evaluation data (x86, batch 1) when there is some.
struct CompileExits {
  std::string model;  // file name in the output folder
  std::string precision;
  ExitReport training;
  std::optional<ExitStats> evaluation;
};

struct CompileReport {
  std::string modelPath, version;
  int64_t parameters = 0;
  bool quantized = false;
  QuantizeReport quantization;
  // With a prune or fine-tune stage: one row per stage, and what each stage did.
  std::vector<StageRow> stages;
  std::optional<PruneResult> prune;
  std::optional<FinetuneResult> finetune;
  std::optional<CompileExits> exits;
  std::vector<BudgetCheck> budgets;
  std::vector<CompileEntry> entries;
  double peakRssMb = 0;  // the compile process's high-water mark
};

Status compile(const std::string& modelPath, const CompileOptions& options, const std::string& outDir,
               CompileReport* report);

std::string compileReportJson(const CompileReport& report);
std::string compileReportMarkdown(const CompileReport& report);
// One self-contained page (inline CSS and SVG plots; no script, nothing loaded): the results, the
// accuracy-latency trade-off, sizes, budgets, compression stages, per-layer int8 error and
// per-layer latency share per target.
std::string compileReportHtml(const CompileReport& report);

}  // namespace edgeopt::api
