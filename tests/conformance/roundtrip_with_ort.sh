#!/usr/bin/env bash
# ctest driver: exports every importable ONNX backend case with edgeopt, then checks with ONNX
# Runtime that each export computes what its original computes. Exit 77 (skip) without ORT.
# Usage: roundtrip_with_ort.sh CONFORMANCE_BINARY ROUNDTRIP_SCRIPT
set -euo pipefail
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
# The conformance verdict itself is the onnx_backend_conformance test; here only the exports matter.
"$1" --export-dir "$dir" >/dev/null || true
node "$2" "$dir"
