#!/usr/bin/env bash
# The README's first command: install what is missing, build, and run the main job on a bundled
# example: a trained zoo model is inspected, cleaned up by the pass pipeline, and evaluated on the
# bundled Fashion-MNIST images. The job grows into `edgeopt compile` as the compression pipeline
# lands, under the same command.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
mkdir -p out
model=tools/zoo/models/resnet_fm.onnx
spec=channels=gray,scale=1/255,mean=0.2860,std=0.3530
run() { echo "== edgeopt $*" >&2; build/tools/edgeopt "$@"; }
run inspect "$model"
run optimize "$model" -o out/resnet_fm.opt.onnx
run eval out/resnet_fm.opt.onnx --data calib_data/fashion_mnist_500 --preprocess "$spec" --json > out/resnet_fm.eval.json
grep -E '^  "(samples|top1|top5)"' out/resnet_fm.eval.json
echo "wrote out/resnet_fm.opt.onnx and out/resnet_fm.eval.json"
