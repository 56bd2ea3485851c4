#include "compiler/onnx/onnx_io.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <limits>

#include "compiler/runtime/executor.h"
#include "tests/unit/onnx_model_builder.h"

namespace edgeopt::onnx_io {
namespace {
namespace fs = std::filesystem;
using testing::OnnxModelBuilder;

class OnnxIoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("edgeopt-onnx-" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "model");
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& rel) { return (dir_ / rel).string(); }
  fs::path dir_;
};

// y = x + w, with w stored in `location`.
OnnxModelBuilder externalAddModel(const std::string& location, int64_t length = 8, int64_t offset = -1) {
  OnnxModelBuilder b;
  b.input("x", {2}).output("y", {2}).externalInitializer("w", {2}, location, length, offset);
  b.node("Add", {"x", "w"}, {"y"}, "add");
  return b;
}

void writeFloats(const std::string& path, std::vector<float> v) {
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(v.data()),
                                              static_cast<std::streamsize>(v.size() * 4));
}

TEST_F(OnnxIoTest, ImportsAndRunsExternalData) {
  writeFloats(path("model/weights.bin"), {10.0f, 20.0f});
  externalAddModel("weights.bin").save(path("model/m.onnx"));
  auto model = importModel(path("model/m.onnx"));
  ASSERT_TRUE(model.ok()) << model.status().message();
  auto exec = runtime::Executor::create(*model->graph);
  ASSERT_TRUE(exec.ok());
  auto out = exec.value()->run({ir::Tensor::fromVector<float>({2}, {1, 2})});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(out.value()[0].data<float>()[0], 11.0f);
  EXPECT_EQ(out.value()[0].data<float>()[1], 22.0f);
}

TEST_F(OnnxIoTest, RefusesExternalDataOutsideTheModelFolder) {
  writeFloats(path("secret.bin"), {1.0f, 2.0f});
  for (const std::string& loc : std::vector<std::string>{"../secret.bin", "sub/../../secret.bin", path("secret.bin")}) {
    externalAddModel(loc).save(path("model/m.onnx"));
    auto model = importModel(path("model/m.onnx"));
    ASSERT_FALSE(model.ok()) << loc;
    EXPECT_EQ(model.status().code(), StatusCode::kInvalidInput);
    EXPECT_NE(model.status().message().find("tensor 'w'"), std::string::npos) << model.status().message();
    EXPECT_NE(model.status().message().find(path("model/m.onnx")), std::string::npos);
  }
  // A symlink inside the folder that points outside is refused too.
  fs::create_symlink(path("secret.bin"), path("model/link.bin"));
  externalAddModel("link.bin").save(path("model/m.onnx"));
  auto model = importModel(path("model/m.onnx"));
  ASSERT_FALSE(model.ok());
  EXPECT_NE(model.status().message().find("outside the model's folder"), std::string::npos)
      << model.status().message();
}

TEST_F(OnnxIoTest, ExternalDataRangeChecked) {
  writeFloats(path("model/short.bin"), {1.0f});  // 4 bytes, 8 needed
  externalAddModel("short.bin").save(path("model/m.onnx"));
  auto model = importModel(path("model/m.onnx"));
  ASSERT_FALSE(model.ok());
  EXPECT_NE(model.status().message().find("lies outside"), std::string::npos) << model.status().message();
  // offset + length would wrap past INT64_MAX (issue 20): still outside, not a wild read.
  writeFloats(path("model/two.bin"), {1.0f, 2.0f});
  externalAddModel("two.bin", std::numeric_limits<int64_t>::max(), 1).save(path("model/m.onnx"));
  auto wrapped = importModel(path("model/m.onnx"));
  ASSERT_FALSE(wrapped.ok());
  EXPECT_NE(wrapped.status().message().find("lies outside"), std::string::npos) << wrapped.status().message();
}

// Issue 20: an external-data location naming the model's folder, a FIFO (opening it would block)
// or a device is refused by its kind, naming the tensor.
TEST_F(OnnxIoTest, ExternalDataMustBeARegularFile) {
  ASSERT_EQ(::mkfifo(path("model/pipe.bin").c_str(), 0600), 0);
  for (const std::string loc : {".", "pipe.bin"}) {
    externalAddModel(loc).save(path("model/m.onnx"));
    auto model = importModel(path("model/m.onnx"));
    ASSERT_FALSE(model.ok()) << loc;
    EXPECT_NE(model.status().message().find("tensor 'w': external data"), std::string::npos) << model.status().message();
  }
}

TEST_F(OnnxIoTest, RejectsNonOnnxAndTruncatedFiles) {
  std::ofstream(path("text.onnx")) << "this is not a model\n";
  auto a = importModel(path("text.onnx"));
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.status().message().find("not an ONNX model"), std::string::npos) << a.status().message();

  OnnxModelBuilder b;
  b.input("x", {4}).output("y", {4}).initializer("w", {4}, {1, 2, 3, 4});
  b.node("Add", {"x", "w"}, {"y"});
  const std::string bytes = b.bytes();
  std::ofstream(path("trunc.onnx"), std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  auto t = importModel(path("trunc.onnx"));
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), StatusCode::kInvalidInput);

  EXPECT_EQ(importModel(path("missing.onnx")).status().code(), StatusCode::kIoError);
}

// Issue 20: subgraphs nested past protobuf's 100-message limit were called "truncated or not a
// .onnx file"; the error now says what it is.
TEST_F(OnnxIoTest, DeeplyNestedSubgraphsAreNamedAsSuch) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(17);
  onnx::GraphProto* g = m.mutable_graph();
  g->set_name("g0");
  for (int level = 0; level < 40; ++level) {  // If -> then_branch -> If -> ...: 3 messages per level
    onnx::NodeProto* n = g->add_node();
    n->set_op_type("If");
    onnx::AttributeProto* a = n->add_attribute();
    a->set_name("then_branch");
    a->set_type(onnx::AttributeProto::GRAPH);
    g = a->mutable_g();
    g->set_name("g" + std::to_string(level + 1));
  }
  std::string bytes;
  ASSERT_TRUE(m.SerializeToString(&bytes));
  std::ofstream(path("deep.onnx"), std::ios::binary) << bytes;
  auto model = importModel(path("deep.onnx"));
  ASSERT_FALSE(model.ok());
  EXPECT_NE(model.status().message().find("nested deeper than protobuf's limit"), std::string::npos) << model.status().message();
  // A truncated file still says truncated.
  std::ofstream(path("cut.onnx"), std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  auto cut = importModel(path("cut.onnx"));
  ASSERT_FALSE(cut.ok());
  EXPECT_NE(cut.status().message().find("truncated or not a .onnx file"), std::string::npos) << cut.status().message();
}

TEST_F(OnnxIoTest, CheckerFailureNamesTheProblem) {
  OnnxModelBuilder b;
  b.input("x", {4}).output("y", {4});
  b.node("Relu", {"x", "extra"}, {"y"}, "bad_relu");  // Relu takes one input; 'extra' is undefined
  b.save(path("bad.onnx"));
  auto m = importModel(path("bad.onnx"));
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("ONNX checker"), std::string::npos) << m.status().message();
}

TEST_F(OnnxIoTest, UnknownOpInDefaultDomainIsRejectedByTheChecker) {
  OnnxModelBuilder b;
  b.input("x", {4}).output("y", {4});
  b.node("FrobnicateAll", {"x"}, {"y"}, "frob");
  b.save(path("unknown.onnx"));
  auto m = importModel(path("unknown.onnx"));
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("FrobnicateAll"), std::string::npos) << m.status().message();
}

TEST_F(OnnxIoTest, ConvertsOlderOpsetsToTheCanonicalOne) {
  // Opset 11 Squeeze takes axes as an attribute; opset 13+ as an input.
  OnnxModelBuilder b(11);
  b.input("x", {1, 3, 1}).output("y", {3});
  testing::addIntsAttr(b.node("Squeeze", {"x"}, {"y"}, "sq"), "axes", {0, 2});
  b.save(path("old.onnx"));
  auto m = importModel(path("old.onnx"));
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->defaultOpset(), kCanonicalOpset);
  const ir::Node* squeeze = nullptr;
  for (const ir::Node* n : m->graph->nodes())
    if (n->opType() == "Squeeze") squeeze = n;
  ASSERT_NE(squeeze, nullptr);
  EXPECT_EQ(squeeze->numInputs(), 2u);  // axes became an input (a Constant feeds it)
  EXPECT_FALSE(squeeze->hasAttr("axes"));
  auto exec = runtime::Executor::create(*m->graph);
  ASSERT_TRUE(exec.ok()) << exec.status().message();
  auto out = exec.value()->run({ir::Tensor::fromVector<float>({1, 3, 1}, {1, 2, 3})});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(out.value()[0].dims(), std::vector<int64_t>{3});
}

TEST_F(OnnxIoTest, ExportRoundTripPreservesGraphAndShapes) {
  OnnxModelBuilder b;
  b.input("x", {-1, 4}).output("y", {-1, 4}).initializer("w", {4}, {1, 2, 3, 4});
  b.node("Mul", {"x", "w"}, {"t"}, "mul");
  b.node("Relu", {"t"}, {"y"}, "relu");
  b.save(path("m.onnx"));
  auto m = importModel(path("m.onnx"));
  ASSERT_TRUE(m.ok());
  ASSERT_TRUE(exportModel(m.value(), path("again.onnx")).ok());
  auto again = importModel(path("again.onnx"));
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(again->graph->numNodes(), 2u);
  EXPECT_EQ(ir::shapeToString(again->graph->inputs()[0]->shape()), "[batch,4]");
  const ir::Value* t = again->graph->findValue("t");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->dtype(), ir::DType::kFloat32);  // intermediate types survive as value_info
  EXPECT_FALSE(fs::exists(path("again.onnx.tmp-edgeopt")));
}

TEST_F(OnnxIoTest, ExportToUnwritablePathLeavesNothing) {
  OnnxModelBuilder b;
  b.input("x", {2}).output("y", {2});
  b.node("Relu", {"x"}, {"y"});
  b.save(path("m.onnx"));
  auto m = importModel(path("m.onnx"));
  ASSERT_TRUE(m.ok());
  Status st = exportModel(m.value(), path("missing-dir/out.onnx"));
  EXPECT_FALSE(st.ok());
  EXPECT_FALSE(fs::exists(path("missing-dir")));
}

}  // namespace
}  // namespace edgeopt::onnx_io

namespace edgeopt::onnx_io {
namespace {

// libonnx 1.12's DepthToSpace shape inference divides by blocksize * blocksize, which overflows
// to 0 for blocksize 2^32; the importer must turn that crash (SIGFPE) into an error and keep the
// calling process alive.
TEST(OnnxIoIsolationTest, LibOnnxCrashBecomesAnError) {
  const auto file = std::filesystem::temp_directory_path() / "edgeopt-depthtospace-overflow.onnx";
  testing::OnnxModelBuilder b;
  b.input("x", {2, 8, 3, 3}).output("y", {-1, -1, -1, -1});
  auto* n = b.node("DepthToSpace", {"x"}, {"y"}, "d2s");
  auto* a = n->add_attribute();
  a->set_name("blocksize");
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(int64_t{1} << 32);
  b.save(file.string());
  auto m = importModel(file.string());
  std::filesystem::remove(file);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), StatusCode::kInvalidInput);
  EXPECT_NE(m.status().message().find("libonnx crashed"), std::string::npos) << m.status().message();
}

}  // namespace
}  // namespace edgeopt::onnx_io
