// PaddleOCR's text detector (PP-OCRv4 det) quantized by edgeopt: does the int8 model find the same
// text as the fp32 one? Renders text images with OpenCV (seeded), preprocesses them as PaddleOCR
// does (RGB, /255, ImageNet mean/std, NCHW), quantizes with every calibrator and with the
// label-free budget --min-sqnr (measured on the calibration images), and compares the binarized
// text masks (probability > 0.3, PaddleOCR's threshold) of int8 and fp32 on held-out images by
// IoU. Prints one row per run; exits 1 when the budgeted run's IoU is below --min-iou.
//
//   edgeopt_det_text_mask MODEL [--calib N] [--eval N] [--size S] [--min-sqnr DB] [--min-iou X]
#include <opencv2/imgproc.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <unistd.h>
#include <vector>

#include "api/edgeopt.h"
#include "api/quantize.h"
#include "compiler/data/npy.h"

namespace {
namespace fs = std::filesystem;
using edgeopt::ir::Tensor;

// n images of size x size with lines of random text, as one preprocessed [n, 3, size, size] tensor.
Tensor renderTextImages(int n, int size, uint32_t seed) {
  std::mt19937 rng(seed);
  auto uni = [&](double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(rng); };
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 -.:";
  const int fonts[] = {cv::FONT_HERSHEY_SIMPLEX, cv::FONT_HERSHEY_DUPLEX, cv::FONT_HERSHEY_COMPLEX,
                       cv::FONT_HERSHEY_TRIPLEX, cv::FONT_HERSHEY_PLAIN};
  const float mean[3] = {0.485f, 0.456f, 0.406f}, stdev[3] = {0.229f, 0.224f, 0.225f};
  Tensor out(edgeopt::ir::DType::kFloat32, {n, 3, size, size});
  for (int i = 0; i < n; ++i) {
    cv::Mat img(size, size, CV_8UC3, cv::Scalar(pick(170, 255), pick(170, 255), pick(170, 255)));
    cv::Mat noise(size, size, CV_8UC3);
    cv::randn(noise, cv::Scalar::all(0), cv::Scalar::all(pick(2, 12)));
    img += noise;
    const int lines = pick(3, 8);
    for (int l = 0; l < lines; ++l) {
      std::string text;
      for (int c = pick(4, 16); c > 0; --c) text += alphabet[static_cast<size_t>(pick(0, static_cast<int>(alphabet.size()) - 1))];
      const int font = fonts[pick(0, 4)];
      const double scale = uni(0.5, 1.4);
      const int thickness = pick(1, 2);
      const cv::Point origin(pick(0, size / 2), pick(20, size - 8));
      cv::putText(img, text, origin, font, scale, cv::Scalar(pick(0, 90), pick(0, 90), pick(0, 90)), thickness, cv::LINE_AA);
    }
    float* dst = out.data<float>() + static_cast<int64_t>(i) * 3 * size * size;
    for (int y = 0; y < size; ++y)
      for (int x = 0; x < size; ++x) {
        const cv::Vec3b bgr = img.at<cv::Vec3b>(y, x);
        for (int c = 0; c < 3; ++c)
          dst[(c * size + y) * size + x] = (static_cast<float>(bgr[2 - c]) / 255.0f - mean[c]) / stdev[c];
      }
  }
  return out;
}

// The model's output on every image, one image per run (memory stays that of one image).
Tensor runAll(const edgeopt::ir::Model& m, const Tensor& images) {
  auto runner = edgeopt::api::ModelRunner::create(m, edgeopt::api::runnerOptionsFor("ref"));
  if (!runner.ok()) {
    std::fprintf(stderr, "det_text_mask: %s\n", runner.status().message().c_str());
    std::exit(1);
  }
  auto out = edgeopt::api::runInBatches(*runner.value(), *m.graph, {images}, 1);
  if (!out.ok()) {
    std::fprintf(stderr, "det_text_mask: %s\n", out.status().message().c_str());
    std::exit(1);
  }
  return std::move(out.value()[0]);
}

// IoU of the masks (value > threshold); 1 when both are empty.
double maskIou(const Tensor& a, const Tensor& b, float threshold) {
  int64_t both = 0, either = 0;
  for (int64_t k = 0; k < a.numel(); ++k) {
    const bool x = a.data<float>()[k] > threshold, y = b.data<float>()[k] > threshold;
    both += x && y;
    either += x || y;
  }
  return either ? static_cast<double>(both) / static_cast<double>(either) : 1.0;
}

double maskFraction(const Tensor& a, float threshold) {
  int64_t on = 0;
  for (int64_t k = 0; k < a.numel(); ++k) on += a.data<float>()[k] > threshold;
  return a.numel() ? static_cast<double>(on) / static_cast<double>(a.numel()) : 0.0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: edgeopt_det_text_mask MODEL [--calib N] [--eval N] [--size S] [--min-sqnr DB] [--min-iou X]\n");
    return 2;
  }
  const std::string modelPath = argv[1];
  if (!fs::exists(modelPath)) {
    std::printf("%s is not installed (tools/setup.sh installs it from npm): skipped\n", modelPath.c_str());
    return 77;
  }
  int calibCount = 16, evalCount = 16, size = 320;
  double minSqnr = 20.0, minIou = 0.9;
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--calib") calibCount = std::atoi(argv[i + 1]);
    else if (a == "--eval") evalCount = std::atoi(argv[i + 1]);
    else if (a == "--size") size = std::atoi(argv[i + 1]);
    else if (a == "--min-sqnr") minSqnr = std::atof(argv[i + 1]);
    else if (a == "--min-iou") minIou = std::atof(argv[i + 1]);
    else {
      std::fprintf(stderr, "det_text_mask: unknown option %s\n", a.c_str());
      return 2;
    }
  }
  auto model = edgeopt::api::loadModel(modelPath);
  if (!model.ok()) {
    std::fprintf(stderr, "det_text_mask: %s\n", model.status().message().c_str());
    return 2;
  }
  const fs::path dir = fs::temp_directory_path() / ("edgeopt-det-mask-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string calibPath = (dir / "calib.npy").string();
  if (!edgeopt::data::writeNpy(renderTextImages(calibCount, size, 1), calibPath).ok()) return 1;
  const Tensor evalImages = renderTextImages(evalCount, size, 2);
  constexpr float kThreshold = 0.3f;
  const Tensor fp32 = runAll(*model, evalImages);
  std::printf("PP-OCR det, %d calibration + %d held-out rendered text images of %dx%d; mask = probability > %.1f "
              "(fp32 marks %.1f%% of pixels)\n",
              calibCount, evalCount, size, size, kThreshold, 100.0 * maskFraction(fp32, kThreshold));
  std::printf("%-34s %9s %12s %18s\n", "quantization", "mask IoU", "quantize (s)", "Conv/Gemm in float");
  double budgetIou = 0;
  struct Run {
    const char* name;
    edgeopt::quant::Calibrator calibrator;
    bool budget;
  };
  const Run runs[] = {{"minmax", edgeopt::quant::Calibrator::kMinMax, false},
                      {"percentile (99.99)", edgeopt::quant::Calibrator::kPercentile, false},
                      {"entropy", edgeopt::quant::Calibrator::kEntropy, false},
                      {"mse", edgeopt::quant::Calibrator::kMse, false},
                      {"minmax + --min-sqnr", edgeopt::quant::Calibrator::kMinMax, true}};
  for (const Run& r : runs) {
    edgeopt::ir::Model m = edgeopt::ir::cloneModel(*model);
    edgeopt::api::QuantizeOptions o;
    o.calib.path = calibPath;
    o.calibrator = r.calibrator;
    if (r.budget) {
      o.minSqnrDb = minSqnr;
      o.eval.path = calibPath;  // the budget never sees the held-out images
    }
    edgeopt::api::QuantizeReport report;
    const auto t0 = std::chrono::steady_clock::now();
    edgeopt::Status st = edgeopt::api::quantizeModel(m, o, &report);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!st.ok()) {
      std::fprintf(stderr, "det_text_mask: %s: %s\n", r.name, st.message().c_str());
      return 1;
    }
    const double iou = maskIou(fp32, runAll(m, evalImages), kThreshold);
    std::string name = r.name;
    if (r.budget) {
      char b[64];
      std::snprintf(b, sizeof b, " %.0f dB (got %.1f)", minSqnr, report.outputSqnrDb);
      name += b;
      budgetIou = iou;
    }
    std::printf("%-34s %9.4f %12.1f %18zu\n", name.c_str(), iou, seconds, report.floatNodes.size());
    std::fflush(stdout);
  }
  fs::remove_all(dir);
  if (budgetIou < minIou) {
    std::printf("FAIL: the budgeted model's mask IoU %.4f is below %.2f\n", budgetIou, minIou);
    return 1;
  }
  return 0;
}
