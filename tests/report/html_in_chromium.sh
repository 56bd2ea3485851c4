#!/usr/bin/env bash
# report.html and `report --html` opened in headless Chromium (Debian's chromium): every plot is
# drawn (each <svg class="plot"> is laid out with a non-zero size and every data mark in it has a
# non-empty box), the page logs no console message or error, requests nothing (no resource
# entries; the file holds no script, src, href or url()), and the plots the run calls for are all
# there: the trade-off, sizes, per-layer SQNR, per-layer latency of every row, compression stages
# and channel groups, the FPGA resources; the diff page marks a worse figure red; split's page draws
# its sweep and bytes per cut. Skipped (77)
# without chromium.
# Usage: html_in_chromium.sh EDGEOPT_CLI SOURCE_DIR WORKDIR
set -uo pipefail
cli=$1 src=$2 work=$3
py=/usr/bin/python3
browser=$(command -v chromium || command -v chromium-browser) || { echo "chromium not installed: skipped"; exit 77; }
rm -rf "$work" && mkdir -p "$work"
zoo=$src/tools/zoo/models
data=$src/calib_data/fashion_mnist_500
pre=channels=gray,scale=1/255,mean=0.2860,std=0.3530

# Stages (prune + fine-tune), x86 / arm-neon / fpga-hls rows and a broken budget (exit 3; the
# report is still written).
"$cli" compile "$zoo/resnet_fm.onnx" -o "$work/a" --targets x86,arm-neon,fpga-hls --calib "$data" --limit 32 --preprocess "$pre" \
    --eval "$data" --eval-limit 96 --iters 3 --prune-macs 0.7 --train "$data" --train-limit 96 --finetune-epochs 1 \
    --finetune-batch 32 --budget "top1_drop<=5,size.x86.int8<=1KB" --quiet > "$work/a.log" 2>&1
rc=$?
[ $rc -eq 3 ] || { echo "compile: exit $rc, expected 3 (one budget broken on purpose)"; cat "$work/a.log"; exit 1; }
[ -s "$work/a/report.html" ] || { echo "compile wrote no report.html"; exit 1; }

# A second run that is worse on purpose: its report against the first one's, as a page.
"$py" - "$work/a/report.json" "$work/b.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
for e in r["results"]:
    e["latency_ms"]["median"] *= 1.5
json.dump(r, open(sys.argv[2], "w"))
PY
"$cli" report "$work/a/report.json" "$work/b.json" --html "$work/diff.html" --fail-on-worse > "$work/diff.log" 2>&1
rc=$?
[ $rc -eq 3 ] || { echo "report --fail-on-worse: exit $rc, expected 3"; cat "$work/diff.log"; exit 1; }


# Each page in Chromium with a probe (tests/report/check_page.sh): every plot drawn, nothing logged
# or requested; it prints the probe's JSON summary last.
"$src/tests/report/check_page.sh" "$work/a/report.html" tradeoff size stages prune-groups sqnr layers-0 layers-1 layers-2 layers-3 \
    hardware-3 > "$work/report.check" || { cat "$work/report.check"; exit 1; }
"$src/tests/report/check_page.sh" "$work/diff.html" diff-latency diff-top1 > "$work/diff.check" || { cat "$work/diff.check"; exit 1; }
# split's page: the bandwidth sweep and the bytes per cut.
"$cli" split "$zoo/resnet_fm.onnx" -o "$work/split" --bandwidth 1Gbps,10Gbps --rtt 0.01ms,0.01ms --scale device=4,cloud=0.2 --iters 3 \
    > "$work/split.log" 2>&1 || { echo "split failed"; cat "$work/split.log"; exit 1; }
"$src/tests/report/check_page.sh" "$work/split/split.html" sweep cut-bytes > "$work/split.check" || { cat "$work/split.check"; exit 1; }
cat "$work/report.check" "$work/diff.check" "$work/split.check"
"$py" - "$work" <<'PY'
import json, os, sys
work = sys.argv[1]
report = json.loads(open(os.path.join(work, "report.check")).read().splitlines()[-1])
diff = json.loads(open(os.path.join(work, "diff.check")).read().splitlines()[-1])
ok = True
if report["failRows"] < 1: print("report: the broken budget is not marked"); ok = False
if diff["worse"] < 4: print("diff: %d cells marked worse, expected the 4 slower rows" % diff["worse"]); ok = False
print("report.html %d bytes, diff.html %d bytes" % (os.path.getsize(os.path.join(work, "a/report.html")), os.path.getsize(os.path.join(work, "diff.html"))))
sys.exit(0 if ok else 1)
PY
