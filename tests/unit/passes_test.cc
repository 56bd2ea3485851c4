// Every pass: build a graph in code, run the pass twice (the second run must change nothing),
// check the op counts, and compare outputs with the reference executor before and after on
// seeded random inputs. The result must also survive ONNX export -> import and still compute
// the same (fused activations and edgeopt.Gelu are re-expanded on export).
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <map>
#include <random>

#include <unistd.h>

#include "compiler/ir/edgeopt_ops.h"
#include "compiler/onnx/onnx_io.h"
#include "compiler/pass/pass_manager.h"
#include "compiler/runtime/executor.h"
#include "passes/registry.h"

namespace edgeopt::passes {
namespace {
using ir::DType;
using ir::Dim;
using ir::Graph;
using ir::Node;
using ir::Tensor;
using ir::Value;

// Small builder over ir::Graph for readable test graphs.
struct G {
  ir::Model model;
  Graph& g = *model.graph;
  std::mt19937 rng{5};
  G() { model.opsets = {{"", 17}}; }

  Value* input(const std::string& name, std::vector<int64_t> dims) {
    std::vector<Dim> d(dims.begin(), dims.end());
    return g.addInput(name, DType::kFloat32, d);
  }
  Value* weights(const std::string& name, std::vector<int64_t> dims, float lo = -1, float hi = 1) {
    std::uniform_real_distribution<float> u(lo, hi);
    std::vector<float> v(static_cast<size_t>(ir::numElements(dims)));
    for (auto& x : v) x = u(rng);
    return g.addInitializer(name, Tensor::fromVector<float>(dims, v));
  }
  Value* scalar(const std::string& name, float v) { return g.addInitializer(name, Tensor::fromVector<float>({}, {v})); }
  Value* ints(const std::string& name, std::vector<int64_t> v) {
    return g.addInitializer(name, Tensor::fromVector<int64_t>({static_cast<int64_t>(v.size())}, v));
  }
  // A node with one float32 output of the given shape (unknown when empty and rank unknown).
  Node* op(const std::string& type, std::vector<Value*> ins, std::optional<std::vector<int64_t>> shape = std::nullopt,
           const std::string& domain = "") {
    Node* n = g.addNode(type, ins, {type + "_out"}, "", nullptr, domain);
    n->output(0)->setDType(DType::kFloat32);
    if (shape) n->output(0)->setShape(std::vector<Dim>(shape->begin(), shape->end()));
    return n;
  }
  Value* out(Node* n) { return n->output(0); }
  void output(Value* v) { g.markOutput(v); }
};

std::map<std::string, int> opCounts(const Graph& g) {
  std::map<std::string, int> h;
  for (const Node* n : g.nodes()) ++h[n->qualifiedOpType()];
  return h;
}

std::shared_ptr<const pass::Pass> passNamed(const std::string& name) {
  for (const auto& p : allPasses())
    if (p->info().name == name) return p;
  ADD_FAILURE() << "no pass " << name;
  return nullptr;
}

std::vector<Tensor> run(const Graph& g, const std::vector<Tensor>& inputs) {
  auto exec = runtime::Executor::create(g);
  EXPECT_TRUE(exec.ok()) << exec.status().message();
  if (!exec.ok()) return {};
  auto out = exec.value()->run(inputs);
  EXPECT_TRUE(out.ok()) << out.status().message();
  return out.ok() ? out.value() : std::vector<Tensor>{};
}

// Runs `passName` twice on the graph built by `build` and checks everything the header says.
void expectPass(const std::string& passName, const std::function<void(G&)>& build,
                const std::map<std::string, int>& expectedOps, double tolerance = 1e-5, bool expectChange = true) {
  SCOPED_TRACE(passName);
  G b;
  build(b);
  ASSERT_TRUE(b.g.verify().ok()) << b.g.verify().message();
  auto inputs = pass::randomInputs(b.g, {}, 11);
  ASSERT_TRUE(inputs.ok());
  const auto before = run(b.g, inputs.value());
  std::vector<std::string> outputNames;
  for (const Value* v : b.g.outputs()) outputNames.push_back(v->name());

  auto p = passNamed(passName);
  ASSERT_TRUE(p);
  pass::PassContext ctx;
  bool changed = false;
  ASSERT_TRUE(p->run(b.g, ctx, &changed).ok());
  EXPECT_EQ(changed, expectChange);
  ASSERT_TRUE(b.g.verify().ok()) << b.g.verify().message();
  EXPECT_EQ(opCounts(b.g), expectedOps);
  for (size_t i = 0; i < outputNames.size(); ++i) EXPECT_EQ(b.g.outputs()[i]->name(), outputNames[i]);
  const auto after = run(b.g, inputs.value());
  auto err = pass::maxRelativeError(before, after);
  ASSERT_TRUE(err.ok()) << err.status().message();
  EXPECT_LE(err.value(), tolerance);

  bool again = true;
  ASSERT_TRUE(p->run(b.g, ctx, &again).ok());
  EXPECT_FALSE(again) << "second run changed the graph";
  EXPECT_EQ(opCounts(b.g), expectedOps);

  // Export (re-expanding IR-only constructs), import, and compute the same.
  // One file per test and process: ctest runs the tests of a pass in parallel processes.
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  const auto file = std::filesystem::temp_directory_path() /
                    ("edgeopt-pass-" + std::string(info->test_suite_name()) + "." + info->name() + "-" +
                     std::to_string(::getpid()) + ".onnx");
  Status exported = onnx_io::exportModel(b.model, file.string());
  ASSERT_TRUE(exported.ok()) << exported.message();
  auto back = onnx_io::importModel(file.string());
  std::filesystem::remove(file);
  ASSERT_TRUE(back.ok()) << back.status().message();
  auto roundTrip = pass::maxRelativeError(after, run(*back->graph, inputs.value()));
  ASSERT_TRUE(roundTrip.ok()) << roundTrip.status().message();
  EXPECT_LE(roundTrip.value(), 1e-6);
}

// ---- eliminate_noops ----

TEST(EliminateNoOpsTest, RemovesIdentityDropoutCastAndNoOpReshapeTranspose) {
  expectPass("eliminate_noops", [](G& b) {
    Value* x = b.input("x", {2, 3});
    Value* a = b.out(b.op("Identity", {x}, std::vector<int64_t>{2, 3}));
    Value* r = b.out(b.op("Relu", {a}, std::vector<int64_t>{2, 3}));
    Value* d = b.out(b.op("Dropout", {r}, std::vector<int64_t>{2, 3}));
    Node* cast = b.op("Cast", {d}, std::vector<int64_t>{2, 3});
    cast->setAttr("to", int64_t{1});
    Value* s = b.out(b.op("Reshape", {b.out(cast), b.ints("shape", {2, 3})}, std::vector<int64_t>{2, 3}));
    Node* t = b.op("Transpose", {s}, std::vector<int64_t>{2, 3});
    t->setAttr("perm", std::vector<int64_t>{0, 1});
    b.output(b.out(t));
  }, {{"Relu", 1}});
}

TEST(EliminateNoOpsTest, CollapsesReshapeChains) {
  expectPass("eliminate_noops", [](G& b) {
    Value* x = b.input("x", {2, 6});
    Value* r1 = b.out(b.op("Reshape", {x, b.ints("s1", {3, 4})}, std::vector<int64_t>{3, 4}));
    Value* r2 = b.out(b.op("Reshape", {r1, b.ints("s2", {4, -1})}, std::vector<int64_t>{4, 3}));
    b.output(b.out(b.op("Relu", {r2}, std::vector<int64_t>{4, 3})));
  }, {{"Reshape", 1}, {"Relu", 1}});
}

TEST(EliminateNoOpsTest, KeepsIdentityBetweenGraphInputAndOutput) {
  // Removing it would rename the graph output to the input's name.
  expectPass("eliminate_noops", [](G& b) {
    Value* x = b.input("x", {4});
    b.output(b.out(b.op("Identity", {x}, std::vector<int64_t>{4})));
  }, {{"Identity", 1}}, 0.0, /*expectChange=*/false);
}

// ---- constant_folding ----

TEST(ConstantFoldingTest, FoldsConstantSubgraphsAndStaticShapes) {
  expectPass("constant_folding", [](G& b) {
    Value* x = b.input("x", {2, 3, 4});
    Node* c = b.g.addNode("Constant", {}, {"c"});
    c->setAttr("value", Tensor::fromVector<float>({1}, {2.0f}));
    Value* k = b.out(b.op("Add", {c->output(0), b.scalar("one", 1.0f)}));
    Value* scaled = b.out(b.op("Mul", {x, k}, std::vector<int64_t>{2, 3, 4}));
    // Reshape target from Shape(x)[0:1] ++ [-1]: foldable because x's shape is static.
    Node* shape = b.g.addNode("Shape", {x}, {"shape"});
    Node* head = b.g.addNode("Slice", {shape->output(0), b.ints("st", {0}), b.ints("en", {1})}, {"head"});
    Node* target = b.g.addNode("Concat", {head->output(0), b.ints("rest", {-1})}, {"target"});
    target->setAttr("axis", int64_t{0});
    b.output(b.out(b.op("Reshape", {scaled, target->output(0)}, std::vector<int64_t>{2, 12})));
  }, {{"Mul", 1}, {"Reshape", 1}}, 0.0);
}

TEST(ConstantFoldingTest, KeepsQuantizationNodes) {
  expectPass("constant_folding", [](G& b) {
    Value* x = b.input("x", {4});
    Value* wq = b.g.addInitializer("wq", Tensor::fromVector<int8_t>({4}, {1, -2, 3, -4}));
    Value* w = b.out(b.op("DequantizeLinear", {wq, b.scalar("ws", 0.5f)}, std::vector<int64_t>{4}));
    b.output(b.out(b.op("Mul", {x, w}, std::vector<int64_t>{4})));
  }, {{"DequantizeLinear", 1}, {"Mul", 1}}, 0.0, /*expectChange=*/false);
}

// ---- fold_batchnorm ----

Value* batchNorm(G& b, Value* x, int64_t c, std::optional<std::vector<int64_t>> shape) {
  Node* bn = b.op("BatchNormalization", {x, b.weights("gamma", {c}, 0.5, 1.5), b.weights("beta", {c}),
                                         b.weights("mean", {c}), b.weights("var", {c}, 0.5, 2.0)}, shape);
  bn->setAttr("epsilon", 1e-3f);
  return b.out(bn);
}

TEST(FoldBatchNormTest, IntoConvWithBias) {
  expectPass("fold_batchnorm", [](G& b) {
    Value* x = b.input("x", {1, 3, 8, 8});
    Node* conv = b.op("Conv", {x, b.weights("w", {4, 3, 3, 3}), b.weights("b", {4})}, std::vector<int64_t>{1, 4, 6, 6});
    b.output(batchNorm(b, b.out(conv), 4, std::vector<int64_t>{1, 4, 6, 6}));
  }, {{"Conv", 1}});
}

TEST(FoldBatchNormTest, IntoGroupedConvTranspose) {
  expectPass("fold_batchnorm", [](G& b) {
    Value* x = b.input("x", {1, 4, 5, 5});
    Node* ct = b.op("ConvTranspose", {x, b.weights("w", {4, 3, 3, 3})}, std::vector<int64_t>{1, 6, 7, 7});
    ct->setAttr("group", int64_t{2});
    b.output(batchNorm(b, b.out(ct), 6, std::vector<int64_t>{1, 6, 7, 7}));
  }, {{"ConvTranspose", 1}});
}

TEST(FoldBatchNormTest, IntoGemmWithTransposedWeightsAndBias) {
  expectPass("fold_batchnorm", [](G& b) {
    Value* x = b.input("x", {3, 5});
    Node* gemm = b.op("Gemm", {x, b.weights("w", {4, 5}), b.weights("c", {4})}, std::vector<int64_t>{3, 4});
    gemm->setAttr("transB", int64_t{1});
    gemm->setAttr("beta", 0.5f);
    b.output(batchNorm(b, b.out(gemm), 4, std::vector<int64_t>{3, 4}));
  }, {{"Gemm", 1}});
}

TEST(FoldBatchNormTest, StandaloneBecomesScaleShift) {
  expectPass("fold_batchnorm", [](G& b) {
    Value* x = b.input("x", {2, 3, 4, 4});
    b.output(batchNorm(b, x, 3, std::vector<int64_t>{2, 3, 4, 4}));
  }, {{"Mul", 1}, {"Add", 1}});
}

TEST(FoldBatchNormTest, SharedConvOutputIsNotFoldedIntoTheConv) {
  expectPass("fold_batchnorm", [](G& b) {
    Value* x = b.input("x", {1, 2, 5, 5});
    Value* y = b.out(b.op("Conv", {x, b.weights("w", {2, 2, 1, 1})}, std::vector<int64_t>{1, 2, 5, 5}));
    Value* n = batchNorm(b, y, 2, std::vector<int64_t>{1, 2, 5, 5});
    b.output(b.out(b.op("Add", {y, n}, std::vector<int64_t>{1, 2, 5, 5})));
  }, {{"Conv", 1}, {"Mul", 1}, {"Add", 2}});
}

// ---- fuse_activation ----

TEST(FuseActivationTest, FusesEveryActivationKind) {
  expectPass("fuse_activation", [](G& b) {
    Value* x = b.input("x", {1, 2, 6, 6});
    Value* v = x;
    const char* acts[] = {"Relu", "LeakyRelu", "HardSigmoid", "HardSwish", "Sigmoid", "Clip"};
    int i = 0;
    for (const char* act : acts) {
      Value* c = b.out(b.op("Conv", {v, b.weights("w" + std::to_string(i++), {2, 2, 3, 3})}, std::vector<int64_t>{1, 2, 4 + 0, 4}));
      // keep spatial size: pad 1
      c->producer()->setAttr("pads", std::vector<int64_t>{1, 1, 1, 1});
      c->setShape(std::vector<Dim>{Dim(1), Dim(2), Dim(6), Dim(6)});
      std::vector<Value*> ins = {c};
      if (std::string(act) == "Clip") { ins.push_back(b.scalar("lo", 0.0f)); ins.push_back(b.scalar("hi", 0.5f)); }
      Node* a = b.op(act, ins, std::vector<int64_t>{1, 2, 6, 6});
      if (std::string(act) == "LeakyRelu") a->setAttr("alpha", 0.2f);
      v = b.out(a);
    }
    Node* flat = b.op("Flatten", {v}, std::vector<int64_t>{1, 72});
    Node* gemm = b.op("Gemm", {b.out(flat), b.weights("fc", {72, 3})}, std::vector<int64_t>{1, 3});
    b.output(b.out(b.op("Relu", {b.out(gemm)}, std::vector<int64_t>{1, 3})));
  }, {{"Conv", 6}, {"Flatten", 1}, {"Gemm", 1}}, 0.0);
}

TEST(FuseActivationTest, DoesNotFuseASharedOutput) {
  expectPass("fuse_activation", [](G& b) {
    Value* x = b.input("x", {1, 1, 4, 4});
    Value* c = b.out(b.op("Conv", {x, b.weights("w", {1, 1, 1, 1})}, std::vector<int64_t>{1, 1, 4, 4}));
    Value* r = b.out(b.op("Relu", {c}, std::vector<int64_t>{1, 1, 4, 4}));
    b.output(b.out(b.op("Add", {c, r}, std::vector<int64_t>{1, 1, 4, 4})));
  }, {{"Conv", 1}, {"Relu", 1}, {"Add", 1}}, 0.0, /*expectChange=*/false);
}

// ---- fuse_hard_swish ----

TEST(FuseHardSwishTest, HardSigmoidForm) {
  expectPass("fuse_hard_swish", [](G& b) {
    Value* x = b.input("x", {2, 8});
    Node* hs = b.op("HardSigmoid", {x}, std::vector<int64_t>{2, 8});
    hs->setAttr("alpha", 1.0f / 6.0f);
    b.output(b.out(b.op("Mul", {x, b.out(hs)}, std::vector<int64_t>{2, 8})));
  }, {{"HardSwish", 1}}, 1e-6);
}

TEST(FuseHardSwishTest, ClipFormsIncludingRelu6Export) {
  expectPass("fuse_hard_swish", [](G& b) {
    Value* x = b.input("x", {2, 8});
    // (x * Clip(x + 3, 0, 6)) / 6
    Value* a = b.out(b.op("Add", {x, b.scalar("three", 3.0f)}, std::vector<int64_t>{2, 8}));
    Value* c = b.out(b.op("Clip", {a, b.scalar("zero", 0.0f), b.scalar("six", 6.0f)}, std::vector<int64_t>{2, 8}));
    Value* m = b.out(b.op("Mul", {x, c}, std::vector<int64_t>{2, 8}));
    Value* y1 = b.out(b.op("Div", {m, b.scalar("six2", 6.0f)}, std::vector<int64_t>{2, 8}));
    // y1 * (Clip(Relu(3 + y1), max=6) * (1/6))
    Value* a2 = b.out(b.op("Add", {b.scalar("three2", 3.0f), y1}, std::vector<int64_t>{2, 8}));
    Value* r2 = b.out(b.op("Relu", {a2}, std::vector<int64_t>{2, 8}));
    Value* c2 = b.out(b.op("Clip", {r2, nullptr, b.scalar("six3", 6.0f)}, std::vector<int64_t>{2, 8}));
    Value* d2 = b.out(b.op("Mul", {c2, b.scalar("sixth", 1.0f / 6.0f)}, std::vector<int64_t>{2, 8}));
    b.output(b.out(b.op("Mul", {y1, d2}, std::vector<int64_t>{2, 8})));
  }, {{"HardSwish", 2}}, 1e-6);
}

// ---- fuse_clamp ----

TEST(FuseClampTest, MinMaxClampsBecomeOneClip) {
  expectPass("fuse_clamp", [](G& b) {
    Value* x = b.input("x", {2, 8});
    // tf2onnx's Relu6: Max(Min(x, 6), 0); then a lone Min with the constant first.
    Value* lo = b.out(b.op("Min", {x, b.scalar("six", 6.0f)}, std::vector<int64_t>{2, 8}));
    Value* r6 = b.out(b.op("Max", {lo, b.scalar("zero", 0.0f)}, std::vector<int64_t>{2, 8}));
    b.output(b.out(b.op("Min", {b.scalar("four", 4.0f), r6}, std::vector<int64_t>{2, 8})));
  }, {{"Clip", 1}}, 0.0);
}

TEST(FuseClampTest, DisjointClipsAndTensorOperandsStay) {
  expectPass("fuse_clamp", [](G& b) {
    Value* x = b.input("x", {2, 8});
    Value* y = b.input("y", {2, 8});
    // Clip(Clip(x, 0, 1), 2, 3) is the constant 2, not a merged Clip.
    Value* c1 = b.out(b.op("Clip", {x, b.scalar("z", 0.0f), b.scalar("one", 1.0f)}, std::vector<int64_t>{2, 8}));
    Value* c2 = b.out(b.op("Clip", {c1, b.scalar("two", 2.0f), b.scalar("three", 3.0f)}, std::vector<int64_t>{2, 8}));
    b.output(b.out(b.op("Max", {c2, y}, std::vector<int64_t>{2, 8})));
  }, {{"Clip", 2}, {"Max", 1}}, 0.0, /*expectChange=*/false);
}

// ---- fuse_gelu ----

TEST(FuseGeluTest, EveryAssociation) {
  expectPass("fuse_gelu", [](G& b) {
    Value* v = b.input("x", {3, 5});
    for (int form = 0; form < 3; ++form) {
      const std::string s = std::to_string(form);
      Value* div = b.out(b.op("Div", {v, b.scalar("sqrt2_" + s, 1.41421356f)}, std::vector<int64_t>{3, 5}));
      Value* erf = b.out(b.op("Erf", {div}, std::vector<int64_t>{3, 5}));
      Value* r = b.out(b.op("Add", {erf, b.scalar("one" + s, 1.0f)}, std::vector<int64_t>{3, 5}));
      Value* half = b.scalar("half" + s, 0.5f);
      if (form == 0) {  // (x * r) * 0.5
        v = b.out(b.op("Mul", {b.out(b.op("Mul", {v, r}, std::vector<int64_t>{3, 5})), half}, std::vector<int64_t>{3, 5}));
      } else if (form == 1) {  // (r * 0.5) * x
        v = b.out(b.op("Mul", {b.out(b.op("Mul", {r, half}, std::vector<int64_t>{3, 5})), v}, std::vector<int64_t>{3, 5}));
      } else {  // r * (x * 0.5)
        Value* xh = b.out(b.op("Mul", {v, half}, std::vector<int64_t>{3, 5}));
        v = b.out(b.op("Mul", {r, xh}, std::vector<int64_t>{3, 5}));
      }
    }
    b.output(v);
  }, {{"edgeopt.Gelu", 3}}, 1e-6);
}

// ---- fuse_layer_norm ----

void decomposedLayerNorm(G& b, Value* x, std::vector<int64_t> axes, std::vector<int64_t> shape, bool squareByMul,
                         Value* gamma, Value* beta, Value** out) {
  Node* mean = b.op("ReduceMean", {x});
  mean->setAttr("axes", axes);
  Value* d = b.out(b.op("Sub", {x, b.out(mean)}, shape));
  Value* sq = squareByMul ? b.out(b.op("Mul", {d, d}, shape)) : b.out(b.op("Pow", {d, b.scalar("two", 2.0f)}, shape));
  Node* var = b.op("ReduceMean", {sq});
  var->setAttr("axes", axes);
  Value* std = b.out(b.op("Sqrt", {b.out(b.op("Add", {b.out(var), b.scalar("eps", 1e-5f)}))}));
  Value* y = b.out(b.op("Div", {d, std}, shape));
  if (gamma) y = b.out(b.op("Mul", {y, gamma}, shape));
  if (beta) y = b.out(b.op("Add", {y, beta}, shape));
  *out = y;
}

TEST(FuseLayerNormTest, AffineOverLastAxis) {
  expectPass("fuse_layer_norm", [](G& b) {
    Value* x = b.input("x", {2, 4, 8});
    Value* y;
    decomposedLayerNorm(b, x, {-1}, {2, 4, 8}, false, b.weights("g", {8}), b.weights("b", {8}), &y);
    b.output(y);
  }, {{"LayerNormalization", 1}});
}

TEST(FuseLayerNormTest, LastTwoAxesSquareByMulNoAffine) {
  expectPass("fuse_layer_norm", [](G& b) {
    Value* x = b.input("x", {2, 3, 4});
    Value* y;
    decomposedLayerNorm(b, x, {1, 2}, {2, 3, 4}, true, nullptr, nullptr, &y);
    b.output(b.out(b.op("Relu", {y}, std::vector<int64_t>{2, 3, 4})));
  }, {{"LayerNormalization", 1}, {"Relu", 1}});
}

TEST(FuseLayerNormTest, LeavesNonTrailingAxes) {
  expectPass("fuse_layer_norm", [](G& b) {
    Value* x = b.input("x", {2, 3, 4});
    Value* y;
    decomposedLayerNorm(b, x, {1}, {2, 3, 4}, false, nullptr, nullptr, &y);
    b.output(y);
  }, {{"ReduceMean", 2}, {"Sub", 1}, {"Pow", 1}, {"Add", 1}, {"Sqrt", 1}, {"Div", 1}}, 0.0, false);
}

// ---- merge_transposes ----

TEST(MergeTransposesTest, ComposesAndDropsIdentity) {
  expectPass("merge_transposes", [](G& b) {
    Value* x = b.input("x", {2, 3, 4});
    Node* t1 = b.op("Transpose", {x}, std::vector<int64_t>{3, 2, 4});
    t1->setAttr("perm", std::vector<int64_t>{1, 0, 2});
    Node* t2 = b.op("Transpose", {b.out(t1)}, std::vector<int64_t>{3, 4, 2});
    t2->setAttr("perm", std::vector<int64_t>{0, 2, 1});
    Value* r = b.out(b.op("Relu", {b.out(t2)}, std::vector<int64_t>{3, 4, 2}));
    Node* t3 = b.op("Transpose", {r}, std::vector<int64_t>{3, 2, 4});
    t3->setAttr("perm", std::vector<int64_t>{0, 2, 1});
    Node* t4 = b.op("Transpose", {b.out(t3)}, std::vector<int64_t>{3, 4, 2});
    t4->setAttr("perm", std::vector<int64_t>{0, 2, 1});
    b.output(b.out(t4));
  }, {{"Transpose", 1}, {"Relu", 1}}, 0.0);
}

// ---- dedupe_constants ----

TEST(DedupeConstantsTest, MergesIdenticalTensors) {
  auto build = [](G& b) {
    Value* x = b.input("x", {3});
    Value* c1 = b.g.addInitializer("c1", Tensor::fromVector<float>({3}, {1, 2, 3}));
    Value* c2 = b.g.addInitializer("c2", Tensor::fromVector<float>({3}, {1, 2, 3}));
    Value* c3 = b.g.addInitializer("c3", Tensor::fromVector<float>({3}, {1, 2, 4}));
    Value* a = b.out(b.op("Add", {x, c1}, std::vector<int64_t>{3}));
    Value* m = b.out(b.op("Mul", {a, c2}, std::vector<int64_t>{3}));
    b.output(b.out(b.op("Sub", {m, c3}, std::vector<int64_t>{3})));
  };
  expectPass("dedupe_constants", build, {{"Add", 1}, {"Mul", 1}, {"Sub", 1}}, 0.0);
  G b;
  build(b);
  pass::PassContext ctx;
  bool changed = false;
  ASSERT_TRUE(passNamed("dedupe_constants")->run(b.g, ctx, &changed).ok());
  EXPECT_TRUE(changed);
  EXPECT_EQ(b.g.initializers().size(), 2u);  // c2 merged into c1; c3 differs
}

// ---- eliminate_dead_nodes ----

TEST(EliminateDeadNodesTest, RemovesDeadChainsAndUnusedInitializers) {
  expectPass("eliminate_dead_nodes", [](G& b) {
    Value* x = b.input("x", {4});
    Value* dead = b.out(b.op("Mul", {x, b.weights("unused_w", {4})}, std::vector<int64_t>{4}));
    b.op("Relu", {dead}, std::vector<int64_t>{4});
    b.weights("orphan", {16});
    b.output(b.out(b.op("Neg", {x}, std::vector<int64_t>{4})));
  }, {{"Neg", 1}}, 0.0);
}

// ---- the pass manager ----

// Scales the first Relu's output: a deliberately wrong rewrite --verify must catch and name.
class BreakNumerics : public pass::Pass {
 public:
  const pass::PassInfo& info() const override { return info_; }
  Status run(Graph& g, pass::PassContext&, bool* changed) const override {
    for (Node* n : g.nodes())
      if (n->opType() == "Relu") {
        n->setInput(0, n->input(0));
        Node* m = g.addNode("Mul", {n->input(0), g.addInitializer("k", Tensor::fromVector<float>({}, {1.01f}))},
                            {"scaled"}, "bad", n);
        n->setInput(0, m->output(0));
        *changed = true;
        return Status::Ok();
      }
    *changed = false;
    return Status::Ok();
  }

 private:
  pass::PassInfo info_{"break_numerics", "test only", {}, 1e-5};
};

TEST(PassManagerTest, VerifyNamesThePassThatBreaksEquivalence) {
  G b;
  Value* x = b.input("x", {2, 3});
  b.output(b.out(b.op("Relu", {b.out(b.op("Identity", {x}, std::vector<int64_t>{2, 3}))}, std::vector<int64_t>{2, 3})));
  pass::PassManager pm;
  pm.add(passNamed("eliminate_noops"));
  pm.add(std::make_shared<BreakNumerics>());
  pass::PipelineOptions options;
  options.verify = true;
  std::vector<pass::PassRecord> records;
  Status st = pm.run(b.model, options, &records);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), StatusCode::kInternal);
  EXPECT_NE(st.message().find("pass 'break_numerics' broke numerical equivalence"), std::string::npos) << st.message();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_TRUE(records[0].changed);
  EXPECT_EQ(records[0].nodesBefore, 2u);
  EXPECT_EQ(records[0].nodesAfter, 1u);
}

TEST(PassManagerTest, PipelineByNameChecksNamesAndPrerequisites) {
  auto unknown = pipelineFromNames({"constant_folding", "fold_everything"});
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("unknown pass 'fold_everything' (known passes: eliminate_noops,"),
            std::string::npos) << unknown.status().message();
  auto missing = pipelineFromNames({"fuse_activation"});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("pass 'fuse_activation' cannot apply: it needs 'fold_batchnorm'"),
            std::string::npos) << missing.status().message();
  EXPECT_TRUE(pipelineFromNames({"fold_batchnorm", "fuse_activation"}).ok());
}

TEST(PassManagerTest, DefaultPipelineReachesAFixedPoint) {
  G b;
  Value* x = b.input("x", {1, 3, 6, 6});
  Value* c = b.out(b.op("Conv", {x, b.weights("w", {4, 3, 3, 3})}, std::vector<int64_t>{1, 4, 4, 4}));
  Value* n = batchNorm(b, c, 4, std::vector<int64_t>{1, 4, 4, 4});
  Value* i = b.out(b.op("Identity", {n}, std::vector<int64_t>{1, 4, 4, 4}));
  b.output(b.out(b.op("Relu", {i}, std::vector<int64_t>{1, 4, 4, 4})));
  pass::PipelineOptions options;
  options.verify = true;
  options.maxIterations = 4;
  std::vector<pass::PassRecord> records;
  pass::PassManager pm = defaultPipeline();
  Status st = pm.run(b.model, options, &records);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(opCounts(b.g), (std::map<std::string, int>{{"Conv", 1}}));
  auto act = ir::fusedActivation(*b.g.nodes()[0]);
  ASSERT_TRUE(act.has_value());
  EXPECT_EQ(act->op, "Relu");
  // The last iteration changed nothing.
  const int last = records.back().iteration;
  for (const auto& r : records)
    if (r.iteration == last) {
      EXPECT_FALSE(r.changed) << r.name;
    }
}

}  // namespace
}  // namespace edgeopt::passes
