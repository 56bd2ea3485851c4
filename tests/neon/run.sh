#!/usr/bin/env bash
# Builds the NEON kernel tests for aarch64 (g++-aarch64-linux-gnu) into BUILD_DIR/neon and runs
# them under qemu-aarch64 for each CPU model. Exit 77 (ctest: skipped) when the cross compiler or
# qemu is missing; tools/setup.sh installs both.
# Usage: tests/neon/run.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$(realpath "$1") src=$(realpath "$2")
for tool in aarch64-linux-gnu-g++ qemu-aarch64; do
  command -v "$tool" >/dev/null || { echo "skipped: $tool not installed (apt-get install g++-aarch64-linux-gnu qemu-user)"; exit 77; }
done
cmake -S "$src/tests/neon" -B "$build/neon" -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_TOOLCHAIN_FILE="$src/cmake/toolchains/aarch64-linux-gnu.cmake" >/dev/null
cmake --build "$build/neon" >/dev/null
ctest --test-dir "$build/neon" --output-on-failure
