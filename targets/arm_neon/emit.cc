#include "targets/arm_neon/emit.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <tuple>

#include "compiler/ir/edgeopt_ops.h"
#include "compiler/runtime/executor.h"
#include "compiler/support/files.h"
#include "targets/common/memory_plan.h"
#include "kernels/neon/gemm.h"

namespace edgeopt::arm_neon {
namespace fs = std::filesystem;

namespace {

constexpr char kMagic[8] = {'E', 'D', 'G', 'E', 'N', 'E', 'O', 'N'};

// Elements per sample of a value whose leading dimension is the batch.
StatusOr<int64_t> sampleElements(const ir::Value& v) {
  const ir::Shape& s = v.shape();
  if (!s || s->empty()) return unsupported("arm-neon target: value '" + v.name() + "' has no known shape");
  int64_t n = 1;
  for (size_t i = 1; i < s->size(); ++i) {
    if (!(*s)[i].isKnown()) return unsupported("arm-neon target: value '" + v.name() + "' has a symbolic non-batch dimension");
    n *= (*s)[i].value;
  }
  return n;
}

const ir::Tensor* scalarConstant(const ir::Value* v) {
  return v && v->isInitializer() && v->initializer().numel() == 1 ? &v->initializer() : nullptr;
}

// Zero point of a per-tensor Q/DQ node in the int8 encoding (uint8 ones shifted by 128).
int32_t int8ZeroPoint(const ir::Tensor* zp) {
  if (!zp) return 0;
  return static_cast<int32_t>(zp->getAsInt64(0)) - (zp->dtype() == ir::DType::kUInt8 ? 128 : 0);
}

std::string floatLiteral(float f) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9gf", static_cast<double>(f));
  std::string s = buf;
  if (s.find_first_of(".e") == std::string::npos) s.insert(s.size() - 1, ".0");
  return s;
}

class Emitter {
 public:
  Emitter(const ir::Graph& g, std::string name) : g_(g), name_(std::move(name)) {
    weights_.assign(kMagic, kMagic + 8);  // the file header model_create checks
    weights_.resize(64, 0);
  }

  StatusOr<Package> run() {
    if (g_.inputs().size() != 1 || g_.outputs().size() != 1)
      return unsupported("arm-neon target: the model must have one input and one output");
    const ir::Value* in = g_.inputs()[0];
    const ir::Value* out = g_.outputs()[0];
    if (in->dtype() != ir::DType::kFloat32 || out->dtype() != ir::DType::kFloat32)
      return unsupported("arm-neon target: the model input and output must be float32");
    Package pkg;
    pkg.name = name_;
    EDGEOPT_ASSIGN_OR_RETURN(pkg.inputElements, sampleElements(*in));
    EDGEOPT_ASSIGN_OR_RETURN(pkg.outputElements, sampleElements(*out));
    buffer_[in] = {"input", true};
    std::vector<std::string> refused;
    std::set<const ir::Value*> unavailable;  // outputs of refused nodes: their consumers are not listed
    const std::set<const ir::Node*> needed = dataNodes();
    for (const ir::Node* n : g_.nodes()) {
      if (!needed.count(n)) continue;  // computes only shapes the package knows already
      const bool blocked = std::any_of(n->inputs().begin(), n->inputs().end(), [&](const ir::Value* v) { return v && unavailable.count(v); });
      ++step_;
      Status st = blocked ? unsupported("") : node(*n);
      // A computation on constants only (e.g. a weight's DequantizeLinear) is not named: the
      // consumer that needed its result is.
      const bool constantOnly = std::all_of(n->inputs().begin(), n->inputs().end(), [](const ir::Value* v) { return !v || v->isInitializer(); });
      if (st.code() == StatusCode::kUnsupported && constantOnly && !blocked) continue;
      if (st.code() == StatusCode::kUnsupported) {
        if (!blocked) refused.push_back(n->describe());
        for (const ir::Value* v : n->outputs()) unavailable.insert(v);
      } else if (!st.ok()) {
        return st;
      }
    }
    if (!refused.empty()) {
      std::string list;
      for (const auto& r : refused) list += (list.empty() ? "" : ", ") + r;
      return unsupported("arm-neon target: no NEON lowering yet for " + list);
    }
    auto it = buffer_.find(out);
    if (it == buffer_.end() || it->second.name != "output")
      return unsupported("arm-neon target: the model output must be computed by a float step (e.g. a DequantizeLinear)");
    pkg.weights = std::move(weights_);
    pkg.gemmMacs = gemmMacs_;
    pkg.depthwiseMacs = dwMacs_;
    pkg.stepMacs = std::move(stepMacs_);
    pkg.floatSteps = floatSteps_;
    pkg.scalarSteps = scalarSteps_;
    // One arena per run: buffers never alive at the same step share memory.
    std::vector<targets::LiveBuffer> live;
    for (const Member& b : members_) live.push_back({static_cast<size_t>(b.elements) * (b.isFloat ? 4 : 1), b.first, b.last});
    size_t arenaBytes = 0;
    arenaOffsets_ = targets::planArena(live, 64, &arenaBytes);
    pkg.arenaBytesPerSample = static_cast<int64_t>(arenaBytes);
    pkg.files["model.h"] = header(pkg);
    pkg.files["model.cc"] = source(pkg);
    pkg.files["model_runner.cc"] = runner(pkg);
    pkg.files["CMakeLists.txt"] = cmake();
    return pkg;
  }

 private:
  struct Buffer {
    std::string name;  // "input", "output", or a member of the model struct
    bool isFloat = false;
  };

  // Appends a blob to the weights file at a 64-byte aligned offset and returns the offset.
  size_t addWeights(const void* data, size_t bytes) {
    const size_t offset = (weights_.size() + 63) / 64 * 64;
    weights_.resize(offset + bytes);
    std::memcpy(weights_.data() + offset, data, bytes);
    return offset;
  }

  // A buffer of `elements` per sample that no value names (intermediate steps of one node).
  std::string newScratch(int64_t elements, bool isFloat) {
    const std::string name = "t" + std::to_string(members_.size());
    members_.push_back({name, elements, isFloat, step_, step_});
    memberIndex_[name] = members_.size() - 1;
    return name;
  }

  std::string newBuffer(const ir::Value* v, int64_t elements, bool isFloat = false) {
    if (v == g_.outputs()[0] && isFloat) {
      buffer_[v] = {"output", true};
      return "output";
    }
    const std::string name = newScratch(elements, isFloat);
    buffer_[v] = {name, isFloat};
    return name;
  }

  // The pointer to v's data in the generated code; keeps v's buffer alive through this step.
  std::string use(const ir::Value* v) {
    const Buffer& b = buffer_.at(v);
    if (auto it = memberIndex_.find(b.name); it != memberIndex_.end()) members_[it->second].last = step_;
    return b.name;
  }

  // A float constant operand, stored in weights.bin.
  std::string floatConstant(const ir::Tensor& t) {
    std::vector<float> values(static_cast<size_t>(t.numel()));
    for (int64_t i = 0; i < t.numel(); ++i) values[static_cast<size_t>(i)] = static_cast<float>(t.getAsDouble(i));
    return "reinterpret_cast<const float*>(m->weights.data() + " +
           std::to_string(addWeights(values.data(), values.size() * sizeof(float))) + ")";
  }

  // Per-sample dims of a value (its shape without the leading batch), when all are known.
  static std::optional<std::vector<int64_t>> sampleDims(const ir::Value& v) {
    const ir::Shape& s = v.shape();
    if (!s || s->empty()) return std::nullopt;
    std::vector<int64_t> d;
    for (size_t i = 1; i < s->size(); ++i) {
      if (!(*s)[i].isKnown()) return std::nullopt;
      d.push_back((*s)[i].value);
    }
    return d;
  }

  // True when int8 data of v is stored NHWC here (an image with channels and pixels), so that its
  // element order differs from ONNX's.
  static bool storedNhwc(const ir::Value& v) {
    const auto chw = imageDims(v);
    return chw && (*chw)[0] > 1 && (*chw)[1] * (*chw)[2] > 1;
  }

  Status node(const ir::Node& n) {
    const std::string op = n.qualifiedOpType();
    const size_t dataInputs = op == "Reshape" ? 1 : n.inputs().size();  // a Reshape's shape is known here
    for (size_t i = 0; i < dataInputs; ++i)
      if (const ir::Value* v = n.input(i); v && !v->isInitializer() && !buffer_.count(v))
        return unsupported("input '" + v->name() + "' not produced");
    if (op == "Flatten" || op == "Reshape") {
      // Contiguous samples keep their element order: the output is the same buffer.
      EDGEOPT_ASSIGN_OR_RETURN(int64_t a, sampleElements(*n.input(0)));
      EDGEOPT_ASSIGN_OR_RETURN(int64_t b, sampleElements(*n.output(0)));
      if (a != b || (op == "Flatten" && n.attrInt("axis", 1) != 1)) return unsupported(op);
      // 4-D int8 data is NHWC here: flattening keeps NCHW's order only without spatial extent or channels.
      if (!buffer_.at(n.input(0)).isFloat && storedNhwc(*n.input(0))) return unsupported(op);
      buffer_[n.output(0)] = buffer_.at(n.input(0));
      code_ << "  // " << n.describe() << ": same elements, same buffer\n";
      return Status::Ok();
    }
    if (op == "QuantizeLinear") {
      const ir::Tensor* s = scalarConstant(n.input(1));
      const ir::Tensor* z = n.inputs().size() > 2 ? scalarConstant(n.input(2)) : nullptr;
      if (!s || !buffer_.at(n.input(0)).isFloat || (z && z->dtype() != ir::DType::kUInt8 && z->dtype() != ir::DType::kInt8))
        return unsupported(op);
      EDGEOPT_ASSIGN_OR_RETURN(int64_t e, sampleElements(*n.output(0)));
      const std::string x = use(n.input(0)), y = newBuffer(n.output(0), e);
      const auto chw = imageDims(*n.output(0));
      code_ << "  // " << n.describe() << "\n";
      if (storedNhwc(*n.output(0)))  // NCHW float -> NHWC int8
        code_ << "  edgeopt_neon::quantizeNchwToNhwc(batch, " << (*chw)[0] << ", " << (*chw)[1] * (*chw)[2] << ", " << x << ", "
              << floatLiteral(static_cast<float>(s->getAsDouble(0))) << ", " << int8ZeroPoint(z) << ", " << y << ");\n";
      else
        code_ << "  edgeopt_neon::quantize(batch * " << e << ", " << x << ", " << floatLiteral(static_cast<float>(s->getAsDouble(0)))
              << ", " << int8ZeroPoint(z) << ", " << y << ");\n";
      return Status::Ok();
    }
    if (op == "edgeopt.QConv") return conv(n);
    if (op == "edgeopt.QAdd") return add(n);
    if (op == "edgeopt.QAveragePool") return globalPool(n);
    if (op == "MaxPool" && !buffer_.at(n.input(0)).isFloat) return maxPool(n);
    if ((op == "MaxPool" || op == "AveragePool" || op == "GlobalAveragePool") && buffer_.at(n.input(0)).isFloat) {
      ++floatSteps_;
      return poolFloat(n);
    }
    if (op == "DequantizeLinear") {
      const ir::Tensor* s = scalarConstant(n.input(1));
      const ir::Tensor* z = n.inputs().size() > 2 ? scalarConstant(n.input(2)) : nullptr;
      if (!s || buffer_.at(n.input(0)).isFloat) return unsupported(op);
      EDGEOPT_ASSIGN_OR_RETURN(int64_t e, sampleElements(*n.output(0)));
      const std::string x = use(n.input(0)), y = newBuffer(n.output(0), e, true);
      code_ << "  // " << n.describe() << "\n";
      if (storedNhwc(*n.input(0))) {  // NHWC int8 -> NCHW float
        const auto chw = *imageDims(*n.input(0));
        code_ << "  edgeopt_neon::dequantizeNhwcToNchw(batch, " << chw[0] << ", " << chw[1] * chw[2] << ", " << x << ", "
              << floatLiteral(static_cast<float>(s->getAsDouble(0))) << ", " << int8ZeroPoint(z) << ", " << y << ");\n";
      } else {
        code_ << "  edgeopt_neon::dequantize(batch * " << e << ", " << x << ", " << floatLiteral(static_cast<float>(s->getAsDouble(0)))
              << ", " << int8ZeroPoint(z) << ", " << y << ");\n";
      }
      return Status::Ok();
    }
    if ((op == "Gemm" || op == "MatMul" || op == "Softmax" || op == "ConvTranspose") && floatBuffer(n.input(0))) {
      ++floatSteps_;
      return op == "Softmax" ? softmaxFloat(n) : op == "ConvTranspose" ? convTransposeFloat(n) : gemmFloat(n);
    }
    if (op == "Concat" || op == "Add" || op == "Sub" || op == "Mul" || op == "Div" || op == "Resize" || unaryOpOf(n)) {
      ++floatSteps_;
      return op == "Concat" ? concatFloat(n) : op == "Resize" ? resizeFloat(n) : unaryOpOf(n) ? unaryFloat(n) : binaryFloat(n);
    }
    if (op == "edgeopt.QGemm") {
      const ir::Value* w = n.input(1);
      const ir::Value* b = n.inputs().size() > 2 ? n.input(2) : nullptr;
      if (!w->isInitializer() || w->initializer().rank() != 2 || (b && !b->isInitializer()) ||
          buffer_.at(n.input(0)).isFloat)
        return unsupported(op);
      const bool transB = n.attrInt("transB", 0) != 0;
      const auto& wd = w->initializer().dims();
      const int64_t K = transB ? wd[1] : wd[0], N = transB ? wd[0] : wd[1];
      EDGEOPT_ASSIGN_OR_RETURN(int64_t inElements, sampleElements(*n.input(0)));
      if (inElements != K) return unsupported(op + " on more than 2-D data");
      EDGEOPT_ASSIGN_OR_RETURN(runtime::Int8OutputStage stage, runtime::int8OutputStageOf(n, N));
      const int32_t* bias = b ? b->initializer().data<int32_t>() : nullptr;
      const int8_t* wq = w->initializer().data<int8_t>();
      const int32_t zp = stage.q.input_zero_point;
      const auto dot = kernels::neon::qs8_pack_gemm_8c4(static_cast<size_t>(K), static_cast<size_t>(N), wq, transB, bias, zp);
      const auto smlal = kernels::neon::qs8_pack_gemm_8(static_cast<size_t>(K), static_cast<size_t>(N), wq, transB, bias, zp);
      const size_t offDot = addWeights(dot.data(), dot.size()), offSmlal = addWeights(smlal.data(), smlal.size());
      const std::string layer = "kLayer" + std::to_string(layers_++);
      emitStage(layer, n.describe(), stage.requant, stage.q);
      const std::string x = use(n.input(0)), y = newBuffer(n.output(0), N);
      code_ << "  // " << n.describe() << "\n  edgeopt_neon::gemmInt8(m->dot, batch, " << K << ", " << N << ", " << x
            << ", m->weights.data() + (m->dot ? " << offDot << " : " << offSmlal << "), " << layer << "Requant, " << layer
            << "Params, m->acc, " << y << ");\n";
      countMacs(n, K * N, 0);
      return Status::Ok();
    }
    return unsupported(op);
  }

  // The nodes the output's data depends on. A Reshape's shape input is not data: the package knows
  // every shape, so a shape computation feeding only Reshapes (Shape -> Gather -> Concat) is left out.
  std::set<const ir::Node*> dataNodes() const {
    std::set<const ir::Node*> needed;
    std::vector<const ir::Value*> work(g_.outputs().begin(), g_.outputs().end());
    while (!work.empty()) {
      const ir::Value* v = work.back();
      work.pop_back();
      const ir::Node* p = v ? v->producer() : nullptr;
      if (!p || !needed.insert(p).second) continue;
      const bool reshape = p->domain().empty() && p->opType() == "Reshape";
      for (size_t i = 0; i < (reshape ? 1 : p->inputs().size()); ++i) work.push_back(p->input(i));
    }
    return needed;
  }

  // [C, H, W] of a 4-D value (batch first), when known.
  static std::optional<std::vector<int64_t>> imageDims(const ir::Value& v) {
    const ir::Shape& s = v.shape();
    if (!s || s->size() != 4) return std::nullopt;
    for (size_t i = 1; i < 4; ++i)
      if (!(*s)[i].isKnown()) return std::nullopt;
    return std::vector<int64_t>{(*s)[1].value, (*s)[2].value, (*s)[3].value};
  }

  // Constants of an int8 output stage, named `layer`.
  void emitStage(const std::string& layer, const std::string& what, const std::vector<kernels::ref::Requantization>& rq,
                 const kernels::ref::QuantParams& q) {
    constants_ << "// " << what << "\nconst ref::Requantization " << layer << "Requant[] = {";
    for (size_t i = 0; i < rq.size(); ++i)
      constants_ << (i % 4 ? " " : "\n    ") << "{" << floatLiteral(rq[i].scale) << "},";
    constants_ << "\n};\nconst ref::QuantParams " << layer << "Params = {" << q.input_zero_point << ", " << q.output_zero_point
               << ", " << q.output_min << ", " << q.output_max << "};\n";
  }

  Status conv(const ir::Node& n) {
    const ir::Value* x = n.input(0);
    const ir::Value* w = n.input(1);
    const ir::Value* b = n.inputs().size() > 2 ? n.input(2) : nullptr;
    const auto chw = imageDims(*x), out = imageDims(*n.output(0));
    if (!chw || !out || !w->isInitializer() || (b && !b->isInitializer()) || buffer_.at(x).isFloat) return unsupported("QConv");
    auto params = runtime::convParamsOf(n, {1, (*chw)[0], (*chw)[1], (*chw)[2]}, w->initializer().dims());
    if (!params.ok()) return params.status();
    const kernels::ref::ConvParams& p = params.value();
    const int64_t C = p.in_channels, M = p.out_channels, KH = p.kernel[1], KW = p.kernel[2];
    EDGEOPT_ASSIGN_OR_RETURN(runtime::Int8OutputStage stage, runtime::int8OutputStageOf(n, M));
    const std::string layer = "kLayer" + std::to_string(layers_++);
    emitStage(layer, n.describe(), stage.requant, stage.q);
    const int8_t* wq = w->initializer().data<int8_t>();
    const int32_t* bias = b ? b->initializer().data<int32_t>() : nullptr;
    std::ostringstream geo;
    geo << "{batch, " << p.in[1] << ", " << p.in[2] << ", " << C << ", " << p.out[1] << ", " << p.out[2] << ", " << M << ", " << KH
        << ", " << KW << ", " << p.stride[1] << ", " << p.stride[2] << ", " << p.pad_begin[1] << ", " << p.pad_begin[2] << ", "
        << p.dilation[1] << ", " << p.dilation[2] << ", " << stage.q.input_zero_point << "}";
    const std::string xs = use(x), ys = newBuffer(n.output(0), M * p.out[1] * p.out[2]);
    code_ << "  // " << n.describe() << "\n";
    if (runtime::isDepthwise3x3(p)) {
      const std::vector<int16_t> wide = runtime::depthwise3x3TapMajor<int16_t>(wq, C);
      const size_t offW = addWeights(wide.data(), wide.size() * sizeof(int16_t));
      std::vector<int32_t> bv(static_cast<size_t>(C), 0);
      if (bias) std::copy(bias, bias + C, bv.begin());
      const size_t offB = addWeights(bv.data(), bv.size() * sizeof(int32_t));
      code_ << "  edgeopt_neon::depthwise3x3Int8(" << geo.str() << ", " << xs << ", reinterpret_cast<const int16_t*>(m->weights.data() + "
            << offW << "), reinterpret_cast<const int32_t*>(m->weights.data() + " << offB << "), " << layer << "Requant, " << layer
            << "Params, m->acc, " << ys << ");\n";
      countMacs(n, 0, 9 * C * p.out[1] * p.out[2]);
      return Status::Ok();
    }
    if (p.groups != 1) {
      // No NEON kernel for this grouping: the portable reference int8 kernel, on NCHW copies.
      const size_t offW = addWeights(wq, static_cast<size_t>(w->initializer().numel()));
      std::vector<int32_t> bv(static_cast<size_t>(M), 0);
      if (bias) std::copy(bias, bias + M, bv.begin());
      const size_t offB = addWeights(bv.data(), bv.size() * sizeof(int32_t));
      code_ << "  edgeopt_neon::groupedConvInt8Reference(" << geo.str() << ", " << p.groups << ", " << xs
            << ", reinterpret_cast<const int8_t*>(m->weights.data() + " << offW << "), reinterpret_cast<const int32_t*>(m->weights.data() + "
            << offB << "), " << layer << "Requant, " << layer << "Params, m->columns, " << ys << ");\n";
      ++scalarSteps_;
      return Status::Ok();
    }
    // Weights [M][C][kh][kw] -> [M][kh][kw][C], the order of the NHWC im2col rows.
    const int64_t K = KH * KW * C;
    std::vector<int8_t> reordered(static_cast<size_t>(M * K));
    for (int64_t m = 0; m < M; ++m)
      for (int64_t c = 0; c < C; ++c)
        for (int64_t t = 0; t < KH * KW; ++t) reordered[static_cast<size_t>(m * K + t * C + c)] = wq[(m * C + c) * KH * KW + t];
    const int32_t zp = stage.q.input_zero_point;
    const auto dot = kernels::neon::qs8_pack_gemm_8c4(static_cast<size_t>(K), static_cast<size_t>(M), reordered.data(), true, bias, zp);
    const auto smlal = kernels::neon::qs8_pack_gemm_8(static_cast<size_t>(K), static_cast<size_t>(M), reordered.data(), true, bias, zp);
    const size_t offDot = addWeights(dot.data(), dot.size()), offSmlal = addWeights(smlal.data(), smlal.size());
    code_ << "  edgeopt_neon::convInt8(m->dot, " << geo.str() << ", " << xs << ", m->weights.data() + (m->dot ? " << offDot << " : "
          << offSmlal << "), " << layer << "Requant, " << layer << "Params, m->columns, m->acc, " << ys << ");\n";
    countMacs(n, K * M * p.out[1] * p.out[2], 0);
    return Status::Ok();
  }

  Status add(const ir::Node& n) {
    const ir::Value* a = n.input(0);
    const ir::Value* b = n.input(1);
    // Same per-sample dims (their batch dims may carry different symbols).
    if (buffer_.at(a).isFloat || buffer_.at(b).isFloat || !sampleDims(*a) || sampleDims(*a) != sampleDims(*b))
      return unsupported("QAdd");
    EDGEOPT_ASSIGN_OR_RETURN(int64_t e, sampleElements(*n.output(0)));
    EDGEOPT_ASSIGN_OR_RETURN(const runtime::QBinary op, runtime::qBinaryOf(n));
    const kernels::ref::QuantParams& q = op.q;
    const kernels::ref::AddRequantization& r = op.add;
    const std::string layer = "kLayer" + std::to_string(layers_++);
    constants_ << "// " << n.describe() << "\nconst ref::AddRequantization " << layer << "Add = {" << r.a_weight << ", "
               << r.b_weight << ", {" << floatLiteral(r.out.scale) << "}};\nconst ref::QuantParams " << layer << "Params = {0, "
               << q.output_zero_point << ", " << q.output_min << ", " << q.output_max << "};\n";
    const std::string xa = use(a), xb = use(b), y = newBuffer(n.output(0), e);
    code_ << "  // " << n.describe() << "\n  edgeopt::kernels::neon::qs8_add__neon(batch * " << e << ", " << xa << ", "
          << op.aZeroPoint << ", " << xb << ", " << op.bZeroPoint << ", " << layer << "Add, " << layer
          << "Params, " << y << ");\n";
    return Status::Ok();
  }

  Status maxPool(const ir::Node& n) {
    const auto chw = imageDims(*n.input(0)), out = imageDims(*n.output(0));
    if (!chw || !out || n.outputs().size() != 1 || buffer_.at(n.input(0)).isFloat || n.attrInt("storage_order", 0) != 0)
      return unsupported("MaxPool");
    auto params = runtime::poolParamsOf(n, {1, (*chw)[0], (*chw)[1], (*chw)[2]});
    if (!params.ok()) return params.status();
    const kernels::ref::PoolParams& p = params.value();
    const std::string x = use(n.input(0)), y = newBuffer(n.output(0), (*out)[0] * (*out)[1] * (*out)[2]);
    code_ << "  // " << n.describe() << "\n  for (int64_t i = 0; i < batch; ++i)\n    edgeopt::kernels::neon::s8_maxpool_nhwc__neon({"
          << p.in[1] << ", " << p.in[2] << ", " << (*chw)[0] << ", " << p.out[1] << ", " << p.out[2] << ", " << p.kernel[1] << ", "
          << p.kernel[2] << ", " << p.stride[1] << ", " << p.stride[2] << ", " << p.pad_begin[1] << ", " << p.pad_begin[2] << ", "
          << p.dilation[1] << ", " << p.dilation[2] << "}, " << x << " + i * " << (*chw)[0] * (*chw)[1] * (*chw)[2] << ", " << y
          << " + i * " << (*out)[0] * (*out)[1] * (*out)[2] << ");\n";
    return Status::Ok();
  }

  Status globalPool(const ir::Node& n) {
    const auto chw = imageDims(*n.input(0));
    EDGEOPT_ASSIGN_OR_RETURN(const runtime::QAverage avg, runtime::qAverageOf(n));
    if (!chw || !avg.global || buffer_.at(n.input(0)).isFloat) return unsupported("QAveragePool");
    const kernels::ref::QuantParams& q = avg.q;
    const int64_t pixels = (*chw)[1] * (*chw)[2];
    const kernels::ref::Requantization r = {kernels::ref::averageMultiplier(avg.inputScale, avg.outputScale, pixels)};
    const std::string layer = "kLayer" + std::to_string(layers_++);
    emitStage(layer, n.describe(), {r}, q);
    const std::string x = use(n.input(0)), y = newBuffer(n.output(0), (*chw)[0]);
    code_ << "  // " << n.describe() << "\n  edgeopt::kernels::neon::qs8_global_avgpool_nhwc__neon(batch, " << pixels << ", "
          << (*chw)[0] << ", " << x << ", " << layer << "Requant[0], " << layer << "Params, " << y << ");\n";
    return Status::Ok();
  }

  // The runtime's name (edgeopt_neon::UnaryOp) of an activation op type, or null: standalone
  // activations and fused ones alike.
  static const char* unaryOpNamed(const std::string& op) {
    static const std::map<std::string, const char*> names = {
        {"Relu", "kRelu"}, {"Sigmoid", "kSigmoid"}, {"Tanh", "kTanh"}, {"HardSigmoid", "kHardSigmoid"},
        {"HardSwish", "kHardSwish"}, {"LeakyRelu", "kLeakyRelu"}, {"Clip", "kClip"}};
    auto it = names.find(op);
    return it == names.end() ? nullptr : it->second;
  }
  static const char* unaryOpOf(const ir::Node& n) { return n.domain().empty() ? unaryOpNamed(n.opType()) : nullptr; }

  // Float inputs from buffers of this package (not int8, not constants) for the float ops.
  bool floatBuffer(const ir::Value* v) const {
    auto it = v ? buffer_.find(v) : buffer_.end();
    return it != buffer_.end() && it->second.isFloat;
  }

  Status unaryFloat(const ir::Node& n) {
    if (!floatBuffer(n.input(0))) return unsupported(n.opType());
    float p0 = 0, p1 = 0;
    const std::string& op = n.opType();
    if (op == "HardSigmoid") p0 = n.attrFloat("alpha", 0.2f), p1 = n.attrFloat("beta", 0.5f);
    if (op == "LeakyRelu") p0 = n.attrFloat("alpha", 0.01f);
    if (op == "Clip") {
      p0 = -INFINITY, p1 = INFINITY;
      for (size_t i = 1; i < 3 && i < n.inputs().size(); ++i) {
        if (!n.input(i)) continue;
        const ir::Tensor* t = scalarConstant(n.input(i));
        if (!t) return unsupported("Clip with non-constant bounds");
        (i == 1 ? p0 : p1) = static_cast<float>(t->getAsDouble(0));
      }
    }
    EDGEOPT_ASSIGN_OR_RETURN(int64_t e, sampleElements(*n.output(0)));
    const std::string x = use(n.input(0)), y = newBuffer(n.output(0), e, true);
    code_ << "  // " << n.describe() << " (float)\n  edgeopt_neon::unaryF32(edgeopt_neon::UnaryOp::" << unaryOpOf(n) << ", batch * "
          << e << ", " << x << ", " << floatLiteral(p0) << ", " << floatLiteral(p1) << ", " << y << ");\n";
    return Status::Ok();
  }

  Status gemmFloat(const ir::Node& n) {
    const ir::Value* w = n.inputs().size() > 1 ? n.input(1) : nullptr;
    const ir::Value* b = n.inputs().size() > 2 ? n.input(2) : nullptr;
    const auto in = sampleDims(*n.input(0));
    if (!w || !w->isInitializer() || w->initializer().rank() != 2 || (b && !b->isInitializer()) || !in || in->size() != 1 ||
        ir::fusedActivation(n) || n.attrInt("transA", 0) || n.attrFloat("alpha", 1) != 1 || n.attrFloat("beta", 1) != 1)
      return unsupported(n.opType());
    const bool transB = n.opType() == "Gemm" && n.attrInt("transB", 0) != 0;
    const auto& wd = w->initializer().dims();
    const int64_t K = transB ? wd[1] : wd[0], N = transB ? wd[0] : wd[1];
    if ((*in)[0] != K || (b && b->initializer().numel() != N && b->initializer().numel() != 1)) return unsupported(n.opType());
    const std::string wp = floatConstant(w->initializer()), bp = b ? floatConstant(b->initializer()) : "nullptr";
    const std::string x = use(n.input(0)), y = newBuffer(n.output(0), N, true);
    code_ << "  // " << n.describe() << " (float)\n  edgeopt_neon::gemmF32(batch, " << K << ", " << N << ", " << x << ", " << wp << ", "
          << (transB ? "true" : "false") << ", " << bp << ", " << (b ? b->initializer().numel() : 0) << ", " << y << ");\n";
    return Status::Ok();
  }

  Status convTransposeFloat(const ir::Node& n) {
    const ir::Value* w = n.inputs().size() > 1 ? n.input(1) : nullptr;
    const ir::Value* b = n.inputs().size() > 2 ? n.input(2) : nullptr;
    const auto chw = imageDims(*n.input(0)), out = imageDims(*n.output(0));
    if (!chw || !out || !w || !w->isInitializer() || w->initializer().rank() != 4 || (b && !b->isInitializer()))
      return unsupported("ConvTranspose");
    auto params = runtime::convTransposeParamsOf(n, {1, (*chw)[0], (*chw)[1], (*chw)[2]}, w->initializer().dims());
    if (!params.ok()) return params.status();
    const kernels::ref::ConvParams& p = params.value();
    const auto act = ir::fusedActivation(n);
    const char* actOp = nullptr;
    float p0 = 0, p1 = 0;
    if (act) {
      actOp = unaryOpNamed(act->op);
      if (!actOp) return unsupported("ConvTranspose with fused " + act->op);
      if (!act->params.empty()) p0 = act->params[0];
      if (act->params.size() > 1) p1 = act->params[1];
    }
    const std::string wp = floatConstant(w->initializer()), bp = b ? floatConstant(b->initializer()) : "nullptr";
    const int64_t e = (*out)[0] * (*out)[1] * (*out)[2];
    const std::string x = use(n.input(0)), y = newBuffer(n.output(0), e, true);
    code_ << "  {  // " << n.describe() << " (float)\n    const int64_t geometry[] = {" << p.groups << ", " << p.in_channels << ", "
          << p.in[1] << ", " << p.in[2] << ", " << p.out_channels << ", " << p.out[1] << ", " << p.out[2] << ", " << p.kernel[1]
          << ", " << p.kernel[2] << ", " << p.stride[1] << ", " << p.stride[2] << ", " << p.dilation[1] << ", " << p.dilation[2]
          << ", " << p.pad_begin[1] << ", " << p.pad_begin[2] << "};\n    edgeopt_neon::convTransposeF32(batch, geometry, " << x
          << ", " << wp << ", " << bp << ", " << y << ");\n";
    if (actOp)
      code_ << "    edgeopt_neon::unaryF32(edgeopt_neon::UnaryOp::" << actOp << ", batch * " << e << ", " << y << ", "
            << floatLiteral(p0) << ", " << floatLiteral(p1) << ", " << y << ");\n";
    code_ << "  }\n";
    return Status::Ok();
  }

  Status softmaxFloat(const ir::Node& n) {
    const auto d = sampleDims(*n.input(0));
    if (!d) return unsupported("Softmax");
    const int64_t rank = static_cast<int64_t>(d->size()) + 1;
    int64_t axis = n.attrInt("axis", -1);
    if (axis < 0) axis += rank;
    if (axis < 1 || axis >= rank) return unsupported("Softmax along the batch");
    int64_t outer = 1, inner = 1;
    for (int64_t i = 1; i < axis; ++i) outer *= (*d)[static_cast<size_t>(i - 1)];
    for (int64_t i = axis + 1; i < rank; ++i) inner *= (*d)[static_cast<size_t>(i - 1)];
    EDGEOPT_ASSIGN_OR_RETURN(int64_t e, sampleElements(*n.output(0)));
    const std::string x = use(n.input(0)), y = newBuffer(n.output(0), e, true);
    code_ << "  // " << n.describe() << " (float)\n  edgeopt_neon::softmaxF32(batch * " << outer << ", " << (*d)[static_cast<size_t>(axis - 1)]
          << ", " << inner << ", " << x << ", " << y << ");\n";
    return Status::Ok();
  }

  Status poolFloat(const ir::Node& n) {
    const auto chw = imageDims(*n.input(0)), out = imageDims(*n.output(0));
    if (!chw || !out || n.outputs().size() != 1) return unsupported(n.opType());
    kernels::ref::PoolParams p;
    const bool global = n.opType() == "GlobalAveragePool";
    if (global) {
      p.in[1] = p.kernel[1] = p.padded_end[1] = (*chw)[1];
      p.in[2] = p.kernel[2] = p.padded_end[2] = (*chw)[2];
    } else {
      auto params = runtime::poolParamsOf(n, {1, (*chw)[0], (*chw)[1], (*chw)[2]});
      if (!params.ok()) return params.status();
      p = params.value();
    }
    const int64_t outH = global ? 1 : p.out[1], outW = global ? 1 : p.out[2];
    const std::string x = use(n.input(0)), y = newBuffer(n.output(0), (*chw)[0] * outH * outW, true);
    code_ << "  {  // " << n.describe() << " (float)\n    const int64_t geometry[] = {" << p.in[1] << ", " << p.in[2] << ", " << outH
          << ", " << outW << ", " << p.kernel[1] << ", " << p.kernel[2] << ", " << p.stride[1] << ", " << p.stride[2] << ", "
          << p.pad_begin[1] << ", " << p.pad_begin[2] << ", " << p.dilation[1] << ", " << p.dilation[2] << ", " << p.padded_end[1]
          << ", " << p.padded_end[2] << "};\n    edgeopt_neon::poolF32(" << (n.opType() == "MaxPool" ? "true" : "false") << ", "
          << (n.attrInt("count_include_pad", 0) ? "true" : "false") << ", batch, " << (*chw)[0] << ", geometry, " << x << ", " << y
          << ");\n  }\n";
    return Status::Ok();
  }

  Status concatFloat(const ir::Node& n) {
    const auto outDims = sampleDims(*n.output(0));
    if (!outDims) return unsupported("Concat");
    const int64_t rank = static_cast<int64_t>(outDims->size()) + 1;
    int64_t axis = n.attrInt("axis", 0);
    if (axis < 0) axis += rank;
    if (axis < 1 || axis >= rank) return unsupported("Concat along the batch");
    int64_t outer = 1, inner = 1;
    for (int64_t i = 1; i < axis; ++i) outer *= (*outDims)[static_cast<size_t>(i - 1)];
    for (int64_t i = axis + 1; i < rank; ++i) inner *= (*outDims)[static_cast<size_t>(i - 1)];
    std::string parts, chunks;
    for (const ir::Value* v : n.inputs()) {
      const auto d = v ? sampleDims(*v) : std::nullopt;
      if (!floatBuffer(v) || !d || d->size() != outDims->size()) return unsupported("Concat");
      parts += (parts.empty() ? "" : ", ") + use(v);
      chunks += (chunks.empty() ? "" : ", ") + std::to_string((*d)[static_cast<size_t>(axis - 1)] * inner);
    }
    EDGEOPT_ASSIGN_OR_RETURN(int64_t e, sampleElements(*n.output(0)));
    const std::string y = newBuffer(n.output(0), e, true);
    code_ << "  {  // " << n.describe() << " (float)\n    const float* parts[] = {" << parts << "};\n    const int64_t chunks[] = {"
          << chunks << "};\n    edgeopt_neon::concatF32(batch * " << outer << ", " << n.inputs().size() << ", parts, chunks, " << y
          << ");\n  }\n";
    return Status::Ok();
  }

  Status binaryFloat(const ir::Node& n) {
    const auto outDims = sampleDims(*n.output(0));
    if (!outDims || n.inputs().size() != 2 || outDims->size() + 1 > 6) return unsupported(n.opType());
    const size_t rank = outDims->size() + 1;
    std::vector<int64_t> full = {0};  // the batch, filled at run time
    full.insert(full.end(), outDims->begin(), outDims->end());
    std::string ptr[2], strides[2];
    for (size_t k = 0; k < 2; ++k) {
      const ir::Value* v = n.input(k);
      std::vector<int64_t> dims;
      if (v && v->isInitializer()) {
        dims = v->initializer().dims();
        if (dims.size() == rank && dims[0] != 1) return unsupported(n.opType() + " with a constant along the batch");
        ptr[k] = floatConstant(v->initializer());
      } else if (floatBuffer(v) && sampleDims(*v) && sampleDims(*v)->size() + 1 == rank) {
        dims = {-1};  // the batch
        const auto d = *sampleDims(*v);
        dims.insert(dims.end(), d.begin(), d.end());
        ptr[k] = use(v);
      } else {
        return unsupported(n.opType());
      }
      if (dims.size() > rank) return unsupported(n.opType());
      dims.insert(dims.begin(), rank - dims.size(), 1);
      // Row-major strides of the operand, 0 along axes it broadcasts.
      std::vector<int64_t> st(rank, 0);
      int64_t stride = 1;
      for (size_t i = rank; i-- > 1;) {
        if (dims[i] != 1 && dims[i] != full[i]) return unsupported(n.opType() + ": shapes do not broadcast");
        st[i] = dims[i] == 1 && full[i] != 1 ? 0 : stride;
        stride *= dims[i];
      }
      const bool batched = dims[0] == -1;
      std::string list = batched ? std::to_string(stride) : "0";
      for (size_t i = 1; i < rank; ++i) list += ", " + std::to_string(st[i]);
      strides[k] = list;
    }
    std::string dimList = "batch";
    for (int64_t d : *outDims) dimList += ", " + std::to_string(d);
    EDGEOPT_ASSIGN_OR_RETURN(int64_t e, sampleElements(*n.output(0)));
    const std::string y = newBuffer(n.output(0), e, true);
    const std::string kind = n.opType() == "Add" ? "kAdd" : n.opType() == "Sub" ? "kSub" : n.opType() == "Mul" ? "kMul" : "kDiv";
    code_ << "  {  // " << n.describe() << " (float)\n    const int64_t dims[] = {" << dimList << "}, aStride[] = {" << strides[0]
          << "}, bStride[] = {" << strides[1] << "};\n    edgeopt_neon::binaryF32(edgeopt_neon::BinaryOp::" << kind << ", " << rank
          << ", dims, " << ptr[0] << ", aStride, " << ptr[1] << ", bStride, " << y << ");\n  }\n";
    return Status::Ok();
  }

  Status resizeFloat(const ir::Node& n) {
    const auto inDims = sampleDims(*n.input(0));
    if (!floatBuffer(n.input(0)) || !inDims) return unsupported("Resize");
    const ir::Tensor* extra[3] = {nullptr, nullptr, nullptr};  // roi, scales, sizes: constants
    for (size_t i = 1; i < n.inputs().size() && i < 4; ++i) {
      if (!n.input(i)) continue;
      if (!n.input(i)->isInitializer()) return unsupported("Resize with computed scales or sizes");
      extra[i - 1] = &n.input(i)->initializer();
    }
    std::vector<int64_t> dims = {1};
    dims.insert(dims.end(), inDims->begin(), inDims->end());
    auto axes = runtime::resizeAxesOf(n, dims, extra[0], extra[1], extra[2]);
    if (!axes.ok()) return axes.status();
    const float fill = n.attrFloat("extrapolation_value", 0.0f);
    code_ << "  // " << n.describe() << " (float)\n";
    std::string cur = use(n.input(0));
    for (size_t k = 0; k < axes->size(); ++k) {
      const runtime::ResizeAxis& a = (*axes)[k];
      if (a.axis == 0) return unsupported("Resize along the batch");
      int64_t outer = 1, inner = 1;
      for (int64_t i = 1; i < a.axis; ++i) outer *= dims[static_cast<size_t>(i)];
      for (size_t i = static_cast<size_t>(a.axis) + 1; i < dims.size(); ++i) inner *= dims[i];
      dims[static_cast<size_t>(a.axis)] = a.outLen;
      int64_t e = 1;
      for (size_t i = 1; i < dims.size(); ++i) e *= dims[i];
      const std::string next = k + 1 == axes->size() ? newBuffer(n.output(0), e, true) : newScratch(e, true);
      const size_t offIndex = addWeights(a.index.data(), a.index.size() * sizeof(int64_t));
      const size_t offWeight = addWeights(a.weight.data(), a.weight.size() * sizeof(float));
      code_ << "  edgeopt::kernels::ref::f32_resize_axis__scalar(batch * " << outer << ", " << a.inLen << ", " << a.outLen << ", "
            << inner << ", " << a.taps << ", reinterpret_cast<const int64_t*>(m->weights.data() + " << offIndex
            << "), reinterpret_cast<const float*>(m->weights.data() + " << offWeight << "), " << floatLiteral(fill) << ", " << cur
            << ", " << next << ");\n";
      cur = next;
    }
    if (axes->empty()) {
      if (n.output(0) == g_.outputs()[0]) return unsupported("Resize that changes nothing, as the model output");
      buffer_[n.output(0)] = buffer_.at(n.input(0));
    }
    return Status::Ok();
  }

  std::string header(const Package& p) const {
    std::ostringstream s;
    s << "// Generated by edgeopt compile --targets arm-neon (targets/arm_neon/emit.cc); do not edit.\n"
      << "// C API of the model: create with the path of weights.bin, run on `batch` samples of\n"
      << "// " << p.inputElements << " float32 values each (the model input, C order), writing " << p.outputElements
      << " float32 values per sample.\n#pragma once\n\n#include <stdint.h>\n\n#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n"
      << "typedef struct " << name_ << "_model " << name_ << "_model;\n\n"
      << "enum { " << name_ << "_input_elements = " << p.inputElements << ", " << name_
      << "_output_elements = " << p.outputElements << " };\n\n"
      << "// Null on failure (unreadable or mismatching weights file).\n"
      << name_ << "_model* " << name_ << "_create(const char* weights_path);\n"
      << "// 0 on success.\nint " << name_ << "_run(" << name_ << "_model* model, int64_t batch, const float* input, float* output);\n"
      << "void " << name_ << "_destroy(" << name_ << "_model* model);\n\n#ifdef __cplusplus\n}\n#endif\n";
    return s.str();
  }

  std::string source(const Package& p) const {
    std::ostringstream s;
    s << "// Generated by edgeopt compile --targets arm-neon (targets/arm_neon/emit.cc); do not edit.\n"
      << "// The model as a fixed sequence of NEON kernel calls; weights come from weights.bin.\n"
      << "#include \"model.h\"\n\n#include <cstdio>\n#include <cstring>\n#include <vector>\n\n#include \"kernels/neon/elementwise.h\"\n#include \"kernels/ref/resize.h\"\n#include \"runtime/neon_runtime.h\"\n\n"
      << "namespace {\nnamespace ref = edgeopt::kernels::ref;\nconstexpr size_t kWeightsBytes = " << p.weights.size()
      << ";\n\n" << constants_.str() << "}  // namespace\n\nstruct " << name_ << "_model {\n"
      << "  std::vector<int8_t> weights;\n  bool dot = false;\n  std::vector<int32_t> acc;\n  std::vector<int8_t> columns;\n"
      << "  std::vector<float> arena;  // the intermediates, " << p.arenaBytesPerSample << " bytes per sample\n";
    s << "};\n\n" << name_ << "_model* " << name_ << "_create(const char* weights_path) {\n"
      << "  FILE* f = std::fopen(weights_path, \"rb\");\n  if (!f) return nullptr;\n"
      << "  auto* m = new " << name_ << "_model;\n  m->weights.resize(kWeightsBytes);\n"
      << "  const bool ok = std::fread(m->weights.data(), 1, kWeightsBytes, f) == kWeightsBytes && std::fgetc(f) == EOF &&\n"
      << "                  std::memcmp(m->weights.data(), \"EDGENEON\", 8) == 0;\n  std::fclose(f);\n"
      << "  if (!ok) {\n    delete m;\n    return nullptr;\n  }\n  m->dot = edgeopt_neon::cpuHasDotProduct();\n  return m;\n}\n\n"
      << "int " << name_ << "_run(" << name_ << "_model* m, int64_t batch, const float* input, float* output) {\n"
      << "  if (!m || batch < 0) return 1;\n";
    // Per-sample offsets are multiples of 64 bytes, so batch * offset stays aligned.
    s << "  m->arena.resize(static_cast<size_t>(batch * " << (p.arenaBytesPerSample + 3) / 4 << "));\n"
      << "  char* const arena = reinterpret_cast<char*>(m->arena.data());\n";
    for (size_t i = 0; i < members_.size(); ++i) {
      const Member& b = members_[i];
      const char* type = b.isFloat ? "float" : "int8_t";
      s << "  " << type << "* const " << b.name << " = reinterpret_cast<" << type << "*>(arena + batch * " << arenaOffsets_[i]
        << ");  // " << b.elements << " per sample\n";
    }
    s << code_.str() << "  return 0;\n}\n\nvoid " << name_ << "_destroy(" << name_ << "_model* m) { delete m; }\n";
    return s.str();
  }

  std::string runner(const Package& p) const {
    std::ostringstream s;
    s << "// Generated by edgeopt compile --targets arm-neon (targets/arm_neon/emit.cc); do not edit.\n"
      << "// model_runner IN.npy OUT.npy [--iters N] [--weights FILE]: runs the model on a float32 .npy\n"
      << "// batch and prints the median latency of N timed runs (meaningful on a real device). FILE defaults\n"
      << "// to weights.bin in the package folder the runner was built from (MODEL_PACKAGE_DIR).\n"
      << "#include <algorithm>\n#include <chrono>\n#include <cstdio>\n#include <cstdlib>\n#include <cstring>\n#include <string>\n#include <vector>\n\n"
      << "#include \"model.h\"\n#include \"runtime/neon_runtime.h\"\n\nint main(int argc, char** argv) {\n"
      << "  if (argc < 3) {\n    std::fprintf(stderr, \"usage: model_runner IN.npy OUT.npy [--iters N] [--weights FILE]\\n\");\n    return 2;\n  }\n"
      << "  int iters = 0;\n  std::string weights = std::string(MODEL_PACKAGE_DIR) + \"/weights.bin\";\n"
      << "  for (int i = 3; i + 1 < argc; i += 2) {\n    if (!std::strcmp(argv[i], \"--iters\")) iters = std::atoi(argv[i + 1]);\n"
      << "    else if (!std::strcmp(argv[i], \"--weights\")) weights = argv[i + 1];\n  }\n"
      << "  std::vector<int64_t> dims;\n  std::vector<float> in;\n  std::string error;\n"
      << "  if (!edgeopt_neon::readNpyF32(argv[1], &dims, &in, &error)) {\n    std::fprintf(stderr, \"model_runner: %s\\n\", error.c_str());\n    return 2;\n  }\n"
      << "  const int64_t batch = dims.empty() ? 0 : dims[0];\n"
      << "  if (batch <= 0 || static_cast<int64_t>(in.size()) != batch * " << p.inputElements << ") {\n"
      << "    std::fprintf(stderr, \"model_runner: %s: expected [batch, ...] with " << p.inputElements << " values per sample\\n\", argv[1]);\n    return 2;\n  }\n"
      << "  " << name_ << "_model* m = " << name_ << "_create(weights.c_str());\n"
      << "  if (!m) {\n    std::fprintf(stderr, \"model_runner: %s: missing or not this model's weights\\n\", weights.c_str());\n    return 2;\n  }\n"
      << "  std::vector<float> out(static_cast<size_t>(batch * " << p.outputElements << "));\n"
      << "  int rc = " << name_ << "_run(m, batch, in.data(), out.data());\n  std::vector<double> ms;\n"
      << "  for (int i = 0; rc == 0 && i < iters; ++i) {\n    const auto t0 = std::chrono::steady_clock::now();\n"
      << "    rc = " << name_ << "_run(m, batch, in.data(), out.data());\n"
      << "    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());\n  }\n"
      << "  " << name_ << "_destroy(m);\n  if (rc != 0) {\n    std::fprintf(stderr, \"model_runner: run failed\\n\");\n    return 1;\n  }\n"
      << "  if (!edgeopt_neon::writeNpyF32(argv[2], {batch, " << p.outputElements << "}, out.data(), &error)) {\n"
      << "    std::fprintf(stderr, \"model_runner: %s\\n\", error.c_str());\n    return 2;\n  }\n"
      << "  if (!ms.empty()) {\n    std::sort(ms.begin(), ms.end());\n"
      << "    std::printf(\"latency: median %.3f ms over %d runs (batch %lld)\\n\", ms[ms.size() / 2], iters, static_cast<long long>(batch));\n  }\n"
      << "  return 0;\n}\n";
    return s.str();
  }

  std::string cmake() const {
    return "# Generated by edgeopt compile --targets arm-neon (targets/arm_neon/emit.cc); do not edit.\n"
           "# Natively on an aarch64 device:  cmake -S . -B build && cmake --build build\n"
           "# Cross from x86 (Debian g++-aarch64-linux-gnu):\n"
           "#   cmake -S . -B build -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake && cmake --build build\n"
           "cmake_minimum_required(VERSION 3.16)\nproject(" + name_ + "_neon CXX)\nset(CMAKE_CXX_STANDARD 17)\n"
           "set(CMAKE_CXX_STANDARD_REQUIRED ON)\nif(NOT CMAKE_BUILD_TYPE)\n  set(CMAKE_BUILD_TYPE Release)\nendif()\n"
           "if(NOT CMAKE_SYSTEM_PROCESSOR MATCHES \"aarch64|arm64\")\n"
           "  message(FATAL_ERROR \"This package builds for aarch64: on an ARM device, or with -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake\")\n"
           "endif()\n"
           "# The kernel sources and their flags: cmake/neon_sources.cmake, the list edgeopt itself builds them from.\n"
           "include(cmake/neon_sources.cmake)\n"
           "edgeopt_add_neon_kernels(" + name_ + " ${CMAKE_CURRENT_SOURCE_DIR} model.cc runtime/neon_runtime.cc)\n"
           "add_executable(model_runner model_runner.cc)\ntarget_link_libraries(model_runner PRIVATE " + name_ + ")\n"
           "# The runner finds weights.bin beside these sources unless --weights says otherwise.\n"
           "target_compile_definitions(model_runner PRIVATE MODEL_PACKAGE_DIR=\"${CMAKE_CURRENT_SOURCE_DIR}\")\n";
  }

  const ir::Graph& g_;
  std::string name_;
  std::map<const ir::Value*, Buffer> buffer_;
  // Intermediate buffers: elements per sample, and the steps that first write and last read them.
  struct Member {
    std::string name;
    int64_t elements;
    bool isFloat;
    int first, last;
  };
  std::vector<Member> members_;
  std::map<std::string, size_t> memberIndex_;
  std::vector<size_t> arenaOffsets_;  // per sample, by planArena
  int step_ = 0;
  std::vector<uint8_t> weights_;
  std::ostringstream code_, constants_;
  int layers_ = 0;
  int64_t gemmMacs_ = 0, dwMacs_ = 0, floatSteps_ = 0, scalarSteps_ = 0;
  std::vector<Package::StepMacs> stepMacs_;

  void countMacs(const ir::Node& n, int64_t gemm, int64_t depthwise) {
    gemmMacs_ += gemm;
    dwMacs_ += depthwise;
    stepMacs_.push_back({n.name(), n.opType(), gemm, depthwise});
  }
};

// Where an embedded source goes in the package.
std::string packagePath(const std::string& repoPath) {
  if (repoPath.rfind("targets/arm_neon/", 0) == 0) return repoPath.substr(std::string("targets/arm_neon/").size());
  if (repoPath.rfind("cmake/toolchains/", 0) == 0) return "cmake/" + repoPath.substr(std::string("cmake/toolchains/").size());
  return repoPath;
}

}  // namespace

bool runsInt8(const ir::Node& n) {
  if (!n.domain().empty()) return false;
  const std::string& op = n.opType();
  auto dims = [](const ir::Value* v) -> std::optional<std::vector<int64_t>> {
    if (!v || !v->shape()) return std::nullopt;
    std::vector<int64_t> d;
    for (const auto& x : *v->shape()) d.push_back(x.isKnown() ? x.value : -1);
    return d;
  };
  const auto x = dims(n.input(0));
  if (op == "Conv") {  // 2-D; groups other than 1 and depthwise 3x3 run the reference int8 kernel
    const auto w = dims(n.inputs().size() > 1 ? n.input(1) : nullptr);
    return x && x->size() == 4 && w && w->size() == 4;
  }
  if (op == "Gemm" || op == "MatMul") {
    const auto w = dims(n.inputs().size() > 1 ? n.input(1) : nullptr);
    return x && x->size() == 2 && w && w->size() == 2;
  }
  if (op == "Add") return x && !x->empty() && x == dims(n.input(1)) && std::all_of(x->begin() + 1, x->end(), [](int64_t d) { return d > 0; });
  if (op == "GlobalAveragePool") return x && x->size() == 4;
  if (op == "MaxPool") return x && x->size() == 4 && n.outputs().size() == 1 && n.attrInt("storage_order", 0) == 0;
  if (op == "Flatten" || op == "Reshape") {
    // NHWC int8 keeps ONNX's element order only without pixels or without channels.
    if (op == "Flatten" && n.attrInt("axis", 1) != 1) return false;
    return x && (x->size() != 4 || (*x)[1] == 1 || (*x)[2] * (*x)[3] == 1);
  }
  return false;
}

namespace {
double cortexA76Ms(int64_t gemmMacs, int64_t depthwiseMacs) {
  constexpr double kGhz = 2.4, kGemmMacsPerCycle = 28.3, kDepthwiseMacsPerCycle = 3.5;
  const double cycles = static_cast<double>(gemmMacs) / kGemmMacsPerCycle + static_cast<double>(depthwiseMacs) / kDepthwiseMacsPerCycle;
  return cycles / (kGhz * 1e6);
}
}  // namespace

double estimateLatencyMsCortexA76(const Package& p) { return cortexA76Ms(p.gemmMacs, p.depthwiseMacs); }

std::vector<targets::LayerLatency> estimateLayerLatencyCortexA76(const Package& p) {
  std::vector<targets::LayerLatency> layers;
  for (const auto& s : p.stepMacs) layers.push_back({s.node, s.op, cortexA76Ms(s.gemmMacs, s.depthwiseMacs)});
  return layers;
}

StatusOr<Package> emitPackage(const ir::Graph& lowered, const std::string& name) {
  if (name.empty() || !(std::isalpha(static_cast<unsigned char>(name[0])) || name[0] == '_') ||
      name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != std::string::npos)
    return invalidInput("arm-neon target: package name '" + name + "' is not a C identifier");
  return Emitter(lowered, name).run();
}

Status writePackage(const Package& package, const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return ioError(dir + ": cannot create folder: " + ec.message());
  auto write = [&](const std::string& rel, const std::string& text) -> Status {
    const fs::path path = fs::path(dir) / rel;
    fs::create_directories(path.parent_path(), ec);
    return support::writeFileAtomically(path.string(), text);
  };
  for (const auto& [rel, text] : package.files) EDGEOPT_RETURN_IF_ERROR(write(rel, text));
  for (const auto& [repoPath, text] : packageSources()) EDGEOPT_RETURN_IF_ERROR(write(packagePath(repoPath), text));
  return write("weights.bin", std::string(package.weights.begin(), package.weights.end()));
}

}  // namespace edgeopt::arm_neon
