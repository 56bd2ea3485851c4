#!/usr/bin/env bash
# compile's budget JUnit file read by a real JUnit consumer (Debian's python3-junitparser, the
# library CI report tools build on): one passing and one broken budget on the zoo ResNet, exit 3,
# and the parsed suite has the test cases, failures and messages compile reported. Skipped (77)
# without python3-junitparser.
# Usage: junit_consumer.sh EDGEOPT_CLI SOURCE_DIR WORKDIR
set -uo pipefail
cli=$1 src=$2 work=$3
py=/usr/bin/python3
"$py" -c "import junitparser" 2>/dev/null || { echo "python3-junitparser not installed: skipped"; exit 77; }
rm -rf "$work" && mkdir -p "$work"
"$cli" compile "$src/tools/zoo/models/resnet_fm.onnx" -o "$work/out" --targets x86 --calib "$src/calib_data/fashion_mnist_500" \
  --limit 32 --preprocess channels=gray,scale=1/255,mean=0.2860,std=0.3530 --iters 2 --quiet \
  --budget "latency.x86<=10s,size.int8<=10KB" --junit "$work/budgets.xml" > /dev/null 2> "$work/stderr"
rc=$?
[ $rc -eq 3 ] || { echo "expected exit 3 (a broken budget), got $rc:"; cat "$work/stderr"; exit 1; }
"$py" - "$work/budgets.xml" <<'PY'
import sys
from junitparser import JUnitXml, Failure
xml = JUnitXml.fromfile(sys.argv[1])
suites = list(xml) if hasattr(xml, "__iter__") else [xml]
cases = [c for s in suites for c in s]
failed = [c for c in cases if any(isinstance(r, Failure) for r in c.result)]
print("suites %d, cases %d, failed %d" % (len(suites), len(cases), len(failed)))
for c in cases:
    print("  %-28s %-22s %s" % (c.classname, c.name, "; ".join(r.message for r in c.result) or "passed"))
assert len(cases) == 3, "latency x fp32/int8 and size x int8"
assert [c.classname for c in failed] == ["edgeopt.budget.x86.int8"], failed
assert failed[0].name == "size.int8<=10KB"
assert failed[0].result[0].message.startswith("size.x86.int8 <= 10 KB: ")
PY
