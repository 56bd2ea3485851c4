// edgeopt's int8 depthwise 3x3 kernels against oneDNN 2.6's on the depthwise layers of
// MobileNetV2-224 (batch 1) or of the zoo's mobilenet_v2_fm (batch 64), one thread by default.
// A benchmark, not a test: it checks nothing about speed and fails only on bad arguments.
//
//   edgeopt_bench_depthwise [--model mobilenet_v2|mobilenet_v2_fm] [--rounds N] [--threads N]
//
// Per layer, alternating in every round (medians over rounds):
//   edgeopt       the kernel the x86 plan runs (stride-1 flat kernel when channels % 16 == 0, else
//                 the per-64-channel block kernel), output stage fused, bit-exact with the reference;
//   oneDNN s32    oneDNN's depthwise with int32 output, then edgeopt's prepared output stage: what
//                 `edgeopt bench --onednn-depthwise` runs, bit-exact too;
//   oneDNN u8     oneDNN's depthwise with its own fused output stage (per-channel fp32 output
//                 scales, zero points): how oneDNN itself runs int8 depthwise; it rounds
//                 differently from edgeopt's integer contract, so the plan cannot use it bit-exactly.
// Weights, inputs and multipliers are random (seeded); the input is the same buffer each round, so
// caches are warmer than inside a model: compare the columns with each other, not with model runs.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <dnnl.hpp>

#include "kernels/ref/quant.h"
#include "kernels/x86/dwconv.h"
#include "kernels/x86/requantize.h"

namespace {

namespace x86 = edgeopt::kernels::x86;
namespace ref = edgeopt::kernels::ref;
using Tag = dnnl::memory::format_tag;
using DT = dnnl::memory::data_type;

struct Layer {
  int64_t batch, channels, size, stride;  // square input, 3x3 kernel, pad 1
};

std::vector<Layer> layersOf(const std::string& model) {
  if (model == "mobilenet_v2")
    return {{1, 32, 112, 1},  {1, 96, 112, 2},  {1, 144, 56, 1}, {1, 144, 56, 2}, {1, 192, 28, 1}, {1, 192, 28, 1},
            {1, 192, 28, 2},  {1, 384, 14, 1},  {1, 384, 14, 1}, {1, 384, 14, 1}, {1, 384, 14, 1}, {1, 576, 14, 1},
            {1, 576, 14, 1},  {1, 576, 14, 2},  {1, 960, 7, 1},  {1, 960, 7, 1},  {1, 960, 7, 1}};
  if (model == "mobilenet_v2_fm")
    return {{64, 16, 28, 1}, {64, 64, 28, 2}, {64, 96, 14, 1}, {64, 96, 14, 2}, {64, 128, 7, 1}, {64, 128, 7, 1}};
  return {};
}

double medianOf(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

template <typename F>
double millis(F&& f) {
  const auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  std::string model = "mobilenet_v2";
  int rounds = 200, threads = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 < argc && a == "--model") model = argv[++i];
    else if (i + 1 < argc && a == "--rounds") rounds = std::atoi(argv[++i]);
    else if (i + 1 < argc && a == "--threads") threads = std::atoi(argv[++i]);
    else {
      std::fprintf(stderr, "usage: edgeopt_bench_depthwise [--model mobilenet_v2|mobilenet_v2_fm] [--rounds N] [--threads N]\n");
      return 2;
    }
  }
  const std::vector<Layer> layers = layersOf(model);
  if (layers.empty() || rounds < 1 || threads < 1) {
    std::fprintf(stderr, "edgeopt_bench_depthwise: error: unknown model '%s' or a count below 1\n", model.c_str());
    return 2;
  }
  if (!x86::hasAvx512Vnni()) {
    std::fprintf(stderr, "edgeopt_bench_depthwise: this CPU has no AVX-512 VNNI\n");
    return 2;
  }
  omp_set_num_threads(threads);
  dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  dnnl::stream stream(engine);
  std::mt19937 rng(7);
  std::printf("%s depthwise 3x3 int8, %d thread(s), medians of %d alternating rounds (ms)\n", model.c_str(), threads, rounds);
  std::printf("%-22s %9s %13s %10s %10s %10s\n", "layer", "edgeopt", "oneDNN s32+os", "oneDNN u8", "s32/own", "u8/own");
  double sumOwn = 0, sumS32 = 0, sumU8 = 0;
  for (const Layer& l : layers) {
    const int64_t N = l.batch, C = l.channels, H = l.size, O = (H + 2 - 3) / l.stride + 1;
    const int32_t xZeroPoint = 131;  // uint8 storage
    const int64_t inImage = H * H * C, outImage = O * O * C;
    std::vector<uint8_t> x(static_cast<size_t>(N * inImage));
    for (auto& v : x) v = static_cast<uint8_t>(rng());
    std::vector<int8_t> w(static_cast<size_t>(C * 9));
    for (auto& v : w) v = static_cast<int8_t>(static_cast<int>(rng() % 255) - 127);
    std::vector<int32_t> bias(static_cast<size_t>(C)), adjusted(static_cast<size_t>(C));
    std::vector<ref::Requantization> requant(static_cast<size_t>(C));
    std::vector<float> scales(static_cast<size_t>(C));
    for (int64_t c = 0; c < C; ++c) {
      bias[c] = static_cast<int32_t>(rng() % 2001) - 1000;
      int32_t sum = 0;
      for (int t = 0; t < 9; ++t) sum += w[c * 9 + t];
      adjusted[c] = bias[c] - xZeroPoint * sum;
      scales[c] = 0.002f + 0.00005f * static_cast<float>(rng() % 100);
      requant[c].scale = scales[c];
    }
    ref::QuantParams q;
    q.output_zero_point = -5;
    const ref::QuantParams qu8 = ref::toUint8Domain(q);

    // edgeopt, as the plan picks its kernel.
    x86::DwConv3x3Params d;
    d.in_h = d.in_w = H;
    d.channels = C;
    d.out_w = O;
    d.stride_h = d.stride_w = l.stride;
    d.pad_top = d.pad_left = 1;
    d.x_zero_point = xZeroPoint;
    x86::DwConv3x3VnniFlat flat;
    const bool useFlat = l.stride == 1 && x86::prepareDwConv3x3VnniFlat(C, w.data(), adjusted.data(), requant.data(), q, &flat);
    const auto packed = x86::packDwConv3x3WeightsVnni(w.data(), C);
    x86::DwConv3x3VnniOutputStage stage;
    if (!useFlat && !x86::prepareDwConv3x3VnniOutputStage(C, adjusted.data(), requant.data(), q, &stage)) {
      std::fprintf(stderr, "edgeopt_bench_depthwise: the output stage was not prepared\n");
      return 1;
    }
    x86::AlignedVector<uint8_t> scratch(std::max(x86::dwConv3x3VnniFlatScratchBytes(d), x86::dwConv3x3VnniFusedScratchBytes()));
    std::vector<uint8_t> yOwn(static_cast<size_t>(N * outImage));
    auto runOwn = [&] {
      for (int64_t img = 0; img < N; ++img) {
        const uint8_t* xi = x.data() + img * inImage;
        uint8_t* yi = yOwn.data() + img * outImage;
        if (useFlat)
          for (int64_t oh = 0; oh < O; oh += 2)
            x86::qu8_dwconv3x3s1_flat_requant_rows__avx512vnni(d, flat, oh, std::min<int64_t>(2, O - oh), xi, scratch.data(),
                                                               yi + oh * O * C);
        else
          for (int64_t oh = 0; oh < O; ++oh)
            x86::qu8_dwconv3x3_requant_row__avx512vnni(d, oh, xi, packed.data(), stage, scratch.data(), yi + oh * O * C);
      }
    };

    // oneDNN, int32 output then edgeopt's output stage; and with its own u8 output stage.
    const dnnl::memory::desc src({N, C, H, H}, DT::u8, Tag::nhwc), anyW({C, 1, 1, 3, 3}, DT::s8, Tag::any);
    const dnnl::memory::desc dstS32({N, C, O, O}, DT::s32, Tag::nhwc), dstU8({N, C, O, O}, DT::u8, Tag::nhwc);
    const int64_t padR = (O - 1) * l.stride + 3 - H - 1;
    auto primitiveDesc = [&](const dnnl::memory::desc& dst, bool ownOutputStage) {
      dnnl::primitive_attr attr;
      attr.set_zero_points(DNNL_ARG_SRC, 0, {xZeroPoint});
      if (ownOutputStage) {
        attr.set_output_scales(2, scales);
        attr.set_zero_points(DNNL_ARG_DST, 0, {qu8.output_zero_point});
      }
      dnnl::convolution_forward::desc cd(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, src, anyW,
                                         dnnl::memory::desc({C}, DT::s32, Tag::a), dst, {l.stride, l.stride}, {0, 0}, {1, 1},
                                         {padR, padR});
      return dnnl::convolution_forward::primitive_desc(cd, attr, engine);
    };
    const auto pdS32 = primitiveDesc(dstS32, false), pdU8 = primitiveDesc(dstU8, true);
    const dnnl::memory::desc userW({C, 1, 1, 3, 3}, DT::s8, Tag::goihw), biasMd({C}, DT::s32, Tag::a);
    auto reordered = [&](const dnnl::memory::desc& to) {
      dnnl::memory user(userW, engine, w.data()), packedW(to, engine);
      dnnl::reorder(user, packedW).execute(stream, user, packedW);
      stream.wait();
      return packedW;
    };
    dnnl::memory xM(src, engine, x.data()), biasM(biasMd, engine, bias.data());
    dnnl::memory wS32 = reordered(pdS32.weights_desc()), wU8 = reordered(pdU8.weights_desc());
    dnnl::memory accM(dstS32, engine), yU8(dstU8, engine);
    const dnnl::convolution_forward convS32(pdS32), convU8(pdU8);
    const x86::Requantizer requantizer(C, nullptr, requant.data(), q);
    std::vector<uint8_t> yS32(yOwn.size());
    auto runS32 = [&] {
      convS32.execute(stream, {{DNNL_ARG_SRC, xM}, {DNNL_ARG_WEIGHTS, wS32}, {DNNL_ARG_BIAS, biasM}, {DNNL_ARG_DST, accM}});
      stream.wait();
      requantizer.run(N * O * O, static_cast<const int32_t*>(accM.get_data_handle()), yS32.data());
    };
    auto runU8 = [&] {
      convU8.execute(stream, {{DNNL_ARG_SRC, xM}, {DNNL_ARG_WEIGHTS, wU8}, {DNNL_ARG_BIAS, biasM}, {DNNL_ARG_DST, yU8}});
      stream.wait();
    };
    std::vector<double> own, s32, u8;
    for (int r = 0; r < rounds; ++r) {
      own.push_back(millis(runOwn));
      s32.push_back(millis(runS32));
      u8.push_back(millis(runU8));
    }
    // The two bit-exact paths agree (a broken setup would make the timings meaningless).
    if (yOwn != yS32) {
      std::fprintf(stderr, "edgeopt_bench_depthwise: edgeopt and oneDNN s32 + output stage disagree on layer C=%ld %ldx%ld\n",
                   static_cast<long>(C), static_cast<long>(H), static_cast<long>(H));
      return 1;
    }
    const double mOwn = medianOf(own), mS32 = medianOf(s32), mU8 = medianOf(u8);
    sumOwn += mOwn;
    sumS32 += mS32;
    sumU8 += mU8;
    char name[64];
    std::snprintf(name, sizeof name, "%ldx%ldx%ldx%ld s%ld %s", static_cast<long>(N), static_cast<long>(C), static_cast<long>(H),
                  static_cast<long>(H), static_cast<long>(l.stride), useFlat ? "flat" : "block");
    std::printf("%-22s %9.4f %13.4f %10.4f %10.2f %10.2f\n", name, mOwn, mS32, mU8, mS32 / mOwn, mU8 / mOwn);
  }
  std::printf("%-22s %9.4f %13.4f %10.4f %10.2f %10.2f\n", "sum", sumOwn, sumS32, sumU8, sumS32 / sumOwn, sumU8 / sumOwn);
  return 0;
}
