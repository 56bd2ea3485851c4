// The preprocessing spec of `--preprocess`: how decoded images (or raw arrays) become model input.
//
// A spec is a comma-separated list of key=value items, applied in this order:
//   channels=rgb|bgr|gray   channel order of the decoded image (images decode as BGR; gray converts)
//   resize=WxH | resize=S   resize to exactly W x H, or so that the shorter side is S (bilinear)
//   crop=WxH                center crop
//   scale=F                 multiply every value by F (F may be a fraction like 1/255)
//   mean=M[:M2:M3]          subtract per channel (one value applies to every channel)
//   std=S[:S2:S3]           then divide per channel
//   layout=NCHW|NHWC        layout of each sample (default NCHW)
// Example: "resize=256,crop=224x224,channels=rgb,scale=1/255,mean=0.485:0.456:0.406,std=0.229:0.224:0.225"
#pragma once

#include <string>
#include <vector>

#include "compiler/ir/status.h"

namespace edgeopt::data {

struct PreprocessSpec {
  enum class Channels { kAuto, kRgb, kBgr, kGray };
  Channels channels = Channels::kAuto;  // auto: gray images stay gray, others become RGB
  int resizeWidth = 0, resizeHeight = 0;  // exact size when both > 0
  int resizeShortSide = 0;                // > 0: shorter side to this, aspect kept
  int cropWidth = 0, cropHeight = 0;
  double scale = 1.0;
  std::vector<double> mean, std;  // empty: 0 and 1
  bool nhwc = false;

  bool hasGeometry() const { return resizeWidth || resizeShortSide || cropWidth; }
  std::string toString() const;
};

// Parses a spec; errors name the offending item.
StatusOr<PreprocessSpec> parsePreprocessSpec(const std::string& text);

// Applies scale, mean and std in place to an H x W x C (interleaved) float image.
Status normalizeInterleaved(const PreprocessSpec& spec, float* pixels, int64_t count, int channels);
// The same for C planes of `plane` values each (C x H x W).
Status normalizePlanar(const PreprocessSpec& spec, float* pixels, int channels, int64_t plane);

}  // namespace edgeopt::data
