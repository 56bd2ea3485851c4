#!/usr/bin/env bash
# report.html and `report --html` opened in headless Chromium (Debian's chromium): every plot is
# drawn (each <svg class="plot"> is laid out with a non-zero size and every data mark in it has a
# non-empty box), the page logs no console message or error, requests nothing (no resource
# entries; the file holds no script, src, href or url()), and the plots the run calls for are all
# there: the trade-off, sizes, per-layer SQNR, per-layer latency of every row, compression stages
# and channel groups, the FPGA resources; the diff page marks a worse figure red. Skipped (77)
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

# Self-contained: nothing that could load anything.
for page in "$work/a/report.html" "$work/diff.html"; do
  if grep -n -i -E '<script|<link|<img|<iframe|src=|href=|url\(|@import' "$page" | head -3 | grep .; then
    echo "$page refers to something outside itself"; exit 1
  fi
done

# The page with a probe: errors caught from the first moment, the plots measured at the end.
probe() {
  local page=$1 out=$2
  "$py" - "$page" "$out" <<'PY'
import sys
html = open(sys.argv[1], encoding="utf-8").read()
catch = """<script>window.__errors=[];addEventListener('error',function(e){__errors.push(String(e.message||e.type))},true);
['error','warn','log','info'].forEach(function(k){var f=console[k];console[k]=function(){__errors.push(k+': '+[].join.call(arguments,' '));f.apply(console,arguments)}});</script>"""
check = """<script>(function(){var plots=[];document.querySelectorAll('svg.plot').forEach(function(s){var r=s.getBoundingClientRect();
var marks=s.querySelectorAll('g.marks rect, g.marks circle, g.marks polygon');var drawn=0;marks.forEach(function(m){var b=m.getBBox();if(b.width>0&&b.height>0)drawn++});
plots.push({name:s.dataset.plot,width:r.width,height:r.height,marks:marks.length,drawn:drawn})});
document.body.setAttribute('data-check',JSON.stringify({plots:plots,errors:__errors,resources:performance.getEntriesByType('resource').length,
worse:document.querySelectorAll('td.worse').length,failRows:document.querySelectorAll('tr.fail-row').length}))})();</script>"""
html = html.replace("<head>", "<head>" + catch, 1).replace("</body>", check + "</body>", 1)
open(sys.argv[2], "w", encoding="utf-8").write(html)
PY
}
probe "$work/a/report.html" "$work/probe_report.html"
probe "$work/diff.html" "$work/probe_diff.html"
for name in report diff; do
  # No network at all: every host name resolves to nothing.
  timeout 120 "$browser" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run \
      --host-resolver-rules="MAP * ~NOTFOUND" --enable-logging=stderr --v=0 --window-size=1200,900 \
      --dump-dom "file://$work/probe_$name.html" > "$work/$name.dom" 2> "$work/$name.chromium.log"
  rc=$?
  [ $rc -eq 0 ] && [ -s "$work/$name.dom" ] || { echo "chromium failed on $name ($rc):"; tail -5 "$work/$name.chromium.log"; exit 1; }
done

"$py" - "$work" <<'PY'
import html, json, re, sys, os
work = sys.argv[1]
def check(name):
    dom = open(os.path.join(work, name + ".dom"), encoding="utf-8").read()
    m = re.search(r'data-check="([^"]*)"', dom)
    if not m:
        print(name + ": the probe did not run"); return None
    c = json.loads(html.unescape(m.group(1)))
    console = [l for l in open(os.path.join(work, name + ".chromium.log"), errors="replace") if ":CONSOLE" in l]
    print("%s: %d plots; console %d, page errors %s, resources %d" % (name, len(c["plots"]), len(console), c["errors"], c["resources"]))
    bad = False
    for p in c["plots"]:
        ok = p["width"] > 0 and p["height"] > 0 and p["marks"] > 0 and p["drawn"] == p["marks"]
        print("  %-14s %4.0fx%-4.0f marks %3d drawn %3d %s" % (p["name"], p["width"], p["height"], p["marks"], p["drawn"], "ok" if ok else "NOT DRAWN"))
        bad |= not ok
    if console or c["errors"] or c["resources"]:
        print("  console:", console[:3]); bad = True
    return None if bad else c
report, diff = check("report"), check("diff")
ok = report is not None and diff is not None
if report:
    names = [p["name"] for p in report["plots"]]
    # x86 fp32 + int8, arm-neon int8 and fpga-hls int8 each have a per-layer latency plot.
    want = ["tradeoff", "size", "stages", "prune-groups", "sqnr", "layers-0", "layers-1", "layers-2", "layers-3", "hardware-3"]
    missing = [w for w in want if w not in names]
    if missing: print("report: missing plots", missing); ok = False
    if report["failRows"] < 1: print("report: the broken budget is not marked"); ok = False
if diff:
    if [p["name"] for p in diff["plots"]] != ["diff-latency", "diff-top1"]: print("diff: plots", diff["plots"]); ok = False
    if diff["worse"] < 4: print("diff: %d cells marked worse, expected the 4 slower rows" % diff["worse"]); ok = False
print("report.html %d bytes, diff.html %d bytes" % (os.path.getsize(os.path.join(work, "a/report.html")), os.path.getsize(os.path.join(work, "diff.html"))))
sys.exit(0 if ok else 1)
PY
