// Fuzz target: the data readers through openDataSource and BatchReader, as calibration and
// evaluation read them. The input's first byte picks the format; the rest is split at "|||\n"
// into the data file and the labels file: IDX images + IDX labels (gzipped or not), .npy samples +
// .npy labels, an image folder with a labels.csv (the image's bytes and the CSV's), or one image
// in a class folder decoded through a preprocessing spec.
#include <filesystem>

#include "compiler/data/dataset.h"
#include "tests/fuzz/fuzz_common.h"

namespace {

void readAll(const edgeopt::data::DataOptions& options) {
  auto source = edgeopt::data::openDataSource(options);
  if (!source.ok()) return;
  edgeopt::data::BatchReader reader(*source.value(), options, 4);
  edgeopt::data::Batch batch;
  for (int batches = 0; batches < 64; ++batches) {
    auto more = reader.next(&batch);
    if (!more.ok() || !more.value()) return;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  namespace fs = std::filesystem;
  const uint8_t format = data[0] % 5;
  std::string first, second;
  edgeopt::fuzz::splitInput(data + 1, size - 1, &first, &second);
  auto put = [](const std::string& name, const std::string& bytes) {
    return edgeopt::fuzz::writeInput(name, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  };
  edgeopt::data::DataOptions o;
  o.limit = 256;
  const std::string folder = edgeopt::fuzz::scratchFolder() + "/images";
  std::error_code ec;
  fs::remove_all(folder, ec);
  switch (format) {
    case 0:  // IDX
      o.path = put("images-idx3-ubyte", first);
      o.labelsPath = put("labels-idx1-ubyte", second);
      o.preprocess = "scale=1/255,mean=0.5,std=0.25";
      break;
    case 1:  // gzipped IDX (the bytes as they are: gzip's own framing is fuzzed too)
      o.path = put("images-idx3-ubyte.gz", first);
      o.labelsPath = put("labels-idx1-ubyte.gz", second);
      break;
    case 2:  // .npy samples and labels
      o.path = put("x.npy", first);
      o.labelsPath = put("y.npy", second);
      break;
    case 3: {  // an image folder with labels.csv
      fs::create_directories(folder, ec);
      put("images/a.png", first);
      put("images/labels.csv", "a.png,0\n" + second);
      o.path = folder;
      o.preprocess = "channels=rgb,resize=16x16,scale=1/255";
      break;
    }
    default: {  // one image in a class folder
      fs::create_directories(folder + "/cat", ec);
      put("images/cat/x.jpg", first);
      o.path = folder;
      o.preprocess = "channels=gray,resize=12,crop=8x8,layout=NHWC";
      break;
    }
  }
  readAll(o);
  return 0;
}
