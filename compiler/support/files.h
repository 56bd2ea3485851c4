// Whole-file reads and atomic writes shared by the ONNX and data layers.
#pragma once

#include <string>

#include "compiler/ir/status.h"

namespace edgeopt::support {

// The file's bytes; errors name the path ("no such file", "is a directory", ...).
StatusOr<std::string> readFile(const std::string& path);

// Writes `bytes` to a temporary file beside `path`, then renames it into place, so a failure
// never leaves a partial file at `path`.
Status writeFileAtomically(const std::string& path, const std::string& bytes);

}  // namespace edgeopt::support
