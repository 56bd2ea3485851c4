#include "targets/fpga_hls/fpga_hls_target.h"

#include <filesystem>

#include "compiler/support/files.h"
#include "targets/common/reference_executable.h"
#include "targets/fpga_hls/emit.h"

namespace edgeopt::targets {
namespace {
namespace fs = std::filesystem;

StatusOr<int64_t> nonNegativeInteger(const std::string& key, const std::string& value) {
  size_t used = 0;
  long long v = -1;
  try {
    v = std::stoll(value, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != value.size() || value.empty() || v < 0 || v > (int64_t{1} << 40))
    return invalidInput("fpga-hls." + key + "=" + value + ": expects a whole number >= 0");
  return static_cast<int64_t>(v);
}

// The emitter's options from the target's settings (SettingInfo keys, checked by the caller).
StatusOr<fpga_hls::EmitOptions> emitOptionsOf(const std::map<std::string, std::string>& settings) {
  fpga_hls::EmitOptions o;
  for (const auto& [key, value] : settings) {
    if (key == "cycles") {
      EDGEOPT_ASSIGN_OR_RETURN(o.targetCycles, nonNegativeInteger(key, value));
      o.strictTarget = true;  // a target the user asked for is a requirement
    } else if (key == "part") {
      o.part = value;
    } else if (key == "dsp-budget") {
      EDGEOPT_ASSIGN_OR_RETURN(o.dspBudget, nonNegativeInteger(key, value));
    } else if (key == "clock-mhz") {
      EDGEOPT_ASSIGN_OR_RETURN(const int64_t mhz, nonNegativeInteger(key, value));
      if (mhz == 0) return invalidInput("fpga-hls.clock-mhz=0: the clock must be positive");
      o.clockMhz = static_cast<double>(mhz);
    } else if (key == "over-budget") {
      if (value != "refuse" && value != "write")
        return invalidInput("fpga-hls.over-budget=" + value + ": expects 'refuse' or 'write'");
      o.refuseOverBudget = value == "refuse";
    } else {
      return invalidInput("fpga-hls has no setting '" + key + "'");
    }
  }
  return o;
}

class FpgaHlsTarget final : public Target {
 public:
  const TargetInfo& info() const override {
    static const TargetInfo info{"fpga-hls",
                                 "HLS C++ project for an FPGA (int8; runs here as the reference int8, which the project's "
                                 "g++ C simulation reproduces bit for bit)",
                                 /*fp32=*/false, /*int8=*/true, /*emulated=*/true, /*emulatesCpu=*/false,
                                 /*channelMultiple=*/8};
    return info;
  }
  // The layers kernels/hls has templates for (see emit.h); the rest stays float and is then
  // refused by name when emitted.
  bool runsInt8(const ir::Node& node) const override {
    const std::string& op = node.opType();
    return op == "Conv" || op == "Gemm" || op == "MatMul" || op == "Add" || op == "MaxPool" || op == "GlobalAveragePool" ||
           op == "Flatten" || op == "Reshape";
  }

  std::vector<SettingInfo> settings() const override {
    std::string parts;
    for (const auto& p : fpga_hls::knownParts()) parts += (parts.empty() ? "" : ", ") + p.name;
    return {{"cycles", "4096",
             "cycles per frame each layer is folded to meet; 0 folds every layer completely. Given, it is a requirement "
             "(a design over the part is refused); by default it is relaxed until the design fits"},
            {"part", "xc7z020", "the FPGA the estimate is checked against: " + parts},
            {"dsp-budget", "the part's", "at most this many DSPs"},
            {"clock-mhz", "100", "the clock of the latency estimate and the Vitis script"},
            {"over-budget", "refuse", "'write' writes a design that does not fit the part (the report says so)"}};
  }

  StatusOr<Artifact> emit(const ArtifactInputs& models, const std::string& outDir) const override {
    if (!models.int8) return invalidInput("needs the int8 model (give calibration data)");
    EDGEOPT_ASSIGN_OR_RETURN(const fpga_hls::EmitOptions options, emitOptionsOf(models.settings));
    EDGEOPT_ASSIGN_OR_RETURN(fpga_hls::Project project, fpga_hls::emitProject(*models.int8->graph, options));
    const fs::path dir = fs::path(outDir) / "fpga_hls";
    std::error_code ec;
    Artifact a;
    a.folder = "fpga_hls";
    for (const auto& [path, text] : project.files) {
      const fs::path file = dir / path;
      fs::create_directories(file.parent_path(), ec);
      if (ec) return ioError(file.parent_path().string() + ": cannot create folder: " + ec.message());
      EDGEOPT_RETURN_IF_ERROR(support::writeFileAtomically(file.string(), text));
      a.bytes += static_cast<int64_t>(text.size());
    }
    a.packedWeightBytes = weightBytes(*models.int8->graph);
    a.estimatedLatencyMs = static_cast<double>(project.latencyCycles) / (project.clockMhz * 1e3);
    // The upper bound is every process's cycles in turn: each one's part of it (glue processes
    // under their template's name).
    for (const auto& p : project.processes)
      a.estimatedLayers.push_back({p.node.empty() ? "(" + p.process + ")" : p.node, p.process,
                                   static_cast<double>(p.cycles) / (project.clockMhz * 1e3)});
    a.note = "latency: the cycle estimate's upper bound at " + std::to_string(static_cast<int>(project.clockMhz)) +
             " MHz on " + project.part.name + " (one frame every " + std::to_string(project.initiationInterval) +
             " cycles; fpga_hls/estimate.md); `make csim` in fpga_hls/ checks the design bit for bit";
    Artifact::HardwareEstimate hw;
    hw.part = project.part.name;
    hw.clockMhz = project.clockMhz;
    hw.cyclesPerFrame = project.initiationInterval;
    hw.latencyCycles = project.latencyCycles;
    hw.fits = project.fits;
    hw.resources = {{"DSP", project.total.dsp, project.part.capacity.dsp},
                    {"BRAM18", project.total.bram18, project.part.capacity.bram18},
                    {"LUT", project.total.lut, project.part.capacity.lut},
                    {"FF", project.total.ff, project.part.capacity.ff}};
    a.hardware = hw;
    return a;
  }

  // The design computes the reference int8 bit for bit (the emitted testbench checks it; tests run
  // it at three foldings on 1,000 images), so here it runs as the reference executor, after the
  // same capability check as emit().
  StatusOr<std::unique_ptr<Executable>> load(ir::Model prepared, const TargetOptions&) const override {
    EDGEOPT_RETURN_IF_ERROR(fpga_hls::checkEmittable(*prepared.graph));
    return ReferenceExecutable::create(std::move(prepared));
  }

 private:
  // int8 weight bytes on chip: every constant int8 tensor of the design.
  static int64_t weightBytes(const ir::Graph& g) {
    int64_t bytes = 0;
    for (const ir::Node* n : g.nodes())
      for (const ir::Value* v : n->inputs())
        if (v && v->isInitializer() && v->initializer().dtype() == ir::DType::kInt8) bytes += v->initializer().numel();
    return bytes;
  }
};

}  // namespace

const Target& fpgaHlsTarget() {
  static const FpgaHlsTarget target;
  return target;
}

}  // namespace edgeopt::targets
