#!/usr/bin/env bash
# The README's first command: install what is missing, build, and run the main job on a bundled
# example model. Today the main job is `inspect` + `run` with the reference executor; it grows
# into `edgeopt compile` as the compression pipeline lands, under the same command.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
mkdir -p out
echo "== edgeopt inspect examples/tiny_cnn.onnx"
build/tools/edgeopt inspect examples/tiny_cnn.onnx
echo "== edgeopt run examples/tiny_cnn.onnx --input examples/tiny_cnn.input.npy --output out/tiny_cnn.output.npy"
build/tools/edgeopt run examples/tiny_cnn.onnx --input examples/tiny_cnn.input.npy --output out/tiny_cnn.output.npy
echo "wrote out/tiny_cnn.output.npy"
