#!/usr/bin/env bash
# Installs edgeopt from BUILD_DIR into a temporary prefix, then configures, builds and runs a
# consumer project that uses find_package(edgeopt).
# Usage: test_package.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1 src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
cmake -S "$src/tests/package" -B "$tmp/consumer" -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/consumer" >/dev/null
"$tmp/consumer/consumer" "$src/examples/tiny_cnn.onnx"

# The x86 runner that `edgeopt compile` writes builds against the same install and computes what
# `edgeopt run --target x86` computes.
"$tmp/prefix/bin/edgeopt" compile "$src/examples/tiny_cnn.onnx" -o "$tmp/out" --targets x86 --iters 2 >/dev/null
cmake -S "$tmp/out/x86" -B "$tmp/runner" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/runner" >/dev/null
"$tmp/runner/model_runner" "$tmp/out/model.opt.onnx" "$src/examples/tiny_cnn.input.npy" "$tmp/a.npy" --iters 2
"$tmp/prefix/bin/edgeopt" run "$tmp/out/model.opt.onnx" -i "$src/examples/tiny_cnn.input.npy" -o "$tmp/b.npy" --target x86 >/dev/null
cmp "$tmp/a.npy" "$tmp/b.npy"
echo "x86 runner output matches edgeopt run --target x86"
