#!/usr/bin/env bash
# The documented CI examples (docs/ci/github-actions.yml, docs/ci/gitlab-ci.yml) parse as YAML
# (Debian's python3-yaml), and the edgeopt command each runs is executed as written, in a folder
# laid out like the repository, with the example recipe (docs/edgeopt.example.toml): it must pass
# its budgets (exit 0) and write the report and the JUnit file its CI job publishes. Skipped (77)
# without python3-yaml.
# Usage: ci_examples.sh EDGEOPT_CLI SOURCE_DIR WORKDIR
set -euo pipefail
cli=$1 src=$2 work=$3
py=/usr/bin/python3
"$py" -c "import yaml" 2>/dev/null || { echo "python3-yaml not installed: skipped"; exit 77; }
rm -rf "$work" && mkdir -p "$work/build/tools"
for d in tools calib_data docs; do ln -s "$src/$d" "$work/$d"; done
ln -s "$cli" "$work/build/tools/edgeopt"
commands=$("$py" - "$src/docs/ci/github-actions.yml" "$src/docs/ci/gitlab-ci.yml" <<'PY'
import sys, yaml
found = []
gh = yaml.safe_load(open(sys.argv[1]))
for job in gh["jobs"].values():
    found += [s["run"] for s in job["steps"] if "edgeopt compile" in s.get("run", "")]
gl = yaml.safe_load(open(sys.argv[2]))
for name, job in gl.items():
    if isinstance(job, dict) and "script" in job:
        found += [line for line in job["script"] if "edgeopt compile" in line]
        assert job["artifacts"]["reports"]["junit"], "the GitLab job publishes the JUnit file"
assert len(found) == 2, found
assert len(set(found)) == 1, "both CI examples run the same command: %s" % found
print(found[0])
PY
)
echo "== $commands"
cd "$work"
eval "$commands"
test -s out/recipe_example/report.json
grep -q '<testsuites name="edgeopt budgets"' out/recipe_example.junit.xml
echo "ok: the CI examples' command passed its budgets and wrote the report and the JUnit file"
