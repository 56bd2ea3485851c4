#!/usr/bin/env bash
# The README's second command (and what .ci/run calls): install what is missing, build, and run
# the whole test suite with ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh --tests
ctest --test-dir build --output-on-failure -j"$(nproc)"
