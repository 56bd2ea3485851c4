// Runs the ONNX backend test suite shipped by Debian's libonnx-testdata through edgeopt.
//
// For every case whose ops the reference executor claims: import -> run -> compare with the
// expected outputs (the suite's tolerance: rtol 1e-3, atol 1e-7), then export -> re-import -> run
// again (round trip). For every other case: import -> export (the libonnx checker must accept the
// export) when the import itself succeeds.
//
// A claimed case either passes, or is "declined" when edgeopt refuses it up front with an
// unsupported-feature error (e.g. a string tensor), or fails. Any failure, any declined case not
// listed in the expected-declines file, and any listed case that is no longer declined make the
// exit code 1.
//
// --export-dir DIR writes, for every importable case, edgeopt's export (DIR/SUITE/CASE/model.onnx),
// the first data set's inputs and expected outputs as .npy (inputs.txt / outputs.txt list
// "NAME FILE" per tensor) and the original
// model's path (source.txt), so tools/peer/roundtrip_with_ort.js can check with ONNX Runtime
// that the export computes what the original computes, including for ops edgeopt does not run.
// Usage: edgeopt_onnx_conformance [--data DATA_ROOT] [--declines FILE] [--export-dir DIR]
//                                 [--verbose] [--filter S]
#include <onnx/onnx_pb.h>
#include <onnx/proto_utils.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include <unistd.h>

#include "compiler/data/npy.h"
#include "compiler/onnx/onnx_io.h"
#include "compiler/runtime/executor.h"

namespace fs = std::filesystem;
using namespace edgeopt;

namespace {

constexpr double kRtol = 1e-3, kAtol = 1e-7;

std::set<std::string> opTypesOf(const fs::path& modelPath, bool* parsed) {
  std::ifstream in(modelPath, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string bytes = ss.str();
  onnx::ModelProto proto;
  *parsed = onnx::ParseProtoFromBytes(&proto, bytes.data(), bytes.size());
  std::set<std::string> ops;
  for (const auto& n : proto.graph().node())
    ops.insert(n.domain().empty() || n.domain() == "ai.onnx" ? n.op_type() : n.domain() + "." + n.op_type());
  return ops;
}

// Empty when equal within tolerance, else a description of the first mismatch.
std::string compare(const ir::Tensor& expected, const ir::Tensor& actual) {
  if (expected.dtype() != actual.dtype())
    return std::string("dtype ") + ir::dtypeName(actual.dtype()) + ", expected " + ir::dtypeName(expected.dtype());
  if (expected.dims() != actual.dims())
    return "shape " + ir::dimsToString(actual.dims()) + ", expected " + ir::dimsToString(expected.dims());
  const bool isFloat = expected.dtype() == ir::DType::kFloat32 || expected.dtype() == ir::DType::kFloat64;
  for (int64_t i = 0; i < expected.numel(); ++i) {
    if (expected.dtype() == ir::DType::kFloat16) {
      if (std::memcmp(static_cast<const uint16_t*>(expected.rawData()) + i,
                      static_cast<const uint16_t*>(actual.rawData()) + i, 2) != 0)
        return "element " + std::to_string(i) + " differs (float16 bits)";
      continue;
    }
    const double e = expected.getAsDouble(i), a = actual.getAsDouble(i);
    if (isFloat) {
      if (std::isnan(e) && std::isnan(a)) continue;
      if (std::isinf(e) && e == a) continue;
      if (!(std::fabs(a - e) <= kAtol + kRtol * std::fabs(e)))
        return "element " + std::to_string(i) + ": got " + std::to_string(a) + ", expected " + std::to_string(e);
    } else if (expected.getAsInt64(i) != actual.getAsInt64(i)) {
      return "element " + std::to_string(i) + ": got " + std::to_string(actual.getAsInt64(i)) +
             ", expected " + std::to_string(expected.getAsInt64(i));
    }
  }
  return "";
}

enum class Outcome { kPass, kDeclined, kFail };
struct Result {
  Outcome outcome;
  std::string detail;
};

Result runDataSets(const ir::Model& model, const fs::path& caseDir, const char* stage) {
  auto exec = runtime::Executor::create(*model.graph);
  if (!exec.ok()) {
    const bool declined = exec.status().code() == StatusCode::kUnsupported;
    return {declined ? Outcome::kDeclined : Outcome::kFail, std::string(stage) + ": " + exec.status().message()};
  }
  std::vector<fs::path> sets;
  for (const auto& e : fs::directory_iterator(caseDir))
    if (e.is_directory() && e.path().filename().string().rfind("test_data_set_", 0) == 0) sets.push_back(e.path());
  std::sort(sets.begin(), sets.end());
  if (sets.empty()) return {Outcome::kFail, "no test_data_set_* folders"};
  for (const auto& set : sets) {
    std::vector<ir::Tensor> inputs;
    for (size_t i = 0; i < model.graph->inputs().size(); ++i) {
      auto t = onnx_io::readTensorProtoFile((set / ("input_" + std::to_string(i) + ".pb")).string());
      if (!t.ok()) {
        const bool declined = t.status().code() == StatusCode::kUnsupported;
        return {declined ? Outcome::kDeclined : Outcome::kFail, t.status().message()};
      }
      inputs.push_back(std::move(t).value());
    }
    auto outs = exec.value()->run(inputs);
    if (!outs.ok()) {
      const bool declined = outs.status().code() == StatusCode::kUnsupported;
      return {declined ? Outcome::kDeclined : Outcome::kFail, std::string(stage) + ": " + outs.status().message()};
    }
    for (size_t i = 0; i < outs->size(); ++i) {
      auto expected = onnx_io::readTensorProtoFile((set / ("output_" + std::to_string(i) + ".pb")).string());
      if (!expected.ok()) {
        const bool declined = expected.status().code() == StatusCode::kUnsupported;
        return {declined ? Outcome::kDeclined : Outcome::kFail, expected.status().message()};
      }
      std::string diff = compare(expected.value(), outs.value()[i]);
      if (!diff.empty())
        return {Outcome::kFail, std::string(stage) + ": " + set.filename().string() + " output " +
                                    std::to_string(i) + " ('" + model.graph->outputs()[i]->name() + "'): " + diff};
    }
  }
  return {Outcome::kPass, ""};
}

Result roundTrip(const ir::Model& model, const fs::path& tmpDir, ir::Model* reimported) {
  const fs::path out = tmpDir / "roundtrip.onnx";
  Status st = onnx_io::exportModel(model, out.string());
  if (!st.ok()) return {Outcome::kFail, "export: " + st.message()};
  auto again = onnx_io::importModel(out.string());
  if (!again.ok()) return {Outcome::kFail, "re-import: " + again.status().message()};
  if (reimported) *reimported = std::move(again).value();
  return {Outcome::kPass, ""};
}

// Writes the export, the first data set's inputs and the source path for the ORT round-trip check.
void exportCase(const ir::Model& model, const fs::path& caseDir, const fs::path& outDir) {
  fs::create_directories(outDir);
  if (!onnx_io::exportModel(model, (outDir / "model.onnx").string()).ok()) return;
  std::ofstream(outDir / "source.txt") << (caseDir / "model.onnx").string() << "\n";
  std::ofstream list(outDir / "inputs.txt");
  const auto& inputs = model.graph->inputs();
  for (size_t i = 0; i < inputs.size(); ++i) {
    auto t = onnx_io::readTensorProtoFile((caseDir / "test_data_set_0" / ("input_" + std::to_string(i) + ".pb")).string());
    const std::string file = "input_" + std::to_string(i) + ".npy";
    if (!t.ok() || !data::writeNpy(t.value(), (outDir / file).string()).ok()) {
      list << "! " << inputs[i]->name() << "\n";  // not expressible as .npy (e.g. float16)
      continue;
    }
    list << inputs[i]->name() << " " << file << "\n";
  }
  std::ofstream outList(outDir / "outputs.txt");
  const auto& outputs = model.graph->outputs();
  for (size_t i = 0; i < outputs.size(); ++i) {
    auto t = onnx_io::readTensorProtoFile((caseDir / "test_data_set_0" / ("output_" + std::to_string(i) + ".pb")).string());
    const std::string file = "expected_" + std::to_string(i) + ".npy";
    if (!t.ok() || !data::writeNpy(t.value(), (outDir / file).string()).ok()) {
      outList << "! " << outputs[i]->name() << "\n";
      continue;
    }
    outList << outputs[i]->name() << " " << file << "\n";
  }
}

}  // namespace

int main(int argc, char** argv) {
  fs::path root = "/usr/share/libonnx-testdata/data";
  bool verbose = false;
  std::string filter;
  fs::path declinesFile, exportDir;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--verbose") verbose = true;
    else if (a == "--filter" && i + 1 < argc) filter = argv[++i];
    else if (a == "--data" && i + 1 < argc) root = argv[++i];
    else if (a == "--declines" && i + 1 < argc) declinesFile = argv[++i];
    else if (a == "--export-dir" && i + 1 < argc) exportDir = argv[++i];
    else {
      std::cerr << "conformance: unknown argument '" << a << "'\n";
      return 2;
    }
  }
  std::set<std::string> expectedDeclines, seenDeclines;
  if (!declinesFile.empty()) {
    std::ifstream in(declinesFile);
    if (!in) {
      std::cerr << "conformance: cannot read " << declinesFile << "\n";
      return 2;
    }
    std::string line;
    while (std::getline(in, line)) {
      std::istringstream ls(line);
      std::string name;
      if (ls >> name && name[0] != '#') expectedDeclines.insert(name);
    }
  }
  if (!fs::is_directory(root)) {
    std::cerr << "conformance: " << root << " not found (install libonnx-testdata)\n";
    return 1;
  }
  const auto claimedList = runtime::supportedOps();
  const std::set<std::string> claimed(claimedList.begin(), claimedList.end());
  const fs::path tmpDir = fs::temp_directory_path() / ("edgeopt-conformance-" + std::to_string(::getpid()));
  fs::create_directories(tmpDir);

  std::cout << "claimed ops (" << claimed.size() << "):";
  for (const auto& op : claimed) std::cout << " " << op;
  std::cout << "\n";

  bool anyFailure = false;
  std::map<std::string, std::pair<int, int>> perOp;  // op -> (pass, total) over claimed cases
  for (const char* suite : {"node", "pytorch-converted", "pytorch-operator", "simple"}) {
    const fs::path dir = root / suite;
    if (!fs::is_directory(dir)) continue;
    std::vector<fs::path> cases;
    for (const auto& e : fs::directory_iterator(dir))
      if (fs::exists(e.path() / "model.onnx") && e.path().filename().string().find(filter) != std::string::npos)
        cases.push_back(e.path());
    std::sort(cases.begin(), cases.end());
    int total = 0, claimedCases = 0, pass = 0, declined = 0, fail = 0, rtTotal = 0, rtPass = 0;
    std::vector<std::string> failures, declines;
    for (const auto& c : cases) {
      ++total;
      bool parsed = false;
      const auto ops = opTypesOf(c / "model.onnx", &parsed);
      const bool isClaimed = parsed && !ops.empty() &&
                             std::all_of(ops.begin(), ops.end(), [&](const std::string& o) { return claimed.count(o); });
      auto model = onnx_io::importModel((c / "model.onnx").string());
      if (model.ok() && !exportDir.empty()) exportCase(model.value(), c, exportDir / suite / c.filename());
      if (!isClaimed) {
        // Round trip only, for models edgeopt can import.
        if (!model.ok()) continue;
        ++rtTotal;
        Result rt = roundTrip(model.value(), tmpDir, nullptr);
        if (rt.outcome == Outcome::kPass) ++rtPass;
        else {
          anyFailure = true;
          failures.push_back(c.filename().string() + " [round trip] " + rt.detail);
        }
        continue;
      }
      ++claimedCases;
      Result r;
      if (!model.ok()) {
        r = {model.status().code() == StatusCode::kUnsupported ? Outcome::kDeclined : Outcome::kFail,
             "import: " + model.status().message()};
      } else {
        r = runDataSets(model.value(), c, "run");
        if (r.outcome == Outcome::kPass) {
          ir::Model again;
          r = roundTrip(model.value(), tmpDir, &again);
          if (r.outcome == Outcome::kPass) r = runDataSets(again, c, "round trip");
          if (r.outcome == Outcome::kDeclined) r.outcome = Outcome::kFail;  // ran once, must run again
        }
      }
      for (const auto& op : ops) {
        auto& po = perOp[op];
        ++po.second;
        if (r.outcome == Outcome::kPass) ++po.first;
      }
      const std::string line = c.filename().string() + ": " + r.detail;
      if (r.outcome == Outcome::kPass) ++pass;
      else if (r.outcome == Outcome::kDeclined) {
        ++declined;
        seenDeclines.insert(c.filename().string());
        if (!declinesFile.empty() && !expectedDeclines.count(c.filename().string())) {
          failures.push_back(line + " [declined, but not listed as an expected decline]");
          anyFailure = true;
        } else {
          declines.push_back(line);
        }
      }
      else { ++fail; failures.push_back(line); anyFailure = true; }
      if (verbose) std::cout << "  " << (r.outcome == Outcome::kPass ? "PASS " : r.outcome == Outcome::kDeclined ? "DECL " : "FAIL ") << c.filename().string() << "\n";
    }
    std::printf("suite %-18s cases %4d | claimed %4d: pass %4d, declined %3d, fail %3d | round trip of other importable cases: %d/%d\n",
                suite, total, claimedCases, pass, declined, fail, rtPass, rtTotal);
    for (const auto& d : declines) std::cout << "  declined: " << d << "\n";
    for (const auto& f : failures) std::cout << "  FAILED:   " << f << "\n";
  }
  std::cout << "per claimed op (cases passed/total, all suites):\n";
  for (const auto& [op, pt] : perOp)
    if (claimed.count(op)) std::printf("  %-20s %d/%d\n", op.c_str(), pt.first, pt.second);
  if (filter.empty())
    for (const auto& name : expectedDeclines)
      if (!seenDeclines.count(name)) {
        std::cout << "  STALE: " << name << " is listed as an expected decline but was not declined\n";
        anyFailure = true;
      }
  std::error_code ec;
  fs::remove_all(tmpDir, ec);
  std::cout << (anyFailure ? "RESULT: FAIL\n" : "RESULT: PASS\n");
  return anyFailure ? 1 : 0;
}
