#!/usr/bin/env bash
# ctest driver: quantizes a zoo model with `edgeopt quantize` on the bundled calibration images,
# then checks that ONNX Runtime, running the exported QDQ model with its own int8 kernels, agrees
# with edgeopt's int8 execution on at least 99.9% of top-1 predictions over the first LIMIT
# Fashion-MNIST test images. Exit 77 (skip) without ORT or the dataset package.
# Usage: quantized_agreement.sh EDGEOPT SOURCE_DIR MODEL_NAME CALIBRATOR LIMIT
set -euo pipefail
edgeopt=$1 src=$2 name=$3 calibrator=$4 limit=$5
data=/usr/share/datasets/fashion-mnist
[ -f "$data/t10k-images-idx3-ubyte.gz" ] || { echo "dataset-fashion-mnist not installed"; exit 77; }
[ -d "$src/tools/peer/node_modules/onnxruntime-node" ] || { echo "onnxruntime-node not installed"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$edgeopt" quantize "$src/tools/zoo/models/$name.onnx" --calib "$src/calib_data/fashion_mnist_500" \
  --preprocess channels=gray,scale=1/255,mean=0.2860,std=0.3530 --calibrator "$calibrator" -o "$tmp/q.onnx"
"$edgeopt" eval "$tmp/q.onnx" --data "$data/t10k-images-idx3-ubyte.gz" --labels "$data/t10k-labels-idx1-ubyte.gz" \
  --preprocess scale=1/255,mean=0.2860,std=0.3530 --limit "$limit" --quiet --predictions "$tmp/edgeopt.npy"
node "$src/tools/peer/ort_predict.js" "$tmp/q.onnx" "$data/t10k-images-idx3-ubyte.gz" "$tmp/ort.npy" \
  --limit "$limit" --scale 0.00392156862745098 --mean 0.2860 --std 0.3530
node -e "
  const { readNpy } = require('$src/tools/peer/npy');
  const a = readNpy('$tmp/edgeopt.npy').data, b = readNpy('$tmp/ort.npy').data;
  let same = 0; for (let i = 0; i < a.length; ++i) same += a[i] === b[i];
  const agreement = same / a.length;
  console.log(JSON.stringify({ samples: a.length, agreement }));
  process.exit(agreement >= 0.999 ? 0 : 1);"
