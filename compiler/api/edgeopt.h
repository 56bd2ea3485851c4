// The public C++ API of edgeopt: what the CLI is built on and what build systems link.
//
//   auto model = edgeopt::api::loadModel("model.onnx");          // import, check, canonicalise
//   auto outs  = edgeopt::api::runReference(*model, {{"x", t}});  // reference execution
//
// Every call returns Status/StatusOr; no exception crosses this API.
#pragma once

#include <map>
#include <string>

#include "compiler/api/bench.h"
#include "compiler/api/compile.h"
#include "compiler/api/evaluate.h"
#include "compiler/api/inspect.h"
#include "compiler/api/optimize.h"
#include "compiler/api/quantize.h"
#include "compiler/data/npy.h"
#include "compiler/ir/ir.h"
#include "compiler/ir/status.h"
#include "compiler/onnx/onnx_io.h"
#include "compiler/runtime/executor.h"

namespace edgeopt::api {

inline const char* version() { return "0.1.0"; }

// Imports an ONNX file (see compiler/onnx/onnx_io.h for what is checked and converted).
inline StatusOr<ir::Model> loadModel(const std::string& path) { return onnx_io::importModel(path); }

// Runs the model with the reference executor; inputs and outputs by name. A QDQ model is first
// lowered to edgeopt's int8 ops (prepareForExecution), as `edgeopt run` and `eval` do.
inline StatusOr<std::map<std::string, ir::Tensor>> runReference(
    ir::Model& model, const std::map<std::string, ir::Tensor>& inputs) {
  EDGEOPT_RETURN_IF_ERROR(prepareForExecution(model));
  auto exec = runtime::Executor::create(*model.graph);
  if (!exec.ok()) return exec.status();
  return exec.value()->runNamed(inputs);
}

}  // namespace edgeopt::api
