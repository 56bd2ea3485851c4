// ONNX front end and back end: ModelProto files <-> edgeopt IR.
//
// Import contract: the file is parsed, external tensor data is loaded (only from inside the
// model's folder), the libonnx checker must accept the model, the default-domain opset is
// converted to kCanonicalOpset with the libonnx version converter, and libonnx shape inference
// annotates every value it can. Everything downstream (passes, executor, targets) may therefore
// assume opset-17 operator semantics for the default domain.
//
// Export contract: the ModelProto written for an IR model passes the libonnx checker; tensors are
// stored inline (raw_data). Files are written atomically: on failure nothing is left behind.
#pragma once

#include <map>
#include <string>

#include "compiler/ir/ir.h"
#include "compiler/ir/status.h"

namespace edgeopt::onnx_io {

// The opset of the default ONNX domain that every imported model is converted to.
constexpr int64_t kCanonicalOpset = 17;
// Models of an older opset that edgeopt's own upgrade cannot take (an operator outside its table)
// go through libonnx's version converter, whose time grows with the square of the node count: up
// to this many top-level nodes.
constexpr int kMaxConverterNodes = 10000;
// The most bytes a model may bring in: its .onnx file plus every external-data range it names,
// checked against the file sizes before anything is read. 4 GiB unless EDGEOPT_MAX_MODEL_BYTES (a
// positive integer; the CLI's --max-model-bytes sets it) says otherwise. A .onnx file itself is
// also bounded by protobuf's 2 GiB per message, whatever this limit.
constexpr int64_t kMaxModelBytes = int64_t{4} << 30;
int64_t maxModelBytes();

struct ImportOptions {
  bool runChecker = true;
  bool convertOpset = true;
  bool inferShapes = true;
  // Graph input name -> dims: the input's dims after dim 0 are set to these before shape inference
  // (dim 0, the batch, stays as the model has it), e.g. a PaddleOCR model's symbolic width, for
  // targets that need every per-sample dim. A rank or a fixed dim that disagrees is an error.
  std::map<std::string, std::vector<int64_t>> fixInputDims;
};

// Errors name the file: "model.onnx: not an ONNX model (protobuf parse failed)".
StatusOr<ir::Model> importModel(const std::string& path, const ImportOptions& options = {});

// Serialized ModelProto bytes; checks the result with the libonnx checker.
StatusOr<std::string> exportModelBytes(const ir::Model& model);
Status exportModel(const ir::Model& model, const std::string& path);

// One serialized TensorProto (the ONNX test-data format: input_0.pb, output_0.pb).
StatusOr<ir::Tensor> readTensorProtoFile(const std::string& path, std::string* name = nullptr);
Status writeTensorProtoFile(const ir::Tensor& tensor, const std::string& name,
                            const std::string& path);

}  // namespace edgeopt::onnx_io
