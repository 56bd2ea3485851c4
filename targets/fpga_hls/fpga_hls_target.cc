#include "targets/fpga_hls/fpga_hls_target.h"

#include <filesystem>

#include "compiler/support/files.h"
#include "targets/common/reference_executable.h"
#include "targets/fpga_hls/emit.h"

namespace edgeopt::targets {
namespace {
namespace fs = std::filesystem;

class FpgaHlsTarget final : public Target {
 public:
  const TargetInfo& info() const override {
    static const TargetInfo info{"fpga-hls",
                                 "HLS C++ project for an FPGA (int8; runs here as the reference int8, which the project's "
                                 "g++ C simulation reproduces bit for bit)",
                                 /*fp32=*/false, /*int8=*/true, /*emulated=*/true};
    return info;
  }
  // Fully connected layers, and the reshapes between them (free on a stream), in this version
  // (see emit.h).
  bool runsInt8(const ir::Node& node) const override {
    const std::string& op = node.opType();
    return op == "Gemm" || op == "MatMul" || op == "Flatten" || op == "Reshape";
  }

  StatusOr<Artifact> emit(const ArtifactInputs& models, const std::string& outDir) const override {
    if (!models.int8) return invalidInput("needs the int8 model (give calibration data)");
    EDGEOPT_ASSIGN_OR_RETURN(fpga_hls::Project project, fpga_hls::emitProject(*models.int8->graph));
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
    for (const fpga_hls::LayerPlan& l : project.layers) a.packedWeightBytes += l.mw * l.mh;
    a.estimatedLatencyMs = static_cast<double>(project.latencyCycles) / 100e3;  // cycles at 100 MHz
    a.note = "cycle estimate at 100 MHz (estimate.md), one vector every " +
             std::to_string(project.cyclesPerVector) + " cycles; `make csim` in fpga_hls/ checks the design bit for bit";
    return a;
  }

  // The design computes the reference int8 bit for bit (the emitted testbench checks it; tests run
  // it at three foldings on 1,000 images), so here it runs as the reference executor, after the
  // same capability check as emit().
  StatusOr<std::unique_ptr<Executable>> load(ir::Model prepared, const TargetOptions&) const override {
    EDGEOPT_RETURN_IF_ERROR(fpga_hls::checkEmittable(*prepared.graph));
    return ReferenceExecutable::create(std::move(prepared));
  }
};

}  // namespace

const Target& fpgaHlsTarget() {
  static const FpgaHlsTarget target;
  return target;
}

}  // namespace edgeopt::targets
