#include "compiler/ir/ir.h"

#include <gtest/gtest.h>

namespace edgeopt::ir {
namespace {

// x -> Relu -> a -> Neg -> y
struct SmallGraph {
  Graph g;
  Value* x;
  Node* relu;
  Node* neg;
  SmallGraph() {
    x = g.addInput("x", DType::kFloat32, std::vector<Dim>{Dim(2), Dim::named("n")});
    relu = g.addNode("Relu", {x}, {"a"}, "relu");
    neg = g.addNode("Neg", {relu->output(0)}, {"y"}, "neg");
    g.markOutput(neg->output(0));
  }
};

TEST(IrTest, BuildsAndVerifies) {
  SmallGraph s;
  EXPECT_TRUE(s.g.verify().ok()) << s.g.verify().message();
  EXPECT_EQ(s.g.numNodes(), 2u);
  ASSERT_EQ(s.x->uses().size(), 1u);
  EXPECT_EQ(s.x->uses()[0].node, s.relu);
  EXPECT_EQ(s.neg->input(0)->producer(), s.relu);
  EXPECT_EQ(shapeToString(s.x->shape()), "[2,n]");
  EXPECT_FALSE(staticDims(s.x->shape()).has_value());
}

TEST(IrTest, ReplaceAllUsesAndRemoveNode) {
  SmallGraph s;
  // Bypass Relu: Neg reads x directly, then Relu is dead and can be removed.
  s.g.replaceAllUsesWith(s.relu->output(0), s.x);
  EXPECT_EQ(s.neg->input(0), s.x);
  EXPECT_TRUE(s.relu->output(0)->uses().empty());
  s.g.removeNode(s.relu);
  EXPECT_EQ(s.g.numNodes(), 1u);
  EXPECT_EQ(s.g.findValue("a"), nullptr);
  ASSERT_EQ(s.x->uses().size(), 1u);
  EXPECT_EQ(s.x->uses()[0].node, s.neg);
  EXPECT_TRUE(s.g.verify().ok()) << s.g.verify().message();
}

TEST(IrTest, ReplaceRewiresGraphOutputs) {
  SmallGraph s;
  s.g.replaceAllUsesWith(s.neg->output(0), s.relu->output(0));
  EXPECT_EQ(s.g.outputs()[0], s.relu->output(0));
  s.g.removeNode(s.neg);
  EXPECT_TRUE(s.g.verify().ok());
}

TEST(IrTest, InsertBeforeKeepsTopologicalOrder) {
  SmallGraph s;
  Node* abs = s.g.addNode("Abs", {s.relu->output(0)}, {"b"}, "abs", s.neg);
  s.neg->setInput(0, abs->output(0));
  EXPECT_TRUE(s.g.verify().ok()) << s.g.verify().message();
  auto nodes = s.g.nodes();
  ASSERT_EQ(nodes.size(), 3u);
  EXPECT_EQ(nodes[1], abs);
}

TEST(IrTest, VerifierRejectsUseBeforeDefinition) {
  SmallGraph s;
  // A node inserted before Relu that reads Relu's output breaks topological order.
  s.g.addNode("Abs", {s.relu->output(0)}, {"c"}, "early", s.relu);
  Status st = s.g.verify();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("'early' (Abs) uses 'a' before it is defined"), std::string::npos)
      << st.message();
}

TEST(IrTest, VerifierRejectsUndefinedGraphOutput) {
  Graph g;
  Graph other;
  Value* stray = other.addInput("stray", DType::kFloat32, std::nullopt);
  g.markOutput(stray);
  EXPECT_FALSE(g.verify().ok());
}

TEST(IrTest, UniqueNamesAndInitializers) {
  Graph g;
  Value* w = g.addInitializer("w", Tensor::fromVector<float>({2}, {1.0f, 2.0f}));
  Value* w2 = g.addInitializer("w", Tensor::fromVector<float>({1}, {3.0f}));
  EXPECT_NE(w->name(), w2->name());
  EXPECT_EQ(g.initializers().size(), 2u);
  EXPECT_EQ(w->initializer().data<float>()[1], 2.0f);
  g.removeUnusedValues();
  EXPECT_TRUE(g.initializers().empty());
}

TEST(IrTest, AttributesWithDefaults) {
  Graph g;
  Value* x = g.addInput("x", DType::kFloat32, std::nullopt);
  Node* n = g.addNode("Conv", {x}, {"y"});
  n->setAttr("strides", std::vector<int64_t>{2, 2});
  n->setAttr("auto_pad", std::string("SAME_UPPER"));
  EXPECT_EQ(n->attrInts("strides"), (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(n->attrInts("dilations", {1, 1}), (std::vector<int64_t>{1, 1}));
  EXPECT_EQ(n->attrString("auto_pad", "NOTSET"), "SAME_UPPER");
  EXPECT_EQ(n->attrInt("group", 1), 1);
}

TEST(TensorTest, ConversionsAndReshape) {
  Tensor t = Tensor::fromVector<int32_t>({2, 2}, {1, -2, 3, 4});
  EXPECT_EQ(t.numel(), 4);
  EXPECT_EQ(t.byteSize(), 16u);
  EXPECT_EQ(t.getAsInt64(1), -2);
  EXPECT_DOUBLE_EQ(t.getAsDouble(2), 3.0);
  t.reshape({4});
  EXPECT_EQ(t.dims(), std::vector<int64_t>{4});
  Tensor b = Tensor::fromVector<bool>({3}, {true, false, true});
  EXPECT_EQ(b.toInt64Vector(), (std::vector<int64_t>{1, 0, 1}));
}

}  // namespace
}  // namespace edgeopt::ir
