// Post-training int8 quantization for `edgeopt quantize` and the C++ API.
//
// quantizeModel cleans the graph up (the default pass pipeline), streams the calibration data
// through the reference executor while bounded-memory histograms (compiler/quant) observe the
// input and output of every Conv/Gemm/MatMul with constant weights, picks int8 parameters by the
// chosen calibrator, and rewrites the graph into QDQ form (passes/insert_qdq.h). The result is a
// standard ONNX model; prepareForExecution lowers QDQ models to edgeopt's int8 ops so that `run`
// and `eval` execute them with the int8 reference kernels (kernels/ref/quant.h).
#pragma once

#include <string>
#include <vector>

#include "compiler/data/dataset.h"
#include "compiler/ir/ir.h"
#include "compiler/ir/status.h"
#include "compiler/quant/calibration.h"

namespace edgeopt::api {

struct QuantizeOptions {
  data::DataOptions calib;
  quant::Calibrator calibrator = quant::Calibrator::kMinMax;
  double percentile = 99.99;
  bool perTensorWeights = false;
  std::vector<std::string> exclude;  // node names kept in float
  int64_t batchSize = 32;
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
  std::vector<std::string> quantizedNodes;  // run in int8
  std::vector<std::string> floatNodes;      // Conv/Gemm/MatMul left in float, with the reason
  std::vector<TensorRange> tensors;
};

Status quantizeModel(ir::Model& model, const QuantizeOptions& options, QuantizeReport* report);
std::string quantizeReportJson(const QuantizeReport& report);

// For execution with the reference executor: a QDQ model has its Conv/Gemm/MatMul lowered to
// edgeopt's int8 ops (after fusing activations); other models are left as they are.
Status prepareForExecution(ir::Model& model);

}  // namespace edgeopt::api
