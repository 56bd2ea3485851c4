#!/usr/bin/env bash
# ctest driver: optimizes MODEL with `edgeopt optimize --verify`, then checks in ONNX Runtime that
# the optimized model computes what the original computes. Exit 77 (skip) without ORT.
# Usage: optimize_and_compare.sh EDGEOPT PEER_DIR MODEL [--shape NAME=DIMS]
set -euo pipefail
edgeopt=$1 peer=$2 model=$3
shift 3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$edgeopt" optimize "$model" -o "$tmp/optimized.onnx" --verify "$@"
node "$peer/compare_models_ort.js" "$model" "$tmp/optimized.onnx" --tol 1e-4 "$@"
