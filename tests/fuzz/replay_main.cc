// A driver for edgeopt's fuzz targets where libFuzzer is not linked (g++ builds, ctest): runs the
// target on every file of the given files and folders (the seed corpus and every crash found so
// far, kept as regression inputs), then on --mutations N seeded mutations of each (bit flips,
// byte values at the edges of int8/int32/int64, truncation, duplication and splicing of
// another input), so that a plain CI run executes a fixed number of inputs per target. Exits 0;
// a finding ends the process (abort, sanitizer report, uncaught exception) like under libFuzzer.
//   replay_TARGET [--mutations N] [--seed S] [--verbose] PATH...
// --verbose names each input on stderr before running it (which one crashed).
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

std::vector<uint8_t> readBytes(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::vector<uint8_t> mutate(std::vector<uint8_t> b, const std::vector<std::vector<uint8_t>>& corpus, std::mt19937_64& rng) {
  auto pick = [&](size_t n) { return n ? static_cast<size_t>(rng() % n) : 0; };
  static const uint8_t kEdges[] = {0x00, 0x01, 0x7f, 0x80, 0xff, 0xfe};
  const int steps = 1 + static_cast<int>(rng() % 4);
  for (int s = 0; s < steps; ++s) {
    switch (rng() % 7) {
      case 0:
        if (!b.empty()) b[pick(b.size())] ^= static_cast<uint8_t>(1u << (rng() % 8));
        break;
      case 1:
        if (!b.empty()) b[pick(b.size())] = kEdges[rng() % sizeof kEdges];
        break;
      case 2:  // a little-endian 32- or 64-bit edge value (sizes, dims, offsets)
        if (b.size() >= 8) {
          const uint64_t values[] = {0, 1, 0x7fffffffULL, 0x80000000ULL, 0xffffffffULL, 0x7fffffffffffffffULL, ~0ULL, 1ULL << 32};
          const uint64_t v = values[rng() % 8];
          std::memcpy(&b[pick(b.size() - 7)], &v, (rng() % 2) ? 8 : 4);
        }
        break;
      case 3:
        if (!b.empty()) b.resize(pick(b.size()));
        break;
      case 4:
        if (!b.empty() && b.size() < (1u << 20)) {
          const size_t at = pick(b.size()), len = std::min<size_t>(1 + pick(64), b.size() - at);
          b.insert(b.begin() + static_cast<std::ptrdiff_t>(at), b.begin() + static_cast<std::ptrdiff_t>(at),
                   b.begin() + static_cast<std::ptrdiff_t>(at + len));
        }
        break;
      case 5:
        if (!b.empty()) b.erase(b.begin() + static_cast<std::ptrdiff_t>(pick(b.size())));
        break;
      default:
        if (!corpus.empty()) {  // splice: our head, another input's tail
          const auto& other = corpus[pick(corpus.size())];
          if (!other.empty()) {
            b.resize(pick(b.size() + 1));
            b.insert(b.end(), other.begin() + static_cast<std::ptrdiff_t>(pick(other.size())), other.end());
          }
        }
    }
  }
  return b;
}

}  // namespace

int main(int argc, char** argv) {
  long mutations = 0;
  uint64_t seed = 1;
  bool verbose = false;
  std::vector<std::filesystem::path> files;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--mutations" && i + 1 < argc) {
      mutations = std::strtol(argv[++i], nullptr, 10);
    } else if (a == "--verbose") {
      verbose = true;
    } else if (a == "--seed" && i + 1 < argc) {
      seed = std::strtoull(argv[++i], nullptr, 10);
    } else if (std::filesystem::is_directory(a)) {
      for (const auto& e : std::filesystem::recursive_directory_iterator(a))
        if (e.is_regular_file()) files.push_back(e.path());
    } else if (std::filesystem::is_regular_file(a)) {
      files.push_back(a);
    } else {
      std::fprintf(stderr, "%s: no such file or folder: %s\n", argv[0], a.c_str());
      return 2;
    }
  }
  std::sort(files.begin(), files.end());
  std::vector<std::vector<uint8_t>> corpus;
  for (const auto& f : files) corpus.push_back(readBytes(f));
  const auto start = std::chrono::steady_clock::now();
  long executions = 0;
  for (size_t i = 0; i < corpus.size(); ++i) {
    if (verbose) std::fprintf(stderr, "%s\n", files[i].c_str());
    LLVMFuzzerTestOneInput(corpus[i].data(), corpus[i].size());
    ++executions;
  }
  std::mt19937_64 rng(seed);
  for (long m = 0; m < mutations && !corpus.empty(); ++m) {
    const std::vector<uint8_t> input = mutate(corpus[m % static_cast<long>(corpus.size())], corpus, rng);
    if (verbose) std::fprintf(stderr, "mutation %ld of %s\n", m, files[m % static_cast<long>(corpus.size())].c_str());
    LLVMFuzzerTestOneInput(input.data(), input.size());
    ++executions;
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%s: %zu corpus inputs, %ld executions in %.1f s, no crash\n", argv[0], corpus.size(), executions, seconds);
  return 0;
}
