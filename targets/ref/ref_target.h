// The reference target: edgeopt's reference executor (compiler/runtime), the numerical definition
// (fp32 and int8) that every other target is tested against.
#pragma once

#include "targets/target.h"

namespace edgeopt::targets {
const Target& refTarget();
}
