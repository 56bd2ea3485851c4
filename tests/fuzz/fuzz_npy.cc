// Fuzz target: bytes as a .npy file -> its header alone, then the whole tensor.
#include "compiler/data/npy.h"
#include "tests/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = edgeopt::fuzz::writeInput("tensor.npy", data, size);
  (void)edgeopt::data::readNpyHeader(path);
  auto t = edgeopt::data::readNpy(path);
  // A tensor read is whole: as many bytes as its dims and dtype say.
  if (t.ok() && t->byteSize() != static_cast<size_t>(t->numel()) * edgeopt::ir::dtypeSize(t->dtype())) std::abort();
  return 0;
}
