#!/usr/bin/env bash
# The README's first command: install what is missing, build, and run the main job on a bundled
# example: a trained zoo model is inspected, cleaned up by the pass pipeline, quantized to int8
# with the bundled Fashion-MNIST images as calibration data, and both versions are evaluated on
# those images. The job grows into `edgeopt compile` as the pipeline lands, under the same command.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
mkdir -p out
model=tools/zoo/models/resnet_fm.onnx
spec=channels=gray,scale=1/255,mean=0.2860,std=0.3530
run() { echo "== edgeopt $*" >&2; build/tools/edgeopt "$@"; }
run inspect "$model"
run optimize "$model" -o out/resnet_fm.opt.onnx
run quantize "$model" --calib calib_data/fashion_mnist_500 --preprocess "$spec" -o out/resnet_fm.int8.onnx \
    --report out/resnet_fm.int8.report.json
for variant in opt int8; do
  run eval out/resnet_fm.$variant.onnx --data calib_data/fashion_mnist_500 --preprocess "$spec" --json \
      > out/resnet_fm.$variant.eval.json
  echo "$variant: $(grep -E '^  "(top1|samples)"' out/resnet_fm.$variant.eval.json | tr -d '\n ')"
done
echo "wrote out/resnet_fm.{opt,int8}.onnx, out/resnet_fm.{opt,int8}.eval.json, out/resnet_fm.int8.report.json"
