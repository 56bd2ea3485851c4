// End-to-end tests of the edgeopt binary: exit codes, one-line errors, no partial outputs.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/stat.h>
#include <csignal>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <limits>
#include <fstream>
#include <sstream>

#include "api/edgeopt.h"
#include "api/exits.h"
#include "compiler/data/npy.h"
#include "compiler/support/files.h"
#include "tests/unit/onnx_model_builder.h"

namespace {
namespace fs = std::filesystem;
using edgeopt::testing::OnnxModelBuilder;

struct CliResult {
  int exitCode;
  std::string out, err;
};

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("edgeopt-cli-" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "model");
    // y = Relu(x + w), x: [batch, 4]
    OnnxModelBuilder b;
    b.input("x", {-1, 4}).output("y", {-1, 4}).initializer("w", {4}, {1, -2, 3, -4});
    b.node("Add", {"x", "w"}, {"t"});
    b.node("Relu", {"t"}, {"y"});
    b.save(path("model/good.onnx"));
    writeNpy(edgeopt::ir::Tensor::fromVector<float>({1, 4}, {1, 1, 1, 1}), "x.npy");
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string path(const std::string& rel) const { return (dir_ / rel).string(); }
  void writeNpy(const edgeopt::ir::Tensor& t, const std::string& rel) {
    ASSERT_TRUE(edgeopt::data::writeNpy(t, path(rel)).ok());
  }
  static std::string slurp(const std::string& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  // With timeoutSeconds > 0 the command is killed after that long (exit 124: a hang fails the test).
  CliResult cli(const std::string& args, int timeoutSeconds = 0) {
    const std::string prefix = timeoutSeconds > 0 ? "timeout " + std::to_string(timeoutSeconds) + " " : "";
    const std::string cmd = prefix + std::string(EDGEOPT_CLI) + " " + args + " >" + path("stdout.txt") + " 2>" + path("stderr.txt");
    const int status = std::system(cmd.c_str());
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(path("stdout.txt")), slurp(path("stderr.txt"))};
  }
  // stderr without the progress log lines a long command writes when it is not a terminal.
  static std::string withoutProgress(const std::string& err) {
    std::string kept;
    std::stringstream lines(err);
    for (std::string line; std::getline(lines, line);)
      if (line.rfind("edgeopt: progress: ", 0) != 0) kept += line + "\n";
    return kept;
  }
  // Bad input: exit 2, exactly one line on stderr naming `mention` (after any progress lines), and
  // no output written.
  void expectBadInput(const CliResult& result, const std::string& mention, const std::string& output = "") {
    CliResult r = result;
    r.err = withoutProgress(r.err);
    EXPECT_EQ(r.exitCode, 2) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_EQ(r.err.rfind("edgeopt: error: ", 0), 0u) << r.err;
    EXPECT_NE(r.err.find(mention), std::string::npos) << "expected '" << mention << "' in: " << r.err;
    if (!output.empty()) {
      EXPECT_FALSE(fs::exists(output)) << output;
      EXPECT_FALSE(fs::exists(output + ".tmp-edgeopt")) << output;
    }
  }
  fs::path dir_;
};

TEST_F(CliTest, InspectPrintsSummaryAndJson) {
  auto r = cli("inspect " + path("model/good.onnx"));
  ASSERT_EQ(r.exitCode, 0) << r.err;
  EXPECT_NE(r.out.find("x  float32 [batch,4]"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("parameters: 4"), std::string::npos) << r.out;
  r = cli("inspect --json " + path("model/good.onnx"));
  ASSERT_EQ(r.exitCode, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["parameters"], 4);
  EXPECT_EQ(j["op_histogram"]["Relu"], 1);
  EXPECT_EQ(j["inputs"][0]["shape"][0], "batch");
}

TEST_F(CliTest, InspectCountsMacsPerNode) {
  OnnxModelBuilder b;
  b.input("x", {1, 8}).output("y", {1, 3}).initializer("w", {8, 3}, std::vector<float>(24, 0.5f));
  b.node("MatMul", {"x", "w"}, {"y"}, "fc");
  b.save(path("model/fc.onnx"));
  auto r = cli("inspect --json " + path("model/fc.onnx"));
  ASSERT_EQ(r.exitCode, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["macs"], 24);
  EXPECT_EQ(j["nodes"][0]["name"], "fc");
  EXPECT_EQ(j["nodes"][0]["macs"], 24);
}

TEST_F(CliTest, RunWritesTheOutput) {
  auto r = cli("run " + path("model/good.onnx") + " --input " + path("x.npy") + " --output " + path("y.npy"));
  ASSERT_EQ(r.exitCode, 0) << r.err;
  auto y = edgeopt::data::readNpy(path("y.npy"));
  ASSERT_TRUE(y.ok());
  EXPECT_EQ(y->dims(), (std::vector<int64_t>{1, 4}));
  const float expected[4] = {2, 0, 4, 0};
  for (int i = 0; i < 4; ++i) EXPECT_EQ(y->data<float>()[i], expected[i]);
  // Named binding works the same.
  r = cli("run " + path("model/good.onnx") + " --input x=" + path("x.npy") + " -o " + path("y2.npy"));
  EXPECT_EQ(r.exitCode, 0) << r.err;
}

// Issue 20: a shape that follows run-time data (Pad's pads from an input file) could ask for any
// size (the reference Pad built a table entry per output index first: 16.8 GB before bad_alloc);
// tensors past the limit (4 GiB, EDGEOPT_MAX_TENSOR_BYTES) are refused before allocation, naming
// the node. (x86 takes no int64 graph input, so this model runs on the reference executor only.)
TEST_F(CliTest, RunRefusesATensorPastTheLimit) {
  const std::string model = "/usr/share/libonnx-testdata/data/node/test_constant_pad/model.onnx";
  if (!fs::exists(model)) GTEST_SKIP() << model << " (libonnx-testdata) is not installed";
  writeNpy(edgeopt::ir::Tensor(edgeopt::ir::DType::kFloat32, {1, 3, 4, 5}), "pad_x.npy");
  writeNpy(edgeopt::ir::Tensor::fromVector<int64_t>({8}, {0, 0, 0, 0, 0, 0, 100000, 100000}), "pads.npy");
  writeNpy(edgeopt::ir::Tensor::fromVector<float>({}, {0}), "value.npy");
  writeNpy(edgeopt::ir::Tensor::fromVector<int64_t>({8}, {0, 0, 0, 0, 0, 0, 1, 1}), "pads_small.npy");  // 1x3x5x6 floats: 360 bytes
  const std::string inputs = " -i x=" + path("pad_x.npy") + " -i pads=" + path("pads.npy") + " -i value=" + path("value.npy");
  expectBadInput(cli("run " + model + inputs + " -o " + path("padded.npy")),
                 "'Pad_0' (Pad): its output: a tensor of [1,3,100004,100005] float32 (120010800240 bytes) exceeds the limit of 4294967296 bytes",
                 path("padded.npy"));
  // The limit is the user's to move: --max-tensor-bytes (before or after the command).
  expectBadInput(cli("--max-tensor-bytes 300 run " + model + " -i x=" + path("pad_x.npy") + " -i pads=" + path("pads_small.npy") +
                     " -i value=" + path("value.npy") + " -o " + path("padded.npy")),
                 "its output: a tensor of [1,3,5,6] float32 (360 bytes) exceeds the limit of 300 bytes", path("padded.npy"));
  EXPECT_EQ(cli("run " + model + " -i x=" + path("pad_x.npy") + " -i pads=" + path("pads_small.npy") + " -i value=" + path("value.npy") +
                " -o " + path("padded_small.npy") + " --max-tensor-bytes 2000").exitCode, 0);
  expectBadInput(cli("run " + model + " -i x=" + path("pad_x.npy") + " -i pads=" + path("pads_small.npy") + " -i value=" + path("value.npy") +
                     " -o " + path("padded.npy") + " --max-tensor-bytes 200"),
                 "pad_x.npy: a tensor of [1,3,4,5] float32 (240 bytes) exceeds the limit of 200 bytes", path("padded.npy"));
  // Pads whose sum overflows int64 are named as such, not wrapped.
  writeNpy(edgeopt::ir::Tensor::fromVector<int64_t>({8}, {0, 0, 0, 0, 0, 0, INT64_MAX, INT64_MAX}), "pads_overflow.npy");
  expectBadInput(cli("run " + model + " -i x=" + path("pad_x.npy") + " -i pads=" + path("pads_overflow.npy") + " -i value=" +
                     path("value.npy") + " -o " + path("padded.npy")),
                 "pads overflow axis 2", path("padded.npy"));
}

TEST_F(CliTest, RunWithSeveralOutputsWritesAFolder) {
  OnnxModelBuilder b;
  b.input("x", {1, 4}).output("lo", {1, 2}).output("hi", {1, 2}).int64Initializer("split", {2, 2});
  auto* n = b.node("Split", {"x", "split"}, {"lo", "hi"});
  auto* a = n->add_attribute();
  a->set_name("axis");
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(1);
  b.save(path("model/split.onnx"));
  auto r = cli("run " + path("model/split.onnx") + " --input " + path("x.npy") + " --output " + path("outs"));
  ASSERT_EQ(r.exitCode, 0) << r.err;
  EXPECT_TRUE(fs::exists(path("outs/lo.npy")));
  EXPECT_TRUE(fs::exists(path("outs/hi.npy")));
  EXPECT_FALSE(fs::exists(path("outs.tmp-edgeopt")));
}

TEST_F(CliTest, RunSaysHowItRenamesOutputsAndNeverMergesThem) {
  // "a/b" and "a:b" both become a_b: the second gets a_b_2, both are printed, outputs.json maps them.
  OnnxModelBuilder b;
  b.input("x", {1, 4}).output("a/b", {1, 2}).output("a:b", {1, 2}).int64Initializer("split", {2, 2});
  auto* n = b.node("Split", {"x", "split"}, {"a/b", "a:b"});
  edgeopt::testing::addIntAttr(n, "axis", 1);
  b.save(path("model/names.onnx"));
  auto r = cli("run " + path("model/names.onnx") + " --input " + path("x.npy") + " --output " + path("outs"));
  ASSERT_EQ(r.exitCode, 0) << r.err;
  EXPECT_TRUE(fs::exists(path("outs/a_b.npy")));
  EXPECT_TRUE(fs::exists(path("outs/a_b_2.npy")));
  EXPECT_NE(r.out.find("output 'a/b' written as"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("output 'a:b' written as"), std::string::npos) << r.out;
  const std::string index = slurp(path("outs/outputs.json"));
  EXPECT_NE(index.find("\"a/b\": \"a_b.npy\""), std::string::npos) << index;
  EXPECT_NE(index.find("\"a:b\": \"a_b_2.npy\""), std::string::npos) << index;
}

TEST_F(CliTest, TruncatedModel) {
  const std::string bytes = slurp(path("model/good.onnx"));
  std::ofstream(path("model/trunc.onnx"), std::ios::binary) << bytes.substr(0, bytes.size() - 7);
  expectBadInput(cli("run " + path("model/trunc.onnx") + " --input " + path("x.npy") + " --output " + path("y.npy")),
                 path("model/trunc.onnx"), path("y.npy"));
}

TEST_F(CliTest, NotAnOnnxFile) {
  std::ofstream(path("model/notes.onnx")) << "{\"hello\": \"world\"}\n";
  expectBadInput(cli("inspect " + path("model/notes.onnx")), "not an ONNX model");
}

TEST_F(CliTest, CheckerFailure) {
  OnnxModelBuilder b;
  b.input("x", {4}).output("y", {4});
  b.node("Relu", {"x", "ghost"}, {"y"}, "relu_bad");
  b.save(path("model/bad.onnx"));
  expectBadInput(cli("run " + path("model/bad.onnx") + " --input " + path("x.npy") + " --output " + path("y.npy")),
                 "ONNX checker", path("y.npy"));
}

TEST_F(CliTest, UnknownOpIsNamed) {
  OnnxModelBuilder b;
  b.opset("com.example", 1);
  b.input("x", {1, 4}).output("y", {1, 4});
  b.node("Frobnicate", {"x"}, {"y"}, "frob", "com.example");
  b.save(path("model/custom.onnx"));
  expectBadInput(cli("run " + path("model/custom.onnx") + " --input " + path("x.npy") + " --output " + path("y.npy")),
                 "unsupported ops: com.example.Frobnicate (node 'frob')", path("y.npy"));
}

TEST_F(CliTest, InputOfTheWrongDTypeOrShape) {
  writeNpy(edgeopt::ir::Tensor::fromVector<int32_t>({1, 4}, {1, 2, 3, 4}), "int.npy");
  expectBadInput(cli("run " + path("model/good.onnx") + " --input " + path("int.npy") + " --output " + path("y.npy")),
                 "input 'x': dtype int32, model expects float32", path("y.npy"));
  writeNpy(edgeopt::ir::Tensor(edgeopt::ir::DType::kFloat32, {1, 5}), "wide.npy");
  expectBadInput(cli("run " + path("model/good.onnx") + " --input " + path("wide.npy") + " --output " + path("y.npy")),
                 "input 'x': shape [1,5], model expects [batch,4]", path("y.npy"));
}

// An empty batch (issue 20, SIGFPE in the x86 plan before): the reference runs it (an empty
// result, as ONNX defines it); x86 and bench refuse it in one line, exit 2.
TEST_F(CliTest, EmptyBatch) {
  const std::string model = std::string(EDGEOPT_SOURCE_DIR) + "/examples/tiny_cnn.onnx";
  writeNpy(edgeopt::ir::Tensor(edgeopt::ir::DType::kFloat32, {0, 1, 28, 28}), "empty.npy");
  const CliResult ref = cli("run " + model + " --input " + path("empty.npy") + " --output " + path("y.npy"));
  ASSERT_EQ(ref.exitCode, 0) << ref.err;
  auto y = edgeopt::data::readNpy(path("y.npy"));
  ASSERT_TRUE(y.ok());
  EXPECT_EQ(y->dims(), (std::vector<int64_t>{0, 10}));
  fs::remove(path("y.npy"));
  expectBadInput(cli("run " + model + " --input " + path("empty.npy") + " --target x86 --output " + path("y.npy")),
                 "an empty batch or dimension is not run", path("y.npy"));
  expectBadInput(cli("bench " + model + " --shape input=0x1x28x28 --iters 1"), "an empty batch or dimension is not run");
}

// Initializer dims from the file (issue 20): a product that overflows int64 (it wrapped to the
// data's size and crashed in Slice before) and a huge declared size with a few values (allocated
// before the check before) are refused in one line, before any allocation of that size.
TEST_F(CliTest, InitializerSizesAreCheckedBeforeAllocation) {
  OnnxModelBuilder wrap;
  wrap.input("x", {1}).output("y", {-1, -1});
  wrap.initializer("big", {3, 6148914691236517206}, {1, 2});
  wrap.int64Initializer("starts", {0}).int64Initializer("ends", {1});
  wrap.node("Slice", {"big", "starts", "ends"}, {"y"}, "slice");
  wrap.save(path("model/wrap.onnx"));
  expectBadInput(cli("run " + path("model/wrap.onnx") + " --input " + path("x.npy") + " --output " + path("y.npy")),
                 "tensor 'big': shape [3,6148914691236517206] has more elements than fit in memory", path("y.npy"));
  OnnxModelBuilder huge;
  huge.input("x", {750000000}).output("y", {750000000});
  huge.initializer("w", {750000000}, {1, 2});
  huge.node("Add", {"x", "w"}, {"y"}, "add");
  huge.save(path("model/huge.onnx"));
  expectBadInput(cli("inspect " + path("model/huge.onnx")), "tensor 'w': holds 2 values, shape [750000000] needs 750000000");
}

// A Conv whose bias is one value short (issue 20: x86 ran it and wrote uninitialised bytes, exit
// 0): refused on every target, naming the node.
TEST_F(CliTest, ConvBiasThatDoesNotFitIsRefusedOnEveryTarget) {
  OnnxModelBuilder b;
  b.input("x", {1, 2, 5, 5}).output("y", {1, 4, 3, 3});
  b.initializer("w", {4, 2, 3, 3}, std::vector<float>(72, 0.1f)).initializer("b", {3}, {1, 2, 3});
  b.node("Conv", {"x", "w", "b"}, {"y"}, "conv");
  b.save(path("model/bias.onnx"));
  writeNpy(edgeopt::ir::Tensor(edgeopt::ir::DType::kFloat32, {1, 2, 5, 5}), "x5.npy");
  for (const char* target : {"ref", "x86"})
    expectBadInput(cli("run " + path("model/bias.onnx") + " --input " + path("x5.npy") + " --target " + target + " --output " +
                       path("y.npy")),
                   "'conv' (Conv)", path("y.npy"));
}

TEST_F(CliTest, ExternalDataOutsideTheModelFolder) {
  std::vector<float> w = {1, 2, 3, 4};
  std::ofstream(path("outside.bin"), std::ios::binary).write(reinterpret_cast<const char*>(w.data()), 16);
  OnnxModelBuilder b;
  b.input("x", {1, 4}).output("y", {1, 4}).externalInitializer("w", {4}, "../outside.bin", 16);
  b.node("Add", {"x", "w"}, {"y"});
  b.save(path("model/escape.onnx"));
  expectBadInput(cli("run " + path("model/escape.onnx") + " --input " + path("x.npy") + " --output " + path("y.npy")),
                 "escapes the model's folder", path("y.npy"));
}

TEST_F(CliTest, MissingFilesAndUsageErrors) {
  expectBadInput(cli("inspect " + path("model/none.onnx")), "no such file");
  expectBadInput(cli("run " + path("model/good.onnx") + " --input " + path("none.npy") + " --output " + path("y.npy")),
                 "none.npy", path("y.npy"));
  expectBadInput(cli("run " + path("model/good.onnx") + " --input " + path("x.npy") + " --output " + path("y.npy") +
                     " --target fpga"),
                 "unknown target 'fpga'", path("y.npy"));
  expectBadInput(cli("frobnicate"), "see edgeopt --help");
  expectBadInput(cli("run " + path("model/good.onnx")), "--input");
}

// Conv -> BatchNormalization -> Relu, for the optimize command.
void saveConvBnRelu(const std::string& path) {
  OnnxModelBuilder b;
  b.input("x", {1, 2, 5, 5}).output("y", {1, 2, 5, 5});
  b.initializer("w", {2, 2, 1, 1}, {1, 0.5f, -0.5f, 1});
  b.initializer("s", {2}, {1.5f, 0.5f}).initializer("t", {2}, {0.1f, -0.1f});
  b.initializer("m", {2}, {0.2f, -0.3f}).initializer("v", {2}, {1.0f, 2.0f});
  b.node("Conv", {"x", "w"}, {"c"}, "conv");
  b.node("BatchNormalization", {"c", "s", "t", "m", "v"}, {"n"}, "bn");
  b.node("Relu", {"n"}, {"y"}, "relu");
  b.save(path);
}

// Issue 20: outputs are written through an unpredictable, exclusively created temporary name (a
// symlink planted at the old fixed name "OUT.tmp-edgeopt" is neither followed nor touched), an
// overwritten file keeps its mode, and no temporary file is left beside the output.
TEST_F(CliTest, OutputsKeepTheirModeAndNoTemporaryNameIsFollowed) {
  std::ofstream(path("victim.txt")) << "precious";
  fs::create_symlink(path("victim.txt"), path("opt.onnx.tmp-edgeopt"));
  std::ofstream(path("opt.onnx")) << "old";
  fs::permissions(path("opt.onnx"), fs::perms::owner_read | fs::perms::owner_write);
  auto r = cli("optimize " + path("model/good.onnx") + " -o " + path("opt.onnx"));
  ASSERT_EQ(r.exitCode, 0) << r.err;
  EXPECT_EQ(slurp(path("victim.txt")), "precious");
  EXPECT_EQ(fs::status(path("opt.onnx")).permissions() & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write);
  ASSERT_EQ(cli("run " + path("model/good.onnx") + " -i " + path("x.npy") + " -o " + path("y.npy")).exitCode, 0);
  for (const auto& e : fs::directory_iterator(dir_))
    EXPECT_EQ(e.path().filename().string().find(".tmp-edgeopt-"), std::string::npos) << "left behind: " << e.path();
}

// Issue 20: names and paths with newlines or escape sequences are escaped in the one error line
// (no multi-line errors, no terminal control); an unknown command is named as such.
TEST_F(CliTest, ErrorLinesEscapeControlCharactersAndNameUnknownCommands) {
  const std::string evil = path("a\nb\x1b[31m.onnx");
  std::ofstream(evil) << "not a model";
  auto r = cli("inspect '" + evil + "'");
  expectBadInput(r, "a\\nb\\x1b[31m.onnx: not an ONNX model");
  EXPECT_EQ(r.err.find('\x1b'), std::string::npos) << r.err;
  expectBadInput(cli("frobnicate x"), "unknown command 'frobnicate'");
}

TEST_F(CliTest, OptimizeWritesTheModelAndATablePerPass) {
  saveConvBnRelu(path("model/cbr.onnx"));
  auto r = cli("optimize " + path("model/cbr.onnx") + " -o " + path("opt.onnx") + " --verify --dump-after fold_batchnorm");
  ASSERT_EQ(r.exitCode, 0) << r.err;
  EXPECT_NE(r.out.find("fold_batchnorm"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("nodes: 3 -> 1"), std::string::npos) << r.out;
  EXPECT_TRUE(fs::exists(path("opt.onnx")));
  EXPECT_TRUE(fs::exists(path("opt.after_fold_batchnorm.onnx")));
  // The optimized model runs and matches the original.
  writeNpy(edgeopt::ir::Tensor::fromVector<float>({1, 2, 5, 5}, std::vector<float>(50, 0.3f)), "x5.npy");
  ASSERT_EQ(cli("run " + path("model/cbr.onnx") + " -i " + path("x5.npy") + " -o " + path("a.npy")).exitCode, 0);
  ASSERT_EQ(cli("run " + path("opt.onnx") + " -i " + path("x5.npy") + " -o " + path("b.npy")).exitCode, 0);
  auto a = edgeopt::data::readNpy(path("a.npy")), b = edgeopt::data::readNpy(path("b.npy"));
  ASSERT_TRUE(a.ok() && b.ok());
  for (int64_t i = 0; i < a->numel(); ++i) EXPECT_NEAR(a->data<float>()[i], b->data<float>()[i], 1e-5);
  r = cli("inspect --json " + path("opt.onnx"));
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["op_histogram"].size(), 2u);  // Conv, and the fused Relu re-expanded on export
  EXPECT_EQ(j["op_histogram"]["Relu"], 1);
}

TEST_F(CliTest, OptimizeBadInput) {
  saveConvBnRelu(path("model/cbr.onnx"));
  expectBadInput(cli("optimize " + path("model/cbr.onnx") + " -o " + path("o.onnx") + " --passes constant_folding,fold_all"),
                 "unknown pass 'fold_all'", path("o.onnx"));
  expectBadInput(cli("optimize " + path("model/cbr.onnx") + " -o " + path("o.onnx") + " --passes fuse_activation"),
                 "pass 'fuse_activation' cannot apply: it needs 'fold_batchnorm'", path("o.onnx"));
  expectBadInput(cli("optimize " + path("model/cbr.onnx") + " -o " + path("o.onnx") + " --dump-after merge_everything"),
                 "--dump-after 'merge_everything'", path("o.onnx"));
  // --verify needs to run the model; an op the reference executor lacks makes that impossible.
  OnnxModelBuilder b;
  b.opset("com.example", 1);
  b.input("x", {1, 4}).output("y", {1, 4});
  b.node("Identity", {"x"}, {"i"});
  b.node("Frobnicate", {"i"}, {"y"}, "frob", "com.example");
  b.save(path("model/custom.onnx"));
  expectBadInput(cli("optimize " + path("model/custom.onnx") + " -o " + path("o.onnx") + " --verify"),
                 "--verify cannot run the input model", path("o.onnx"));
  expectBadInput(cli("optimize " + path("model/cbr.onnx")), "optimize needs MODEL and --output");
}

// eval: the bundled example CNN (1x28x28 -> 10 classes) on a small labelled .npy set.
class CliEvalTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    edgeopt::ir::Tensor x(edgeopt::ir::DType::kFloat32, {20, 1, 28, 28});
    for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = static_cast<float>((i * 7919) % 255) / 255.0f;
    writeNpy(x, "x20.npy");
    std::vector<int64_t> y(20);
    for (int i = 0; i < 20; ++i) y[static_cast<size_t>(i)] = i % 10;
    writeNpy(edgeopt::ir::Tensor::fromVector<int64_t>({20}, y), "y20.npy");
  }
  std::string model() const { return std::string(EDGEOPT_SOURCE_DIR) + "/examples/tiny_cnn.onnx"; }
};

TEST_F(CliEvalTest, ReportsAccuracyAndConfusionAsJson) {
  auto r = cli("eval " + model() + " --data " + path("x20.npy") + " --labels " + path("y20.npy") + " --json --batch 8 "
               "--predictions " + path("pred.npy"));
  ASSERT_EQ(r.exitCode, 0) << r.err;
  // Not a terminal: no bar, only plain progress lines.
  std::istringstream errLines(r.err);
  for (std::string line; std::getline(errLines, line);) EXPECT_EQ(line.rfind("edgeopt: progress: ", 0), 0u) << line;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["samples"], 20);
  EXPECT_EQ(j["classes"], 10);
  ASSERT_TRUE(j.contains("top5"));
  EXPECT_EQ(j["per_class"].size(), 10u);
  EXPECT_EQ(j["confusion_matrix"].size(), 10u);
  int64_t total = 0, diagonal = 0;
  for (int t = 0; t < 10; ++t)
    for (int p = 0; p < 10; ++p) {
      total += j["confusion_matrix"][t][p].get<int64_t>();
      if (t == p) diagonal += j["confusion_matrix"][t][p].get<int64_t>();
    }
  EXPECT_EQ(total, 20);
  EXPECT_EQ(diagonal, j["top1_correct"].get<int64_t>());
  auto pred = edgeopt::data::readNpy(path("pred.npy"));
  ASSERT_TRUE(pred.ok());
  EXPECT_EQ(pred->numel(), 20);
  // --limit and batch size do not change per-sample results.
  r = cli("eval " + model() + " --data " + path("x20.npy") + " --labels " + path("y20.npy") + " --json --limit 5 --batch 1");
  ASSERT_EQ(r.exitCode, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["samples"], 5);
}

TEST_F(CliEvalTest, BadData) {
  // Label count differs from sample count.
  writeNpy(edgeopt::ir::Tensor::fromVector<int64_t>({3}, {1, 2, 3}), "y3.npy");
  expectBadInput(cli("eval " + model() + " --data " + path("x20.npy") + " --labels " + path("y3.npy")),
                 "3 labels for 20 samples", path("pred.npy"));
  // A label outside the model's classes names the sample.
  std::vector<int64_t> y(20, 1);
  y[13] = 12;
  writeNpy(edgeopt::ir::Tensor::fromVector<int64_t>({20}, y), "ybad.npy");
  expectBadInput(cli("eval " + model() + " --data " + path("x20.npy") + " --labels " + path("ybad.npy") +
                     " --predictions " + path("pred.npy")),
                 "x20.npy sample 13: label 12 is outside the model's 10 classes", path("pred.npy"));
  // A sample shape that does not fit the model input.
  writeNpy(edgeopt::ir::Tensor(edgeopt::ir::DType::kFloat32, {4, 3, 28, 28}), "rgb.npy");
  writeNpy(edgeopt::ir::Tensor::fromVector<int64_t>({4}, {0, 1, 2, 3}), "y4.npy");
  expectBadInput(cli("eval " + model() + " --data " + path("rgb.npy") + " --labels " + path("y4.npy")),
                 "sample shape [3,28,28] does not fit model input 'input' [batch,1,28,28]");
  // Missing files, no labels, an image that cannot be decoded.
  expectBadInput(cli("eval " + model() + " --data " + path("none.npy") + " --labels " + path("y4.npy")), "none.npy: no such file");
  expectBadInput(cli("eval " + model() + " --data " + path("x20.npy")), "eval needs labels");
  fs::create_directories(path("imgs/0"));
  std::ofstream(path("imgs/0/a.png")) << "garbage";
  expectBadInput(cli("eval " + model() + " --data " + path("imgs")), "a.png: cannot decode the image");
  // A truncated PNG: libpng's own complaint joins the one error line instead of a line of its own.
  fs::remove(path("imgs/0/a.png"));
  std::ifstream png(std::string(EDGEOPT_SOURCE_DIR) + "/calib_data/fashion_mnist_500/images/test_00000.png", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(png)), std::istreambuf_iterator<char>());
  std::ofstream(path("imgs/0/t.png"), std::ios::binary) << bytes.substr(0, 120);
  expectBadInput(cli("eval " + model() + " --data " + path("imgs")), "t.png: cannot decode the image (libpng error: ");
  expectBadInput(cli("eval " + model() + " --data " + path("x20.npy") + " --labels " + path("y20.npy") + " --preprocess blur=3"),
                 "--preprocess item 'blur=3'");
}

// Issue 20: a FIFO, a device or a directory where a file is expected is refused by its kind,
// before it is opened (opening a FIFO blocks; /dev/zero reads without end). Each command runs
// under `timeout` so that a regression fails instead of hanging the suite.
TEST_F(CliEvalTest, NonRegularFilesAreRefusedWithoutOpening) {
  ASSERT_EQ(::mkfifo(path("fifo").c_str(), 0600), 0);
  auto bounded = [this](const std::string& args) { return cli(args, 30); };
  expectBadInput(bounded("run " + path("fifo") + " -i " + path("x20.npy") + " -o " + path("o.npy")),
                 "fifo: is not a regular file", path("o.npy"));
  expectBadInput(bounded("run /dev/zero -i " + path("x20.npy") + " -o " + path("o.npy")), "/dev/zero: is not a regular file",
                 path("o.npy"));
  expectBadInput(bounded("run " + model() + " -i " + path("fifo") + " -o " + path("o.npy")), "fifo: is not a regular file",
                 path("o.npy"));
  expectBadInput(bounded("eval " + model() + " --data " + path("x20.npy") + " --labels " + path("fifo")),
                 "fifo: is not a regular file");
  expectBadInput(bounded("run " + model() + " -i " + path("model") + " -o " + path("o.npy")), "is a directory", path("o.npy"));
  // An image folder whose labels.csv names a FIFO: the error names the row.
  fs::create_directories(path("imgs"));
  std::ofstream(path("imgs/labels.csv")) << "file,label\n../fifo,3\n";
  expectBadInput(bounded("eval " + model() + " --data " + path("imgs")), "labels.csv line 2: " + path("imgs/../fifo") + ": is not a regular file");
}

// Issue 20: NaN or infinite data (all-NaN calibration data used to give scales of 1.0) is refused,
// naming the sample and element.
TEST_F(CliEvalTest, NonFiniteDataIsRefused) {
  edgeopt::ir::Tensor x(edgeopt::ir::DType::kFloat32, {4, 1, 28, 28});
  for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = 0.5f;
  x.data<float>()[2 * 784 + 5] = std::numeric_limits<float>::quiet_NaN();
  writeNpy(x, "nan.npy");
  expectBadInput(cli("quantize " + model() + " --calib " + path("nan.npy") + " -o " + path("q.onnx")),
                 "nan.npy sample 2: element 5 is NaN", path("q.onnx"));
  x.data<float>()[2 * 784 + 5] = std::numeric_limits<float>::infinity();
  writeNpy(x, "inf.npy");
  writeNpy(edgeopt::ir::Tensor::fromVector<int64_t>({4}, {0, 1, 2, 3}), "y4.npy");
  expectBadInput(cli("eval " + model() + " --data " + path("inf.npy") + " --labels " + path("y4.npy")),
                 "inf.npy sample 2: element 5 is infinite");
}

TEST_F(CliEvalTest, QuantizeWritesAQdqModelAndReport) {
  auto r = cli("quantize " + model() + " --calib " + path("x20.npy") + " -o " + path("q.onnx") + " --calibrator entropy --report " +
               path("q.json"));
  ASSERT_EQ(r.exitCode, 0) << r.err;
  EXPECT_NE(r.out.find("calibrator entropy on 20 samples"), std::string::npos) << r.out;
  auto j = nlohmann::json::parse(slurp(path("q.json")));
  EXPECT_EQ(j["calibration_samples"], 20);
  EXPECT_GE(j["int8_nodes"].size(), 3u);
  r = cli("inspect --json " + path("q.onnx"));
  auto h = nlohmann::json::parse(r.out)["op_histogram"];
  EXPECT_GE(h["QuantizeLinear"].get<int>(), 1);
  // eval and run execute it (lowered to edgeopt's int8 ops).
  r = cli("eval " + path("q.onnx") + " --data " + path("x20.npy") + " --labels " + path("y20.npy") + " --json");
  ASSERT_EQ(r.exitCode, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["samples"], 20);
}

// Options that would do nothing in the given combination (issue 20: accepted without a word) are
// errors: a target named twice, --calibrator without --calib, --labels without --eval, an --arm-cpu
// qemu has no model of.
TEST_F(CliEvalTest, OptionsThatWouldDoNothingAreErrors) {
  expectBadInput(cli("compile " + model() + " -o " + path("c1") + " --targets x86,x86"), "--targets names x86 twice", path("c1"));
  expectBadInput(cli("compile " + model() + " -o " + path("c2") + " --calibrator entropy"), "--calibrator needs --calib",
                 path("c2"));
  expectBadInput(cli("compile " + model() + " -o " + path("c3") + " --labels " + path("x20.npy")), "--labels needs --eval",
                 path("c3"));
  expectBadInput(cli("run " + model() + " -i " + path("x20.npy") + " -o " + path("z.npy") + " --target arm-neon --arm-cpu bogus"),
                 "--arm-cpu: bogus not in", path("z.npy"));
  expectBadInput(cli("quantize " + model() + " --calib " + path("x20.npy") + " -o " + path("q1.onnx") + " --percentile 99.9"),
                 "--percentile applies to --calibrator percentile only", path("q1.onnx"));
  expectBadInput(cli("quantize " + model() + " --calib " + path("x20.npy") + " -o " + path("q2.onnx") + " --seed 3"),
                 "--seed requires --shuffle", path("q2.onnx"));
  expectBadInput(cli("eval " + model() + " --data " + path("x20.npy") + " --labels " + path("y20.npy") + " --seed 3"),
                 "--seed requires --shuffle");
}

// edgeopt split (issue 17): the parts and split.json; a profile of another model, links that do
// not add up and a folder holding the user's files are refused before anything is written.
TEST_F(CliEvalTest, SplitWritesThePartsAndRefusesBadInput) {
  const std::string zoo = std::string(EDGEOPT_SOURCE_DIR) + "/tools/zoo/models/resnet_fm.onnx";
  const std::string links = " --bandwidth 1Gbps,10Gbps --rtt 0.01ms,0.01ms --iters 3 --sweep 1,1000";
  auto r = cli("split " + zoo + links + " --scale device=4,cloud=0.2 --json -o " + path("s1"));
  ASSERT_EQ(r.exitCode, 0) << r.err;
  const auto j = nlohmann::json::parse(slurp(path("s1/split.json")));
  EXPECT_EQ(j["schema"], "edgeopt.split/1");
  EXPECT_NEAR(j["chosen"]["total_ms"].get<double>(), j["brute_force"]["total_ms"].get<double>(), 1e-9);
  EXPECT_LT(j["chosen"]["total_ms"].get<double>(), j["all_on_device"]["total_ms"].get<double>());
  EXPECT_EQ(j["sweep"].size(), 2u);
  for (const auto& tier : j["parts"]) EXPECT_TRUE(fs::exists(path("s1/" + tier.get<std::string>() + ".onnx"))) << tier;
  // Every part is a model edgeopt reads back.
  for (const auto& tier : j["parts"])
    EXPECT_EQ(cli("inspect " + path("s1/" + tier.get<std::string>() + ".onnx")).exitCode, 0) << tier;
  // A second run replaces its own earlier output.
  EXPECT_EQ(cli("split " + zoo + links + " -o " + path("s1")).exitCode, 0);

  ASSERT_EQ(cli("bench " + model() + " --iters 2 --json").exitCode, 0);
  fs::copy_file(path("stdout.txt"), path("tiny_profile.json"));
  expectBadInput(cli("split " + zoo + links + " --profile device=" + path("tiny_profile.json") + " -o " + path("s2")),
                 "the profile does not match the model", path("s2"));
  expectBadInput(cli("split " + zoo + " --bandwidth 10Mbps,1Gbps --rtt 5ms -o " + path("s3")), "give one of each per link", path("s3"));
  expectBadInput(cli("split " + zoo + " --bandwidth fast --rtt 5ms -o " + path("s4")), "--bandwidth 'fast'", path("s4"));
  expectBadInput(cli("split " + zoo + links + " --scale edgy=2 -o " + path("s5")), "--scale names tier 'edgy'", path("s5"));
  fs::create_directories(path("mine"));
  std::ofstream(path("mine/notes.txt")) << "mine";
  expectBadInput(cli("split " + zoo + links + " -o " + path("mine")), "not an edgeopt split output");
  EXPECT_EQ(slurp(path("mine/notes.txt")), "mine");
}

// `quantize -o X --report X` wrote the report over the model (issue 20): refused, nothing written.
TEST_F(CliEvalTest, QuantizeReportCannotOverwriteTheModel) {
  expectBadInput(cli("quantize " + model() + " --calib " + path("x20.npy") + " -o " + path("q.onnx") + " --report " +
                     path("q.onnx")),
                 "names the same file as --output", path("q.onnx"));
  expectBadInput(cli("quantize " + model() + " --calib " + path("x20.npy") + " -o " + path("q.onnx") + " --report " + model()),
                 "names the same file as the model", path("q.onnx"));
}

TEST_F(CliEvalTest, QuantizeBadInput) {
  writeNpy(edgeopt::ir::Tensor(edgeopt::ir::DType::kFloat32, {4, 3, 28, 28}), "rgb.npy");
  expectBadInput(cli("quantize " + model() + " --calib " + path("rgb.npy") + " -o " + path("q.onnx")),
                 "does not fit model input", path("q.onnx"));
  expectBadInput(cli("quantize " + model() + " --calib " + path("x20.npy") + " --limit 0 -o " + path("q.onnx")),
                 "calibration set is empty", path("q.onnx"));
  expectBadInput(cli("quantize " + model() + " --calib " + path("x20.npy") + " --exclude nosuchnode -o " + path("q.onnx")),
                 "--exclude 'nosuchnode' names no node", path("q.onnx"));
  expectBadInput(cli("quantize " + model() + " --calib " + path("x20.npy") + " --calibrator kl -o " + path("q.onnx")),
                 "unknown calibrator 'kl'", path("q.onnx"));
  ASSERT_EQ(cli("quantize " + model() + " --calib " + path("x20.npy") + " -o " + path("q1.onnx")).exitCode, 0);
  expectBadInput(cli("quantize " + path("q1.onnx") + " --calib " + path("x20.npy") + " -o " + path("q.onnx")),
                 "already quantized", path("q.onnx"));
}

// run/eval --target x86 agree with the reference; bench prints its figures; bad targets, shapes
// and thread counts get exit 2 and one line.
TEST_F(CliEvalTest, X86TargetAndBench) {
  auto ref = cli("eval " + model() + " --data " + path("x20.npy") + " --labels " + path("y20.npy") +
                 " --quiet --predictions " + path("ref.npy"));
  ASSERT_EQ(ref.exitCode, 0) << ref.err;
  auto x86 = cli("eval " + model() + " --data " + path("x20.npy") + " --labels " + path("y20.npy") +
                 " --quiet --target x86 --predictions " + path("x86.npy"));
  ASSERT_EQ(x86.exitCode, 0) << x86.err;
  auto a = edgeopt::data::readNpy(path("ref.npy")), b = edgeopt::data::readNpy(path("x86.npy"));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->toInt64Vector(), b->toInt64Vector());
  auto run = cli("run " + model() + " -i " + path("x20.npy") + " -o " + path("y.npy") + " --target x86 --iters 2");
  ASSERT_EQ(run.exitCode, 0) << run.err;
  EXPECT_NE(run.out.find("latency (target x86"), std::string::npos) << run.out;

  auto bench = cli("bench " + model() + " --shape input=4x1x28x28 --iters 3 --warmup 1 --json");
  ASSERT_EQ(bench.exitCode, 0) << bench.err;
  auto j = nlohmann::json::parse(bench.out);
  EXPECT_EQ(j["target"], "x86");
  EXPECT_EQ(j["input_dims"][0], (std::vector<int64_t>{4, 1, 28, 28}));
  EXPECT_GT(j["latency_ms"]["median"].get<double>(), 0);
  EXPECT_GE(j["latency_ms"]["p90"].get<double>(), j["latency_ms"]["median"].get<double>());
  ASSERT_FALSE(j["steps"].empty());
  bool conv = false;
  for (const auto& s : j["steps"]) {
    conv = conv || (s["op"] == "Conv" && s["kernel"].get<std::string>().rfind("onednn:", 0) == 0);
    EXPECT_GT(s["outputs"].get<int64_t>(), 0) << s;
    if (s["op"] == "Conv") {
      EXPECT_GT(s["macs"].get<int64_t>(), 0) << s;
    }
  }
  EXPECT_TRUE(conv) << bench.out;
  // The output-stage rate is measured wherever the FMA peak is (AVX-512).
  if (j["measured_peak_gops"]["fp32"].get<double>() > 0) {
    EXPECT_GT(j["measured_output_stage_goutputs_per_s"].get<double>(), 0) << bench.out;
  }
  auto text = cli("bench " + model() + " --iters 2 --warmup 0 --target ref");
  ASSERT_EQ(text.exitCode, 0) << text.err;
  EXPECT_NE(text.out.find("latency: median"), std::string::npos);

  expectBadInput(cli("bench " + model() + " --target gpu"), "unknown target 'gpu'");
  expectBadInput(cli("bench " + model() + " --shape nosuch=1x1x28x28"), "not a model input");
  expectBadInput(cli("bench " + model() + " --shape input=1x3x28x28"), "does not fit the model input");
  expectBadInput(cli("run " + model() + " -i " + path("x20.npy") + " -o " + path("z.npy") + " --target arm"),
                 "unknown target 'arm'", path("z.npy"));
}

// compile writes the whole artifact folder (or nothing) with a report per target and precision.
TEST_F(CliEvalTest, CompileWritesArtifactsAndReport) {
  const std::string out = path("out");
  auto r = cli("compile " + model() + " -o " + out + " --calib " + path("x20.npy") + " --eval " + path("x20.npy") +
               " --labels " + path("y20.npy") + " --attribution-samples 4 --iters 2 --targets x86,ref");
  ASSERT_EQ(r.exitCode, 0) << r.err;
  for (const char* f : {"model.opt.onnx", "model.int8.onnx", "report.json", "report.md", "x86/CMakeLists.txt", "x86/runner.cc"})
    EXPECT_TRUE(fs::exists(out + "/" + f)) << f;
  EXPECT_FALSE(fs::exists(out + ".tmp-edgeopt"));
  auto j = nlohmann::json::parse(slurp(out + "/report.json"));
  EXPECT_EQ(j["schema"], "edgeopt.report/1");
  ASSERT_EQ(j["results"].size(), 4u);  // x86 and ref, fp32 and int8
  for (const auto& e : j["results"]) {
    EXPECT_EQ(e["accuracy"]["samples"], 20);
    EXPECT_GT(e["latency_ms"]["median"].get<double>(), 0);
    EXPECT_GT(e["model_bytes"].get<int64_t>(), 0);
    EXPECT_GT(e["macs"].get<int64_t>(), 0);
  }
  // The x86 and reference int8 execution agree, so their accuracy does.
  EXPECT_EQ(j["results"][1]["accuracy"]["top1"], j["results"][3]["accuracy"]["top1"]);
  EXPECT_TRUE(j.contains("quantization"));
  EXPECT_NE(slurp(out + "/report.md").find("| x86 | int8 |"), std::string::npos);
  // A second compile replaces a previous output folder.
  r = cli("compile " + model() + " -o " + out + " --iters 1");
  ASSERT_EQ(r.exitCode, 0) << r.err;
  EXPECT_FALSE(fs::exists(out + "/model.int8.onnx"));

  // Bad input: one line, exit 2, nothing written or replaced.
  fs::create_directories(path("mine"));
  std::ofstream(path("mine/notes.txt")) << "keep";
  expectBadInput(cli("compile " + model() + " -o " + path("mine") + " --iters 1"), "not an edgeopt compile output");
  EXPECT_TRUE(fs::exists(path("mine/notes.txt")));
  EXPECT_FALSE(fs::exists(path("mine.tmp-edgeopt")));
  expectBadInput(cli("compile " + model() + " -o " + path("o2") + " --targets gpu"), "unknown target 'gpu'", path("o2"));
  expectBadInput(cli("compile " + model() + " -o " + path("o3") + " --calib " + path("nosuch.npy")), "nosuch.npy", path("o3"));
  EXPECT_FALSE(fs::exists(path("o3.tmp-edgeopt")));
  // No working folder is left beside the output, whatever its suffix.
  for (const auto& entry : fs::directory_iterator(dir_))
    EXPECT_EQ(entry.path().filename().string().find(".tmp-edgeopt"), std::string::npos) << entry.path();
}

// compile replaces only what it wrote (issue 20: any folder holding a report.json was wiped whole,
// and `compile -o .` emptied the previous output): a folder with files it did not write, the
// working folder or one above it, are refused in one line and left as they were.
// Issue 20: the same inputs and options give byte-identical artifacts (ONNX models, the emitted
// NEON package, the x86 runner) and the same report apart from measured times and memory,
// whatever the thread count.
TEST_F(CliEvalTest, CompileIsDeterministicAcrossRunsAndThreadCounts) {
  const std::string common = model() + " --calib " + path("x20.npy") + " --targets x86,arm-neon --iters 1";
  ASSERT_EQ(cli("compile " + common + " -o " + path("a") + " --threads 2").exitCode, 0);
  ASSERT_EQ(cli("compile " + common + " -o " + path("b") + " --threads 1").exitCode, 0);
  int compared = 0;
  for (const auto& e : fs::recursive_directory_iterator(path("a"))) {
    if (!e.is_regular_file()) continue;
    const fs::path rel = fs::relative(e.path(), path("a"));
    ASSERT_TRUE(fs::exists(path("b") / rel)) << rel;
    if (rel == "report.json" || rel == "report.md" || rel == "report.html") continue;  // they hold measured times
    EXPECT_EQ(slurp(e.path().string()), slurp((path("b") / rel).string())) << rel << " differs between the runs";
    ++compared;
  }
  EXPECT_GT(compared, 10);
  auto withoutMeasurements = [this](const std::string& file) {
    auto j = nlohmann::json::parse(slurp(file));
    j.erase("peak_rss_mb");
    j["quantization"].erase("seconds");
    for (auto& r : j["results"]) {
      r.erase("latency_ms");
      for (auto& layer : r["layers"]) layer.erase("ms");
    }
    return j;
  };
  EXPECT_EQ(withoutMeasurements(path("a/report.json")), withoutMeasurements(path("b/report.json")));
}

// Issue 20: two compiles into one output folder both claimed success while the folder lost its
// models; now a second compile while another holds the folder's lock is refused, naming it.
TEST_F(CliEvalTest, CompileRefusesAnOutputFolderAnotherCompileIsWriting) {
  const std::string out = path("locked");
  {
    auto held = edgeopt::support::PathLock::acquire(out);  // as a running compile holds it
    ASSERT_TRUE(held.ok()) << held.status().message();
    expectBadInput(cli("compile " + model() + " -o " + out + " --iters 1"),
                   "locked: another edgeopt process (pid " + std::to_string(::getpid()) + ") is writing it", out);
  }
  auto r = cli("compile " + model() + " -o " + out + " --iters 1");  // released: it runs
  ASSERT_EQ(r.exitCode, 0) << r.err;
  EXPECT_TRUE(fs::exists(out + "/report.json"));
}

// Issue 20: compile's working folder (OUTDIR.tmp-edgeopt-XXXXXX) was left behind when a signal
// ended it. Sent SIGTERM once the folder exists, compile now removes it and dies of the signal.
TEST_F(CliEvalTest, CompileRemovesItsWorkingFolderWhenKilled) {
  const std::string zoo = std::string(EDGEOPT_SOURCE_DIR) + "/tools/zoo/models/resnet_fm.onnx";
  const std::string calib = std::string(EDGEOPT_SOURCE_DIR) + "/calib_data/fashion_mnist_500";
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::freopen("/dev/null", "w", stdout);
    ::execl(EDGEOPT_CLI, EDGEOPT_CLI, "compile", zoo.c_str(), "-o", path("out").c_str(), "--calib", calib.c_str(),
            "--preprocess", "channels=gray,scale=1/255,mean=0.2860,std=0.3530", "--targets", "x86,arm-neon",
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  auto workingFolders = [this] {
    int n = 0;
    for (const auto& e : fs::directory_iterator(dir_)) n += e.path().filename().string().rfind("out.tmp-edgeopt-", 0) == 0;
    return n;
  };
  bool seen = false;
  for (int i = 0; i < 400 && !seen; ++i) {  // up to 20 s
    seen = workingFolders() > 0;
    if (!seen) ::usleep(50000);
  }
  ::kill(child, SIGTERM);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(seen) << "compile never made its working folder";
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM) << "status " << status;
  EXPECT_EQ(workingFolders(), 0) << "the working folder was left behind";
  EXPECT_FALSE(fs::exists(path("out")));
  // Killed at any moment (here every 15 ms of its first 0.3 s) into folders it had to make: nothing
  // stays, not even those folders (a fresh machine once caught the signal landing between making
  // the working folder and registering it for removal).
  for (int delayMs = 0; delayMs <= 300; delayMs += 15) {
    const pid_t c = ::fork();
    ASSERT_GE(c, 0);
    if (c == 0) {
      ::freopen("/dev/null", "w", stdout);
      ::freopen("/dev/null", "w", stderr);
      ::execl(EDGEOPT_CLI, EDGEOPT_CLI, "compile", zoo.c_str(), "-o", path("made/sub/out").c_str(), "--calib", calib.c_str(),
              "--limit", "8", "--preprocess", "channels=gray,scale=1/255,mean=0.2860,std=0.3530", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::usleep(static_cast<useconds_t>(delayMs) * 1000);
    ::kill(c, SIGTERM);
    ASSERT_EQ(::waitpid(c, &status, 0), c);
    EXPECT_FALSE(fs::exists(path("made"))) << "killed after " << delayMs << " ms: the folders compile made stayed";
    fs::remove_all(path("made"));
  }
}

TEST_F(CliEvalTest, CompileNeverDeletesWhatItDidNotWrite) {
  fs::create_directories(path("p/src"));
  std::ofstream(path("p/report.json")) << "{}";
  std::ofstream(path("p/precious.txt")) << "x";
  expectBadInput(cli("compile " + model() + " -o " + path("p") + " --iters 1"), "which compile did not write; not overwriting the folder");
  EXPECT_TRUE(fs::exists(path("p/precious.txt")));
  EXPECT_TRUE(fs::exists(path("p/src")));
  // A previous output with a file added by the user: also kept.
  auto r = cli("compile " + model() + " -o " + path("out") + " --iters 1");
  ASSERT_EQ(r.exitCode, 0) << r.err;
  EXPECT_TRUE(fs::exists(path("out/.edgeopt-output")));
  std::ofstream(path("out/x86/mine.txt")) << "x";
  expectBadInput(cli("compile " + model() + " -o " + path("out") + " --iters 1"), "holds 'x86/mine.txt'");
  EXPECT_TRUE(fs::exists(path("out/x86/mine.txt")));
  fs::remove(path("out/x86/mine.txt"));
  r = cli("compile " + model() + " -o " + path("out") + " --iters 1");  // only its own files: replaced
  ASSERT_EQ(r.exitCode, 0) << r.err;
  // The working folder itself.
  const std::string inOut = "cd " + path("out") + " && " + std::string(EDGEOPT_CLI) + " compile " + model() + " -o . --iters 1 2>" +
                            path("stderr.txt");
  const int status = std::system(inOut.c_str());
  EXPECT_EQ(WEXITSTATUS(status), 2);
  EXPECT_NE(slurp(path("stderr.txt")).find("is the working folder or contains it"), std::string::npos) << slurp(path("stderr.txt"));
  EXPECT_TRUE(fs::exists(path("out/report.json")));
}

TEST_F(CliTest, HelpDocumentsExitCodes) {
  auto r = cli("--help");
  EXPECT_EQ(r.exitCode, 0);
  EXPECT_NE(r.out.find("Exit codes:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("2  bad input or usage"), std::string::npos) << r.out;
}

}  // namespace

// Issue 18: compile --targets fpga-hls writes fpga_hls/ (whose `make csim` passes) and the FPGA
// row of the report with the estimated resources; --target-setting chooses the folding and the
// part; a bad setting or a required target the part cannot hold is one line, exit 2, nothing written.
TEST_F(CliEvalTest, CompileForTheFpgaWritesTheProjectAndTheResourceRow) {
  const std::string zoo = std::string(EDGEOPT_SOURCE_DIR) + "/tools/zoo/models/resnet_fm.onnx";
  const std::string common = zoo + " --calib " + std::string(EDGEOPT_SOURCE_DIR) +
                             "/calib_data/fashion_mnist_500 --limit 40 --preprocess channels=gray,scale=1/255,mean=0.2860,std=0.3530 "
                             "--targets fpga-hls";
  auto r = cli("compile " + common + " -o " + path("out"));
  ASSERT_EQ(r.exitCode, 0) << r.err;
  const auto report = nlohmann::json::parse(slurp(path("out/report.json")));
  ASSERT_EQ(report["results"].size(), 1u);
  const auto& hw = report["results"][0]["hardware"];
  EXPECT_EQ(hw["part"], "xc7z020");
  EXPECT_EQ(hw["fits"], true);
  EXPECT_LE(hw["resources"]["DSP"]["estimate"].get<int64_t>(), 220);
  EXPECT_EQ(hw["resources"]["BRAM18"]["capacity"], 280);
  EXPECT_TRUE(report["results"][0]["latency_ms"]["estimated"].get<bool>());
  EXPECT_NE(slurp(path("out/report.md")).find("fpga-hls on xc7z020 at 100 MHz (estimate)"), std::string::npos);
  const auto estimate = nlohmann::json::parse(slurp(path("out/fpga_hls/estimate.json")));
  EXPECT_EQ(estimate["initiation_interval_cycles"], hw["cycles_per_frame"]);
  const int status = std::system(("make -s -C " + path("out/fpga_hls") + " csim > " + path("csim.txt") + " 2>&1").c_str());
  EXPECT_EQ(WEXITSTATUS(status), 0) << slurp(path("csim.txt"));
  EXPECT_NE(slurp(path("csim.txt")).find("8 frames, 80 outputs, all identical"), std::string::npos) << slurp(path("csim.txt"));

  r = cli("compile " + common + " -o " + path("big") + " --target-setting fpga-hls.part=xczu9eg --target-setting fpga-hls.cycles=20000");
  ASSERT_EQ(r.exitCode, 0) << r.err;
  const auto big = nlohmann::json::parse(slurp(path("big/fpga_hls/estimate.json")));
  EXPECT_EQ(big["part"], "xczu9eg");
  EXPECT_LE(big["initiation_interval_cycles"].get<int64_t>(), 20000);

  expectBadInput(cli("compile " + common + " -o " + path("x") + " --target-setting fpga-hls.cycles=4096"),
                 "fpga-hls: the design does not fit xc7z020: DSP ", path("x"));
  expectBadInput(cli("compile " + common + " -o " + path("x") + " --target-setting fpga-hls.speed=1"),
                 "fpga-hls has no setting 'speed' (it takes: cycles, part, dsp-budget, clock-mhz, over-budget)", path("x"));
  expectBadInput(cli("compile " + common + " -o " + path("x") + " --target-setting x86.cycles=1"),
                 "--target-setting names target 'x86', which --targets does not", path("x"));
  expectBadInput(cli("compile " + common + " -o " + path("x") + " --target-setting fpga-hls.cycles=fast"),
                 "fpga-hls.cycles=fast: expects a whole number >= 0", path("x"));
  expectBadInput(cli("compile " + common + " -o " + path("x") + " --target-setting fpga-hls.part=xc7a35t"),
                 "unknown FPGA part 'xc7a35t' (known: xc7z020, xczu3eg, xczu9eg)", path("x"));
  expectBadInput(cli("compile " + common + " -o " + path("x") + " --target-setting cycles"),
                 "--target-setting cycles: expects TARGET.KEY=VALUE", path("x"));
}

// Issue 16: prune shrinks the zoo ResNet to half its MACs (the groups printed, BatchNorm
// re-estimated on data), and refuses a ratio out of range and a model with nothing to prune.
TEST_F(CliEvalTest, PruneShrinksTheModelAndRefusesBadRequests) {
  const std::string zoo = std::string(EDGEOPT_SOURCE_DIR) + "/tools/zoo/models/resnet_fm.onnx";
  auto r = cli("prune " + zoo + " --macs 0.5 --data " + std::string(EDGEOPT_SOURCE_DIR) +
               "/calib_data/fashion_mnist_500 --preprocess channels=gray,scale=1/255,mean=0.2860,std=0.3530 --bn-samples 64 -o " +
               path("p.onnx") + " --json");
  ASSERT_EQ(r.exitCode, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_LE(j["macs"]["after"].get<double>(), 0.51 * j["macs"]["before"].get<double>());
  EXPECT_LT(j["parameters"]["after"].get<int64_t>(), j["parameters"]["before"].get<int64_t>());
  EXPECT_EQ(j["batchnorm"]["reestimated"], 9);
  EXPECT_EQ(j["batchnorm"]["samples"], 64);
  EXPECT_EQ(cli("inspect " + path("p.onnx")).exitCode, 0);  // a valid, smaller model
  expectBadInput(cli("prune " + zoo + " --macs 1.5 -o " + path("x.onnx")), "--macs", path("x.onnx"));
  expectBadInput(cli("prune " + path("model/good.onnx") + " --macs 0.5 -o " + path("x.onnx")), "no channel group can be pruned",
                 path("x.onnx"));
  expectBadInput(cli("prune " + zoo + " -o " + path("x.onnx")), "nothing to do: give --macs and/or --unstructured", path("x.onnx"));
}

// Issue 16: finetune distills the zoo ResNet into itself on a few bundled images (the figures as
// JSON, a valid model written) and refuses data without labels and a model it cannot train.
TEST_F(CliEvalTest, FinetuneTrainsAndRefusesWhatItCannotTrain) {
  const std::string zoo = std::string(EDGEOPT_SOURCE_DIR) + "/tools/zoo/models/resnet_fm.onnx";
  const std::string data = std::string(EDGEOPT_SOURCE_DIR) + "/calib_data/fashion_mnist_500 --preprocess channels=gray,scale=1/255,mean=0.2860,std=0.3530";
  auto r = cli("finetune " + zoo + " --teacher " + zoo + " --data " + data + " --limit 80 --held-out 0.2 --epochs 2 --batch 16 -o " +
               path("ft.onnx") + " --json");
  ASSERT_EQ(r.exitCode, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["train_samples"], 64);
  EXPECT_EQ(j["held_out_samples"], 16);
  ASSERT_EQ(j["epochs"].size(), 2u);
  EXPECT_GE(j["held_out_top1"]["after"].get<double>(), 0.0);
  EXPECT_EQ(j["streamed"], false);
  EXPECT_EQ(cli("inspect " + path("ft.onnx")).exitCode, 0);
  // Streamed from the files every epoch instead of held in memory: the very same model.
  r = cli("finetune " + zoo + " --teacher " + zoo + " --data " + data + " --limit 80 --held-out 0.2 --epochs 2 --batch 16 -o " +
          path("ft_streamed.onnx") + " --json --in-memory-mb 0");
  ASSERT_EQ(r.exitCode, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["streamed"], true);
  EXPECT_EQ(slurp(path("ft.onnx")), slurp(path("ft_streamed.onnx")));
  expectBadInput(cli("finetune " + zoo + " --data " + path("x20.npy") + " -o " + path("x.onnx")), "fine-tuning needs labels",
                 path("x.onnx"));
  expectBadInput(cli("finetune " + model() + " --data " + path("x20.npy") + " --labels " + path("y20.npy") + " -o " + path("x.onnx")),
                 "op Softmax has no backward here", path("x.onnx"));
  expectBadInput(cli("finetune " + zoo + " --data " + data + " --held-out 0.7 -o " + path("x.onnx")), "--held-out", path("x.onnx"));
}

// Issue 16: compile's compression stages: prune to 0.6 x MACs (rounded to x86's 16 channels) -> fine-tune ->
// cleanup -> int8, a report row per stage, progress lines on a non-terminal stderr (none with
// --quiet); stage options without their stage, and a failing hook (exit 4), leave nothing behind.
// compile's exit stage: after quantizing, on the int8 model; model.exits.onnx carries the policy,
// report.json/md/html the thresholds and the cascade on the evaluation data (x86, batch 1); exit
// options without --exits, --exits without --train and a point that is no exit point are refused
// before anything is written.
TEST_F(CliEvalTest, CompileAddsExitsAfterQuantizing) {
  const std::string src = EDGEOPT_SOURCE_DIR;
  const std::string zoo = src + "/tools/zoo/models/resnet_fm.onnx";
  const std::string data = src + "/calib_data/fashion_mnist_500";
  const std::string common = "compile " + zoo + " --targets x86 --calib " + data +
                             " --limit 32 --preprocess channels=gray,scale=1/255,mean=0.2860,std=0.3530 --eval " + data +
                             " --eval-limit 200 --iters 2 --train " + data + " --exit-epochs 3 --quiet ";
  auto r = cli(common + "--exits -o " + path("c"), 300);
  ASSERT_EQ(r.exitCode, 0) << r.err;
  EXPECT_NE(r.out.find("## Early exits"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("model.exits.onnx"), std::string::npos) << r.out;
  std::ifstream in(path("c/report.json"));
  const auto j = nlohmann::json::parse(in);
  ASSERT_TRUE(j.contains("exits")) << j.dump();
  const auto& x = j["exits"];
  EXPECT_EQ(x["model"], "model.exits.onnx");
  EXPECT_EQ(x["precision"], "int8");
  EXPECT_EQ(x["evaluation"]["samples"], 200);
  double rates = 0;
  for (const auto& e : x["evaluation"]["exits"]) rates += e["rate"].get<double>();
  EXPECT_NEAR(rates, 1.0, 1e-9) << x.dump();
  EXPECT_EQ(x["evaluation"]["exits"].size(), x["training"]["exits"].size() + 1) << x.dump();
  auto model = edgeopt::api::loadModel(path("c/model.exits.onnx"));
  ASSERT_TRUE(model.ok()) << model.status().message();
  auto policy = edgeopt::api::exitPolicyOf(model.value());
  ASSERT_TRUE(policy.ok() && policy.value()) << "model.exits.onnx carries no policy";
  EXPECT_EQ(model.value().graph->outputs().size(), policy.value()->exits.size() + 1);
  std::ifstream html(path("c/report.html"));
  const std::string page((std::istreambuf_iterator<char>(html)), std::istreambuf_iterator<char>());
  EXPECT_NE(page.find("<h2>Early exits</h2>"), std::string::npos);
  expectBadInput(cli("compile " + zoo + " --exit-budget 1 -o " + path("x")), "--exit-budget requires --exits", path("x"));
  expectBadInput(cli("compile " + zoo + " --exits -o " + path("x")), "--exits needs labelled training data", path("x"));
  expectBadInput(cli(common + "--exits --exit-points no_such_tensor -o " + path("x"), 300), "is not a tensor a node of the model computes",
                 path("x"));
}

TEST_F(CliEvalTest, CompilePrunesAndFineTunesBeforeQuantizing) {
  const std::string src = EDGEOPT_SOURCE_DIR;
  const std::string zoo = src + "/tools/zoo/models/resnet_fm.onnx";
  const std::string data = src + "/calib_data/fashion_mnist_500";
  const std::string common = "compile " + zoo + " --targets x86 --calib " + data +
                             " --limit 32 --preprocess channels=gray,scale=1/255,mean=0.2860,std=0.3530 --eval " + data +
                             " --eval-limit 64 --iters 2 --train " + data + " --train-limit 96 --finetune-batch 32 ";
  auto r = cli(common + "--prune-macs 0.6 --finetune-epochs 1 -o " + path("c"), 300);
  ASSERT_EQ(r.exitCode, 0) << r.err;
  for (const char* line : {"edgeopt: progress: prune\n", "edgeopt: progress: fine-tune: epoch 1/1: loss ", "edgeopt: progress: quantize\n",
                           "edgeopt: progress: measure x86 int8\n"})
    EXPECT_NE(r.err.find(line), std::string::npos) << "expected '" << line << "' in\n" << r.err;
  std::ifstream in(path("c/report.json"));
  const auto j = nlohmann::json::parse(in);
  ASSERT_EQ(j["stages"].size(), 4u) << j.dump();
  const char* names[] = {"original", "pruned", "fine-tuned", "int8"};
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(j["stages"][i]["stage"], names[i]);
    EXPECT_GE(j["stages"][i]["top1"].get<double>(), 0.0);
  }
  const double before = j["stages"][0]["macs"].get<double>(), after = j["stages"][1]["macs"].get<double>();
  EXPECT_NEAR(after / before, 0.6, 0.6 * 0.02);
  EXPECT_LT(j["stages"][1]["parameters"].get<int64_t>(), j["stages"][0]["parameters"].get<int64_t>());
  EXPECT_EQ(j["stages"][3]["macs"], j["stages"][1]["macs"]);
  EXPECT_EQ(j["results"][1]["macs"], j["stages"][1]["macs"]) << "the measured models are the pruned ones";
  for (const auto& g : j["prune"]["groups"]) {
    if (g.contains("frozen_by")) continue;
    EXPECT_EQ(g["kept"].get<int64_t>() % 16, 0) << g.dump();
  }
  EXPECT_EQ(j["finetune"]["epochs"].size(), 1u);
  // --quiet: no progress at all.
  r = cli(common + "--prune-macs 0.6 --finetune-epochs 0 --quiet -o " + path("q"), 300);
  ASSERT_EQ(r.exitCode, 0) << r.err;
  EXPECT_EQ(r.err, "");
  std::ifstream qin(path("q/report.json"));
  EXPECT_EQ(nlohmann::json::parse(qin)["stages"].size(), 3u) << "original, pruned (BatchNorm re-estimated), int8";
  expectBadInput(cli("compile " + zoo + " --train " + data + " -o " + path("x")), "--train DATA is for the prune, fine-tune and exit stages",
                 path("x"));
  // In x86's multiples of 16, the zoo ResNet's 16-channel groups cannot shrink: 0.5 is out of reach.
  expectBadInput(cli(common + "--prune-macs 0.5 -o " + path("x")),
                 "prune: cannot prune to 0.5 of the MACs: the frozen groups, the per-layer maximum ratio (0.9) and channel counts "
                 "in multiples of 16 allow at most down to 0.526", path("x"));
  expectBadInput(cli("compile " + zoo + " --finetune-epochs 3 -o " + path("x")), "--finetune-epochs needs --train DATA", path("x"));
  r = cli(common + "--prune-macs 0.6 --finetune-hook \"/bin/sh " + src + "/tests/finetune/fake_hook.sh fail {job}\" -o " + path("x"), 120);
  EXPECT_EQ(r.exitCode, 4) << r.err;
  EXPECT_NE(r.err.find("edgeopt: error: fine-tune: the fine-tune hook exited with status 3"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(path("x")));
}

// Issue 19: budgets gate a CI job: met -> exit 0, broken -> exit 3 with a line per broken check
// and every artifact written (report.json lists the checks), JUnit XML with one test case per
// budget and result row; a malformed budget or one naming a target compile does not build: exit 2
// before any work, nothing written.
TEST_F(CliEvalTest, CompileBudgetsExitThreeWhenBrokenAndWriteJunit) {
  const std::string src = EDGEOPT_SOURCE_DIR;
  const std::string common = "compile " + src + "/tools/zoo/models/resnet_fm.onnx --targets x86 --calib " + src +
                             "/calib_data/fashion_mnist_500 --limit 32 --preprocess channels=gray,scale=1/255,mean=0.2860,std=0.3530 "
                             "--eval " + src + "/calib_data/fashion_mnist_500 --eval-limit 64 --iters 2 --quiet ";
  auto r = cli(common + "--budget \"top1.int8>=50,latency.x86<=10s,size.fp32<=1MB\" --budget \"macs<=10M\" --junit " + path("ok.xml") +
               " -o " + path("ok"), 300);
  EXPECT_EQ(r.exitCode, 0) << r.err;
  EXPECT_EQ(r.err, "");
  const std::string ok = slurp(path("ok.xml"));
  EXPECT_NE(ok.find("tests=\"6\" failures=\"0\""), std::string::npos) << ok;  // top1 x1, latency x2, size x1, macs x2
  r = cli(common + "--budget \"size.int8<=10KB, top1_drop.int8 <= 100\" --junit " + path("bad.xml") + " -o " + path("bad"), 300);
  EXPECT_EQ(r.exitCode, 3) << r.err;
  EXPECT_NE(r.err.find("edgeopt: budget broken: size.x86.int8 <= 10 KB: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("edgeopt: 1 of 2 budget checks broken (exit 3)"), std::string::npos) << r.err;
  EXPECT_TRUE(fs::exists(path("bad/model.int8.onnx"))) << "a broken budget still writes every artifact";
  std::ifstream in(path("bad/report.json"));
  const auto j = nlohmann::json::parse(in);
  ASSERT_EQ(j["budgets"].size(), 2u);
  EXPECT_EQ(j["budgets"][0]["passed"], false);
  EXPECT_EQ(j["budgets"][0]["unit"], "B");
  EXPECT_EQ(j["budgets"][1]["passed"], true);
  const std::string bad = slurp(path("bad.xml"));
  EXPECT_NE(bad.find("<failure message=\"size.x86.int8 &lt;= 10 KB: "), std::string::npos) << bad;
  for (const auto& [spec, mention] : std::vector<std::pair<std::string, std::string>>{
           {"latency.x86.int8 = 5ms", "expects METRIC OP VALUE with OP one of <=, <, >=, >"},
           {"speed<=5", "unknown metric 'speed'"},
           {"latency.x87<=5", "'x87' is neither a precision (fp32, int8) nor a target"},
           {"latency<=5parsecs", "unit 'parsecs' does not fit latency"},
           {"size<=lots", "'lots' is not a number"},
           {"latency.arm-neon<=5", "names target arm-neon, which --targets does not"}}) {
    expectBadInput(cli(common + "--budget \"" + spec + "\" -o " + path("x")), mention, path("x"));
  }
  expectBadInput(cli(common + "--junit " + path("j.xml") + " -o " + path("x")), "--junit needs --budget", path("x"));
  EXPECT_FALSE(fs::exists(path("j.xml")));
}

// Issue 19: compile --recipe FILE.toml: every option from the file, the command line winning;
// an unknown key, a value the option refuses or broken TOML name the file and line, exit 2,
// nothing written.
TEST_F(CliEvalTest, CompileTakesItsOptionsFromARecipe) {
  const std::string src = EDGEOPT_SOURCE_DIR;
  auto writeRecipe = [&](const std::string& name, const std::string& text) {
    std::ofstream(path(name)) << text;
    return path(name);
  };
  const std::string good = writeRecipe("good.toml", "model = \"" + src + "/tools/zoo/models/resnet_fm.onnx\"\n"
                                                    "output = \"" + path("from_recipe") + "\"\n"
                                                    "targets = [\"x86\"]\niters = 2\nquiet = true\n"
                                                    "[calibration]\ndata = \"" + src + "/calib_data/fashion_mnist_500\"\n"
                                                    "preprocess = \"channels=gray,scale=1/255,mean=0.2860,std=0.3530\"\nlimit = 16\n"
                                                    "[evaluation]\ndata = \"" + src + "/calib_data/fashion_mnist_500\"\nlimit = 32\n"
                                                    "[budgets]\nrequire = [\"size.int8 <= 1KB\", \"macs <= 100M\"]\n");
  auto r = cli("compile --recipe " + good + " -o " + path("from_cli"), 300);
  EXPECT_EQ(r.exitCode, 3) << r.err;  // the recipe's size budget is broken on purpose
  EXPECT_FALSE(fs::exists(path("from_recipe"))) << "-o on the command line wins";
  std::ifstream in(path("from_cli/report.json"));
  const auto j = nlohmann::json::parse(in);
  EXPECT_EQ(j["results"].size(), 2u);
  EXPECT_EQ(j["results"][1]["accuracy"]["samples"], 32);
  EXPECT_EQ(j["quantization"]["calibration_samples"], 16);
  EXPECT_EQ(j["budgets"].size(), 3u);  // size x int8, macs x fp32/int8
  r = cli("compile --recipe " + good + " -o " + path("override") + " --budget \"macs<=100M\"", 300);
  EXPECT_EQ(r.exitCode, 0) << "--budget on the command line replaces the recipe's: " << r.err;
  const std::string base = "model = \"" + src + "/tools/zoo/models/resnet_fm.onnx\"\noutput = \"" + path("x") + "\"\n";
  expectBadInput(cli("compile --recipe " + writeRecipe("typo.toml", base + "[evaluation]\nlables = \"y.npy\"\n")),
                 "typo.toml:4: 'evaluation.lables': unknown key (known: model, output, targets", path("x"));
  expectBadInput(cli("compile --recipe " + writeRecipe("range.toml", base + "iters = 0\n")),
                 "range.toml:3: 'iters': ", path("x"));
  expectBadInput(cli("compile --recipe " + writeRecipe("broken.toml", base + "[calibration\n")), "broken.toml:3: not valid TOML",
                 path("x"));
  expectBadInput(cli("compile --recipe " + writeRecipe("table.toml", base + "[calibration.data]\nx = 1\n")),
                 "table.toml:3: 'calibration.data': expects a value, not a table", path("x"));
  expectBadInput(cli("compile --recipe " + path("none.toml")), "none.toml: no such recipe file");
  expectBadInput(cli("compile --recipe " + writeRecipe("nomodel.toml", "output = \"" + path("x") + "\"\n")),
                 "compile needs MODEL (on the command line or as the recipe's model)", path("x"));
}

// Issue 19: `report A B` compares two compile reports row by row (here two calibrators), marks
// what got worse, and refuses files that are not compile reports.
TEST_F(CliEvalTest, ReportComparesTwoCompileRuns) {
  const std::string src = EDGEOPT_SOURCE_DIR;
  for (const char* calibrator : {"minmax", "percentile"}) {
    auto r = cli("compile " + src + "/tools/zoo/models/resnet_fm.onnx --targets x86 --calib " + src +
                 "/calib_data/fashion_mnist_500 --limit 32 --preprocess channels=gray,scale=1/255,mean=0.2860,std=0.3530 --eval " +
                 src + "/calib_data/fashion_mnist_500 --eval-limit 64 --iters 2 --quiet --calibrator " + calibrator + " -o " + path(calibrator), 300);
    ASSERT_EQ(r.exitCode, 0) << r.err;
  }
  auto r = cli("report " + path("minmax/report.json") + " " + path("percentile/report.json"));
  ASSERT_EQ(r.exitCode, 0) << r.err;
  EXPECT_NE(r.out.find("quantization calibrator: minmax -> percentile"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("x86 int8           top1"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("\033["), std::string::npos) << "no color when stdout is not a terminal";
  r = cli("report " + path("minmax/report.json") + " " + path("percentile/report.json") + " --json");
  ASSERT_EQ(r.exitCode, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["settings_differ"]["quantization calibrator"]["b"], "percentile");
  ASSERT_EQ(j["rows"].size(), 2u);  // x86 fp32, x86 int8
  EXPECT_EQ(j["rows"][0]["figures"][0]["verdict"], "same") << "fp32 does not depend on the calibrator";
  expectBadInput(cli("report " + path("minmax/report.json") + " " + path("y20.npy")), "y20.npy: not JSON");
  std::ofstream(path("other.json")) << "{\"schema\": \"something/2\"}";
  expectBadInput(cli("report " + path("minmax/report.json") + " " + path("other.json")),
                 "not an edgeopt compile report (schema 'something/2', expected 'edgeopt.report/1')");
}

// Issue 19: compile and quantize print their reports as JSON with --json (what report.json and
// quantize --report hold), nothing else on stdout.
TEST_F(CliEvalTest, CompileAndQuantizePrintJson) {
  const std::string src = EDGEOPT_SOURCE_DIR;
  const std::string calib = " --calib " + src + "/calib_data/fashion_mnist_500 --limit 16 --preprocess channels=gray,scale=1/255,mean=0.2860,std=0.3530";
  auto r = cli("compile " + src + "/tools/zoo/models/mlp_fm.onnx" + calib + " --iters 2 --quiet --json -o " + path("c"), 300);
  ASSERT_EQ(r.exitCode, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["schema"], "edgeopt.report/1");
  EXPECT_EQ(j, nlohmann::json::parse(slurp(path("c/report.json"))));
  r = cli("quantize " + src + "/tools/zoo/models/mlp_fm.onnx" + calib + " --json -o " + path("q.onnx"), 300);
  ASSERT_EQ(r.exitCode, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["calibration_samples"], 16);
}

// Issue 16: a fine-tune hook that fails, hangs, writes nothing, changes the graph or disagrees
// on the teacher's accuracy: one line naming the cause (the hook's own text when it gave one),
// exit 4, nothing written, and a hung hook's process group ended.
TEST_F(CliEvalTest, FinetuneHookFailuresAreOneLineAndExit4) {
  const std::string src = EDGEOPT_SOURCE_DIR;
  const std::string zoo = src + "/tools/zoo/models/resnet_fm.onnx";
  ASSERT_EQ(cli("prune " + zoo + " --macs 0.5 -o " + path("student.onnx")).exitCode, 0);
  const std::string common = "finetune " + path("student.onnx") + " --teacher " + zoo + " --data " + src +
                             "/calib_data/fashion_mnist_500 --preprocess channels=gray,scale=1/255,mean=0.2860,std=0.3530 "
                             "--limit 40 -o " + path("out.onnx") + " --hook-timeout 3 --hook ";
  const std::string hook = "/bin/sh " + src + "/tests/finetune/fake_hook.sh ";
  auto expectHookFailure = [&](const std::string& mode, const std::string& mention) {
    const auto r = cli(common + "\"" + hook + mode + " {job}\"", 60);
    EXPECT_EQ(r.exitCode, 4) << mode << ": " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_NE(r.err.find(mention), std::string::npos) << mode << ": expected '" << mention << "' in " << r.err;
    EXPECT_FALSE(fs::exists(path("out.onnx"))) << mode;
  };
  expectHookFailure("fail", "the fine-tune hook exited with status 3: fake_hook: out of memory on the GPU");
  expectHookFailure("noresult", "exited 0 but wrote no result.json");
  expectHookFailure("changed", "the hook returned a changed graph");
  expectHookFailure("teacher", "(a preprocessing mismatch)");
  const auto start = std::chrono::steady_clock::now();
  expectHookFailure("hang", "did not finish within 3 s; its process group was ended");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
  // The hung hook wrote its pid beside the job folder: that process is gone.
  std::ifstream pidFile(fs::temp_directory_path() / "fake_hook.pid");
  pid_t hung = 0;
  ASSERT_TRUE(pidFile >> hung);
  EXPECT_NE(::kill(hung, 0), 0) << "the hung hook " << hung << " is still running";
  fs::remove(fs::temp_directory_path() / "fake_hook.pid");
  expectBadInput(cli(common + "\"/bin/true\""), "--hook must be a command line containing {job}", path("out.onnx"));
}
