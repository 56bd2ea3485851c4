#!/usr/bin/env bash
# The README's first command: install what is missing, build, and run the main job on a bundled
# example: `edgeopt compile` takes a trained zoo model through cleanup and int8 quantization
# (calibrated on the bundled Fashion-MNIST images: the first 500 of the test set), measures
# accuracy on the other 9,500 test images (held out; Debian's dataset-fashion-mnist) and latency
# for the x86 target in fp32 and int8, emits the ARM NEON package (its accuracy measured under
# qemu-aarch64), and writes the artifacts and the report to out/resnet_fm/.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
mkdir -p out
spec=channels=gray,scale=1/255,mean=0.2860,std=0.3530
echo "== edgeopt compile tools/zoo/models/resnet_fm.onnx -o out/resnet_fm ..." >&2
build/tools/edgeopt compile tools/zoo/models/resnet_fm.onnx -o out/resnet_fm --targets x86,arm-neon \
    --calib calib_data/fashion_mnist_500 --preprocess "$spec" \
    --eval /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz \
    --labels /usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz --eval-skip 500
