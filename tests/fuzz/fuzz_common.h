// Shared by edgeopt's fuzz targets (libFuzzer's LLVMFuzzerTestOneInput entry point). edgeopt's
// readers take paths, so each input is written to a file in a folder of this process's own, named
// with the extension the reader dispatches on. A target returns normally on every input: a Status
// error is the expected answer to bad bytes; a crash, a sanitizer report, an uncaught exception
// or a hang is a finding.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace edgeopt::fuzz {

// The folder the current process writes its inputs to (made on first use, removed at exit).
const std::string& scratchFolder();

// Writes `size` bytes to scratchFolder()/name and returns the path.
std::string writeInput(const std::string& name, const uint8_t* data, size_t size);

// Splits an input in two at its first occurrence of the 4-byte separator "|||\n" (so that a
// target with two files, data and labels, has one corpus file per case); no separator: all is `first`.
void splitInput(const uint8_t* data, size_t size, std::string* first, std::string* second);

}  // namespace edgeopt::fuzz
