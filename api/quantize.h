// Post-training int8 quantization for `edgeopt quantize` and the C++ API.
//
// quantizeModel cleans the graph up (the default pass pipeline), streams the calibration data
// through the reference executor while bounded-memory histograms (compiler/quant) observe the
// input and output of every Conv/Gemm/MatMul with constant weights, picks int8 parameters by the
// chosen calibrator, and rewrites the graph into QDQ form (passes/insert_qdq.h). The result is a
// standard ONNX model; prepareForExecution lowers QDQ models to edgeopt's int8 ops so that `run`
// and `eval` execute them with the int8 reference kernels (kernels/ref/quant.h).
#pragma once

#include <cmath>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "compiler/data/dataset.h"
#include "compiler/ir/ir.h"
#include "compiler/ir/status.h"
#include "compiler/quant/calibration.h"
#include "targets/target.h"

namespace edgeopt::api {

struct QuantizeOptions {
  data::DataOptions calib;
  quant::Calibrator calibrator = quant::Calibrator::kMinMax;
  double percentile = 99.99;
  bool perTensorWeights = false;
  std::vector<std::string> exclude;  // node names kept in float
  // The targets the model is quantized for (names from targets::registry()): a node none of them
  // runs in int8 (Target::runsInt8) stays in float. Empty: every int8 form edgeopt has.
  std::vector<std::string> forTargets;
  int64_t batchSize = 32;
  // The target that runs calibration, sensitivity and the mixed-precision measurements (a host
  // target: its int8 is bit-exact with the reference, its fp32 within float rounding, and it runs
  // nodes it has no kernel for with the reference kernels); the reference executor always
  // computes the per-layer errors (which compare values element by element).
  std::string target = "x86";
  int threads = 0;  // that target's threads; 0: every hardware thread
  // Sensitivity (the model output with only one layer in int8, per layer) costs one model run per
  // layer and sample: measured when asked, or when --max-drop / --min-sqnr need it.
  bool sensitivity = false;
  // Error attribution and sensitivity run on the first attributionSamples calibration samples;
  // 0 picks the count by cost (about a quarter of the calibration time, or 2 s; 1..128).
  int64_t attributionSamples = 0;
  // Mixed precision: with maxDrop >= 0 and labelled eval data, layers go back to float, most
  // sensitive first, until the top-1 drop on the eval data is at most maxDrop points.
  double maxDrop = -1;
  // Mixed precision for models without labels (detection, OCR, audio): layers go back to float,
  // most sensitive first, until the SQNR of the model's outputs (int8 vs fp32) over the eval data
  // is at least this many dB.
  std::optional<double> minSqnrDb;
  data::DataOptions eval;
  // Called after each calibration batch with the samples seen and the total (may be empty).
  std::function<void(int64_t done, int64_t total)> calibrationProgress;
};

// How one quantized layer's int8 output compares with fp32 (on calibration data), and how much
// the model output suffers with only this layer in int8.
struct LayerError {
  std::string node;
  double sqnrDb = 0;        // 10 log10(sum x^2 / sum (x - x_int8)^2) of the layer's output
  double cosine = 0;        // of the layer's output, int8 vs fp32
  double outputSqnrDb = 0;  // of the model output with only this layer in int8 (sensitivity); NaN if not measured
};

struct TensorRange {
  std::string name;
  float observedMin = 0, observedMax = 0;  // over the calibration data
  float lo = 0, hi = 0;                    // the range the calibrator chose
  float scale = 0;
  int32_t zeroPoint = 0;
};

struct QuantizeReport {
  std::string calibrator;
  int64_t calibrationSamples = 0;
  int64_t attributionSamples = 0;           // samples the per-layer errors were measured on
  double calibrationSeconds = 0, attributionSeconds = 0;  // wall time of the two stages
  std::vector<std::string> quantizedNodes;  // run in int8
  std::vector<std::string> floatNodes;      // Conv/Gemm/MatMul left in float, with the reason
  // The ops that still run in fp32 once the model is lowered for execution (no int8 form, or
  // not fed int8), op type -> count; Q/DQ and the float nodes above not counted.
  std::map<std::string, int64_t> fp32Ops;
  std::vector<TensorRange> tensors;
  std::vector<LayerError> layers;  // per int8 node, in graph order
  // Mixed precision (--max-drop): accuracies on the eval data and the layers kept in float.
  double fp32Top1 = -1, int8Top1 = -1;
  double outputSqnrDb = std::nan("");  // --min-sqnr: the final model's output SQNR on the eval data
  int64_t evalSamples = 0;
  std::vector<std::string> keptInFloat;  // "node: reason"
};

Status quantizeModel(ir::Model& model, const QuantizeOptions& options, QuantizeReport* report);
std::string quantizeReportJson(const QuantizeReport& report);
std::string quantizeReportTable(const QuantizeReport& report);

// For execution: a QDQ model has its int8 groups lowered to edgeopt's int8 ops (after fusing
// activations), those `target` runs in int8 (Target::runsInt8; null: all, the reference executor's
// view); *keptInFloat receives the nodes the target declined. Other models are left as they are.
Status prepareForExecution(ir::Model& model, const targets::Target* target = nullptr,
                           std::vector<std::string>* keptInFloat = nullptr);

}  // namespace edgeopt::api
