// The FPGA HLS target: the zoo MLP quantized and emitted as an HLS project whose `make csim`
// (g++, -Werror) reproduces edgeopt's reference int8 byte for byte at three foldings; a flipped
// weight and a short input file make the testbench fail; unsupported nodes are refused by name.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "api/edgeopt.h"
#include "compiler/data/dataset.h"
#include "compiler/runtime/executor.h"
#include "targets/fpga_hls/emit.h"
#include "tests/unit/zoo_data.h"

namespace edgeopt {
namespace {
namespace fs = std::filesystem;

// The zoo MLP, quantized on the bundled images and lowered for the fpga-hls target.
ir::Model quantizedMlp() {
  auto model = api::loadModel((testing::kZoo / "mlp_fm.onnx").string());
  EXPECT_TRUE(model.ok());
  const std::string preprocess = testing::zooManifest()["models"]["mlp_fm"]["preprocess"];
  EXPECT_TRUE(testing::quantizeWithBundled(model.value(), preprocess, 50).ok());
  auto target = targets::find("fpga-hls");
  EXPECT_TRUE(target.ok());
  EXPECT_TRUE(api::prepareForExecution(model.value(), target.value()).ok());
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

TEST(FpgaHlsTargetTest, MlpCsimIsBitIdenticalToTheReferenceAtThreeFoldings) {
  const ir::Model model = quantizedMlp();
  const fs::path root = fs::temp_directory_path() / "edgeopt-fpga-hls-test";
  // All-1 (SIMD = PE = 1), the default 4096-cycle target, and a tight 64-cycle target.
  for (int64_t cycles : {int64_t{0}, int64_t{4096}, int64_t{64}}) {
    auto project = fpga_hls::emitProject(*model.graph, cycles, 16);
    ASSERT_TRUE(project.ok()) << project.status().message();
    ASSERT_EQ(project->layers.size(), 3u);
    for (const auto& l : project->layers) {
      EXPECT_EQ(l.mw % l.simd, 0);
      EXPECT_EQ(l.mh % l.pe, 0);
      EXPECT_LE(l.simd * l.pe, 512);
      EXPECT_EQ(l.cycles, (l.mw / l.simd) * (l.mh / l.pe));
      if (cycles == 0) {
        EXPECT_EQ(l.simd * l.pe, 1);
      }
      if (cycles == 4096) {
        EXPECT_LE(l.cycles, 4096);
      }
    }
    const fs::path dir = root / ("cycles" + std::to_string(cycles));
    writeProject(project.value(), dir);
    ASSERT_EQ(makeCsim(dir), 0) << slurp(dir / "csim.log");
    EXPECT_NE(slurp(dir / "csim.log").find("16 vectors, 160 outputs, all identical"), std::string::npos) << slurp(dir / "csim.log");
    // The testbench checked every layer's loop count against the estimate and printed it.
    const auto& first = project->layers.front();
    EXPECT_NE(slurp(dir / "csim.log").find("layer 0: " + std::to_string(16 * first.cycles) + " iterations = 16 vectors x " +
                                           std::to_string(first.cycles) + " estimated cycles"),
              std::string::npos)
        << slurp(dir / "csim.log");
  }
  // Negative: a short input file, a missing golden file, and a flipped weight bit each fail the
  // testbench (make reports the testbench's exit 1 as its own 2).
  const fs::path dir = root / "cycles4096";
  std::string input = slurp(dir / "input.bin");
  std::ofstream(dir / "short.bin", std::ios::binary) << input.substr(0, input.size() - 1);
  EXPECT_EQ(makeCsim(dir, "INPUT=short.bin"), 2);
  EXPECT_NE(slurp(dir / "csim.log").find("expected whole vectors"), std::string::npos) << slurp(dir / "csim.log");
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
  fs::remove_all(root);
}

// The first 1,000 Fashion-MNIST test images: their int8 inputs (the model's QuantizeLinear) and
// the reference's int8 outputs (before the DequantizeLinear), node by node through the reference
// executor, fed to the emitted design's csim. Skipped without Debian's dataset-fashion-mnist.
TEST(FpgaHlsTargetTest, MlpCsimMatchesTheReferenceOnAThousandTestImages) {
  const fs::path images = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz";
  if (!fs::exists(images)) GTEST_SKIP() << "dataset-fashion-mnist not installed";
  const ir::Model model = quantizedMlp();
  data::DataOptions d;
  d.path = images.string();
  d.preprocess = testing::zooManifest()["models"]["mlp_fm"]["preprocess"];
  d.limit = 1000;
  auto source = data::openDataSource(d);
  ASSERT_TRUE(source.ok()) << source.status().message();
  data::BatchReader reader(*source.value(), d, 1000);
  data::Batch batch;
  ASSERT_TRUE(reader.next(&batch).value());
  std::map<const ir::Value*, ir::Tensor> values = {{model.graph->inputs()[0], batch.inputs}};
  std::string input, golden;
  for (const ir::Node* n : model.graph->nodes()) {
    std::vector<const ir::Tensor*> args;
    for (const ir::Value* v : n->inputs()) args.push_back(!v ? nullptr : v->isInitializer() ? &v->initializer() : &values.at(v));
    auto out = runtime::evaluateNode(*n, args);
    ASSERT_TRUE(out.ok()) << out.status().message();
    values[n->output(0)] = out.value()[0];
    const ir::Tensor& t = values[n->output(0)];
    if (n->opType() == "QuantizeLinear") input.assign(static_cast<const char*>(t.rawData()), t.byteSize());
    if (n->opType() == "DequantizeLinear") {
      const ir::Tensor& q = values.at(n->input(0));
      golden.assign(static_cast<const char*>(q.rawData()), q.byteSize());
    }
  }
  ASSERT_EQ(input.size(), 1000u * 784);
  ASSERT_EQ(golden.size(), 1000u * 10);
  for (int64_t cycles : {int64_t{0}, int64_t{4096}, int64_t{64}}) {  // all-1, default, tight
    auto project = fpga_hls::emitProject(*model.graph, cycles);
    ASSERT_TRUE(project.ok()) << project.status().message();
    const fs::path dir = fs::temp_directory_path() / "edgeopt-fpga-hls-images";
    writeProject(project.value(), dir);
    std::ofstream(dir / "images.bin", std::ios::binary) << input;
    std::ofstream(dir / "images_golden.bin", std::ios::binary) << golden;
    ASSERT_EQ(makeCsim(dir, "INPUT=images.bin GOLDEN=images_golden.bin"), 0) << slurp(dir / "csim.log");
    EXPECT_NE(slurp(dir / "csim.log").find("1000 vectors, 10000 outputs, all identical"), std::string::npos)
        << "cycles " << cycles << ": " << slurp(dir / "csim.log");
    fs::remove_all(dir);
  }
}

TEST(FpgaHlsTargetTest, NodesWithoutAnHlsFormAreRefusedByName) {
  auto model = api::loadModel((testing::kZoo / "resnet_fm.onnx").string());
  ASSERT_TRUE(model.ok());
  const std::string preprocess = testing::zooManifest()["models"]["resnet_fm"]["preprocess"];
  ASSERT_TRUE(testing::quantizeWithBundled(model.value(), preprocess, 20).ok());
  ASSERT_TRUE(api::prepareForExecution(model.value()).ok());
  auto project = fpga_hls::emitProject(*model.value().graph);
  ASSERT_FALSE(project.ok());
  EXPECT_EQ(project.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(project.status().message().find("node '/stem/stem.0/Conv_int8'"), std::string::npos) << project.status().message();
  EXPECT_NE(project.status().message().find("has no HLS form"), std::string::npos) << project.status().message();
}

}  // namespace
}  // namespace edgeopt
