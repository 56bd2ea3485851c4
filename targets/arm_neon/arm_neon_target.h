// The ARM NEON target behind the target interface. Its artifact is the emitted C++ package
// (targets/arm_neon/emit.h); on this x86 machine it executes that package cross-built for aarch64
// under qemu-aarch64 (targets/arm_neon/qemu_runner.h), so accuracy is the real NEON code's and
// latency is not measured here. int8 (QDQ) models only. TargetOptions::cpu: the CPU qemu emulates
// (cortex-a76, with the dot product, by default; cortex-a53 for ARMv8.0).
#pragma once

#include "targets/target.h"

namespace edgeopt::targets {
const Target& armNeonTarget();
}
