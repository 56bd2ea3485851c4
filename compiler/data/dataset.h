// Labelled data for calibration and evaluation, read as one streaming source of batches.
//
// Sources (openDataSource picks one from what PATH is):
//   - a .npy file of N x ... inputs (already preprocessed; converted to float32), labels from a
//     second .npy of N integers;
//   - IDX files (the MNIST / Fashion-MNIST format), gzipped or not, with an IDX label file;
//     pixels are preprocessed by the spec (grayscale images);
//   - an image folder decoded with OpenCV: one sub-folder per class (classes numbered in sorted
//     name order), or image files with a labels.csv ("file,label" rows; integer labels).
// Samples are read one at a time from disk (gzipped IDX files are inflated once to a temporary
// file), so memory holds one batch whatever the size of the data set.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "compiler/data/preprocess.h"
#include "compiler/ir/status.h"
#include "compiler/ir/tensor.h"

namespace edgeopt::data {

// Images whose header declares more pixels than this are refused before they are decoded
// (8192 x 8192: 768 MB as float RGB). The environment variable EDGEOPT_MAX_IMAGE_PIXELS, when set
// to a positive integer, is the limit instead (maxImagePixels()).
constexpr int64_t kMaxImagePixels = int64_t{1} << 26;
int64_t maxImagePixels();
// The pixel count an image file's header declares (PNG, JPEG, BMP, PNM, WebP, TIFF), read from its
// first 64 KB; nullopt for another format or a header that cannot be read (the decoder decides).
std::optional<int64_t> imageHeaderPixels(const std::string& file);

struct DataOptions {
  std::string path;
  std::string labelsPath;   // .npy / IDX labels; for an image folder, a labels.csv (optional)
  std::string preprocess;   // spec string (preprocess.h)
  int64_t skip = 0;         // leave out the first N samples (e.g. those calibration used)
  int64_t limit = -1;       // use at most this many samples (after skip)
  bool shuffle = false;     // deterministic shuffle (with seed) before the limit
  uint64_t seed = 0;
};

class DataSource {
 public:
  virtual ~DataSource() = default;
  // Samples available in the source (before limit/shuffle).
  virtual int64_t size() const = 0;
  // Dims of one preprocessed sample (no batch dim), float32.
  virtual const std::vector<int64_t>& sampleDims() const = 0;
  virtual bool hasLabels() const = 0;
  // Reads sample `index` into out (numElements(sampleDims()) floats) and its label (-1 if none).
  virtual Status read(int64_t index, float* out, int64_t* label) = 0;
  // How errors name a sample: "images.idx3-ubyte.gz sample 17", "folder/cat/img3.png".
  virtual std::string describe(int64_t index) const = 0;
};

// Opens a source; errors name the file (missing, unreadable, wrong format, label count != sample
// count, an undecodable first image, ...).
StatusOr<std::unique_ptr<DataSource>> openDataSource(const DataOptions& options);

struct Batch {
  ir::Tensor inputs;              // [B, sampleDims...] float32
  std::vector<int64_t> labels;    // B labels, or empty when the source has none
  std::vector<int64_t> indices;   // source index of each sample
};

// Iterates a source in batches: the first `limit` samples, or a seeded shuffle of all of them
// cut to `limit` (the shuffle holds one index per sample; reading in order holds none).
class BatchReader {
 public:
  BatchReader(DataSource& source, const DataOptions& options, int64_t batchSize);
  int64_t total() const { return total_; }
  int64_t done() const { return next_; }
  // False when every sample was read; on error, the Status names the sample. A sample with a NaN
  // or infinite value (after preprocessing) is an error: calibration and evaluation data must be finite.
  StatusOr<bool> next(Batch* batch);

 private:
  DataSource& source_;
  int64_t batchSize_;
  int64_t total_ = 0;
  std::vector<int64_t> order_;  // the shuffled order; empty when reading in file order
  int64_t next_ = 0;
  int64_t first_ = 0;  // the first sample index used (DataOptions::skip)
};

}  // namespace edgeopt::data
