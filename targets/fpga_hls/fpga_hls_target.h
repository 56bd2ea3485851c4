// The FPGA HLS target behind the target interface. Its artifact is an HLS C++ project
// (targets/fpga_hls/emit.h): streaming kernels/hls templates, weights and integer thresholds, a
// testbench with golden vectors from edgeopt's reference, `make csim` (g++) and a Vitis HLS
// script. There is no FPGA here: accuracy is what the reference computes (the project's C
// simulation checks it is bit-identical) and it runs here as the reference executor; latency is
// the cycle estimate. int8 models only.
#pragma once

#include "targets/target.h"

namespace edgeopt::targets {
const Target& fpgaHlsTarget();
}
