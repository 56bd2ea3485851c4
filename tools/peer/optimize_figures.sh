#!/usr/bin/env bash
# Figures for the cleanup pipeline on given models: node counts before/after, BatchNormalization
# nodes left, agreement of the optimized model with the original in ONNX Runtime, and the
# reference executor's latency on both (medians over ROUNDS alternating rounds of 3 runs each).
#
#   tools/peer/optimize_figures.sh [--rounds 5] [--shape input=1x3x224x224] MODEL.onnx ...
set -euo pipefail
cd "$(dirname "$0")/../.."
edgeopt=build/tools/edgeopt
rounds=5 shape_args=()
models=()
while (($#)); do
  case $1 in
    --rounds) rounds=$2; shift 2 ;;
    --shape) shape_args=(--shape "$2"); shift 2 ;;
    *) models+=("$1"); shift ;;
  esac
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
median() { sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
bn_count() { "$edgeopt" inspect --json "$1" | grep -c '"op": "BatchNormalization"' || true; }
printf '%-22s %8s %8s %6s %7s %14s %12s %12s\n' model nodes_in nodes_out bn_in bn_left ort_max_rel ref_ms_in ref_ms_out
for m in "${models[@]}"; do
  name=$(basename "$m" .onnx)
  "$edgeopt" optimize "$m" -o "$tmp/$name.opt.onnx" --verify "${shape_args[@]}" > "$tmp/$name.table"
  nodes=$(grep '^nodes:' "$tmp/$name.table" | awk '{print $2, $4}')
  cmp=$(node tools/peer/compare_models_ort.js "$m" "$tmp/$name.opt.onnx" "${shape_args[@]}")
  rel=$(echo "$cmp" | grep -o '"max_rel_err":[^,}]*' | cut -d: -f2 | sort -g | tail -1)
  # One seeded input of the model's (or --shape's) dims for the timing runs.
  node -e "
    const ort = require('./tools/peer/node_modules/onnxruntime-node');
    const { randomFeeds } = require('./tools/peer/common');
    const { writeNpy } = require('./tools/peer/npy');
    const shapes = {}; const a = process.argv.slice(2);
    if (a[0]) { const [n, d] = a[0].split('='); shapes[n] = d.split('x').map(Number); }
    ort.InferenceSession.create('$m').then((s) => {
      const f = randomFeeds(ort, s, shapes, 1); const t = f[s.inputNames[0]];
      writeNpy('$tmp/in.npy', 'float32', t.dims, t.data);
    });" "${shape_args[1]:-}"
  : > "$tmp/a"; : > "$tmp/b"
  for ((r = 0; r < rounds; ++r)); do
    "$edgeopt" run "$m" -i "$tmp/in.npy" -o "$tmp/o.npy" --iters 3 | grep -o 'median [0-9.]*' | cut -d' ' -f2 >> "$tmp/a"
    "$edgeopt" run "$tmp/$name.opt.onnx" -i "$tmp/in.npy" -o "$tmp/o.npy" --iters 3 | grep -o 'median [0-9.]*' | cut -d' ' -f2 >> "$tmp/b"
  done
  printf '%-22s %8s %8s %6s %7s %14.3g %12s %12s\n' "$name" $nodes "$(bn_count "$m")" "$(bn_count "$tmp/$name.opt.onnx")" "$rel" \
    "$(median < "$tmp/a")" "$(median < "$tmp/b")"
done
