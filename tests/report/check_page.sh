#!/usr/bin/env bash
# Opens an edgeopt HTML page in headless Chromium (Debian's chromium) with a probe and checks it:
# every <svg class="plot"> laid out with a non-zero size and every data mark in it with a
# non-empty box; no console message or page error; no resource requested (every host name
# resolves to nothing, and the file may hold no script, src, href or url()); and, when given, that
# exactly these plots (data-plot names) are there. Prints a line per plot, then the probe's JSON
# (plots, errors, resources, cells marked worse, failed-budget rows) as the last line.
# Usage: check_page.sh PAGE.html [PLOT...]      exit 0 drawn; 1 not; 77 no chromium
set -uo pipefail
page=$1; shift
py=/usr/bin/python3
browser=$(command -v chromium || command -v chromium-browser) || { echo "chromium not installed"; exit 77; }
work=$(mktemp -d) && trap 'rm -rf "$work"' EXIT
if grep -n -i -E '<script|<link|<img|<iframe|src=|href=|url\(|@import' "$page" | head -3 | grep .; then
  echo "$page refers to something outside itself"; exit 1
fi
# Errors caught from the first moment; the plots measured once the page is laid out.
"$py" - "$page" "$work/probe.html" <<'PY'
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
timeout 120 "$browser" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run \
    --host-resolver-rules="MAP * ~NOTFOUND" --enable-logging=stderr --v=0 --window-size=1200,900 \
    --dump-dom "file://$work/probe.html" > "$work/dom" 2> "$work/chromium.log"
rc=$?
[ $rc -eq 0 ] && [ -s "$work/dom" ] || { echo "chromium failed ($rc):"; tail -5 "$work/chromium.log"; exit 1; }
"$py" - "$work" "$page" "$@" <<'PY'
import html, json, os, re, sys
work, page, want = sys.argv[1], sys.argv[2], sys.argv[3:]
dom = open(os.path.join(work, "dom"), encoding="utf-8").read()
m = re.search(r'data-check="([^"]*)"', dom)
if not m:
    print(page + ": the probe did not run"); sys.exit(1)
c = json.loads(html.unescape(m.group(1)))
console = [l.strip() for l in open(os.path.join(work, "chromium.log"), errors="replace") if ":CONSOLE" in l]
print("%s: %d plots; console messages %d, page errors %d, resources requested %d" % (page, len(c["plots"]), len(console), len(c["errors"]), c["resources"]))
bad = bool(console or c["errors"] or c["resources"])
for p in c["plots"]:
    ok = p["width"] > 0 and p["height"] > 0 and p["marks"] > 0 and p["drawn"] == p["marks"]
    print("  %-14s %4.0fx%-4.0f marks %3d drawn %3d %s" % (p["name"], p["width"], p["height"], p["marks"], p["drawn"], "ok" if ok else "NOT DRAWN"))
    bad |= not ok
for line in console[:3] + c["errors"][:3]:
    print("  logged:", line)
names = [p["name"] for p in c["plots"]]
if want and sorted(names) != sorted(want):
    print("  plots expected %s, found %s" % (want, names)); bad = True
print(json.dumps(c))
sys.exit(1 if bad else 0)
PY
