#!/usr/bin/env bash
# report.json against its JSON Schema (docs/report.schema.json, validated by Debian's
# python3-jsonschema) for compile runs that between them write every part of the report: x86 and
# arm-neon rows with accuracy, estimates and kept-in-float nodes, quantization, budgets; the
# fpga-hls hardware row; prune and fine-tune stages with unstructured sparsity; the exit stage. Plus every other
# report.json found under WORKDIR's parent (what other tests left). Skipped (77) without
# python3-jsonschema.
# Usage: schema_check.sh EDGEOPT_CLI SOURCE_DIR WORKDIR
set -uo pipefail
cli=$1 src=$2 work=$3
py=/usr/bin/python3
"$py" -c "import jsonschema" 2>/dev/null || { echo "python3-jsonschema not installed: skipped"; exit 77; }
rm -rf "$work" && mkdir -p "$work"
zoo=$src/tools/zoo/models
data=$src/calib_data/fashion_mnist_500
pre=channels=gray,scale=1/255,mean=0.2860,std=0.3530
run() {
  local name=$1; shift
  "$cli" compile "$@" -o "$work/$name" --quiet > "$work/$name.log" 2>&1
  local rc=$?
  # 3: a broken budget still writes the report (run "budgets" breaks one on purpose).
  if [ $rc -ne 0 ] && [ $rc -ne 3 ]; then echo "compile $name failed ($rc):"; cat "$work/$name.log"; exit 1; fi
}
run targets "$zoo/resnet_fm.onnx" --targets x86,arm-neon,ref --calib "$data" --limit 32 --preprocess "$pre" --eval "$data" \
    --eval-limit 64 --iters 2 --budget "top1_drop<=0.5,latency.x86<=1s,size.int8<=10KB,memory<1GiB,macs<=20M,peak_rss<=4000"
run fpga "$zoo/resnet_fm.onnx" --targets fpga-hls --calib "$data" --limit 32 --preprocess "$pre"
run stages "$zoo/mobilenet_v2_fm.onnx" --targets x86 --calib "$data" --limit 32 --preprocess "$pre" --eval "$data" --eval-limit 64 \
    --iters 2 --prune-macs 0.6 --prune-unstructured 0.2 --train "$data" --train-limit 96 --finetune-epochs 1 --finetune-batch 32
run exits "$zoo/resnet_fm.onnx" --targets x86 --calib "$data" --limit 32 --preprocess "$pre" --eval "$data" --eval-limit 64 \
    --iters 2 --train "$data" --exits --exit-epochs 2
"$py" - "$src/docs/report.schema.json" "$work/.." <<'PY'
import glob, json, os, sys
import jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
validator = jsonschema.Draft202012Validator(schema)
files = sorted(set(glob.glob(os.path.join(sys.argv[2], "**", "report.json"), recursive=True)))
bad = 0
for f in files:
    errors = sorted(validator.iter_errors(json.load(open(f))), key=lambda e: list(e.path))
    for e in errors[:5]:
        print("%s: %s: %s" % (f, "/".join(map(str, e.path)) or "(top)", e.message[:200]))
    bad += bool(errors)
print("%d report.json files checked, %d invalid" % (len(files), bad))
sys.exit(1 if bad or len(files) < 3 else 0)
PY
