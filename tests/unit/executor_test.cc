#include "compiler/runtime/executor.h"

#include <gtest/gtest.h>

namespace edgeopt::runtime {
namespace {
using ir::DType;
using ir::Dim;
using ir::Graph;
using ir::Tensor;

TEST(ExecutorTest, ReportsEveryUnsupportedOpAtOnce) {
  Graph g;
  ir::Value* x = g.addInput("x", DType::kFloat32, std::vector<Dim>{Dim(4)});
  ir::Node* a = g.addNode("Foo", {x}, {"a"}, "foo1", nullptr, "com.example");
  ir::Node* b = g.addNode("Foo", {a->output(0)}, {"b"}, "foo2", nullptr, "com.example");
  ir::Node* c = g.addNode("Bar", {b->output(0)}, {"c"}, "bar1", nullptr, "com.example");
  ir::Node* r = g.addNode("Resize", {c->output(0)}, {"d"}, "resize1");
  r->setAttr("mode", std::string("bogus"));
  g.markOutput(r->output(0));
  auto exec = Executor::create(g);
  ASSERT_FALSE(exec.ok());
  const std::string& m = exec.status().message();
  EXPECT_EQ(exec.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(m.find("com.example.Foo (node 'foo1' and 1 more)"), std::string::npos) << m;
  EXPECT_NE(m.find("com.example.Bar (node 'bar1')"), std::string::npos) << m;
  EXPECT_NE(m.find("'resize1' (Resize): mode 'bogus'"), std::string::npos) << m;
}

TEST(ExecutorTest, ChecksInputDTypeAndShape) {
  Graph g;
  ir::Value* x = g.addInput("x", DType::kFloat32, std::vector<Dim>{Dim::named("n"), Dim(3)});
  ir::Node* n = g.addNode("Relu", {x}, {"y"});
  g.markOutput(n->output(0));
  auto exec = Executor::create(g);
  ASSERT_TRUE(exec.ok());
  auto wrongType = exec.value()->run({Tensor::fromVector<int32_t>({1, 3}, {1, 2, 3})});
  ASSERT_FALSE(wrongType.ok());
  EXPECT_NE(wrongType.status().message().find("input 'x': dtype int32, model expects float32"), std::string::npos)
      << wrongType.status().message();
  auto wrongShape = exec.value()->run({Tensor(DType::kFloat32, {2, 4})});
  ASSERT_FALSE(wrongShape.ok());
  EXPECT_NE(wrongShape.status().message().find("shape [2,4], model expects [n,3]"), std::string::npos)
      << wrongShape.status().message();
  auto okRun = exec.value()->run({Tensor::fromVector<float>({2, 3}, {-1, 2, -3, 4, -5, 6})});
  ASSERT_TRUE(okRun.ok());
  EXPECT_EQ(okRun.value()[0].data<float>()[1], 2.0f);
  EXPECT_EQ(okRun.value()[0].data<float>()[2], 0.0f);
  auto byName = exec.value()->runNamed(std::map<std::string, Tensor>{{"nope", Tensor(DType::kFloat32, {1, 3})}});
  EXPECT_FALSE(byName.ok());
}

// y = Reshape(x, Concat(Shape(x)[0:1], [2, 3])): the target shape exists only at run time.
TEST(ExecutorTest, DataDependentShapeChain) {
  Graph g;
  ir::Value* x = g.addInput("x", DType::kFloat32, std::vector<Dim>{Dim::named("batch"), Dim(6)});
  auto i64 = [&](const char* name, std::vector<int64_t> v) {
    return g.addInitializer(name, Tensor::fromVector<int64_t>({static_cast<int64_t>(v.size())}, v));
  };
  ir::Node* shape = g.addNode("Shape", {x}, {"s"});
  ir::Node* slice = g.addNode("Slice", {shape->output(0), i64("starts", {0}), i64("ends", {1})}, {"b"});
  ir::Node* concat = g.addNode("Concat", {slice->output(0), i64("rest", {2, 3})}, {"target"});
  concat->setAttr("axis", int64_t{0});
  ir::Node* reshape = g.addNode("Reshape", {x, concat->output(0)}, {"y"});
  g.markOutput(reshape->output(0));
  auto exec = Executor::create(g);
  ASSERT_TRUE(exec.ok()) << exec.status().message();
  for (int64_t batch : {1, 5}) {
    Tensor in(DType::kFloat32, {batch, 6});
    for (int64_t i = 0; i < in.numel(); ++i) in.data<float>()[i] = static_cast<float>(i);
    auto out = exec.value()->run({in});
    ASSERT_TRUE(out.ok()) << out.status().message();
    EXPECT_EQ(out.value()[0].dims(), (std::vector<int64_t>{batch, 2, 3}));
    EXPECT_EQ(out.value()[0].data<float>()[in.numel() - 1], static_cast<float>(in.numel() - 1));
  }
}

TEST(ExecutorTest, RuntimeErrorsNameTheNode) {
  Graph g;
  ir::Value* a = g.addInput("a", DType::kInt32, std::vector<Dim>{Dim(2)});
  ir::Value* b = g.addInput("b", DType::kInt32, std::vector<Dim>{Dim(2)});
  ir::Node* div = g.addNode("Div", {a, b}, {"q"}, "divide");
  g.markOutput(div->output(0));
  auto exec = Executor::create(g);
  ASSERT_TRUE(exec.ok());
  auto out = exec.value()->run({Tensor::fromVector<int32_t>({2}, {4, 6}), Tensor::fromVector<int32_t>({2}, {2, 0})});
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().message(), "node 'divide' (Div): integer division by zero");
}

TEST(ExecutorTest, BroadcastingAdd) {
  Graph g;
  ir::Value* a = g.addInput("a", DType::kFloat32, std::vector<Dim>{Dim(2), Dim(3)});
  ir::Value* b = g.addInitializer("b", Tensor::fromVector<float>({3}, {10, 20, 30}));
  ir::Node* add = g.addNode("Add", {a, b}, {"y"});
  g.markOutput(add->output(0));
  auto exec = Executor::create(g);
  ASSERT_TRUE(exec.ok());
  auto out = exec.value()->run({Tensor::fromVector<float>({2, 3}, {1, 2, 3, 4, 5, 6})});
  ASSERT_TRUE(out.ok());
  const std::vector<float> expected = {11, 22, 33, 14, 25, 36};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(out.value()[0].data<float>()[i], expected[i]);
}

TEST(ExecutorTest, SupportedOpsCoverTheFoundationList) {
  const auto ops = supportedOps();
  for (const char* op : {"Conv", "ConvTranspose", "Gemm", "MatMul", "Add", "Sub", "Mul", "Div", "Pow", "Sqrt",
                         "Exp", "Erf", "Neg", "Abs", "Relu", "LeakyRelu", "Clip", "Sigmoid", "HardSigmoid",
                         "HardSwish", "Tanh", "Softmax", "MaxPool", "AveragePool", "GlobalAveragePool",
                         "BatchNormalization", "Concat", "Split", "Reshape", "Flatten", "Transpose", "Squeeze",
                         "Unsqueeze", "Shape", "Gather", "Slice", "Pad", "Resize", "ReduceMean", "ReduceSum",
                         "Identity", "Dropout", "Constant", "Cast"})
    EXPECT_NE(std::find(ops.begin(), ops.end(), op), ops.end()) << op;
}

}  // namespace
}  // namespace edgeopt::runtime
