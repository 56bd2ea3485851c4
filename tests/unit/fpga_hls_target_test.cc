// The FPGA HLS target: zoo models (MLP, ResNet-style, MobileNetV2-style) and a hand-made model with
// max pooling, a 3-channel input and a Flatten of a 5x5 map, quantized and emitted as HLS projects
// whose `make csim` (g++, -Werror) reproduces edgeopt's reference int8 byte for byte at three
// foldings and counts exactly the estimated cycles of every process; a flipped weight and short or
// missing files make the testbench fail; a design over the part is refused with the numbers;
// unsupported nodes are refused by name.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include "api/edgeopt.h"
#include "compiler/data/dataset.h"
#include "compiler/data/npy.h"
#include "compiler/runtime/executor.h"
#include "targets/fpga_hls/emit.h"
#include "tests/unit/onnx_model_builder.h"
#include "tests/unit/zoo_data.h"

namespace edgeopt {
namespace {
namespace fs = std::filesystem;

void prepareForFpga(ir::Model& model) {
  auto target = targets::find("fpga-hls");
  ASSERT_TRUE(target.ok());
  ASSERT_TRUE(api::prepareForExecution(model, target.value()).ok());
}

// A zoo model, quantized on the bundled images and lowered for the fpga-hls target.
ir::Model quantizedZoo(const std::string& name) {
  auto model = api::loadModel((testing::kZoo / (name + ".onnx")).string());
  EXPECT_TRUE(model.ok());
  const std::string preprocess = testing::zooManifest()["models"][name]["preprocess"];
  EXPECT_TRUE(testing::quantizeWithBundled(model.value(), preprocess, 50).ok());
  prepareForFpga(model.value());
  return std::move(model).value();
}

void writeProject(const fpga_hls::Project& p, const fs::path& dir) {
  fs::remove_all(dir);
  for (const auto& [path, text] : p.files) {
    fs::create_directories((dir / path).parent_path());
    std::ofstream(dir / path, std::ios::binary) << text;
  }
}

int makeCsim(const fs::path& dir, const std::string& extra = "") {
  const std::string cmd = "make -s -C " + dir.string() + " csim " + extra + " > " + (dir / "csim.log").string() + " 2>&1";
  const int status = std::system(cmd.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The int8 bytes after the model's QuantizeLinear (the design's input, NHWC) and before its final
// DequantizeLinear (the design's output), node by node through the reference executor.
void referenceBytes(const ir::Model& model, const ir::Tensor& batch, std::string* input, std::string* golden) {
  std::map<const ir::Value*, ir::Tensor> values = {{model.graph->inputs()[0], batch}};
  for (const ir::Node* n : model.graph->nodes()) {
    std::vector<const ir::Tensor*> args;
    for (const ir::Value* v : n->inputs()) args.push_back(!v ? nullptr : v->isInitializer() ? &v->initializer() : &values.at(v));
    auto out = runtime::evaluateNode(*n, args);
    ASSERT_TRUE(out.ok()) << out.status().message();
    values[n->output(0)] = out.value()[0];
    if (n->opType() == "QuantizeLinear" && input->empty()) *input = fpga_hls::streamBytes(values[n->output(0)]);
    if (n->opType() == "DequantizeLinear" && n->output(0) == model.graph->outputs()[0]) *golden = fpga_hls::streamBytes(values.at(n->input(0)));
  }
}

// The first `count` Fashion-MNIST test images (Debian's dataset-fashion-mnist) preprocessed for a
// zoo model; the bundled 500 when the dataset is not installed.
ir::Tensor testImages(const std::string& zooName, int64_t count) {
  const fs::path images = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz";
  data::DataOptions d;
  const std::string preprocess = testing::zooManifest()["models"][zooName]["preprocess"];
  d.path = fs::exists(images) ? images.string() : testing::kBundled.string();
  d.preprocess = fs::exists(images) ? preprocess : "channels=gray," + preprocess;
  d.limit = count;
  auto source = data::openDataSource(d);
  EXPECT_TRUE(source.ok()) << source.status().message();
  data::BatchReader reader(*source.value(), d, count);
  data::Batch batch;
  EXPECT_TRUE(reader.next(&batch).value());
  return batch.inputs;
}

// Checks a project's processes against the folding rules, then runs its csim on `input`/`golden`
// and expects every output identical and every process at its estimated cycles.
void expectCsimIdentical(const fpga_hls::Project& p, const fs::path& dir, const std::string& input, const std::string& golden,
                         const std::string& label) {
  for (const auto& l : p.processes) {
    if (l.process != "mvu" && l.process != "vvu") continue;  // glue's figures are stream widths
    EXPECT_LE(l.simd, 64) << label;
    EXPECT_LE(l.pe, 64) << label;
    EXPECT_LE(l.simd * l.pe, 512) << label;
  }
  writeProject(p, dir);
  std::ofstream(dir / "frames.bin", std::ios::binary) << input;
  std::ofstream(dir / "frames_golden.bin", std::ios::binary) << golden;
  const auto start = std::chrono::steady_clock::now();
  ASSERT_EQ(makeCsim(dir, "INPUT=frames.bin GOLDEN=frames_golden.bin"), 0) << label << ": " << slurp(dir / "csim.log");
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const size_t frames = input.size() / static_cast<size_t>(p.inputValues);
  const std::string log = slurp(dir / "csim.log");
  EXPECT_NE(log.find(std::to_string(frames) + " frames, " + std::to_string(golden.size()) + " outputs, all identical"), std::string::npos)
      << label << ": " << log;
  EXPECT_NE(log.find("all " + std::to_string(p.processes.size()) + " processes ran their estimated cycles"), std::string::npos)
      << label << ": " << log;
  std::cout << "[ csim     ] " << label << ": " << frames << " frames identical, II " << p.initiationInterval << " cycles, DSP "
            << p.total.dsp << ", BRAM18 " << p.total.bram18 << ", build + run " << seconds << " s\n";
}

// Folding sweeps: all-1 (cycles 0), the default (4096, relaxed to fit the part) and a required
// target; the three designs must differ.
struct Folding {
  std::string label;
  fpga_hls::EmitOptions options;
};
std::vector<Folding> foldings(int64_t required, const std::string& part) {
  fpga_hls::EmitOptions all1, byDefault, fast;
  all1.targetCycles = 0;
  fast.targetCycles = required;
  fast.strictTarget = true;
  for (auto* o : {&all1, &byDefault, &fast}) {
    o->part = part;
    o->refuseOverBudget = false;  // designs over the part are still simulated
  }
  return {{"all-1", all1}, {"default", byDefault}, {"target " + std::to_string(required), fast}};
}

void sweepZooModel(const std::string& name, int64_t required, const std::string& part, int64_t images) {
  const ir::Model model = quantizedZoo(name);
  std::string input, golden;
  referenceBytes(model, testImages(name, images), &input, &golden);
  ASSERT_EQ(input.size(), static_cast<size_t>(images * 784));
  ASSERT_EQ(golden.size(), static_cast<size_t>(images * 10));
  std::set<int64_t> intervals;
  for (const Folding& f : foldings(required, part)) {
    auto project = fpga_hls::emitProject(*model.graph, f.options);
    ASSERT_TRUE(project.ok()) << project.status().message();
    if (f.options.targetCycles == 0) {
      for (const auto& l : project->processes) {
        if (l.process == "mvu" || l.process == "vvu") {
          EXPECT_EQ(l.simd * l.pe, 1) << l.node << " " << l.process;
        }
      }
    }
    intervals.insert(project->initiationInterval);
    const fs::path dir = fs::temp_directory_path() / ("edgeopt-fpga-hls-" + name);
    expectCsimIdentical(project.value(), dir, input, golden, name + " " + f.label);
    fs::remove_all(dir);
  }
  EXPECT_EQ(intervals.size(), 3u) << "three different foldings";
}

// The MLP's thresholds alone need more BRAM than a Zynq-7020 has (394 channels x 255 levels x 32
// bits): swept on the ZU9EG.
TEST(FpgaHlsTargetTest, MlpCsimIsBitIdenticalOnAThousandImagesAtThreeFoldings) { sweepZooModel("mlp_fm", 64, "xczu9eg", 1000); }

TEST(FpgaHlsTargetTest, ResNetCsimIsBitIdenticalOnAThousandImagesAtThreeFoldings) {
  sweepZooModel("resnet_fm", 8192, "xc7z020", 1000);
}

TEST(FpgaHlsTargetTest, MobileNetV2CsimIsBitIdenticalOnAThousandImagesAtThreeFoldings) {
  sweepZooModel("mobilenet_v2_fm", 100000, "xczu9eg", 1000);
}

// A model none of the zoo covers: a 3-channel input (NHWC streaming), max pooling with padding,
// a residual Add whose skip is the pooled tensor, and a Flatten of a 5x5 map into a Gemm (the
// weights permuted to the stream's order); random weights, calibrated on random inputs.
TEST(FpgaHlsTargetTest, MaxPoolFlattenAndThreeChannelInputAreBitIdentical) {
  std::mt19937 rng(3);
  std::normal_distribution<float> u(0.0f, 0.3f);
  auto values = [&](size_t n) {
    std::vector<float> v(n);
    for (auto& x : v) x = u(rng);
    return v;
  };
  testing::OnnxModelBuilder b;
  b.input("x", {-1, 3, 9, 9}).output("y", {-1, 6});
  b.initializer("w1", {8, 3, 3, 3}, values(216)).initializer("b1", {8}, values(8));
  b.initializer("w2", {8, 8, 3, 3}, values(576)).initializer("b2", {8}, values(8));
  b.initializer("wf", {6, 200}, values(1200)).initializer("bf", {6}, values(6));
  testing::addIntsAttr(b.node("Conv", {"x", "w1", "b1"}, {"c1"}, "conv1"), "pads", {1, 1, 1, 1});
  b.node("Relu", {"c1"}, {"r1"}, "relu1");
  auto* pool = b.node("MaxPool", {"r1"}, {"p"}, "pool");
  testing::addIntsAttr(pool, "kernel_shape", {3, 3});
  testing::addIntsAttr(pool, "strides", {2, 2});
  testing::addIntsAttr(pool, "pads", {1, 1, 1, 1});
  testing::addIntsAttr(b.node("Conv", {"p", "w2", "b2"}, {"c2"}, "conv2"), "pads", {1, 1, 1, 1});
  b.node("Add", {"c2", "p"}, {"a"}, "add");
  b.node("Flatten", {"a"}, {"f"}, "flatten");
  auto* gemm = b.node("Gemm", {"f", "wf", "bf"}, {"y"}, "fc");
  testing::addIntAttr(gemm, "transB", 1);
  const fs::path root = fs::temp_directory_path() / "edgeopt-fpga-hls-handmade";
  fs::create_directories(root);
  b.save((root / "model.onnx").string());
  ir::Tensor calib(ir::DType::kFloat32, {64, 3, 9, 9});
  for (int64_t i = 0; i < calib.numel(); ++i) calib.data<float>()[i] = u(rng) * 3;
  ASSERT_TRUE(data::writeNpy(calib, (root / "calib.npy").string()).ok());
  auto model = api::loadModel((root / "model.onnx").string());
  ASSERT_TRUE(model.ok()) << model.status().message();
  api::QuantizeOptions q;
  q.calib.path = (root / "calib.npy").string();
  api::QuantizeReport report;
  ASSERT_TRUE(api::quantizeModel(model.value(), q, &report).ok());
  prepareForFpga(model.value());
  std::string input, golden;
  referenceBytes(model.value(), calib, &input, &golden);
  ASSERT_EQ(golden.size(), 64u * 6);
  for (const Folding& f : foldings(200, "xc7z020")) {
    auto project = fpga_hls::emitProject(*model.value().graph, f.options);
    ASSERT_TRUE(project.ok()) << project.status().message();
    expectCsimIdentical(project.value(), root / "project", input, golden, "hand-made " + f.label);
  }
  fs::remove_all(root);
}

TEST(FpgaHlsTargetTest, TheTestbenchFailsOnAFlippedWeightAndOnShortOrMissingFiles) {
  const ir::Model model = quantizedZoo("mlp_fm");
  fpga_hls::EmitOptions o;
  o.goldenFrames = 16;
  o.part = "xczu9eg";
  auto project = fpga_hls::emitProject(*model.graph, o);
  ASSERT_TRUE(project.ok()) << project.status().message();
  const fs::path dir = fs::temp_directory_path() / "edgeopt-fpga-hls-negative";
  writeProject(project.value(), dir);
  ASSERT_EQ(makeCsim(dir), 0) << slurp(dir / "csim.log");
  EXPECT_NE(slurp(dir / "csim.log").find("16 frames, 160 outputs, all identical"), std::string::npos) << slurp(dir / "csim.log");
  // A short input file, a missing golden file, and a flipped weight bit each fail the testbench
  // (make reports the testbench's exit 1 as its own 2).
  std::string input = slurp(dir / "input.bin");
  std::ofstream(dir / "short.bin", std::ios::binary) << input.substr(0, input.size() - 1);
  EXPECT_EQ(makeCsim(dir, "INPUT=short.bin"), 2);
  EXPECT_NE(slurp(dir / "csim.log").find("expected whole frames"), std::string::npos) << slurp(dir / "csim.log");
  EXPECT_EQ(makeCsim(dir, "GOLDEN=missing.bin"), 2);
  EXPECT_NE(slurp(dir / "csim.log").find("cannot read"), std::string::npos) << slurp(dir / "csim.log");
  // Bit 6 of the output layer's first weight (the logits have no activation to hide it).
  std::string weights = slurp(dir / "model_weights.cpp");
  const size_t at = weights.find("kL2Weights");
  const size_t value = weights.find_first_of("-0123456789", weights.find('{', at));
  const size_t end = weights.find(',', value);
  ASSERT_NE(value, std::string::npos);
  weights = weights.substr(0, value) + "(" + weights.substr(value, end - value) + " ^ 64)" + weights.substr(end);
  std::ofstream(dir / "model_weights.cpp") << weights;
  EXPECT_EQ(makeCsim(dir), 2);
  EXPECT_NE(slurp(dir / "csim.log").find("differ from edgeopt's reference"), std::string::npos) << slurp(dir / "csim.log");
  fs::remove_all(dir);
}

// A required target the part cannot hold is refused with the numbers; by default the target is
// relaxed until the design fits, and the estimate says so.
TEST(FpgaHlsTargetTest, ADesignOverThePartIsRefusedWithTheNumbers) {
  const ir::Model model = quantizedZoo("resnet_fm");
  fpga_hls::EmitOptions strict;
  strict.targetCycles = 4096;
  strict.strictTarget = true;
  auto refused = fpga_hls::emitProject(*model.graph, strict);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidInput);
  EXPECT_NE(refused.status().message().find("does not fit xc7z020: DSP "), std::string::npos) << refused.status().message();
  EXPECT_NE(refused.status().message().find(" of 220, BRAM18 "), std::string::npos) << refused.status().message();

  auto relaxed = fpga_hls::emitProject(*model.graph);
  ASSERT_TRUE(relaxed.ok()) << relaxed.status().message();
  EXPECT_TRUE(relaxed->fits);
  EXPECT_TRUE(relaxed->relaxed);
  EXPECT_GT(relaxed->targetCycles, 4096);
  EXPECT_LE(relaxed->total.dsp, 220);
  EXPECT_LE(relaxed->total.bram18, 280);
  // One cycle less than the relaxed target does not fit (the relaxation is the smallest).
  fpga_hls::EmitOptions tighter;
  tighter.targetCycles = relaxed->targetCycles - 1;
  tighter.strictTarget = true;
  EXPECT_FALSE(fpga_hls::emitProject(*model.graph, tighter).ok());
  // A DSP budget binds too.
  fpga_hls::EmitOptions budget;
  budget.dspBudget = 40;
  auto small = fpga_hls::emitProject(*model.graph, budget);
  ASSERT_TRUE(small.ok()) << small.status().message();
  EXPECT_LE(small->total.dsp, 40);
  EXPECT_GE(small->initiationInterval, relaxed->initiationInterval);
  // Unknown part.
  fpga_hls::EmitOptions unknown;
  unknown.part = "xc7z999";
  auto bad = fpga_hls::emitProject(*model.graph, unknown);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("unknown FPGA part 'xc7z999' (known: xc7z020"), std::string::npos) << bad.status().message();
}

TEST(FpgaHlsTargetTest, NodesWithoutAnHlsFormAreRefusedByName) {
  // tiny_cnn ends in Gemm -> Softmax: the Gemm's output is not quantized (a float Softmax takes
  // it), so the quantizer leaves that Gemm in float, and the design cannot hold it.
  auto model = api::loadModel((fs::path(EDGEOPT_SOURCE_DIR) / "examples/tiny_cnn.onnx").string());
  ASSERT_TRUE(model.ok());
  api::QuantizeOptions q;
  q.calib.path = (fs::path(EDGEOPT_SOURCE_DIR) / "examples/tiny_cnn.input.npy").string();
  api::QuantizeReport report;
  ASSERT_TRUE(api::quantizeModel(model.value(), q, &report).ok());
  prepareForFpga(model.value());
  auto project = fpga_hls::emitProject(*model.value().graph);
  ASSERT_FALSE(project.ok());
  EXPECT_EQ(project.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(project.status().message().find("node '/head/Gemm' (Gemm): runs in float on the dequantized"), std::string::npos)
      << project.status().message();
  std::cout << "[ refused  ] " << project.status().message() << "\n";
  EXPECT_NE(project.status().message().find("node '"), std::string::npos) << project.status().message();
}

}  // namespace
}  // namespace edgeopt
