#!/usr/bin/env bash
# Every hostile input of issue 20 through the built CLI (tests/reliability/defect_table.py --check):
# the expected exit code, one error line, peak RSS under 400 MB, no hang, nothing written and the
# user's files intact. Skipped (77) without Debian's python3-onnx.
# Usage: defect_table.sh EDGEOPT_CLI SOURCE_DIR WORKDIR
set -uo pipefail
cli=$1 src=$2 work=$3
py=/usr/bin/python3
"$py" -c "import onnx, numpy" 2>/dev/null || { echo "python3-onnx/python3-numpy not installed: skipped"; exit 77; }
rm -rf "$work" && mkdir -p "$work"
EDGEOPT_DEFECT_CACHE=$work exec "$py" "$src/tests/reliability/defect_table.py" --edgeopt "$cli" --check --work "$work/cases" --show-first-line
