#!/usr/bin/env bash
# edgeopt's second CI script: the whole test suite built with clang under AddressSanitizer and
# UndefinedBehaviorSanitizer (any report fails the run), then each fuzz target (tests/fuzz) under
# libFuzzer for a fixed number of executions, seeded with tests/fuzz/corpus and the models and data
# of the repository and libonnx-testdata. Not part of .ci/run: it builds everything a second time
# (build-sanitize/) with instrumentation, which is slow.
#   tools/ci/sanitize.sh [--fuzz-runs N] [--skip-tests] [--skip-fuzz]
# A crash found is saved under build-sanitize/fuzz-findings/TARGET/ (libFuzzer's crash-* file):
# add it to tests/fuzz/corpus/ as a regression input once fixed.
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=20000 tests=1 fuzz=1
while [ $# -gt 0 ]; do
  case "$1" in
    --fuzz-runs) runs=$2; shift ;;
    --skip-tests) tests=0 ;;
    --skip-fuzz) fuzz=0 ;;
    *) echo "sanitize.sh: unknown option $1 (--fuzz-runs N, --skip-tests, --skip-fuzz)" >&2; exit 2 ;;
  esac
  shift
done

tools/setup.sh --deps --tests
missing=()
for p in clang libomp-dev; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

flags="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -fsanitize=fuzzer-no-link"
cmake -S . -B build-sanitize -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
      -DCMAKE_C_FLAGS="$flags" -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" \
      -DCMAKE_SHARED_LINKER_FLAGS="-fsanitize=address,undefined" -DEDGEOPT_FUZZ=ON >/dev/null
cmake --build build-sanitize -j"$(nproc)"

# Leaks are reported too; oneDNN's JIT and OpenMP keep their pools until exit (suppressed here).
export LSAN_OPTIONS="suppressions=$PWD/tools/ci/lsan.supp:print_suppressions=0"
export ASAN_OPTIONS="abort_on_error=1:detect_leaks=1:check_initialization_order=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
status=0
if ((tests)); then
  echo "== the test suite under ASan + UBSan" >&2
  # Left out, for time: the three zoo models over all 10,000 Fashion-MNIST test images against
  # PyTorch (over 20 minutes instrumented; the bundled subset runs), and PP-OCR det quantized with
  # four calibrators (past its 30-minute timeout instrumented; the first calibrator's row ran clean,
  # and realworld_paddleocr_det runs the same model).
  ctest --test-dir build-sanitize -j"$(nproc)" --output-on-failure --timeout 3600 \
        -E '^(ZooTest\.FullTestSetAccuracyEqualsTorch|realworld_paddleocr_det_text_mask|package_find_package)$' || status=1
  # The find_package consumer and compile's x86 runner are projects of their own that link the
  # instrumented libraries: CMake takes the compiler and flags from the environment on their first
  # configure. (Not for the other tests: the NEON package is cross-compiled for aarch64.)
  CC=clang CXX=clang++ CFLAGS="$flags" CXXFLAGS="$flags" LDFLAGS="-fsanitize=address,undefined" \
    ctest --test-dir build-sanitize --output-on-failure -R '^package_find_package$' || status=1
fi
if ((fuzz)); then
  findings=build-sanitize/fuzz-findings
  node_tests=/usr/share/libonnx-testdata/data/node
  [ -d "$node_tests" ] || node_tests=
  declare -A seeds=(
    [onnx_import]="tests/fuzz/corpus/onnx examples tools/zoo/models $node_tests"
    [execute]="tests/fuzz/corpus/onnx examples tools/zoo/models"
    [npy]="tests/fuzz/corpus/npy"
    [dataset]="tests/fuzz/corpus/dataset"
  )
  for name in onnx_import npy dataset execute; do
    echo "== fuzz_$name: $runs executions under libFuzzer" >&2
    mkdir -p "$findings/$name" "build-sanitize/fuzz-corpus/$name"
    # The first folder collects what libFuzzer adds; the seed folders are read only.
    # shellcheck disable=SC2086
    if ! build-sanitize/tests/fuzz_$name -runs="$runs" -rss_limit_mb=3072 -malloc_limit_mb=3072 -timeout=60 -max_len=1048576 \
         -artifact_prefix="$findings/$name/" "build-sanitize/fuzz-corpus/$name" ${seeds[$name]} \
         > "$findings/$name.log" 2>&1; then
      echo "fuzz_$name found a crash:" >&2; tail -30 "$findings/$name.log" >&2; status=1
    fi
    grep -E "^(#[0-9]+ +DONE|Done [0-9]+ runs)" "$findings/$name.log" | tail -1 >&2 || true
  done
fi
exit $status
