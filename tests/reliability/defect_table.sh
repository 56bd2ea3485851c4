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
# The cases live outside the build tree and go afterwards: they hold stand-ins for user files (a
# report.json of "{}") that report_json_matches_schema, which validates every report.json left
# under the build tree, must not find (ctest may run both at once).
cases=$(mktemp -d "${TMPDIR:-/tmp}/edgeopt-defects-XXXXXX")
# Under AddressSanitizer (tools/ci/sanitize.sh sets ASAN_OPTIONS) no address-space limit (its shadow
# memory is a terabyte-sized reservation) and room for its own bookkeeping in the RSS contract.
limits=()
[ -n "${ASAN_OPTIONS:-}" ] && limits=(--address-limit-gib 0 --rss-limit-mb 2048)
EDGEOPT_DEFECT_CACHE=$work "$py" "$src/tests/reliability/defect_table.py" --edgeopt "$cli" --check --work "$cases" --show-first-line "${limits[@]}"
rc=$?
rm -rf "$cases"
exit $rc
