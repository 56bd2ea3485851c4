// Building and running an emitted ARM NEON package on this (x86) machine: cross-compiled with
// Debian's g++-aarch64-linux-gnu and run under qemu-aarch64, so that ARM accuracy is measured by
// the real NEON code (run/eval --target arm-neon, compile's report). Used by the arm-neon target.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "compiler/ir/ir.h"
#include "compiler/ir/status.h"

namespace edgeopt::arm_neon {

class NeonPackageRunner {
 public:
  // Emits the package for `lowered` (a QDQ model lowered for arm-neon) into a temporary folder,
  // or takes `packageDir` when the package for it is already written there, and builds it for
  // aarch64 in a temporary folder. Fails with what to install when the cross compiler, cmake or
  // qemu is missing. qemuCpu: the CPU model qemu emulates (e.g. cortex-a76, cortex-a53).
  static StatusOr<std::unique_ptr<NeonPackageRunner>> create(const ir::Graph& lowered, const std::string& name,
                                                             const std::string& qemuCpu, const std::string& packageDir = "");
  ~NeonPackageRunner();

  // Runs model_runner under qemu on a float32 batch; returns [batch, output elements...] reshaped
  // to the graph output's dims.
  StatusOr<ir::Tensor> run(const ir::Tensor& input);

 private:
  NeonPackageRunner() = default;
  std::string dir_, qemuCpu_;
  std::vector<int64_t> outputSampleDims_;
};

// Whether the aarch64 cross compiler and qemu-aarch64 are installed; else the message to print.
Status neonToolsAvailable();

}  // namespace edgeopt::arm_neon
