#include "compiler/data/preprocess.h"

#include <cstdlib>
#include <sstream>

namespace edgeopt::data {
namespace {

bool parseNumber(const std::string& s, double* out) {
  const auto slash = s.find('/');
  char* end = nullptr;
  if (slash != std::string::npos) {
    // strtod's end pointer points into its argument: keep the parts alive while reading it.
    const std::string num = s.substr(0, slash), den = s.substr(slash + 1);
    const double a = std::strtod(num.c_str(), &end);
    if (*end) return false;
    const double b = std::strtod(den.c_str(), &end);
    if (*end || b == 0) return false;
    *out = a / b;
    return true;
  }
  *out = std::strtod(s.c_str(), &end);
  return !s.empty() && !*end;
}

bool parseSize(const std::string& s, int* w, int* h) {
  const auto x = s.find('x');
  if (x == std::string::npos) return false;
  char* end = nullptr;
  const std::string first = s.substr(0, x), second = s.substr(x + 1);
  const long a = std::strtol(first.c_str(), &end, 10);
  if (*end) return false;
  const long b = std::strtol(second.c_str(), &end, 10);
  if (*end || a <= 0 || b <= 0 || a > 65536 || b > 65536) return false;
  *w = static_cast<int>(a);
  *h = static_cast<int>(b);
  return true;
}

// Per-channel mean/std lists must have one value per channel (a single value serves all).
Status checkChannelCount(const PreprocessSpec& spec, int channels) {
  for (const auto* v : {&spec.mean, &spec.std})
    if (v->size() > 1 && static_cast<int>(v->size()) != channels)
      return invalidInput("--preprocess gives " + std::to_string(v->size()) + " mean/std values for " +
                          std::to_string(channels) + "-channel data");
  return Status::Ok();
}

}  // namespace

StatusOr<PreprocessSpec> parsePreprocessSpec(const std::string& text) {
  PreprocessSpec spec;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.empty()) continue;
    const auto eq = item.find('=');
    const std::string key = item.substr(0, eq), value = eq == std::string::npos ? "" : item.substr(eq + 1);
    auto bad = [&](const std::string& why) {
      return invalidInput("--preprocess item '" + item + "': " + why);
    };
    if (eq == std::string::npos) return bad("expected key=value");
    if (key == "channels") {
      if (value == "rgb") spec.channels = PreprocessSpec::Channels::kRgb;
      else if (value == "bgr") spec.channels = PreprocessSpec::Channels::kBgr;
      else if (value == "gray" || value == "grey") spec.channels = PreprocessSpec::Channels::kGray;
      else return bad("channels must be rgb, bgr or gray");
    } else if (key == "resize") {
      if (value.find('x') != std::string::npos) {
        if (!parseSize(value, &spec.resizeWidth, &spec.resizeHeight)) return bad("expected WxH");
      } else {
        char* end = nullptr;
        const long s = std::strtol(value.c_str(), &end, 10);
        if (value.empty() || *end || s <= 0 || s > 65536) return bad("expected WxH or a short-side length");
        spec.resizeShortSide = static_cast<int>(s);
      }
    } else if (key == "crop") {
      if (!parseSize(value, &spec.cropWidth, &spec.cropHeight)) return bad("expected WxH");
    } else if (key == "scale") {
      if (!parseNumber(value, &spec.scale)) return bad("expected a number or a fraction like 1/255");
    } else if (key == "mean" || key == "std") {
      std::vector<double>& v = key == "mean" ? spec.mean : spec.std;
      std::stringstream vs(value);
      std::string part;
      while (std::getline(vs, part, ':')) {
        double d;
        if (!parseNumber(part, &d)) return bad("expected numbers separated by ':'");
        if (key == "std" && d == 0) return bad("std must not be 0");
        v.push_back(d);
      }
      if (v.empty() || v.size() > 4) return bad("expected 1 to 4 values");
    } else if (key == "layout") {
      if (value == "NCHW" || value == "nchw") spec.nhwc = false;
      else if (value == "NHWC" || value == "nhwc") spec.nhwc = true;
      else return bad("layout must be NCHW or NHWC");
    } else {
      return bad("unknown key (known: channels, resize, crop, scale, mean, std, layout)");
    }
  }
  return spec;
}

Status normalizeInterleaved(const PreprocessSpec& spec, float* pixels, int64_t count, int channels) {
  EDGEOPT_RETURN_IF_ERROR(checkChannelCount(spec, channels));
  for (int64_t i = 0; i < count; ++i) {
    const int c = static_cast<int>(i % channels);
    double x = pixels[i] * spec.scale;
    if (!spec.mean.empty()) x -= spec.mean[spec.mean.size() == 1 ? 0 : c];
    if (!spec.std.empty()) x /= spec.std[spec.std.size() == 1 ? 0 : c];
    pixels[i] = static_cast<float>(x);
  }
  return Status::Ok();
}

Status normalizePlanar(const PreprocessSpec& spec, float* pixels, int channels, int64_t plane) {
  EDGEOPT_RETURN_IF_ERROR(checkChannelCount(spec, channels));
  for (int c = 0; c < channels; ++c) {
    const double m = spec.mean.empty() ? 0.0 : spec.mean[spec.mean.size() == 1 ? 0 : c];
    const double s = spec.std.empty() ? 1.0 : spec.std[spec.std.size() == 1 ? 0 : c];
    float* p = pixels + c * plane;
    for (int64_t i = 0; i < plane; ++i) p[i] = static_cast<float>((p[i] * spec.scale - m) / s);
  }
  return Status::Ok();
}

std::string PreprocessSpec::toString() const {
  std::ostringstream os;
  const char* ch[] = {"auto", "rgb", "bgr", "gray"};
  os << "channels=" << ch[static_cast<int>(channels)];
  if (resizeWidth) os << ",resize=" << resizeWidth << "x" << resizeHeight;
  if (resizeShortSide) os << ",resize=" << resizeShortSide;
  if (cropWidth) os << ",crop=" << cropWidth << "x" << cropHeight;
  os << ",scale=" << scale;
  auto list = [&](const char* k, const std::vector<double>& v) {
    if (v.empty()) return;
    os << "," << k << "=";
    for (size_t i = 0; i < v.size(); ++i) os << (i ? ":" : "") << v[i];
  };
  list("mean", mean);
  list("std", std);
  os << ",layout=" << (nhwc ? "NHWC" : "NCHW");
  return os.str();
}

}  // namespace edgeopt::data
