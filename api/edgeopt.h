// The public C++ API of edgeopt: what the CLI is built on and what build systems link.
//
//   auto model = edgeopt::api::loadModel("model.onnx");          // import, check, canonicalise
//   auto outs  = edgeopt::api::runReference(*model, {{"x", t}});  // reference execution
//
// Every call returns Status/StatusOr; no exception crosses this API.
#pragma once

#include <map>
#include <string>

#include "api/bench.h"
#include "api/compile.h"
#include "api/evaluate.h"
#include "api/inspect.h"
#include "api/optimize.h"
#include "api/quantize.h"
#include "compiler/data/npy.h"
#include "compiler/ir/ir.h"
#include "compiler/ir/status.h"
#include "compiler/onnx/onnx_io.h"
#include "compiler/runtime/executor.h"
#include "compiler/support/files.h"
#include "compiler/support/text.h"

namespace edgeopt::api {

inline const char* version() { return "0.1.0"; }

// Writes `text` to `path` through a temporary file and a rename, so that a reader (or an
// interrupted run) sees the previous file or the new one, never a half-written one.
inline Status writeFileAtomically(const std::string& path, const std::string& text) {
  return support::writeFileAtomically(path, text);
}

// Writes a folder of outputs as a whole (support::OutputFolder's rules: only an absent or empty
// folder, or an earlier output of the same command, is replaced; locked; nothing left on failure).
inline Status writeOutputFolder(const std::string& dir, const std::string& command,
                                const std::vector<std::pair<std::string, std::string>>& files) {
  return support::writeOutputFolder(dir, command, files);
}
// The same rules, checked before the work that fills the folder (so that a refusal comes first).
inline Status checkOutputFolder(const std::string& dir, const std::string& command) {
  return support::checkOutputFolder(dir, command);
}

// Text from a model or a file system with its control characters escaped (one line, no terminal
// escape sequences): for messages that quote names or paths.
inline std::string printable(std::string_view text) { return support::printable(text); }

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
