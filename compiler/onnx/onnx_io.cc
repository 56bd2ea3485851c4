#include "compiler/onnx/onnx_io.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <onnx/checker.h>
#include <onnx/onnx_pb.h>
#include <onnx/proto_utils.h>
#include <onnx/shape_inference/implementation.h>
#include <onnx/version_converter/convert.h>

#include <cstring>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <unordered_set>

#include "compiler/ir/edgeopt_ops.h"
#include "compiler/onnx/control_flow.h"
#include "compiler/onnx/opset_upgrade.h"
#include "compiler/onnx/proto_edit.h"
#include "compiler/support/files.h"

namespace edgeopt::onnx_io {
namespace fs = std::filesystem;
using ir::DType;
using support::readFile;
using support::writeFileAtomically;

namespace {

// Resolves an external-data location relative to the model's folder. Absolute paths, paths
// that climb out of the folder ("..") and symlinks that lead outside it are refused.
StatusOr<fs::path> resolveExternalLocation(const fs::path& modelDir, const std::string& location) {
  fs::path loc(location);
  if (location.empty()) return invalidInput("external data has an empty location");
  if (loc.is_absolute() || loc.has_root_name() || loc.has_root_directory())
    return invalidInput("external data location '" + location +
                        "' is absolute; it must be relative to the model's folder");
  for (const auto& part : loc.lexically_normal())
    if (part == "..")
      return invalidInput("external data location '" + location +
                          "' escapes the model's folder");
  std::error_code ec;
  fs::path base = fs::weakly_canonical(modelDir, ec);
  fs::path full = fs::weakly_canonical(modelDir / loc, ec);
  if (ec) return ioError("external data '" + location + "': " + ec.message());
  auto rel = full.lexically_relative(base);
  if (rel.empty() || *rel.begin() == "..")
    return invalidInput("external data location '" + location +
                        "' resolves outside the model's folder");
  return full;
}

// Bytes a model may still bring in (maxModelBytes() minus what is read so far).
struct ModelBytesBudget {
  int64_t left;
  Status take(int64_t bytes, const std::string& what) {
    if (bytes > left)
      return invalidInput(what + " would take the model past the limit of " + std::to_string(maxModelBytes()) +
                          " bytes (its file plus external data; set EDGEOPT_MAX_MODEL_BYTES or --max-model-bytes "
                          "to allow more)");
    left -= bytes;
    return Status::Ok();
  }
};

Status loadExternalData(onnx::TensorProto* t, const fs::path& modelDir, ModelBytesBudget& budget) {
  if (t->data_location() != onnx::TensorProto::EXTERNAL) return Status::Ok();
  std::string location;
  int64_t offset = 0, length = -1;
  for (const auto& kv : t->external_data()) {
    try {
      if (kv.key() == "location") location = kv.value();
      else if (kv.key() == "offset") offset = std::stoll(kv.value());
      else if (kv.key() == "length") length = std::stoll(kv.value());
    } catch (const std::exception&) {
      return invalidInput("tensor '" + t->name() + "': bad external data " + kv.key() + " '" +
                          kv.value() + "'");
    }
  }
  auto where = resolveExternalLocation(modelDir, location);
  if (!where.ok()) return where.status().withContext("tensor '" + t->name() + "'");
  if (Status regular = support::checkRegularFile(where.value().string()); !regular.ok())
    return regular.withContext("tensor '" + t->name() + "': external data");
  std::ifstream in(where.value(), std::ios::binary);
  if (!in) return ioError("tensor '" + t->name() + "': cannot open external data file '" +
                          where.value().string() + "'");
  in.seekg(0, std::ios::end);
  int64_t fileSize = in.tellg();
  if (offset < 0 || offset > fileSize || (length >= 0 && length > fileSize - offset))  // no offset + length: it may wrap
    return invalidInput("tensor '" + t->name() + "': external data range [" +
                        std::to_string(offset) + ", +" + std::to_string(length) +
                        ") lies outside '" + location + "' (" + std::to_string(fileSize) +
                        " bytes)");
  if (length < 0) length = fileSize - offset;
  // A dense tensor's bytes follow from its dims: a range of another size is refused before
  // anything is read (a 2 GB file behind a 4-value tensor is not loaded to find that out).
  if (ir::isDenseDType(static_cast<DType>(t->data_type()))) {
    const std::vector<int64_t> dims(t->dims().begin(), t->dims().end());
    const size_t elementBytes = ir::dtypeSize(static_cast<DType>(t->data_type()));
    const auto count = std::all_of(dims.begin(), dims.end(), [](int64_t d) { return d >= 0; })
                           ? ir::checkedNumElements(dims, elementBytes)
                           : std::nullopt;
    if (!count || *count * static_cast<int64_t>(elementBytes) != length)
      return invalidInput("tensor '" + t->name() + "': its dims " + ir::dimsToString(dims) + " need " +
                          (count ? std::to_string(*count * static_cast<int64_t>(elementBytes)) + " bytes" : "more bytes than fit in memory") +
                          " but its external data in '" + location + "' holds " + std::to_string(length));
  }
  EDGEOPT_RETURN_IF_ERROR(budget.take(length, "tensor '" + t->name() + "': " + std::to_string(length) +
                                                  " bytes of external data from '" + location + "'"));
  std::string bytes(static_cast<size_t>(length), '\0');
  in.seekg(offset);
  in.read(bytes.data(), length);
  if (!in) return ioError("tensor '" + t->name() + "': reading '" + location + "' failed");
  t->set_raw_data(std::move(bytes));
  t->clear_external_data();
  t->set_data_location(onnx::TensorProto::DEFAULT);
  return Status::Ok();
}

Status loadAllExternalData(onnx::GraphProto* g, const fs::path& modelDir, ModelBytesBudget& budget) {
  for (auto& t : *g->mutable_initializer()) EDGEOPT_RETURN_IF_ERROR(loadExternalData(&t, modelDir, budget));
  for (auto& n : *g->mutable_node())
    for (auto& a : *n.mutable_attribute()) {
      if (a.has_t()) EDGEOPT_RETURN_IF_ERROR(loadExternalData(a.mutable_t(), modelDir, budget));
      for (auto& t : *a.mutable_tensors()) EDGEOPT_RETURN_IF_ERROR(loadExternalData(&t, modelDir, budget));
      if (a.has_g()) EDGEOPT_RETURN_IF_ERROR(loadAllExternalData(a.mutable_g(), modelDir, budget));
    }
  return Status::Ok();
}

template <typename Dst, typename Field>
void copyField(const Field& field, ir::Tensor& t) {
  Dst* out = t.data<Dst>();
  int64_t n = std::min<int64_t>(t.numel(), field.size());
  for (int64_t i = 0; i < n; ++i) out[i] = static_cast<Dst>(field.Get(static_cast<int>(i)));
}

}  // namespace

StatusOr<ir::Tensor> tensorFromProto(const onnx::TensorProto& p) {
  DType dtype = static_cast<DType>(p.data_type());
  std::string what = "tensor '" + p.name() + "'";
  if (!ir::isDenseDType(dtype))
    return unsupported(what + ": element type " + std::to_string(p.data_type()) +
                       " is not supported");
  if (p.data_location() == onnx::TensorProto::EXTERNAL)
    return internalError(what + ": external data was not loaded");
  std::vector<int64_t> dims(p.dims().begin(), p.dims().end());
  for (int64_t d : dims)
    if (d < 0) return invalidInput(what + ": negative dimension");
  // The declared size is checked against the data present before anything is allocated, and its
  // element count for overflow (a product that wraps would pass a size check and then be indexed).
  const std::optional<int64_t> elements = ir::checkedNumElements(dims, ir::dtypeSize(dtype));
  if (!elements)
    return invalidInput(what + ": shape " + ir::dimsToString(dims) + " has more elements than fit in memory");
  const int64_t bytes = *elements * static_cast<int64_t>(ir::dtypeSize(dtype));
  if (p.has_raw_data()) {
    if (static_cast<int64_t>(p.raw_data().size()) != bytes)
      return invalidInput(what + ": raw data holds " + std::to_string(p.raw_data().size()) + " bytes, shape " +
                          ir::dimsToString(dims) + " of " + ir::dtypeName(dtype) + " needs " + std::to_string(bytes));
    ir::Tensor t(dtype, dims);
    if (t.byteSize() > 0) std::memcpy(t.rawData(), p.raw_data().data(), t.byteSize());  // memcpy of null is undefined even for 0 bytes
    return t;
  }
  int64_t count = 0;
  switch (dtype) {
    case DType::kFloat32: count = p.float_data_size(); break;
    case DType::kFloat64: count = p.double_data_size(); break;
    case DType::kInt64: count = p.int64_data_size(); break;
    case DType::kUInt64: case DType::kUInt32: count = p.uint64_data_size(); break;
    case DType::kInt32: case DType::kInt16: case DType::kUInt16: case DType::kFloat16: case DType::kBFloat16:
    case DType::kInt8: case DType::kUInt8: case DType::kBool: count = p.int32_data_size(); break;
    default: return unsupported(what + ": element type not supported");
  }
  if (count != *elements)
    return invalidInput(what + ": holds " + std::to_string(count) + " values, shape " + ir::dimsToString(dims) +
                        " needs " + std::to_string(*elements));
  ir::Tensor t(dtype, dims);
  switch (dtype) {
    case DType::kFloat32: copyField<float>(p.float_data(), t); break;
    case DType::kFloat64: copyField<double>(p.double_data(), t); break;
    case DType::kInt64: copyField<int64_t>(p.int64_data(), t); break;
    case DType::kUInt64: copyField<uint64_t>(p.uint64_data(), t); break;
    case DType::kUInt32: copyField<uint32_t>(p.uint64_data(), t); break;
    case DType::kInt32: copyField<int32_t>(p.int32_data(), t); break;
    case DType::kInt16: copyField<int16_t>(p.int32_data(), t); break;
    case DType::kUInt16: case DType::kFloat16: case DType::kBFloat16: copyField<uint16_t>(p.int32_data(), t); break;
    case DType::kInt8: copyField<int8_t>(p.int32_data(), t); break;
    case DType::kUInt8: copyField<uint8_t>(p.int32_data(), t); break;
    case DType::kBool: copyField<bool>(p.int32_data(), t); break;
    default: break;
  }
  return t;
}

void tensorToProto(const ir::Tensor& t, const std::string& name, onnx::TensorProto* p) {
  p->set_name(name);
  p->set_data_type(static_cast<int32_t>(t.dtype()));
  for (int64_t d : t.dims()) p->add_dims(d);
  p->set_raw_data(t.rawData(), t.byteSize());
}

namespace {

ir::Shape shapeFromType(const onnx::TypeProto& type) {
  if (!type.has_tensor_type() || !type.tensor_type().has_shape()) return std::nullopt;
  std::vector<ir::Dim> dims;
  for (const auto& d : type.tensor_type().shape().dim()) {
    if (d.has_dim_value()) dims.emplace_back(d.dim_value());
    else if (d.has_dim_param() && !d.dim_param().empty()) dims.push_back(ir::Dim::named(d.dim_param()));
    else dims.emplace_back();
  }
  return dims;
}

Status checkTensorType(const onnx::ValueInfoProto& vi) {
  if (!vi.has_type()) return Status::Ok();
  if (!vi.type().has_tensor_type())
    return unsupported("value '" + vi.name() +
                       "' is not a tensor (sequence, map and optional values are not supported)");
  return Status::Ok();
}

StatusOr<ir::Attribute> attributeFromProto(const onnx::AttributeProto& a, const std::string& nodeDescr) {
  using AP = onnx::AttributeProto;
  switch (a.type()) {
    case AP::FLOAT: return ir::Attribute(a.f());
    case AP::INT: return ir::Attribute(static_cast<int64_t>(a.i()));
    case AP::STRING: return ir::Attribute(a.s());
    case AP::TENSOR: {
      auto t = tensorFromProto(a.t());
      if (!t.ok()) return t.status();
      return ir::Attribute(std::move(t).value());
    }
    case AP::FLOATS: return ir::Attribute(std::vector<float>(a.floats().begin(), a.floats().end()));
    case AP::INTS: return ir::Attribute(std::vector<int64_t>(a.ints().begin(), a.ints().end()));
    case AP::STRINGS:
      return ir::Attribute(std::vector<std::string>(a.strings().begin(), a.strings().end()));
    default:
      return unsupported("node " + nodeDescr + ": attribute '" + a.name() +
                         "' has a kind edgeopt does not support (subgraphs, sparse tensors, "
                         "type protos)");
  }
}

Status graphFromProto(const onnx::GraphProto& g, ir::Graph& graph) {
  graph.setName(g.name());
  std::unordered_map<std::string, ir::Value*> byName;
  for (const auto& init : g.initializer()) {
    auto t = tensorFromProto(init);
    if (!t.ok()) return t.status();
    byName[init.name()] = graph.addInitializer(init.name(), std::move(t).value());
  }
  if (g.sparse_initializer_size() > 0) return unsupported("sparse initializers are not supported");
  for (const auto& in : g.input()) {
    if (byName.count(in.name())) continue;  // IR < 4: initializers are also listed as inputs
    EDGEOPT_RETURN_IF_ERROR(checkTensorType(in));
    DType dt = static_cast<DType>(in.type().tensor_type().elem_type());
    byName[in.name()] = graph.addInput(in.name(), dt, shapeFromType(in.type()));
  }
  std::unordered_map<std::string, const onnx::ValueInfoProto*> info;
  for (const auto& vi : g.value_info()) info[vi.name()] = &vi;
  for (const auto& vi : g.output()) info[vi.name()] = &vi;

  size_t index = 0;
  for (const auto& np : g.node()) {
    std::vector<ir::Value*> inputs;
    for (const auto& name : np.input()) {
      if (name.empty()) { inputs.push_back(nullptr); continue; }
      auto it = byName.find(name);
      if (it == byName.end())
        return invalidInput("node " + nodeLabel(np, index) + ": input '" + name + "' is not defined before it");
      inputs.push_back(it->second);
    }
    std::vector<std::string> outNames(np.output().begin(), np.output().end());
    while (!outNames.empty() && outNames.back().empty()) outNames.pop_back();  // omitted optionals
    std::string nodeName = np.name().empty() ? np.op_type() + "_" + std::to_string(index) : np.name();
    ir::Node* node = graph.addNode(np.op_type(), inputs, outNames, nodeName, nullptr, np.domain());
    for (const auto& a : np.attribute()) {
      if (!a.ref_attr_name().empty())
        return unsupported("node " + node->describe() + ": attribute references are only valid "
                           "inside functions");
      auto attr = attributeFromProto(a, node->describe());
      if (!attr.ok()) return attr.status();
      node->setAttr(a.name(), std::move(attr).value());
    }
    for (size_t i = 0; i < outNames.size(); ++i) {
      ir::Value* out = node->output(i);
      if (outNames[i].empty()) continue;  // omitted optional output
      if (out->name() != outNames[i])
        return invalidInput("value '" + outNames[i] + "' is produced twice (node " +
                            node->describe() + ")");
      byName[outNames[i]] = out;
      auto it = info.find(outNames[i]);
      if (it != info.end()) {
        EDGEOPT_RETURN_IF_ERROR(checkTensorType(*it->second));
        out->setDType(static_cast<DType>(it->second->type().tensor_type().elem_type()));
        out->setShape(shapeFromType(it->second->type()));
      }
    }
    ++index;
  }
  for (const auto& o : g.output()) {
    auto it = byName.find(o.name());
    if (it == byName.end()) return invalidInput("graph output '" + o.name() + "' is not produced");
    EDGEOPT_RETURN_IF_ERROR(checkTensorType(o));
    graph.markOutput(it->second);
  }
  return Status::Ok();
}

// Structural checks the libonnx checker (1.12) leaves out but its version converter relies on (a
// graph output nobody produces crashes it): every node input and graph output is defined before
// use, no value is produced twice, and no node carries a subgraph (edgeopt does not support them;
// refusing here keeps malformed subgraphs away from the converter).
Status checkStructure(const onnx::GraphProto& g) {
  std::unordered_set<std::string> defined;
  for (const auto& t : g.initializer()) defined.insert(t.name());
  for (const auto& in : g.input()) defined.insert(in.name());
  size_t index = 0;
  for (const auto& n : g.node()) {
    const std::string descr = nodeLabel(n, index);
    for (const auto& a : n.attribute())
      if (a.type() == onnx::AttributeProto::GRAPH || a.type() == onnx::AttributeProto::GRAPHS || a.has_g() ||
          a.graphs_size() > 0)
        return unsupported("node " + descr + ": attribute '" + a.name() +
                           "' holds a subgraph whose use is decided at run time; edgeopt removes If and Loop "
                           "only when their condition or trip count is a constant (compiler/onnx/control_flow.h)");
    for (const auto& in : n.input())
      if (!in.empty() && !defined.count(in))
        return invalidInput("node " + descr + ": input '" + in + "' is not defined before it");
    for (const auto& out : n.output())
      if (!out.empty() && !defined.insert(out).second)
        return invalidInput("node " + descr + ": value '" + out + "' is defined twice");
    ++index;
  }
  for (const auto& o : g.output())
    if (!defined.count(o.name())) return invalidInput("graph output '" + o.name() + "' is not produced by any node");
  return Status::Ok();
}

void typeToProto(const ir::Value& v, onnx::ValueInfoProto* vi) {
  vi->set_name(v.name());
  auto* tt = vi->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(static_cast<int32_t>(v.dtype()));
  if (!v.shape()) return;
  auto* shape = tt->mutable_shape();
  for (const auto& d : *v.shape()) {
    auto* dim = shape->add_dim();
    if (d.isKnown()) dim->set_dim_value(d.value);
    else if (!d.symbol.empty()) dim->set_dim_param(d.symbol);
  }
}

void attributeToProto(const std::string& name, const ir::Attribute& a, onnx::AttributeProto* p) {
  using AP = onnx::AttributeProto;
  using K = ir::Attribute::Kind;
  p->set_name(name);
  switch (a.kind()) {
    case K::kFloat: p->set_type(AP::FLOAT); p->set_f(a.f()); break;
    case K::kInt: p->set_type(AP::INT); p->set_i(a.i()); break;
    case K::kString: p->set_type(AP::STRING); p->set_s(a.s()); break;
    case K::kTensor: p->set_type(AP::TENSOR); tensorToProto(a.t(), "", p->mutable_t()); break;
    case K::kFloats: p->set_type(AP::FLOATS); for (float f : a.floats()) p->add_floats(f); break;
    case K::kInts: p->set_type(AP::INTS); for (int64_t i : a.ints()) p->add_ints(i); break;
    case K::kStrings:
      p->set_type(AP::STRINGS);
      for (const auto& s : a.strings()) p->add_strings(s);
      break;
  }
}

std::string firstLine(const std::exception& e) {
  std::string msg = e.what();
  if (auto nl = msg.find('\n'); nl != std::string::npos) msg.resize(nl);
  return msg;
}

// Element types that IR version 8 (libonnx 1.12) knows: UNDEFINED .. BFLOAT16.
bool usesOnlyIr8Types(const onnx::GraphProto& g) {
  auto known = [](int32_t t) { return t >= 0 && t <= onnx::TensorProto::BFLOAT16; };
  auto knownType = [&](const onnx::ValueInfoProto& v) {
    return !v.type().has_tensor_type() || known(v.type().tensor_type().elem_type());
  };
  for (const auto& t : g.initializer())
    if (!known(t.data_type())) return false;
  for (const auto& v : g.input())
    if (!knownType(v)) return false;
  for (const auto& v : g.output())
    if (!knownType(v)) return false;
  for (const auto& v : g.value_info())
    if (!knownType(v)) return false;
  for (const auto& n : g.node())
    for (const auto& a : n.attribute()) {
      if (a.has_t() && !known(a.t().data_type())) return false;
      if (a.has_g() && !usesOnlyIr8Types(a.g())) return false;
      for (const auto& sub : a.graphs())
        if (!usesOnlyIr8Types(sub)) return false;
    }
  return true;
}

// Checker, structural checks, opset conversion and shape inference, in place.
Status canonicalize(onnx::ModelProto& proto, const std::string& path, const ImportOptions& options) {
  int64_t opset = 0;
  for (const auto& o : proto.opset_import())
    if (o.domain().empty() || o.domain() == "ai.onnx") opset = o.version();
  if (opset > kCanonicalOpset)
    return unsupported(path + ": opset " + std::to_string(opset) + " is newer than the newest "
                       "this edgeopt knows (" + std::to_string(kCanonicalOpset) + ")");
  // Exporters stamp the newest IR version they know. A model whose opset is at most 17 and whose
  // tensors use no element type newer than IR 8 has nothing IR 8 cannot express, so it is read as IR 8.
  if (proto.ir_version() > onnx::IR_VERSION) {
    if (!usesOnlyIr8Types(proto.graph()) || proto.functions_size() > 0)
      return unsupported(path + ": IR version " + std::to_string(proto.ir_version()) +
                         " features (float8/int4 tensors or model-local functions) are not supported; "
                         "edgeopt's ONNX library reads IR version " + std::to_string(onnx::IR_VERSION) +
                         " (ONNX 1.12)");
    proto.set_ir_version(onnx::IR_VERSION);
  }
  try {
    if (options.runChecker) onnx::checker::check_model(proto);
  } catch (const std::exception& e) {
    return invalidInput(path + ": rejected by the ONNX checker: " + firstLine(e));
  }
  auto inlined = inlineConstantControlFlow(*proto.mutable_graph());
  if (!inlined.ok()) return inlined.status().withContext(path);
  Status structure = checkStructure(proto.graph());
  if (!structure.ok()) return structure.withContext(path);

  // libonnx 1.12 leaves a Reshape's output rank unknown when its shape is computed at run time,
  // even when the shape's length is known; supplying those ranks and inferring again, to a fixed
  // point, gives every later node (and the opset upgrade) its rank.
  // Data propagation gives a Reshape whose shape is computed from Shape -> Gather -> Concat its
  // output dims, which targets with fixed buffers (arm-neon) need.
  auto inferShapes = [&]() -> Status {
    try {
      const onnx::ShapeInferenceOptions propagate(/*check_type=*/false, /*error_mode=*/0, /*data_prop=*/true);
      onnx::shape_inference::InferShapes(proto, onnx::OpSchemaRegistry::Instance(), propagate);
      for (int round = 0; round < 16 && addReshapeRanks(*proto.mutable_graph()) > 0; ++round)
        onnx::shape_inference::InferShapes(proto, onnx::OpSchemaRegistry::Instance(), propagate);
    } catch (const std::exception& e) {
      return invalidInput(path + ": shape inference failed: " + firstLine(e));
    }
    return Status::Ok();
  };
  if (options.convertOpset && opset != 0 && opset != kCanonicalOpset) {
    EDGEOPT_RETURN_IF_ERROR(inferShapes());
    std::string whyNot;
    auto outcome = upgradeOpset(proto, opset, kCanonicalOpset, &whyNot);
    if (!outcome.ok()) return outcome.status().withContext(path + ": opset " + std::to_string(opset) + " -> " +
                                                           std::to_string(kCanonicalOpset));
    if (*outcome == UpgradeOutcome::kNotHandled) {
      // Fall back to libonnx's converter, which covers more operators but needs shapes, and whose
      // time grows with the square of the node count (10,000 nodes 1.9 s, 20,000 22 s): bounded.
      if (proto.graph().node_size() > kMaxConverterNodes)
        return unsupported(path + ": cannot convert opset " + std::to_string(opset) + " to " + std::to_string(kCanonicalOpset) +
                           " (" + whyNot + "; libonnx's converter, which would be needed, is limited to " +
                           std::to_string(kMaxConverterNodes) + " nodes and the graph has " +
                           std::to_string(proto.graph().node_size()) + "): convert the model to opset " +
                           std::to_string(kCanonicalOpset) + " first");
      try {
        proto = onnx::version_conversion::ConvertVersion(proto, static_cast<int>(kCanonicalOpset));
        // Opset 17 needs IR version 8; older IR versions also forbid initializers that are not
        // graph inputs, which the converter creates (e.g. Pad-2 -> Pad-11 pads).
        if (proto.ir_version() < 8) proto.set_ir_version(8);
      } catch (const std::exception& e) {
        return unsupported(path + ": cannot convert opset " + std::to_string(opset) + " to " +
                           std::to_string(kCanonicalOpset) + " (" + whyNot + ", and libonnx's converter failed: " +
                           firstLine(e) + ")");
      }
    }
  }
  if (options.inferShapes) EDGEOPT_RETURN_IF_ERROR(inferShapes());
  return Status::Ok();
}

bool writeAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

// canonicalize() in a child process. libonnx 1.12's shape inference and version converter
// dereference null pointers or divide by zero on some malformed attributes that its checker
// lets through (found by mutating the backend test models); isolating them turns such a crash
// into an error naming the model instead of taking the caller's process down.
// Protocol on the pipe: one status byte (StatusCode), then the message, or for kOk the
// serialized, canonicalized ModelProto.
Status canonicalizeIsolated(onnx::ModelProto& proto, const std::string& path, const ImportOptions& options) {
  int fds[2];
  if (::pipe(fds) != 0) return canonicalize(proto, path, options);
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    return canonicalize(proto, path, options);
  }
  if (pid == 0) {
    ::close(fds[0]);
    Status st = canonicalize(proto, path, options);
    std::string payload(1, static_cast<char>(st.code()));
    if (st.ok()) {
      std::string bytes;
      if (!proto.SerializeToString(&bytes)) payload[0] = static_cast<char>(StatusCode::kInternal);
      payload += bytes;
    } else {
      payload += st.message();
    }
    _exit(writeAll(fds[1], payload.data(), payload.size()) ? 0 : 3);
  }
  ::close(fds[1]);
  std::string payload;
  char buf[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    payload.append(buf, static_cast<size_t>(n));
  }
  ::close(fds[0]);
  int wstatus = 0;
  while (::waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
  }
  if (WIFSIGNALED(wstatus))
    return invalidInput(path + ": libonnx crashed (" + std::string(strsignal(WTERMSIG(wstatus))) +
                        ") checking, converting or inferring shapes of this model; the model is "
                        "malformed (e.g. attribute values out of range)");
  if (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0 || payload.empty())
    return internalError(path + ": the import helper process failed");
  const auto code = static_cast<StatusCode>(payload[0]);
  if (code != StatusCode::kOk) return Status(code, payload.substr(1));
  if (!onnx::ParseProtoFromBytes(&proto, payload.data() + 1, payload.size() - 1))
    return internalError(path + ": cannot read back the canonicalized model");
  return Status::Ok();
}

}  // namespace

int64_t maxModelBytes() {
  static const int64_t limit = ir::limitFromEnvironment("EDGEOPT_MAX_MODEL_BYTES", kMaxModelBytes);
  return limit;
}

StatusOr<ir::Model> importModel(const std::string& path, const ImportOptions& options) {
  EDGEOPT_RETURN_IF_ERROR(support::checkRegularFile(path));
  std::error_code sizeError;
  const auto fileBytes = static_cast<int64_t>(fs::file_size(path, sizeError));
  if (sizeError) return ioError(path + ": cannot read its size");
  ModelBytesBudget budget{maxModelBytes()};
  EDGEOPT_RETURN_IF_ERROR(budget.take(fileBytes, path + ": its " + std::to_string(fileBytes) + " bytes"));
  if (fileBytes > INT_MAX)
    return invalidInput(path + ": " + std::to_string(fileBytes) +
                        " bytes, more than protobuf reads in one message (2 GiB); store the large tensors as "
                        "external data (onnx.save_model(..., save_as_external_data=True))");
  auto bytes = readFile(path);
  if (!bytes.ok()) return bytes.status();
  onnx::ModelProto proto;
  if (!onnx::ParseProtoFromBytes(&proto, bytes->data(), bytes->size())) {
    // protobuf stops at 100 nested messages, which subgraphs (If/Loop/Scan bodies) reach at about
    // 33 levels: say so rather than calling the file truncated. The diagnostic parse allows 1,000
    // (the parser recurses on the stack, so not unbounded).
    onnx::ModelProto deep;
    google::protobuf::io::ArrayInputStream raw(bytes->data(), static_cast<int>(std::min<size_t>(bytes->size(), INT_MAX)));
    google::protobuf::io::CodedInputStream coded(&raw);
    coded.SetRecursionLimit(1000);
    if (bytes->size() <= static_cast<size_t>(INT_MAX) && deep.ParseFromCodedStream(&coded) && coded.ConsumedEntireMessage())
      return invalidInput(path + ": subgraphs (If/Loop/Scan bodies) nested deeper than protobuf's limit of 100 nested "
                                 "messages (about 33 levels); edgeopt reads models within it");
    return invalidInput(path + ": not an ONNX model (protobuf parse failed; truncated or not "
                               "a .onnx file)");
  }
  if (!proto.has_graph() || proto.ir_version() == 0)
    return invalidInput(path + ": not an ONNX model (no ir_version or graph)");
  fs::path modelDir = fs::path(path).parent_path();
  if (modelDir.empty()) modelDir = ".";
  Status ext = loadAllExternalData(proto.mutable_graph(), modelDir, budget);
  if (!ext.ok()) return ext.withContext(path);

  for (const auto& [name, dims] : options.fixInputDims) {
    onnx::ValueInfoProto* in = nullptr;
    for (auto& v : *proto.mutable_graph()->mutable_input())
      if (v.name() == name) in = &v;
    if (!in || !in->type().has_tensor_type())
      return invalidInput(path + ": --shape names '" + name + "', which is not a tensor input of the model");
    auto* shape = in->mutable_type()->mutable_tensor_type()->mutable_shape();
    if (shape->dim_size() != static_cast<int>(dims.size()))
      return invalidInput(path + ": --shape " + name + " has " + std::to_string(dims.size()) + " dims; the input has " +
                          std::to_string(shape->dim_size()));
    for (int i = 1; i < shape->dim_size(); ++i) {
      auto* d = shape->mutable_dim(i);
      if (d->has_dim_value() && d->dim_value() != dims[static_cast<size_t>(i)])
        return invalidInput(path + ": --shape " + name + " dim " + std::to_string(i) + " is " +
                            std::to_string(dims[static_cast<size_t>(i)]) + "; the model fixes it at " +
                            std::to_string(d->dim_value()));
      if (dims[static_cast<size_t>(i)] < 1) return invalidInput(path + ": --shape " + name + ": dims must be positive");
      d->set_dim_value(dims[static_cast<size_t>(i)]);
    }
  }
  Status canonical = canonicalizeIsolated(proto, path, options);
  if (!canonical.ok()) return canonical;

  ir::Model model;
  model.irVersion = proto.ir_version();
  model.producerName = proto.producer_name();
  model.producerVersion = proto.producer_version();
  model.docString = proto.doc_string();
  for (const auto& kv : proto.metadata_props()) model.metadata[kv.key()] = kv.value();
  for (const auto& o : proto.opset_import()) model.opsets.push_back({o.domain(), o.version()});
  if (proto.functions_size() > 0)
    return unsupported(path + ": model-local functions are not supported");
  Status st = graphFromProto(proto.graph(), *model.graph);
  if (!st.ok()) return st.withContext(path);
  Status verified = model.graph->verify();
  if (!verified.ok()) return invalidInput(path + ": " + verified.message());
  return model;
}

namespace {
// Lowers the IR's own constructs (compiler/ir/edgeopt_ops.h) to standard ONNX nodes while
// exporting: fused activations become a following activation node, edgeopt.Gelu its Erf form.
class OnnxLowering {
 public:
  OnnxLowering(const ir::Graph& g, onnx::GraphProto* gp) : g_(g), gp_(gp) {}

  std::string freshName(const std::string& base) {
    std::string name = base;
    for (int i = 1; g_.findValue(name) || !used_.insert(name).second; ++i) name = base + "_" + std::to_string(i);
    return name;
  }

  void activation(const ir::FusedActivation& act, const std::string& in, const std::string& out,
                  const std::string& nodeName) {
    onnx::NodeProto* n = node(act.op, {in}, out, nodeName + "_" + act.op);
    if (act.op == "Clip") {
      n->add_input(scalar(nodeName + "_clip_min", act.params[0]));
      n->add_input(scalar(nodeName + "_clip_max", act.params[1]));
    } else if (act.op == "LeakyRelu") {
      attributeToProto("alpha", ir::Attribute(act.params[0]), n->add_attribute());
    } else if (act.op == "HardSigmoid") {
      attributeToProto("alpha", ir::Attribute(act.params[0]), n->add_attribute());
      attributeToProto("beta", ir::Attribute(act.params[1]), n->add_attribute());
    }
  }

  Status edgeoptOp(const ir::Node& n) {
    if (n.opType() != "Gelu" || !n.input(0) || n.outputs().size() != 1)
      return internalError("cannot export node " + n.describe() + " of domain '" + n.domain() + "'");
    // y = ((x * (erf(x / sqrt(2)) + 1)) * 0.5
    const std::string x = n.input(0)->name(), base = n.output(0)->name();
    const std::string scaled = freshName(base + "_div"), erf = freshName(base + "_erf"),
                      plus1 = freshName(base + "_add"), prod = freshName(base + "_mul");
    node("Div", {x, scalar("edgeopt_gelu_sqrt2", 1.4142135623730951f)}, scaled, n.name() + "_div");
    node("Erf", {scaled}, erf, n.name() + "_erf");
    node("Add", {erf, scalar("edgeopt_gelu_one", 1.0f)}, plus1, n.name() + "_add");
    node("Mul", {x, plus1}, prod, n.name() + "_mul");
    node("Mul", {prod, scalar("edgeopt_gelu_half", 0.5f)}, base, n.name() + "_half");
    return Status::Ok();
  }

 private:
  onnx::NodeProto* node(const std::string& op, const std::vector<std::string>& ins, const std::string& out,
                        const std::string& name) {
    auto* n = gp_->add_node();
    n->set_op_type(op);
    n->set_name(freshNodeName(name));
    for (const auto& i : ins) n->add_input(i);
    n->add_output(out);
    return n;
  }
  std::string freshNodeName(const std::string& base) {
    std::string name = base;
    for (int i = 1; !nodeNames_.insert(name).second; ++i) name = base + "_" + std::to_string(i);
    return name;
  }
  // A float32 scalar initializer; one per distinct name.
  std::string scalar(const std::string& base, float v) {
    auto it = scalars_.find(base);
    if (it != scalars_.end() && it->second.second == v) return it->second.first;
    const std::string name = freshName(base);
    tensorToProto(ir::Tensor::scalar<float>(v), name, gp_->add_initializer());
    scalars_[base] = {name, v};
    return name;
  }

  const ir::Graph& g_;
  onnx::GraphProto* gp_;
  std::unordered_set<std::string> used_, nodeNames_;
  std::map<std::string, std::pair<std::string, float>> scalars_;
};
}  // namespace

StatusOr<std::string> exportModelBytes(const ir::Model& model) {
  onnx::ModelProto proto;
  proto.set_ir_version(model.irVersion);
  proto.set_producer_name(model.producerName.empty() ? "edgeopt" : model.producerName);
  proto.set_producer_version(model.producerVersion);
  if (!model.docString.empty()) proto.set_doc_string(model.docString);
  for (const auto& kv : model.metadata) {
    auto* p = proto.add_metadata_props();
    p->set_key(kv.first);
    p->set_value(kv.second);
  }
  for (const auto& o : model.opsets) {
    auto* p = proto.add_opset_import();
    p->set_domain(o.domain);
    p->set_version(o.version);
  }
  const ir::Graph& g = *model.graph;
  auto* gp = proto.mutable_graph();
  gp->set_name(g.name().empty() ? "edgeopt" : g.name());
  for (const ir::Value* v : g.inputs()) typeToProto(*v, gp->add_input());
  for (const ir::Value* v : g.initializers())
    if (!v->uses().empty() || std::count(g.outputs().begin(), g.outputs().end(), v))
      tensorToProto(v->initializer(), v->name(), gp->add_initializer());
  for (const ir::Value* v : g.outputs()) typeToProto(*v, gp->add_output());
  OnnxLowering lowering(g, gp);
  for (const ir::Node* n : g.nodes()) {
    if (n->domain() == ir::kEdgeoptDomain) {
      Status st = lowering.edgeoptOp(*n);
      if (!st.ok()) return st;
      continue;
    }
    auto* np = gp->add_node();
    np->set_name(n->name());
    np->set_op_type(n->opType());
    if (!n->domain().empty()) np->set_domain(n->domain());
    for (const ir::Value* in : n->inputs()) np->add_input(in ? in->name() : "");
    for (const ir::Value* out : n->outputs()) np->add_output(out->name());
    for (const auto& [name, attr] : n->attributes())
      if (name != ir::kFusedActivationAttr && name != ir::kFusedActivationParamsAttr)
        attributeToProto(name, attr, np->add_attribute());
    if (auto act = ir::fusedActivation(*n)) {
      // The node writes a fresh value; the activation node writes the IR value's name.
      const std::string pre = lowering.freshName(n->output(0)->name() + "_preact");
      np->set_output(0, pre);
      lowering.activation(*act, pre, n->output(0)->name(), n->name());
    }
    for (const ir::Value* out : n->outputs())
      if (out->dtype() != DType::kUndefined &&
          !std::count(g.outputs().begin(), g.outputs().end(), out))
        typeToProto(*out, gp->add_value_info());
  }
  try {
    onnx::checker::check_model(proto);
  } catch (const std::exception& e) {
    return internalError(std::string("exported model fails the ONNX checker: ") + e.what());
  }
  std::string out;
  if (!proto.SerializeToString(&out)) return internalError("cannot serialize the exported model");
  return out;
}

Status exportModel(const ir::Model& model, const std::string& path) {
  auto bytes = exportModelBytes(model);
  if (!bytes.ok()) return bytes.status();
  return writeFileAtomically(path, bytes.value());
}

StatusOr<ir::Tensor> readTensorProtoFile(const std::string& path, std::string* name) {
  auto bytes = readFile(path);
  if (!bytes.ok()) return bytes.status();
  onnx::TensorProto p;
  if (!onnx::ParseProtoFromBytes(&p, bytes->data(), bytes->size()))
    return invalidInput(path + ": not a TensorProto");
  if (name) *name = p.name();
  auto t = tensorFromProto(p);
  if (!t.ok()) return t.status().withContext(path);
  return t;
}

Status writeTensorProtoFile(const ir::Tensor& tensor, const std::string& name,
                            const std::string& path) {
  onnx::TensorProto p;
  tensorToProto(tensor, name, &p);
  std::string bytes;
  if (!p.SerializeToString(&bytes)) return internalError("cannot serialize tensor '" + name + "'");
  return writeFileAtomically(path, bytes);
}

}  // namespace edgeopt::onnx_io
