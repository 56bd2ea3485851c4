#include "compiler/data/dataset.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <zlib.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <optional>
#include <random>
#include <sstream>

#include "compiler/data/npy.h"
#include "compiler/support/files.h"
#include "compiler/support/text.h"

namespace edgeopt::data {
namespace fs = std::filesystem;

int64_t maxImagePixels() {
  static const int64_t limit = ir::limitFromEnvironment("EDGEOPT_MAX_IMAGE_PIXELS", kMaxImagePixels);
  return limit;
}

// OpenCV's own pixel limit (OPENCV_IO_MAX_IMAGE_PIXELS, 2^30 by default) is fixed when the library
// loads and lets a 100-byte PNG claim gigabytes, hence edgeopt's check of the header before decoding.
std::optional<int64_t> imageHeaderPixels(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  std::string h(65536, '\0');
  in.read(h.data(), static_cast<std::streamsize>(h.size()));
  h.resize(static_cast<size_t>(in.gcount()));
  const auto* u = reinterpret_cast<const unsigned char*>(h.data());
  const size_t n = h.size();
  auto be = [&](size_t at, int bytes) -> int64_t {
    int64_t v = 0;
    for (int k = 0; k < bytes; ++k) v = (v << 8) | u[at + static_cast<size_t>(k)];
    return v;
  };
  auto le = [&](size_t at, int bytes) -> int64_t {
    int64_t v = 0;
    for (int k = bytes - 1; k >= 0; --k) v = (v << 8) | u[at + static_cast<size_t>(k)];
    return v;
  };
  // Width x height, saturating (header fields are up to 40 bits wide each).
  auto pixels = [](int64_t w, int64_t hh) -> int64_t {
    if (w < 0 || hh < 0) return INT64_MAX;
    return w != 0 && hh > INT64_MAX / w ? INT64_MAX : w * hh;
  };
  if (n >= 24 && h.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0) return pixels(be(16, 4), be(20, 4));
  if (n >= 4 && u[0] == 0xFF && u[1] == 0xD8) {  // JPEG: the first start-of-frame marker
    for (size_t at = 2; at + 9 < n;) {
      if (u[at] != 0xFF) return std::nullopt;
      const unsigned marker = u[at + 1];
      if (marker == 0xFF) { ++at; continue; }
      if (marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC)
        return pixels(be(at + 5, 2), be(at + 7, 2));
      at += 2 + static_cast<size_t>(be(at + 2, 2));
    }
    return std::nullopt;
  }
  if (n >= 26 && h.compare(0, 2, "BM") == 0) {
    const int64_t w = static_cast<int32_t>(le(18, 4)), hh = static_cast<int32_t>(le(22, 4));
    return pixels(std::abs(w), std::abs(hh));
  }
  if (n >= 3 && h[0] == 'P' && h[1] >= '1' && h[1] <= '7') {  // PNM: "P5 <width> <height> ..."
    std::vector<int64_t> dims;
    for (size_t at = 2; at < n && dims.size() < 2;) {
      if (h[at] == '#') { at = h.find('\n', at); if (at == std::string::npos) break; continue; }
      if (std::isdigit(static_cast<unsigned char>(h[at]))) {
        int64_t v = 0;
        for (; at < n && std::isdigit(static_cast<unsigned char>(h[at])) && v < (int64_t{1} << 40); ++at) v = v * 10 + (h[at] - '0');
        dims.push_back(v);
      } else {
        ++at;
      }
    }
    return dims.size() == 2 ? std::optional<int64_t>(pixels(dims[0], dims[1])) : std::nullopt;
  }
  if (n >= 30 && h.compare(0, 4, "RIFF") == 0 && h.compare(8, 4, "WEBP") == 0) {
    if (h.compare(12, 4, "VP8 ") == 0) return pixels(le(26, 2) & 0x3FFF, le(28, 2) & 0x3FFF);
    if (h.compare(12, 4, "VP8L") == 0) {
      const int64_t bits = le(21, 4);
      return pixels((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1);
    }
    if (h.compare(12, 4, "VP8X") == 0) return pixels(le(24, 3) + 1, le(27, 3) + 1);
    return std::nullopt;
  }
  if (n >= 8 && (h.compare(0, 4, "II*\0", 4) == 0 || h.compare(0, 4, "MM\0*", 4) == 0)) {  // TIFF: the first IFD
    const bool little = h[0] == 'I';
    auto get = [&](size_t at, int bytes) { return little ? le(at, bytes) : be(at, bytes); };
    const size_t ifd = static_cast<size_t>(get(4, 4));
    if (ifd + 2 > n) return std::nullopt;
    int64_t w = -1, hh = -1;
    const int64_t entries = get(ifd, 2);
    for (int64_t e = 0; e < entries && ifd + 2 + 12 * static_cast<size_t>(e + 1) <= n; ++e) {
      const size_t at = ifd + 2 + 12 * static_cast<size_t>(e);
      const int64_t tag = get(at, 2), type = get(at + 2, 2);
      const int64_t value = type == 3 ? get(at + 8, 2) : get(at + 8, 4);
      if (tag == 256) w = value;
      if (tag == 257) hh = value;
    }
    return w >= 0 && hh >= 0 ? std::optional<int64_t>(pixels(w, hh)) : std::nullopt;
  }
  return std::nullopt;
}

namespace {

std::string readMagic(const std::string& path, size_t n) {
  std::ifstream in(path, std::ios::binary);
  std::string m(n, '\0');
  in.read(m.data(), static_cast<std::streamsize>(n));
  m.resize(static_cast<size_t>(in.gcount()));
  return m;
}

// ---- geometry and layout shared by the image-like sources ----

// Applies channel order, resize, crop and normalization to a decoded 8-bit image and writes the
// sample (float32, NCHW or NHWC) to out. Returns the sample dims.
StatusOr<std::vector<int64_t>> preprocessImage(const PreprocessSpec& spec, cv::Mat img, float* out,
                                               const std::string& what) {
  if (img.empty()) return invalidInput(what + ": cannot decode the image");
  if (img.depth() != CV_8U) img.convertTo(img, CV_8U);
  using C = PreprocessSpec::Channels;
  if (img.channels() == 4) cv::cvtColor(img, img, cv::COLOR_BGRA2BGR);
  if (spec.channels == C::kGray && img.channels() == 3) cv::cvtColor(img, img, cv::COLOR_BGR2GRAY);
  if ((spec.channels == C::kRgb || spec.channels == C::kBgr) && img.channels() == 1)
    cv::cvtColor(img, img, cv::COLOR_GRAY2BGR);
  if ((spec.channels == C::kRgb || spec.channels == C::kAuto) && img.channels() == 3)
    cv::cvtColor(img, img, cv::COLOR_BGR2RGB);
  if (spec.resizeWidth) {
    cv::resize(img, img, cv::Size(spec.resizeWidth, spec.resizeHeight), 0, 0, cv::INTER_LINEAR);
  } else if (spec.resizeShortSide) {
    const double f = static_cast<double>(spec.resizeShortSide) / std::min(img.cols, img.rows);
    cv::resize(img, img, cv::Size(std::max(1, static_cast<int>(std::lround(img.cols * f))),
                                  std::max(1, static_cast<int>(std::lround(img.rows * f)))),
               0, 0, cv::INTER_LINEAR);
  }
  if (spec.cropWidth) {
    if (spec.cropWidth > img.cols || spec.cropHeight > img.rows)
      return invalidInput(what + ": crop " + std::to_string(spec.cropWidth) + "x" + std::to_string(spec.cropHeight) +
                          " is larger than the image (" + std::to_string(img.cols) + "x" + std::to_string(img.rows) + ")");
    img = img(cv::Rect((img.cols - spec.cropWidth) / 2, (img.rows - spec.cropHeight) / 2, spec.cropWidth,
                       spec.cropHeight)).clone();
  }
  const int h = img.rows, w = img.cols, c = img.channels();
  cv::Mat f;
  img.convertTo(f, CV_32F);
  if (!f.isContinuous()) f = f.clone();
  std::vector<float> hwc(reinterpret_cast<const float*>(f.data), reinterpret_cast<const float*>(f.data) + h * w * c);
  Status st = normalizeInterleaved(spec, hwc.data(), static_cast<int64_t>(hwc.size()), c);
  if (!st.ok()) return st;
  if (spec.nhwc) {
    std::copy(hwc.begin(), hwc.end(), out);
    return std::vector<int64_t>{h, w, c};
  }
  for (int ch = 0; ch < c; ++ch)
    for (int i = 0; i < h * w; ++i) out[ch * h * w + i] = hwc[static_cast<size_t>(i * c + ch)];
  return std::vector<int64_t>{c, h, w};
}

// Sample dims an image of (w, h, c) gets under the spec, without decoding pixels.
std::vector<int64_t> dimsAfterSpec(const PreprocessSpec& spec, int w, int h, int c) {
  using C = PreprocessSpec::Channels;
  if (spec.channels == C::kGray) c = 1;
  else if (spec.channels != C::kAuto) c = 3;
  else if (c == 4) c = 3;
  if (spec.resizeWidth) {
    w = spec.resizeWidth;
    h = spec.resizeHeight;
  } else if (spec.resizeShortSide) {
    const double f = static_cast<double>(spec.resizeShortSide) / std::min(w, h);
    w = std::max(1, static_cast<int>(std::lround(w * f)));
    h = std::max(1, static_cast<int>(std::lround(h * f)));
  }
  if (spec.cropWidth) {
    w = spec.cropWidth;
    h = spec.cropHeight;
  }
  return spec.nhwc ? std::vector<int64_t>{h, w, c} : std::vector<int64_t>{c, h, w};
}

// ---- .npy ----

class NpySource : public DataSource {
 public:
  static StatusOr<std::unique_ptr<DataSource>> open(const DataOptions& o, const PreprocessSpec& spec) {
    if (spec.hasGeometry() || spec.channels != PreprocessSpec::Channels::kAuto || spec.nhwc)
      return invalidInput("--preprocess for .npy data may only scale and normalize (the array is already laid out)");
    auto s = std::unique_ptr<NpySource>(new NpySource());
    s->path_ = o.path;
    s->spec_ = spec;
    EDGEOPT_ASSIGN_OR_RETURN(s->header_, readNpyHeader(o.path));
    if (s->header_.dims.empty()) return invalidInput(o.path + ": needs at least one dimension (samples)");
    s->dims_.assign(s->header_.dims.begin() + 1, s->header_.dims.end());
    if (!o.labelsPath.empty()) {
      EDGEOPT_ASSIGN_OR_RETURN(auto labels, readNpy(o.labelsPath));
      if (labels.dtype() == ir::DType::kFloat32 || labels.dtype() == ir::DType::kFloat64 || labels.dtype() == ir::DType::kBool)
        return invalidInput(o.labelsPath + ": labels must be integers, not " + ir::dtypeName(labels.dtype()));
      if (labels.numel() != s->header_.dims[0])
        return invalidInput(o.labelsPath + ": " + std::to_string(labels.numel()) + " labels for " +
                            std::to_string(s->header_.dims[0]) + " samples in " + o.path);
      s->labels_ = labels.toInt64Vector();
    }
    return std::unique_ptr<DataSource>(std::move(s));
  }
  int64_t size() const override { return header_.dims[0]; }
  const std::vector<int64_t>& sampleDims() const override { return dims_; }
  bool hasLabels() const override { return !labels_.empty(); }
  Status read(int64_t index, float* out, int64_t* label) override {
    if (!in_.is_open()) {
      in_.open(path_, std::ios::binary);
      if (!in_) return ioError(path_ + ": cannot open for reading");
    }
    // One sample's raw elements, read straight into a tensor reused across reads.
    const int64_t n = ir::numElements(dims_);
    if (sample_.dtype() != header_.dtype || sample_.numel() != n) sample_ = ir::Tensor(header_.dtype, {n});
    in_.seekg(static_cast<std::streamoff>(header_.dataOffset + index * static_cast<int64_t>(sample_.byteSize())));
    if (!in_.read(static_cast<char*>(sample_.rawData()), static_cast<std::streamsize>(sample_.byteSize())))
      return invalidInput(describe(index) + ": file is truncated");
    for (int64_t i = 0; i < n; ++i) out[i] = static_cast<float>(sample_.getAsDouble(i));
    if (spec_.scale != 1.0 || !spec_.mean.empty() || !spec_.std.empty()) {
      const int channels = dims_.empty() ? 1 : static_cast<int>(dims_[0]);
      EDGEOPT_RETURN_IF_ERROR(normalizePlanar(spec_, out, channels, channels ? n / channels : 0));
    }
    *label = labels_.empty() ? -1 : labels_[static_cast<size_t>(index)];
    return Status::Ok();
  }
  std::string describe(int64_t index) const override { return path_ + " sample " + std::to_string(index); }

 private:
  std::string path_;
  PreprocessSpec spec_;
  NpyHeader header_;
  std::vector<int64_t> dims_;
  std::vector<int64_t> labels_;
  std::ifstream in_;
  ir::Tensor sample_;
};

// ---- IDX ----

// An IDX file with random access; a gzipped one is inflated once into a temporary file.
class IdxFile {
 public:
  ~IdxFile() {
    if (!tempPath_.empty()) std::remove(tempPath_.c_str());
  }
  Status open(const std::string& path) {
    path_ = path;
    std::string raw = path;
    if (readMagic(path, 2) == "\x1f\x8b") {
      EDGEOPT_RETURN_IF_ERROR(inflate(path));
      raw = tempPath_;
    }
    in_.open(raw, std::ios::binary);
    if (!in_) return ioError(path + ": cannot open for reading");
    unsigned char magic[4];
    if (!in_.read(reinterpret_cast<char*>(magic), 4) || magic[0] != 0 || magic[1] != 0)
      return invalidInput(path + ": not an IDX file (bad magic)");
    if (magic[2] != 0x08) return unsupported(path + ": only unsigned-byte IDX data is supported");
    const int ndim = magic[3];
    if (ndim < 1 || ndim > 4) return invalidInput(path + ": IDX rank " + std::to_string(ndim) + " is not supported");
    for (int i = 0; i < ndim; ++i) {
      unsigned char b[4];
      if (!in_.read(reinterpret_cast<char*>(b), 4)) return invalidInput(path + ": truncated IDX header");
      dims_.push_back((int64_t{b[0]} << 24) | (b[1] << 16) | (b[2] << 8) | b[3]);
    }
    dataOffset_ = 4 + 4 * ndim;
    in_.seekg(0, std::ios::end);
    const auto elements = ir::checkedNumElements(dims_);
    if (!elements)
      return invalidInput(path + ": the IDX header's dims " + ir::dimsToString(dims_) + " overflow a 64-bit element count");
    const int64_t expected = dataOffset_ + *elements;
    if (static_cast<int64_t>(in_.tellg()) < expected)
      return invalidInput(path + ": truncated (" + std::to_string(static_cast<int64_t>(in_.tellg())) + " bytes, header says " +
                          std::to_string(expected) + ")");
    return Status::Ok();
  }
  const std::vector<int64_t>& dims() const { return dims_; }
  int64_t itemSize() const { return ir::numElements(dims_) / std::max<int64_t>(dims_[0], 1); }
  Status readItem(int64_t index, uint8_t* out) {
    in_.seekg(dataOffset_ + index * itemSize());
    if (!in_.read(reinterpret_cast<char*>(out), itemSize())) return ioError(path_ + ": read failed at item " + std::to_string(index));
    return Status::Ok();
  }

 private:
  Status inflate(const std::string& path) {
    gzFile gz = gzopen(path.c_str(), "rb");
    if (!gz) return ioError(path + ": cannot open for reading");
    char name[] = "/tmp/edgeopt-idx-XXXXXX";
    const int fd = mkstemp(name);
    if (fd < 0) {
      gzclose(gz);
      return ioError("cannot create a temporary file to inflate " + path);
    }
    tempPath_ = name;
    FILE* f = fdopen(fd, "wb");
    std::vector<char> buf(1 << 16);
    int n;
    while ((n = gzread(gz, buf.data(), static_cast<unsigned>(buf.size()))) > 0) std::fwrite(buf.data(), 1, static_cast<size_t>(n), f);
    const bool closed = std::fclose(f) == 0;
    int err = 0;
    const char* msg = gzerror(gz, &err);
    const std::string why = msg ? msg : "";  // gzerror's text lives in gz, which gzclose frees
    gzclose(gz);
    if (n != 0 || !closed || err < 0) return invalidInput(path + ": corrupt gzip data (" + why + ")");
    return Status::Ok();
  }
  std::string path_, tempPath_;
  std::ifstream in_;
  std::vector<int64_t> dims_;
  int64_t dataOffset_ = 0;
};

class IdxSource : public DataSource {
 public:
  static StatusOr<std::unique_ptr<DataSource>> open(const DataOptions& o, const PreprocessSpec& spec) {
    auto s = std::unique_ptr<IdxSource>(new IdxSource());
    s->path_ = o.path;
    s->spec_ = spec;
    EDGEOPT_RETURN_IF_ERROR(s->images_.open(o.path));
    const auto& d = s->images_.dims();
    if (d.size() != 3) return invalidInput(o.path + ": expected N x rows x cols images, got rank " + std::to_string(d.size()));
    if (!o.labelsPath.empty()) {
      EDGEOPT_RETURN_IF_ERROR(s->labels_.open(o.labelsPath));
      if (s->labels_.dims().size() != 1)
        return invalidInput(o.labelsPath + ": a label file holds one byte per sample (rank 1)");
      if (s->labels_.dims()[0] != d[0])
        return invalidInput(o.labelsPath + ": " + std::to_string(s->labels_.dims()[0]) + " labels for " +
                            std::to_string(d[0]) + " images in " + o.path);
      s->hasLabels_ = true;
    }
    s->dims_ = dimsAfterSpec(spec, static_cast<int>(d[2]), static_cast<int>(d[1]), 1);
    return std::unique_ptr<DataSource>(std::move(s));
  }
  int64_t size() const override { return images_.dims()[0]; }
  const std::vector<int64_t>& sampleDims() const override { return dims_; }
  bool hasLabels() const override { return hasLabels_; }
  Status read(int64_t index, float* out, int64_t* label) override {
    const auto& d = images_.dims();
    cv::Mat img(static_cast<int>(d[1]), static_cast<int>(d[2]), CV_8UC1);
    EDGEOPT_RETURN_IF_ERROR(images_.readItem(index, img.data));
    auto dims = preprocessImage(spec_, img, out, describe(index));
    if (!dims.ok()) return dims.status();
    *label = -1;
    if (hasLabels_) {
      uint8_t l;
      EDGEOPT_RETURN_IF_ERROR(labels_.readItem(index, &l));
      *label = l;
    }
    return Status::Ok();
  }
  std::string describe(int64_t index) const override { return path_ + " sample " + std::to_string(index); }

 private:
  std::string path_;
  PreprocessSpec spec_;
  IdxFile images_, labels_;
  bool hasLabels_ = false;
  std::vector<int64_t> dims_;
};

// ---- image folder ----

bool isImageFile(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  for (const char* e : {".png", ".jpg", ".jpeg", ".bmp", ".pgm", ".ppm", ".tif", ".tiff", ".webp"})
    if (ext == e) return true;
  return false;
}

// Decodes an image file; OpenCV's own refusals (e.g. a header declaring more pixels than its
// limit) are exceptions, which become the one error line naming the file.
// Runs `decode` with the process's stderr (fd 2) sent to a temporary file and gives back what was
// written there: libpng and libjpeg print their complaints on stderr themselves, which would add
// a second line to edgeopt's one error line. Data is read on one thread, so nothing else writes
// meanwhile.
template <typename Decode>
std::string capturingStderr(Decode&& decode) {
  std::fflush(stderr);
  FILE* sink = std::tmpfile();
  const int saved = sink ? ::dup(2) : -1;
  if (saved < 0 || ::dup2(::fileno(sink), 2) < 0) {
    if (saved >= 0) ::close(saved);
    if (sink) std::fclose(sink);
    decode();
    return {};
  }
  auto restore = [&] {
    std::fflush(stderr);
    ::dup2(saved, 2);
    ::close(saved);
  };
  try {
    decode();
  } catch (...) {
    restore();
    std::fclose(sink);
    throw;
  }
  restore();
  std::string text;
  std::rewind(sink);
  char buf[512];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, sink)) > 0 && text.size() < 4096;) text.append(buf, n);
  std::fclose(sink);
  return text;
}

StatusOr<cv::Mat> decodeImage(const std::string& file) {
  EDGEOPT_RETURN_IF_ERROR(support::checkRegularFile(file));
  if (const auto pixels = imageHeaderPixels(file); pixels && *pixels > maxImagePixels())
    return invalidInput(file + ": its header declares " + std::to_string(*pixels) + " pixels, more than the limit of " +
                        std::to_string(maxImagePixels()) + " (set EDGEOPT_MAX_IMAGE_PIXELS to allow more)");
  cv::Mat img;
  std::string decoderSaid;
  try {
    decoderSaid = capturingStderr([&] { img = cv::imread(file, cv::IMREAD_UNCHANGED); });
  } catch (const cv::Exception& e) {
    std::string why = e.err.empty() ? e.what() : e.err;
    why = why.substr(0, why.find('\n'));
    if (why.find("CV_IO_MAX_IMAGE_PIXELS") != std::string::npos)
      why = "its header declares more pixels than the decoder allows, OPENCV_IO_MAX_IMAGE_PIXELS (default 2^30)";
    return invalidInput(file + ": cannot decode the image (" + why + ")");
  }
  if (img.empty()) {
    // The decoder's own complaint, first line (e.g. "libpng error: Not enough image data").
    std::string why = decoderSaid.substr(0, decoderSaid.find('\n'));
    return invalidInput(file + ": cannot decode the image" + (why.empty() ? "" : " (" + support::printable(why) + ")"));
  }
  return img;
}

class ImageFolderSource : public DataSource {
 public:
  static StatusOr<std::unique_ptr<DataSource>> open(const DataOptions& o, const PreprocessSpec& spec) {
    auto s = std::unique_ptr<ImageFolderSource>(new ImageFolderSource());
    s->spec_ = spec;
    const fs::path root(o.path);
    fs::path csv = o.labelsPath.empty() ? root / "labels.csv" : fs::path(o.labelsPath);
    std::error_code ec;
    if (!o.labelsPath.empty() || fs::exists(csv, ec)) {
      EDGEOPT_RETURN_IF_ERROR(support::checkRegularFile(csv.string()));
      EDGEOPT_RETURN_IF_ERROR(s->readCsv(root, csv));
    } else {
      std::vector<fs::path> classes;
      for (const auto& e : fs::directory_iterator(root, ec))
        if (e.is_directory()) classes.push_back(e.path());
      if (ec) return ioError(o.path + ": " + ec.message());
      std::sort(classes.begin(), classes.end());
      for (size_t c = 0; c < classes.size(); ++c) {
        std::vector<fs::path> files;
        for (const auto& e : fs::directory_iterator(classes[c]))
          if (e.is_regular_file() && isImageFile(e.path())) files.push_back(e.path());
        std::sort(files.begin(), files.end());
        for (const auto& f : files) {
          s->files_.push_back(f.string());
          s->labels_.push_back(static_cast<int64_t>(c));
        }
      }
      if (classes.empty())
        return invalidInput(o.path + ": an image folder needs one sub-folder per class or a labels.csv");
    }
    if (s->files_.empty()) return invalidInput(o.path + ": no images found");
    // The first image fixes the sample shape; the others must match it after preprocessing.
    EDGEOPT_ASSIGN_OR_RETURN(cv::Mat first, decodeImage(s->files_[0]));
    s->dims_ = dimsAfterSpec(spec, first.cols, first.rows, first.channels());
    return std::unique_ptr<DataSource>(std::move(s));
  }
  int64_t size() const override { return static_cast<int64_t>(files_.size()); }
  const std::vector<int64_t>& sampleDims() const override { return dims_; }
  bool hasLabels() const override { return true; }
  Status read(int64_t index, float* out, int64_t* label) override {
    const std::string& file = files_[static_cast<size_t>(index)];
    EDGEOPT_ASSIGN_OR_RETURN(cv::Mat img, decodeImage(file));
    const auto d = dimsAfterSpec(spec_, img.cols, img.rows, img.channels());
    if (d != dims_)
      return invalidInput(file + ": preprocessed shape " + ir::dimsToString(d) + " differs from the first image's " +
                          ir::dimsToString(dims_) + " (add resize/crop to --preprocess)");
    auto dims = preprocessImage(spec_, img, out, file);
    if (!dims.ok()) return dims.status();
    *label = labels_[static_cast<size_t>(index)];
    return Status::Ok();
  }
  std::string describe(int64_t index) const override { return files_[static_cast<size_t>(index)]; }

 private:
  Status readCsv(const fs::path& root, const fs::path& csv) {
    std::ifstream in(csv);
    if (!in) return ioError(csv.string() + ": cannot open for reading");
    std::string line;
    int lineNo = 0;
    while (std::getline(in, line)) {
      ++lineNo;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.empty()) continue;
      const auto comma = line.rfind(',');
      if (comma == std::string::npos) return invalidInput(csv.string() + " line " + std::to_string(lineNo) + ": expected 'file,label'");
      const std::string file = line.substr(0, comma), label = line.substr(comma + 1);
      char* end = nullptr;
      const long long v = std::strtoll(label.c_str(), &end, 10);
      if (label.empty() || *end) {
        if (lineNo == 1) continue;  // a header row
        return invalidInput(csv.string() + " line " + std::to_string(lineNo) + ": label '" + label + "' is not an integer");
      }
      const fs::path p = fs::path(file).is_absolute() ? fs::path(file) : csv.parent_path() / file;
      if (Status regular = support::checkRegularFile(p.string()); !regular.ok())
        return regular.withContext(csv.string() + " line " + std::to_string(lineNo));
      files_.push_back(p.string());
      labels_.push_back(v);
    }
    (void)root;
    return Status::Ok();
  }
  PreprocessSpec spec_;
  std::vector<std::string> files_;
  std::vector<int64_t> labels_;
  std::vector<int64_t> dims_;
};

}  // namespace

StatusOr<std::unique_ptr<DataSource>> openDataSource(const DataOptions& o) {
  EDGEOPT_ASSIGN_OR_RETURN(PreprocessSpec spec, parsePreprocessSpec(o.preprocess));
  std::error_code ec;
  if (o.path.empty()) return invalidInput("no data given (--data PATH)");
  if (!fs::exists(o.path, ec)) return ioError(o.path + ": no such file or folder");
  if (fs::is_directory(o.path, ec)) return ImageFolderSource::open(o, spec);
  EDGEOPT_RETURN_IF_ERROR(support::checkRegularFile(o.path));
  if (!o.labelsPath.empty()) EDGEOPT_RETURN_IF_ERROR(support::checkRegularFile(o.labelsPath));
  const std::string magic = readMagic(o.path, 6);
  if (magic == "\x93NUMPY") return NpySource::open(o, spec);
  if (magic.size() >= 2 && (magic.substr(0, 2) == "\x1f\x8b" || (magic[0] == 0 && magic[1] == 0)))
    return IdxSource::open(o, spec);
  return invalidInput(o.path + ": not a .npy file, an IDX file or an image folder");
}

BatchReader::BatchReader(DataSource& source, const DataOptions& options, int64_t batchSize)
    : source_(source), batchSize_(std::max<int64_t>(1, batchSize)) {
  const int64_t skip = std::clamp<int64_t>(options.skip, 0, source.size());
  const int64_t n = source.size() - skip;
  first_ = skip;
  total_ = options.limit >= 0 ? std::min(options.limit, n) : n;
  if (options.shuffle) {
    order_.resize(static_cast<size_t>(n));
    std::iota(order_.begin(), order_.end(), skip);
    std::mt19937_64 rng(options.seed);
    std::shuffle(order_.begin(), order_.end(), rng);
    order_.resize(static_cast<size_t>(total_));
  }
}

StatusOr<bool> BatchReader::next(Batch* batch) {
  if (next_ >= total_) return false;
  const int64_t count = std::min(batchSize_, total_ - next_);
  std::vector<int64_t> dims = {count};
  dims.insert(dims.end(), source_.sampleDims().begin(), source_.sampleDims().end());
  batch->inputs = ir::Tensor(ir::DType::kFloat32, dims);
  batch->labels.clear();
  batch->indices.clear();
  const int64_t per = ir::numElements(source_.sampleDims());
  for (int64_t i = 0; i < count; ++i) {
    const int64_t index = order_.empty() ? first_ + next_ + i : order_[static_cast<size_t>(next_ + i)];
    int64_t label = -1;
    float* sample = batch->inputs.data<float>() + i * per;
    EDGEOPT_RETURN_IF_ERROR(source_.read(index, sample, &label));
    // Calibration and evaluation data must be finite: a NaN would make calibration ranges (and so
    // the model's scales) meaningless and an evaluation's predictions arbitrary.
    for (int64_t k = 0; k < per; ++k)
      if (!std::isfinite(sample[k]))
        return invalidInput(source_.describe(index) + ": element " + std::to_string(k) + " is " +
                            (std::isnan(sample[k]) ? "NaN" : "infinite") +
                            " after preprocessing (calibration and evaluation data must be finite)");
    batch->indices.push_back(index);
    if (source_.hasLabels()) batch->labels.push_back(label);
  }
  next_ += count;
  return true;
}

}  // namespace edgeopt::data
