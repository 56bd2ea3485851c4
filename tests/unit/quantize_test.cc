// edgeopt quantize on a small float model built in code: QDQ structure, export/import, lowering
// to int8 ops, int8 results close to fp32 and within one output step of the float QDQ semantics,
// and the bad inputs of the issue.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <random>

#include "api/quantize.h"
#include "compiler/data/npy.h"
#include "compiler/onnx/onnx_io.h"
#include "compiler/pass/pass_manager.h"
#include "compiler/runtime/executor.h"
#include "tests/unit/onnx_model_builder.h"

namespace edgeopt::api {
namespace {
namespace fs = std::filesystem;
using ir::DType;
using ir::Dim;
using ir::Tensor;

// A float32 initializer of uniform values in [-0.5, 0.5).
ir::Value* randomWeights(ir::Graph& g, std::mt19937& rng, const std::string& name, const std::vector<int64_t>& dims) {
  std::uniform_real_distribution<float> u(-0.5f, 0.5f);
  std::vector<float> v(static_cast<size_t>(ir::numElements(dims)));
  for (auto& x : v) x = u(rng);
  return g.addInitializer(name, Tensor::fromVector<float>(dims, v));
}

// x[N,2,6,6] -> Conv(4,3x3,pad 1)+bias -> Relu -> Conv(4,1x1) -> Flatten -> Gemm(144->5)+bias -> y
ir::Model buildModel(const std::string& activation = "Relu") {
  ir::Model m;
  m.opsets = {{"", 17}};
  ir::Graph& g = *m.graph;
  std::mt19937 rng(9);
  auto weights = [&](const std::string& name, std::vector<int64_t> dims) { return randomWeights(g, rng, name, dims); };
  ir::Value* x = g.addInput("x", DType::kFloat32, std::vector<Dim>{Dim::named("batch"), Dim(2), Dim(6), Dim(6)});
  ir::Node* c1 = g.addNode("Conv", {x, weights("w1", {4, 2, 3, 3}), weights("b1", {4})}, {"c1"}, "conv1");
  c1->setAttr("pads", std::vector<int64_t>{1, 1, 1, 1});
  ir::Node* r = g.addNode(activation, {c1->output(0)}, {"r"}, "relu");
  ir::Node* c2 = g.addNode("Conv", {r->output(0), weights("w2", {4, 4, 1, 1})}, {"c2"}, "conv2");
  ir::Node* f = g.addNode("Flatten", {c2->output(0)}, {"f"}, "flatten");
  ir::Node* gemm = g.addNode("Gemm", {f->output(0), weights("w3", {5, 144}), weights("b3", {5})}, {"y"}, "fc");
  gemm->setAttr("transB", int64_t{1});
  for (ir::Node* n : {c1, r, c2, f, gemm}) n->output(0)->setDType(DType::kFloat32);
  c1->output(0)->setShape(std::vector<Dim>{Dim::named("batch"), Dim(4), Dim(6), Dim(6)});
  r->output(0)->setShape(c1->output(0)->shape());
  c2->output(0)->setShape(c1->output(0)->shape());
  f->output(0)->setShape(std::vector<Dim>{Dim::named("batch"), Dim(144)});
  gemm->output(0)->setShape(std::vector<Dim>{Dim::named("batch"), Dim(5)});
  g.markOutput(gemm->output(0));
  return m;
}

// int8 and float-QDQ outputs of graph output "y" differ by at most `steps` of its int8 scale.
void expectWithinOutputSteps(const QuantizeReport& report, const Tensor& int8, const Tensor& qdq, int steps) {
  float outScale = 0;
  for (const auto& t : report.tensors)
    if (t.name == "y") outScale = t.scale;
  ASSERT_GT(outScale, 0);
  ASSERT_EQ(int8.numel(), qdq.numel());
  for (int64_t i = 0; i < int8.numel(); ++i)
    ASSERT_NEAR(int8.data<float>()[i], qdq.data<float>()[i], steps * outScale) << i;
}

class QuantizeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("edgeopt-quantize-" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    std::mt19937 rng(1);
    std::normal_distribution<float> d(0.0f, 1.0f);
    Tensor x(DType::kFloat32, {64, 2, 6, 6});
    for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = d(rng);
    ASSERT_TRUE(data::writeNpy(x, path("calib.npy")).ok());
    calib_ = x;
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& rel) const { return (dir_ / rel).string(); }
  QuantizeOptions options() const {
    QuantizeOptions o;
    o.calib.path = path("calib.npy");
    return o;
  }
  // Quantizes `model` with the default options, exports and re-imports it into *back, and runs
  // the re-imported QDQ model (float QDQ semantics) on the calibration batch into *qdq.
  void quantizeRoundTrip(ir::Model& model, QuantizeReport* report, ir::Model* back, std::vector<Tensor>* qdq) {
    Status st = quantizeModel(model, options(), report);
    ASSERT_TRUE(st.ok()) << st.message();
    ASSERT_TRUE(onnx_io::exportModel(model, path("q.onnx")).ok());
    auto imported = onnx_io::importModel(path("q.onnx"));
    ASSERT_TRUE(imported.ok()) << imported.status().message();
    *back = std::move(imported).value();
    auto out = runtime::Executor::create(*back->graph).value()->run({calib_});
    ASSERT_TRUE(out.ok()) << out.status().message();
    *qdq = std::move(out).value();
  }
  static std::map<std::string, int> ops(const ir::Graph& g) {
    std::map<std::string, int> h;
    for (const ir::Node* n : g.nodes()) ++h[n->qualifiedOpType()];
    return h;
  }
  fs::path dir_;
  Tensor calib_;
};

TEST_F(QuantizeTest, QdqStructureExportAndInt8Execution) {
  ir::Model fp32 = buildModel();
  ir::Model model = buildModel();
  QuantizeReport report;
  Status st = quantizeModel(model, options(), &report);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(report.calibrationSamples, 64);
  EXPECT_EQ(report.quantizedNodes.size(), 4u);  // conv1, conv2, flatten (data movement), fc
  EXPECT_TRUE(report.floatNodes.empty());
  EXPECT_TRUE(report.fp32Ops.empty());
  auto h = ops(*model.graph);
  // x, conv1 (Relu fused), conv2 and fc outputs, and the Flatten between conv2 and fc (data
  // movement: its output is quantized with its input's parameters, so it stays int8).
  EXPECT_EQ(h["QuantizeLinear"], 5);
  EXPECT_EQ(h["Conv"], 2);
  ASSERT_TRUE(onnx_io::exportModel(model, path("q.onnx")).ok());
  auto back = onnx_io::importModel(path("q.onnx"));
  ASSERT_TRUE(back.ok()) << back.status().message();

  // The float QDQ semantics (the model as exported) and edgeopt's int8 execution (lowered).
  auto inputs = std::vector<Tensor>{calib_};
  auto qdqExec = runtime::Executor::create(*back->graph);
  ASSERT_TRUE(qdqExec.ok());
  auto qdq = qdqExec.value()->run(inputs);
  ASSERT_TRUE(qdq.ok()) << qdq.status().message();
  ASSERT_TRUE(prepareForExecution(back.value()).ok());
  auto lowered = ops(*back->graph);
  EXPECT_EQ(lowered["edgeopt.QConv"], 2);
  EXPECT_EQ(lowered["edgeopt.QGemm"], 1);
  EXPECT_EQ(lowered.count("Conv"), 0u);
  EXPECT_EQ(lowered["QuantizeLinear"], 1);  // only the graph input
  EXPECT_EQ(lowered["DequantizeLinear"], 1);  // only the graph output
  auto int8Exec = runtime::Executor::create(*back->graph);
  ASSERT_TRUE(int8Exec.ok()) << int8Exec.status().message();
  auto int8 = int8Exec.value()->run(inputs);
  ASSERT_TRUE(int8.ok()) << int8.status().message();
  // Fixed-point requantization rounds where float QDQ rounds once more; differences stay within
  // one step of each layer's output, which after three layers is a few output steps.
  expectWithinOutputSteps(report, int8.value()[0], qdq.value()[0], 4);
  // And close to fp32.
  auto fpExec = runtime::Executor::create(*fp32.graph);
  auto fp = fpExec.value()->run(inputs);
  auto err = pass::maxRelativeError(fp.value(), int8.value());
  ASSERT_TRUE(err.ok());
  EXPECT_LT(err.value(), 0.05);
}

TEST_F(QuantizeTest, EveryCalibratorAndPerTensorWeights) {
  for (const char* c : {"minmax", "percentile", "entropy", "mse"}) {
    ir::Model model = buildModel();
    QuantizeOptions o = options();
    o.calibrator = quant::parseCalibrator(c).value();
    o.perTensorWeights = std::string(c) == "mse";
    QuantizeReport report;
    ASSERT_TRUE(quantizeModel(model, o, &report).ok()) << c;
    EXPECT_EQ(report.quantizedNodes.size(), 4u) << c;
    ASSERT_TRUE(prepareForExecution(model).ok());
    EXPECT_EQ(ops(*model.graph)["edgeopt.QConv"], 2) << c;
  }
}

TEST_F(QuantizeTest, ExcludedNodesStayFloat) {
  ir::Model model = buildModel();
  QuantizeOptions o = options();
  o.exclude = {"conv2"};
  QuantizeReport report;
  ASSERT_TRUE(quantizeModel(model, o, &report).ok());
  EXPECT_EQ(report.quantizedNodes.size(), 2u);
  ASSERT_EQ(report.floatNodes.size(), 1u);
  EXPECT_EQ(report.floatNodes[0], "conv2: excluded (--exclude)");
}

TEST_F(QuantizeTest, MaxDropKeepsTheMostSensitiveLayersInFloat) {
  // Labels = the fp32 model's own predictions, so fp32 top-1 is 1 and any int8 flip is a drop.
  ir::Model fp32 = buildModel();
  auto exec = runtime::Executor::create(*fp32.graph);
  auto logits = exec.value()->run({calib_});
  ASSERT_TRUE(logits.ok());
  std::vector<int64_t> labels;
  for (int64_t i = 0; i < 64; ++i) {
    const float* row = logits.value()[0].data<float>() + i * 5;
    labels.push_back(std::max_element(row, row + 5) - row);
  }
  ASSERT_TRUE(data::writeNpy(Tensor::fromVector<int64_t>({64}, labels), path("labels.npy")).ok());
  ir::Model model = buildModel();
  QuantizeOptions o = options();
  o.maxDrop = 0.0;
  o.eval.path = path("calib.npy");
  o.eval.labelsPath = path("labels.npy");
  QuantizeReport report;
  Status st = quantizeModel(model, o, &report);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_DOUBLE_EQ(report.fp32Top1, 1.0);
  EXPECT_DOUBLE_EQ(report.int8Top1, 1.0);  // no drop allowed: layers went back to float until none
  EXPECT_EQ(report.layers.size(), 3u);
  EXPECT_EQ(report.quantizedNodes.size() + report.keptInFloat.size(), 3u);
  for (const auto& l : report.layers) {
    EXPECT_GT(l.sqnrDb, 10.0) << l.node;
    EXPECT_GT(l.cosine, 0.9) << l.node;
  }
  QuantizeOptions noEval = options();
  noEval.maxDrop = 1.0;
  ir::Model other = buildModel();
  QuantizeReport r2;
  EXPECT_NE(quantizeModel(other, noEval, &r2).message().find("--max-drop needs labelled evaluation data"), std::string::npos);
}

TEST_F(QuantizeTest, BadInput) {
  {  // an --exclude naming no node
    ir::Model model = buildModel();
    QuantizeOptions o = options();
    o.exclude = {"conv9"};
    QuantizeReport r;
    Status st = quantizeModel(model, o, &r);
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.message().find("--exclude 'conv9' names no node"), std::string::npos) << st.message();
  }
  {  // an empty calibration set
    ir::Model model = buildModel();
    QuantizeOptions o = options();
    o.calib.limit = 0;
    QuantizeReport r;
    Status st = quantizeModel(model, o, &r);
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.message().find("calibration set is empty"), std::string::npos) << st.message();
  }
  {  // calibration data that does not fit the input
    ASSERT_TRUE(data::writeNpy(Tensor(DType::kFloat32, {4, 3, 6, 6}), path("rgb.npy")).ok());
    ir::Model model = buildModel();
    QuantizeOptions o = options();
    o.calib.path = path("rgb.npy");
    QuantizeReport r;
    Status st = quantizeModel(model, o, &r);
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.message().find("sample shape [3,6,6] does not fit model input 'x'"), std::string::npos) << st.message();
  }
  {  // a model already quantized
    ir::Model model = buildModel();
    QuantizeReport r;
    ASSERT_TRUE(quantizeModel(model, options(), &r).ok());
    QuantizeReport again;
    Status st = quantizeModel(model, options(), &again);
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.message().find("already quantized"), std::string::npos);
  }
}


void setInts(onnx::NodeProto* n, const std::string& name, std::vector<int64_t> v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INTS);
  for (int64_t x : v) a->add_ints(x);
}
void setInt(onnx::NodeProto* n, const std::string& name, int64_t v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(v);
}
std::vector<float> randomValues(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-0.5f, 0.5f);
  std::vector<float> v(n);
  for (auto& x : v) x = u(rng);
  return v;
}

// Every weightless int8 op: x -> {conv a (+Relu), conv b} -> Add -> Relu -> MaxPool -> p;
// p -> conv c; Mul(p, c); Concat(p, Mul) -> AveragePool -> GlobalAveragePool -> Reshape -> Gemm.
TEST_F(QuantizeTest, WeightlessOpsRunInInt8) {
  testing::OnnxModelBuilder b;
  b.input("x", {-1, 2, 6, 6}).output("y", {-1, 3});
  b.initializer("wa", {4, 2, 3, 3}, randomValues(72, 1)).initializer("wb", {4, 2, 1, 1}, randomValues(8, 2));
  b.initializer("wc", {4, 4, 1, 1}, randomValues(16, 3)).initializer("wf", {3, 8}, randomValues(24, 4));
  b.int64Initializer("shape", {-1, 8});
  setInts(b.node("Conv", {"x", "wa"}, {"a"}, "conv_a"), "pads", {1, 1, 1, 1});
  b.node("Relu", {"a"}, {"ar"}, "relu_a");
  b.node("Conv", {"x", "wb"}, {"bb"}, "conv_b");
  b.node("Add", {"ar", "bb"}, {"s"}, "add");
  b.node("Relu", {"s"}, {"sr"}, "relu_add");
  setInts(b.node("MaxPool", {"sr"}, {"p"}, "maxpool"), "kernel_shape", {2, 2});
  setInts(&*b.proto().mutable_graph()->mutable_node()->rbegin(), "strides", {2, 2});
  b.node("Conv", {"p", "wc"}, {"c"}, "conv_c");
  b.node("Mul", {"p", "c"}, {"m"}, "mul");
  setInt(b.node("Concat", {"p", "m"}, {"cat"}, "concat"), "axis", 1);
  auto* ap = b.node("AveragePool", {"cat"}, {"avg"}, "avgpool");
  setInts(ap, "kernel_shape", {3, 3});
  setInts(ap, "pads", {1, 1, 1, 1});
  b.node("GlobalAveragePool", {"avg"}, {"gap"}, "gap");
  b.node("Reshape", {"gap", "shape"}, {"flat"}, "reshape");
  setInt(b.node("Gemm", {"flat", "wf"}, {"y"}, "fc"), "transB", 1);
  b.save(path("weightless.onnx"));

  auto fp32 = onnx_io::importModel(path("weightless.onnx"));
  ASSERT_TRUE(fp32.ok()) << fp32.status().message();
  auto model = onnx_io::importModel(path("weightless.onnx"));
  QuantizeReport report;
  ir::Model backModel;
  std::vector<Tensor> qdqOut;
  quantizeRoundTrip(model.value(), &report, &backModel, &qdqOut);
  if (HasFatalFailure()) return;
  EXPECT_TRUE(report.fp32Ops.empty()) << report.fp32Ops.begin()->first;
  EXPECT_EQ(ops(*model->graph).count("Relu"), 0u);  // both Relus computed by the saturation of their Q
  ir::Model* back = &backModel;
  auto inputs = std::vector<Tensor>{calib_};

  ASSERT_TRUE(prepareForExecution(*back).ok());
  auto lowered = ops(*back->graph);
  EXPECT_EQ(lowered["edgeopt.QConv"], 3);
  EXPECT_EQ(lowered["edgeopt.QAdd"], 1);
  EXPECT_EQ(lowered["edgeopt.QMul"], 1);
  EXPECT_EQ(lowered["edgeopt.QAveragePool"], 2);
  EXPECT_EQ(lowered["edgeopt.QGemm"], 1);
  EXPECT_EQ(lowered["MaxPool"], 1);
  EXPECT_EQ(lowered["Concat"], 1);
  EXPECT_EQ(lowered["Reshape"], 1);
  EXPECT_EQ(lowered["QuantizeLinear"], 1);
  EXPECT_EQ(lowered["DequantizeLinear"], 1);
  // The lowered IR's one storage encoding: every activation int8, no uint8 flags left.
  for (const ir::Node* n : back->graph->nodes()) {
    if (n->opType() == "MaxPool" || n->opType() == "Concat" || n->opType() == "Reshape") {
      EXPECT_EQ(n->output(0)->dtype(), DType::kInt8) << n->name();
    }
    EXPECT_FALSE(n->hasAttr("x_uint8") || n->hasAttr("y_uint8")) << n->name();
  }
  auto int8 = runtime::Executor::create(*back->graph).value()->run(inputs);
  ASSERT_TRUE(int8.ok()) << int8.status().message();
  // One rounding difference per layer against float QDQ, a few output steps after eight layers.
  expectWithinOutputSteps(report, int8.value()[0], qdqOut[0], 6);
  auto fp = runtime::Executor::create(*fp32->graph).value()->run(inputs);
  auto err = pass::maxRelativeError(fp.value(), int8.value());
  ASSERT_TRUE(err.ok());
  EXPECT_LT(err.value(), 0.08);
}

// Nearest Resize between two convolutions stays int8: a gather on the uint8-stored values.
TEST_F(QuantizeTest, NearestResizeRunsOnIntegers) {
  testing::OnnxModelBuilder b;
  b.input("x", {-1, 2, 6, 6}).output("y", {-1, 3, 12, 12});
  b.initializer("w1", {4, 2, 1, 1}, randomValues(8, 5)).initializer("w2", {3, 4, 1, 1}, randomValues(12, 6));
  b.initializer("scales", {4}, {1.0f, 1.0f, 2.0f, 2.0f});
  b.node("Conv", {"x", "w1"}, {"a"}, "conv1");
  b.node("Resize", {"a", "", "scales"}, {"r"}, "resize");
  b.node("Conv", {"r", "w2"}, {"y"}, "conv2");
  b.save(path("resize.onnx"));
  auto model = onnx_io::importModel(path("resize.onnx"));
  ASSERT_TRUE(model.ok()) << model.status().message();
  QuantizeReport report;
  ir::Model backModel;
  std::vector<Tensor> qdqOut;
  quantizeRoundTrip(model.value(), &report, &backModel, &qdqOut);
  if (HasFatalFailure()) return;
  EXPECT_TRUE(report.fp32Ops.empty());
  ir::Model* back = &backModel;
  auto inputs = std::vector<Tensor>{calib_};
  ASSERT_TRUE(prepareForExecution(*back).ok());
  bool sawResize = false;
  for (const ir::Node* n : back->graph->nodes())
    if (n->opType() == "Resize") {
      sawResize = true;
      EXPECT_EQ(n->output(0)->dtype(), DType::kInt8);
    }
  EXPECT_TRUE(sawResize);
  auto int8 = runtime::Executor::create(*back->graph).value()->run(inputs);
  ASSERT_TRUE(int8.ok()) << int8.status().message();
  expectWithinOutputSteps(report, int8.value()[0], qdqOut[0], 2);
}


// ---- Defects found on real models (issue 13) ----

// x[B,4] -> Gemm(4->3) [+ activation] -> y; batch B fixed when fixedBatch > 0.
ir::Model gemmModel(int64_t fixedBatch, const std::string& activation, float bias = 0.0f) {
  ir::Model m;
  m.opsets = {{"", 17}};
  ir::Graph& g = *m.graph;
  const Dim batch = fixedBatch > 0 ? Dim(fixedBatch) : Dim::named("batch");
  ir::Value* x = g.addInput("x", DType::kFloat32, std::vector<Dim>{batch, Dim(4)});
  std::vector<float> w = {0.5f, -0.25f, 0.75f, 0.1f, -0.3f, 0.2f, 0.6f, -0.4f, 0.9f, 0.05f, -0.15f, 0.35f};
  ir::Node* gemm = g.addNode("Gemm", {x, g.addInitializer("w", Tensor::fromVector<float>({3, 4}, w)),
                                      g.addInitializer("b", Tensor::fromVector<float>({3}, {bias, bias, bias}))},
                             {activation.empty() ? "y" : "logits"}, "fc");
  gemm->setAttr("transB", int64_t{1});
  gemm->output(0)->setDType(DType::kFloat32);
  gemm->output(0)->setShape(std::vector<Dim>{batch, Dim(3)});
  ir::Value* y = gemm->output(0);
  if (!activation.empty()) {
    ir::Node* act = g.addNode(activation, {y}, {"y"}, "act");
    act->output(0)->setDType(DType::kFloat32);
    act->output(0)->setShape(y->shape());
    y = act->output(0);
  }
  g.markOutput(y);
  return m;
}

TEST_F(QuantizeTest, FixedBatchOfOneWithManyCalibrationSamples) {
  // The attribution step used to read min(128, N) samples as one batch: "shape [8,4], model
  // expects [1,4]".
  Tensor x(DType::kFloat32, {8, 4});
  for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = 0.1f * static_cast<float>(i % 7) - 0.3f;
  ASSERT_TRUE(data::writeNpy(x, path("b1.npy")).ok());
  ir::Model model = gemmModel(1, "");
  QuantizeOptions o;
  o.calib.path = path("b1.npy");
  o.attributionSamples = 8;
  QuantizeReport report;
  Status st = quantizeModel(model, o, &report);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(report.calibrationSamples, 8);
  EXPECT_EQ(report.attributionSamples, 8);
  ASSERT_FALSE(report.layers.empty());
  EXPECT_TRUE(std::isfinite(report.layers[0].sqnrDb));
}

TEST_F(QuantizeTest, AttributionSampleCountIsChosenByCost) {
  ir::Model model = buildModel();
  QuantizeReport report;
  QuantizeOptions o = options();
  ASSERT_EQ(o.attributionSamples, 0);  // the default: chosen by cost
  Status st = quantizeModel(model, o, &report);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_GE(report.attributionSamples, 1);
  EXPECT_LE(report.attributionSamples, 64);  // never more than calibration had
}

TEST_F(QuantizeTest, ConvWithHardSwishRunsInInt8WithFiniteErrors) {
  // A fused activation other than Relu/Clip used to keep the layer in float QDQ form, and its
  // SQNR and cosine printed nan.
  ir::Model model = buildModel("HardSwish");
  QuantizeReport report;
  Status st = quantizeModel(model, options(), &report);
  ASSERT_TRUE(st.ok()) << st.message();
  bool sawConv1 = false;
  for (const auto& l : report.layers) {
    EXPECT_TRUE(std::isfinite(l.sqnrDb)) << l.node;
    EXPECT_TRUE(std::isfinite(l.cosine)) << l.node;
    sawConv1 = sawConv1 || l.node == "conv1";
  }
  EXPECT_TRUE(sawConv1);
  EXPECT_EQ(report.fp32Ops["HardSwish"], 1);
  ASSERT_TRUE(prepareForExecution(model).ok());
  EXPECT_EQ(ops(*model.graph)["edgeopt.QConv"], 2);
}

TEST_F(QuantizeTest, SigmoidGraphOutputIsNotClampedToItsCalibratedRange) {
  // Calibrated on inputs whose outputs are tiny (a wake-word detector on ordinary audio), the
  // int8 model could never output more than the calibrated maximum.
  Tensor quiet(DType::kFloat32, {16, 4});
  for (int64_t i = 0; i < quiet.numel(); ++i) quiet.data<float>()[i] = 0.01f * static_cast<float>(i % 5);
  ASSERT_TRUE(data::writeNpy(quiet, path("quiet.npy")).ok());
  ir::Model model = gemmModel(0, "Sigmoid", -7.0f);
  ir::Model fp32 = gemmModel(0, "Sigmoid", -7.0f);
  QuantizeOptions o;
  o.calib.path = path("quiet.npy");
  QuantizeReport report;
  Status st = quantizeModel(model, o, &report);
  ASSERT_TRUE(st.ok()) << st.message();
  ASSERT_EQ(report.floatNodes.size(), 1u);
  EXPECT_NE(report.floatNodes[0].find("graph output 'y'"), std::string::npos) << report.floatNodes[0];
  ASSERT_TRUE(prepareForExecution(model).ok());
  const Tensor loud = Tensor::fromVector<float>({1, 4}, {8, 8, 8, 8});
  auto want = runtime::Executor::create(*fp32.graph).value()->run({loud});
  auto got = runtime::Executor::create(*model.graph).value()->run({loud});
  ASSERT_TRUE(want.ok() && got.ok());
  EXPECT_GT(want.value()[0].data<float>()[0], 0.8f);  // fp32: 0.86, 0.002, 0.90
  for (int64_t i = 0; i < 3; ++i)
    EXPECT_NEAR(got.value()[0].data<float>()[i], want.value()[0].data<float>()[i], 0.02f) << i;
}

TEST_F(QuantizeTest, ClampsAfterAResidualAddAndTheMaxPoolAfterThemRunInInt8) {
  // tf2onnx writes Relu6 as Max(Min(x, 6), 0): it used to stay fp32, and the MaxPool after it too.
  ir::Model m;
  m.opsets = {{"", 17}};
  ir::Graph& g = *m.graph;
  std::mt19937 rng(3);
  auto weights = [&](const std::string& name, std::vector<int64_t> dims) { return randomWeights(g, rng, name, dims); };
  auto shaped = [](ir::Node* n, std::vector<Dim> dims) {
    n->output(0)->setDType(DType::kFloat32);
    n->output(0)->setShape(dims);
    return n->output(0);
  };
  const std::vector<Dim> full = {Dim::named("batch"), Dim(4), Dim(6), Dim(6)};
  ir::Value* x = g.addInput("x", DType::kFloat32, std::vector<Dim>{Dim::named("batch"), Dim(2), Dim(6), Dim(6)});
  ir::Node* c1 = g.addNode("Conv", {x, weights("w1", {4, 2, 3, 3}), weights("b1", {4})}, {"c1"}, "conv1");
  c1->setAttr("pads", std::vector<int64_t>{1, 1, 1, 1});
  ir::Value* v1 = shaped(c1, full);
  ir::Value* v2 = shaped(g.addNode("Conv", {v1, weights("w2", {4, 4, 1, 1})}, {"c2"}, "conv2"), full);
  ir::Value* sum = shaped(g.addNode("Add", {v1, v2}, {"sum"}, "residual"), full);
  ir::Value* six = g.addInitializer("six", Tensor::scalar<float>(6.0f));
  ir::Value* zero = g.addInitializer("zero", Tensor::scalar<float>(0.0f));
  ir::Value* lo = shaped(g.addNode("Min", {sum, six}, {"min6"}, "min6"), full);
  ir::Value* r6 = shaped(g.addNode("Max", {lo, zero}, {"relu6"}, "relu6"), full);
  ir::Node* pool = g.addNode("MaxPool", {r6}, {"pool"}, "pool");
  pool->setAttr("kernel_shape", std::vector<int64_t>{2, 2});
  pool->setAttr("strides", std::vector<int64_t>{2, 2});
  ir::Value* p = shaped(pool, {Dim::named("batch"), Dim(4), Dim(3), Dim(3)});
  g.markOutput(shaped(g.addNode("Conv", {p, weights("w3", {3, 4, 1, 1})}, {"y"}, "conv3"),
                      {Dim::named("batch"), Dim(3), Dim(3), Dim(3)}));
  QuantizeReport report;
  Status st = quantizeModel(m, options(), &report);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_TRUE(report.fp32Ops.empty()) << "fp32: " << report.fp32Ops.size() << " kinds, first "
                                      << (report.fp32Ops.empty() ? "" : report.fp32Ops.begin()->first);
  ASSERT_TRUE(prepareForExecution(m).ok());
  const auto h = ops(*m.graph);
  EXPECT_EQ(h.count("Clip") + h.count("Min") + h.count("Max"), 0u);
  EXPECT_EQ(h.at("edgeopt.QAdd"), 1);
}
TEST_F(QuantizeTest, CalibrationOnX86MatchesTheReference) {
  // Calibration runs on the x86 target's executable (observing every calibrated activation); its
  // statistics equal the reference executor's up to fp32 rounding.
  QuantizeReport onRef, onX86;
  ir::Model a = buildModel("HardSwish"), b = buildModel("HardSwish");
  QuantizeOptions o = options();
  o.target = "ref";
  ASSERT_TRUE(quantizeModel(a, o, &onRef).ok());
  o.target = "x86";
  ASSERT_TRUE(quantizeModel(b, o, &onX86).ok());
  ASSERT_EQ(onRef.tensors.size(), onX86.tensors.size());
  std::map<std::string, TensorRange> x86;
  for (const auto& t : onX86.tensors) x86[t.name] = t;
  for (const auto& r : onRef.tensors) {
    ASSERT_TRUE(x86.count(r.name)) << r.name;
    const TensorRange& x = x86[r.name];
    EXPECT_NEAR(r.observedMin, x.observedMin, 1e-4 * std::fabs(r.observedMin) + 1e-6) << r.name;
    EXPECT_NEAR(r.observedMax, x.observedMax, 1e-4 * std::fabs(r.observedMax) + 1e-6) << r.name;
    EXPECT_NEAR(r.scale, x.scale, 1e-4 * r.scale) << r.name;
    EXPECT_NEAR(r.zeroPoint, x.zeroPoint, 1) << r.name;
  }
}

}  // namespace
}  // namespace edgeopt::api
