// edgeopt's own opset upgrade (compiler/onnx/opset_upgrade.h): each adapted construct of an old
// opset, built in code, imports to opset 17 and computes what the old operator defined.
#include "compiler/onnx/opset_upgrade.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <numeric>

#include "compiler/onnx/onnx_io.h"
#include "compiler/runtime/executor.h"
#include "tests/unit/onnx_model_builder.h"

namespace edgeopt::onnx_io {
namespace {
namespace fs = std::filesystem;
using testing::OnnxModelBuilder;

class OpsetUpgradeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("edgeopt-upgrade-" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  StatusOr<ir::Model> load(OnnxModelBuilder& b) {
    const std::string p = (dir_ / "m.onnx").string();
    b.save(p);
    return importModel(p);
  }
  static size_t count(const ir::Model& m, const std::string& op) {
    size_t n = 0;
    for (const ir::Node* node : m.graph->nodes()) n += node->opType() == op;
    return n;
  }
  static std::vector<float> run(const ir::Model& m, std::vector<ir::Tensor> inputs) {
    auto exec = runtime::Executor::create(*m.graph);
    EXPECT_TRUE(exec.ok()) << exec.status().message();
    if (!exec.ok()) return {};
    auto out = exec.value()->run(inputs);
    EXPECT_TRUE(out.ok()) << out.status().message();
    if (!out.ok()) return {};
    const ir::Tensor& t = out.value()[0];
    return std::vector<float>(t.data<float>(), t.data<float>() + t.numel());
  }
  static std::vector<float> iota(size_t n, float step = 0.25f) {
    std::vector<float> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = step * static_cast<float>(i) - 1.0f;
    return v;
  }
  fs::path dir_;
};

// Softmax over `rows` rows of `cols` contiguous values.
std::vector<float> softmaxRows(const std::vector<float>& x, size_t cols) {
  std::vector<float> y(x.size());
  for (size_t r = 0; r < x.size() / cols; ++r) {
    float mx = -INFINITY, sum = 0;
    for (size_t c = 0; c < cols; ++c) mx = std::max(mx, x[r * cols + c]);
    for (size_t c = 0; c < cols; ++c) sum += std::exp(x[r * cols + c] - mx);
    for (size_t c = 0; c < cols; ++c) y[r * cols + c] = std::exp(x[r * cols + c] - mx) / sum;
  }
  return y;
}

void expectNear(const std::vector<float>& got, const std::vector<float>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-6) << "index " << i;
}

TEST_F(OpsetUpgradeTest, SoftmaxOfOpset11CoercesTo2DWhenTheAxisIsNotTheLast) {
  OnnxModelBuilder b(11);
  b.input("x", {2, 3, 4}).output("y", {2, 3, 4});
  testing::addIntAttr(b.node("Softmax", {"x"}, {"y"}, "sm"), "axis", 1);
  auto m = load(b);
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->defaultOpset(), kCanonicalOpset);
  EXPECT_EQ(count(*m, "Flatten"), 1u);
  const auto x = iota(24);
  expectNear(run(*m, {ir::Tensor::fromVector<float>({2, 3, 4}, x)}), softmaxRows(x, 12));
}

TEST_F(OpsetUpgradeTest, SoftmaxOfOpset11OverTheLastAxisStaysOneNode) {
  OnnxModelBuilder b(11);
  b.input("x", {2, 3, 4}).output("y", {2, 3, 4});
  testing::addIntAttr(b.node("Softmax", {"x"}, {"y"}, "sm"), "axis", 2);
  auto m = load(b);
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(count(*m, "Flatten"), 0u);
  EXPECT_EQ(m->graph->numNodes(), 1u);
  const auto x = iota(24);
  expectNear(run(*m, {ir::Tensor::fromVector<float>({2, 3, 4}, x)}), softmaxRows(x, 4));
}

TEST_F(OpsetUpgradeTest, SoftmaxBehindARunTimeReshapeLearnsItsRank) {
  // PaddleOCR's pattern: the Softmax input comes from a Reshape whose shape is computed from
  // Shape(x); libonnx 1.12 alone never learns its rank and its converter aborts.
  OnnxModelBuilder b(9);
  b.input("x", {-1, 3, 4}).output("y", {-1, 12});
  b.int64Initializer("rest", {12});
  b.node("Shape", {"x"}, {"s"}, "shape");
  auto* slice = b.node("Slice", {"s"}, {"n"}, "slice");
  testing::addIntsAttr(slice, "axes", {0});
  testing::addIntsAttr(slice, "starts", {0});
  testing::addIntsAttr(slice, "ends", {1});
  testing::addIntAttr(b.node("Concat", {"n", "rest"}, {"target"}, "concat"), "axis", 0);
  b.node("Reshape", {"x", "target"}, {"r"}, "reshape");
  testing::addIntAttr(b.node("Softmax", {"r"}, {"y"}, "sm"), "axis", 1);
  auto m = load(b);
  ASSERT_TRUE(m.ok()) << m.status().message();
  const ir::Value* r = m->graph->findValue("r");
  ASSERT_NE(r, nullptr);
  ASSERT_TRUE(r->shape().has_value());
  EXPECT_EQ(r->shape()->size(), 2u);
  EXPECT_EQ(count(*m, "Flatten"), 0u);  // the rank shows axis 1 is the last one
  const auto x = iota(24);
  expectNear(run(*m, {ir::Tensor::fromVector<float>({2, 3, 4}, x)}), softmaxRows(x, 12));
}

TEST_F(OpsetUpgradeTest, RunTimeReshapeFromItsInputsOwnShapeGetsItsDims) {
  // PaddleOCR cls: Reshape(x, Concat(Cast(Slice(Cast(Shape(x)), 0:1)), [-1])): [batch, C*H*W], the
  // -1 resolved because the symbolic batch cancels. Targets with fixed buffers need the dims.
  OnnxModelBuilder b(9);
  b.input("x", {-1, 5, 2, 2}).output("y", {-1, 20});
  b.int64Initializer("rest", {-1});
  b.node("Shape", {"x"}, {"s"}, "shape");
  testing::addIntAttr(b.node("Cast", {"s"}, {"s32"}, "cast0"), "to", 6);
  auto* slice = b.node("Slice", {"s32"}, {"n32"}, "slice");
  testing::addIntsAttr(slice, "axes", {0});
  testing::addIntsAttr(slice, "starts", {0});
  testing::addIntsAttr(slice, "ends", {1});
  testing::addIntAttr(b.node("Cast", {"n32"}, {"n"}, "cast1"), "to", 7);
  testing::addIntAttr(b.node("Concat", {"n", "rest"}, {"target"}, "concat"), "axis", 0);
  b.node("Reshape", {"x", "target"}, {"r"}, "reshape");
  b.node("Relu", {"r"}, {"y"}, "relu");
  auto m = load(b);
  ASSERT_TRUE(m.ok()) << m.status().message();
  const ir::Value* r = m->graph->findValue("r");
  ASSERT_NE(r, nullptr);
  ASSERT_TRUE(r->shape().has_value());
  ASSERT_EQ(r->shape()->size(), 2u);
  EXPECT_FALSE((*r->shape())[0].isKnown());  // the batch stays symbolic
  ASSERT_TRUE((*r->shape())[1].isKnown());
  EXPECT_EQ((*r->shape())[1].value, 20);
}

TEST_F(OpsetUpgradeTest, ClipSliceUnsqueezeAndReduceSumAttributesBecomeInputs) {
  OnnxModelBuilder b(9);
  b.input("x", {2, 4}).output("y", {1, 1});
  auto* clip = b.node("Clip", {"x"}, {"c"}, "clip");
  testing::addFloatAttr(clip, "min", -0.5f);
  testing::addFloatAttr(clip, "max", 0.5f);
  auto* slice = b.node("Slice", {"c"}, {"s"}, "slice");
  testing::addIntsAttr(slice, "starts", {1});
  testing::addIntsAttr(slice, "ends", {3});
  testing::addIntsAttr(slice, "axes", {1});
  auto* rs = b.node("ReduceSum", {"s"}, {"r"}, "sum");
  testing::addIntsAttr(rs, "axes", {0, 1});
  testing::addIntAttr(rs, "keepdims", 0);
  testing::addIntsAttr(b.node("Unsqueeze", {"r"}, {"y"}, "unsq"), "axes", {0, 1});
  auto m = load(b);
  ASSERT_TRUE(m.ok()) << m.status().message();
  const auto x = iota(8);  // -1, -0.75, ..., 0.75
  // Clipped rows {-0.5, -0.5, -0.5, -0.25} and {0, 0.25, 0.5, 0.5}; columns 1..2 sum to -0.25.
  expectNear(run(*m, {ir::Tensor::fromVector<float>({2, 4}, x)}), {-0.25f});
}

TEST_F(OpsetUpgradeTest, UpsampleBecomesAnAsymmetricFloorResize) {
  OnnxModelBuilder b(9);
  b.input("x", {1, 1, 2, 2}).output("y", {1, 1, 4, 6});
  b.initializer("scales", {4}, {1, 1, 2, 3});
  testing::addStringAttr(b.node("Upsample", {"x", "scales"}, {"y"}, "up"), "mode", "nearest");
  auto m = load(b);
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(count(*m, "Resize"), 1u);
  const std::vector<float> want = {1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 3, 3, 3, 4, 4, 4};
  expectNear(run(*m, {ir::Tensor::fromVector<float>({1, 1, 2, 2}, {1, 2, 3, 4})}), want);
}

TEST_F(OpsetUpgradeTest, Opset6BroadcastWithAnAxisAlignsTheSecondInputThere) {
  OnnxModelBuilder b(6);
  b.input("a", {2, 3, 2}).output("y", {2, 3, 2});
  b.initializer("bias", {3}, {10, 20, 30});
  auto* add = b.node("Add", {"a", "bias"}, {"y"}, "add");
  testing::addIntAttr(add, "broadcast", 1);
  testing::addIntAttr(add, "axis", 1);
  auto m = load(b);
  ASSERT_TRUE(m.ok()) << m.status().message();
  std::vector<float> a(12, 0.0f), want(12);
  for (size_t i = 0; i < 12; ++i) want[i] = 10.0f * static_cast<float>((i / 2) % 3 + 1);
  expectNear(run(*m, {ir::Tensor::fromVector<float>({2, 3, 2}, a)}), want);
}

// Issue 20: an old-opset model with an operator outside edgeopt's table goes through libonnx's
// converter, whose time grows with the square of the node count (a 30,000-node chain: 72 s; 100,000:
// more than 200 s): past kMaxConverterNodes it is refused at once, naming the operator and the way out.
TEST_F(OpsetUpgradeTest, ConverterFallbackIsBoundedInNodes) {
  auto chain = [](int nodes) {
    OnnxModelBuilder b(13);
    b.input("x", {1, 8, 2, 2}).output("y", {1, 8, 2, 2});
    for (int i = 0; i < nodes; ++i)
      b.node("MeanVarianceNormalization", {i == 0 ? "x" : "t" + std::to_string(i - 1)}, {i + 1 == nodes ? "y" : "t" + std::to_string(i)},
             "n" + std::to_string(i));
    return b;
  };
  auto small = chain(50);
  auto ok = load(small);
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_EQ(ok->defaultOpset(), kCanonicalOpset);
  auto big = chain(kMaxConverterNodes + 1);
  auto refused = load(big);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(refused.status().message().find("operator MeanVarianceNormalization is not in edgeopt's upgrade table"), std::string::npos)
      << refused.status().message();
  EXPECT_NE(refused.status().message().find("convert the model to opset 17 first"), std::string::npos) << refused.status().message();
}

TEST_F(OpsetUpgradeTest, PerElementBatchNormIsRefusedByName) {
  OnnxModelBuilder b(7);
  b.input("x", {1, 2, 2}).output("y", {1, 2, 2});
  for (const char* n : {"g", "be", "mu", "var"}) b.initializer(n, {2, 2}, {1, 1, 1, 1});
  testing::addIntAttr(b.node("BatchNormalization", {"x", "g", "be", "mu", "var"}, {"y"}, "bn_old"),
                      "spatial", 0);
  auto m = load(b);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(m.status().message().find("bn_old"), std::string::npos) << m.status().message();
  EXPECT_NE(m.status().message().find("spatial=0"), std::string::npos) << m.status().message();
}

TEST_F(OpsetUpgradeTest, NewerIrVersionWithoutNewerFeaturesIsReadAsIr8) {
  OnnxModelBuilder b(17);
  b.proto().set_ir_version(10);
  b.input("x", {2}).output("y", {2});
  b.node("Relu", {"x"}, {"y"}, "relu");
  auto m = load(b);
  ASSERT_TRUE(m.ok()) << m.status().message();
}

TEST_F(OpsetUpgradeTest, NewerIrVersionWithFloat8IsRefusedPlainly) {
  OnnxModelBuilder b(17);
  b.proto().set_ir_version(9);
  b.input("x", {2}, 17 /* FLOAT8E4M3FN */).output("y", {2}, 17);
  b.node("Identity", {"x"}, {"y"}, "id");
  auto m = load(b);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("IR version 9"), std::string::npos) << m.status().message();
  EXPECT_EQ(m.status().message().find("checker"), std::string::npos) << m.status().message();
}

TEST_F(OpsetUpgradeTest, UnknownOperatorLeavesTheModelToLibonnx) {
  OnnxModelBuilder b(9);
  b.input("x", {2}).output("y", {2});
  b.node("Scatter", {"x", "x", "x"}, {"y"}, "scatter");
  onnx::ModelProto copy = b.proto();
  std::string why;
  auto outcome = upgradeOpset(copy, 9, kCanonicalOpset, &why);
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(*outcome, UpgradeOutcome::kNotHandled);
  EXPECT_NE(why.find("Scatter"), std::string::npos);
  EXPECT_EQ(copy.opset_import(0).version(), 9);
}

// ---- Control flow decided before run time (compiler/onnx/control_flow.h) ----

onnx::GraphProto unaryGraph(const std::string& name, const std::string& op, const std::string& in,
                            const std::string& out) {
  onnx::GraphProto g;
  g.set_name(name);
  auto* n = g.add_node();
  n->set_op_type(op);
  n->set_name(name + "_" + op);
  n->add_input(in);
  n->add_output(out);
  auto* o = g.add_output();
  o->set_name(out);
  o->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
  return g;
}

void addGraphAttr(onnx::NodeProto* n, const std::string& name, const onnx::GraphProto& g) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::GRAPH);
  *a->mutable_g() = g;
}

void addBoolInitializer(OnnxModelBuilder& b, const std::string& name, bool v) {
  auto* t = b.proto().mutable_graph()->add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::BOOL);
  t->add_int32_data(v ? 1 : 0);
}

TEST_F(OpsetUpgradeTest, IfWithAConstantConditionIsInlined) {
  OnnxModelBuilder b(17);
  b.input("x", {3}).output("y", {3});
  addBoolInitializer(b, "cond", false);
  auto* n = b.node("If", {"cond"}, {"y"}, "branchy");
  addGraphAttr(n, "then_branch", unaryGraph("then", "Relu", "x", "then_y"));
  addGraphAttr(n, "else_branch", unaryGraph("else", "Neg", "x", "else_y"));
  auto m = load(b);
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(count(*m, "If"), 0u);
  EXPECT_EQ(count(*m, "Neg"), 1u);
  expectNear(run(*m, {ir::Tensor::fromVector<float>({3}, {1, -2, 3})}), {-1, 2, -3});
}

TEST_F(OpsetUpgradeTest, IfDecidedAtRunTimeIsRefusedByName) {
  OnnxModelBuilder b(17);
  b.input("c", {}, onnx::TensorProto::BOOL).input("x", {3}).output("y", {3});
  auto* n = b.node("If", {"c"}, {"y"}, "runtime_if");
  addGraphAttr(n, "then_branch", unaryGraph("then", "Relu", "x", "then_y"));
  addGraphAttr(n, "else_branch", unaryGraph("else", "Neg", "x", "else_y"));
  auto m = load(b);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(m.status().message().find("runtime_if"), std::string::npos) << m.status().message();
  EXPECT_NE(m.status().message().find("decided at run time"), std::string::npos) << m.status().message();
}

TEST_F(OpsetUpgradeTest, LoopWithAConstantTripCountIsUnrolled) {
  // v = x; for i in 0..2: scan_i = v * 2; v = v + 1   ->  v_final = x + 3, scans stacked.
  OnnxModelBuilder b(17);
  b.input("x", {2}).output("v_final", {2}).output("scans", {3, 2});
  b.int64Initializer("trips", {3});
  // A scalar trip count: drop the dims int64Initializer gave it.
  b.proto().mutable_graph()->mutable_initializer(0)->clear_dims();
  onnx::GraphProto body;
  body.set_name("body");
  auto input = [&](const std::string& name, int32_t type, bool scalar) {
    auto* v = body.add_input();
    v->set_name(name);
    auto* tt = v->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(type);
    if (scalar) tt->mutable_shape();
  };
  input("i", onnx::TensorProto::INT64, true);
  input("cond_in", onnx::TensorProto::BOOL, true);
  input("v_in", onnx::TensorProto::FLOAT, false);
  auto* one = body.add_initializer();
  one->set_name("one");
  one->set_data_type(onnx::TensorProto::FLOAT);
  one->add_float_data(1.0f);
  auto* two = body.add_initializer();
  two->set_name("two");
  two->set_data_type(onnx::TensorProto::FLOAT);
  two->add_float_data(2.0f);
  auto node = [&](const std::string& op, std::vector<std::string> ins, const std::string& out) {
    auto* n = body.add_node();
    n->set_op_type(op);
    n->set_name("body_" + out);
    for (auto& i : ins) n->add_input(i);
    n->add_output(out);
  };
  node("Identity", {"cond_in"}, "cond_out");
  node("Add", {"v_in", "one"}, "v_out");
  node("Mul", {"v_in", "two"}, "scan_out");
  for (auto [name, type] : {std::pair<const char*, int32_t>{"cond_out", onnx::TensorProto::BOOL},
                            {"v_out", onnx::TensorProto::FLOAT}, {"scan_out", onnx::TensorProto::FLOAT}}) {
    auto* o = body.add_output();
    o->set_name(name);
    o->mutable_type()->mutable_tensor_type()->set_elem_type(type);
  }
  auto* loop = b.node("Loop", {"trips", "", "x"}, {"v_final", "scans"}, "unrollable");
  addGraphAttr(loop, "body", body);
  auto m = load(b);
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(count(*m, "Loop"), 0u);
  auto exec = runtime::Executor::create(*m->graph);
  ASSERT_TRUE(exec.ok()) << exec.status().message();
  auto out = exec.value()->run({ir::Tensor::fromVector<float>({2}, {10, 20})});
  ASSERT_TRUE(out.ok()) << out.status().message();
  const ir::Tensor& v = out.value()[0];
  const ir::Tensor& scans = out.value()[1];
  EXPECT_EQ(v.data<float>()[0], 13.0f);
  EXPECT_EQ(v.data<float>()[1], 23.0f);
  EXPECT_EQ(scans.dims(), (std::vector<int64_t>{3, 2}));
  const std::vector<float> want = {20, 40, 22, 42, 24, 44};
  for (size_t k = 0; k < want.size(); ++k) EXPECT_EQ(scans.data<float>()[k], want[k]) << k;
}

}  // namespace
}  // namespace edgeopt::onnx_io
