#!/usr/bin/python3
"""Alternating A/B timings of `edgeopt bench` in one run (medians over rounds).

  alternate.py kernels depthwise|gemm MODEL [--rounds N] [-- BENCH ARGS...]
      edgeopt's own int8 kernels against oneDNN's (bench --onednn-depthwise / --onednn-gemm),
      per layer that edgeopt's kernel runs, with the sums and the whole-model latency.
  alternate.py builds OLD_EDGEOPT MODEL [--rounds N] [-- BENCH ARGS...]
      another edgeopt binary (e.g. an older commit's build) against this one, whole-model latency.

Uses build/tools/edgeopt of this checkout (or $EDGEOPT). The machine is shared and noisy:
compare ratios from one run, never numbers from different days.
"""
import argparse
import collections
import json
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EDGEOPT = os.environ.get("EDGEOPT", os.path.join(ROOT, "build", "tools", "edgeopt"))
OWN_KERNEL = {"depthwise": "dwconv", "gemm": ("gemm_requant", "conv_requant")}


def bench(binary, model, extra):
    cmd = [binary, "bench", model, "--target", "x86", "--iters", "30", "--json"] + extra
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def kernels(args):
    marker = OWN_KERNEL[args.which]
    per_layer = collections.OrderedDict()
    latency = ([], [])
    for _ in range(args.rounds):
        own = bench(EDGEOPT, args.model, args.bench)
        other = bench(EDGEOPT, args.model, args.bench + ["--onednn-" + args.which])
        theirs = {s["node"]: s["median_ms"] for s in other["steps"]}
        for s in own["steps"]:
            if any(m in s["kernel"] for m in (marker if isinstance(marker, tuple) else (marker,))):
                entry = per_layer.setdefault(s["node"], ([], [], s["kernel"].split(" ")[0]))
                entry[0].append(s["median_ms"])
                entry[1].append(theirs.get(s["node"], float("nan")))
        latency[0].append(own["latency_ms"]["median"])
        latency[1].append(other["latency_ms"]["median"])
    total_own = total_other = 0.0
    print(f"{'layer':44s} {'edgeopt kernel':48s} {'own ms':>8s} {'oneDNN ms':>10s} {'oneDNN/own':>10s}")
    for node, (own_ms, other_ms, kernel) in per_layer.items():
        a, b = statistics.median(own_ms), statistics.median(other_ms)
        total_own += a
        total_other += b
        print(f"{node[-44:]:44s} {kernel[:48]:48s} {a:8.4f} {b:10.4f} {b / a:10.2f}")
    print(f"sum over {len(per_layer)} layers: own {total_own:.3f} ms, oneDNN {total_other:.3f} ms, "
          f"oneDNN/own {total_other / total_own:.2f}")
    print(f"model latency: own {statistics.median(latency[0]):.3f} ms, "
          f"oneDNN {args.which} {statistics.median(latency[1]):.3f} ms")


def builds(args):
    old, new = [], []
    for _ in range(args.rounds):
        old.append(bench(args.old, args.model, args.bench)["latency_ms"]["median"])
        new.append(bench(EDGEOPT, args.model, args.bench)["latency_ms"]["median"])
    o, n = statistics.median(old), statistics.median(new)
    print(f"{os.path.basename(args.model)}: old {o:.3f} ms, new {n:.3f} ms, new/old {n / o:.3f}")


def main():
    argv = sys.argv[1:]
    extra = []
    if "--" in argv:
        extra = argv[argv.index("--") + 1:]
        argv = argv[:argv.index("--")]
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="mode", required=True)
    k = sub.add_parser("kernels")
    k.add_argument("which", choices=sorted(OWN_KERNEL))
    k.add_argument("model")
    k.add_argument("--rounds", type=int, default=5)
    b = sub.add_parser("builds")
    b.add_argument("old")
    b.add_argument("model")
    b.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    args.bench = extra
    try:
        (kernels if args.mode == "kernels" else builds)(args)
    except subprocess.CalledProcessError as e:
        sys.stderr.write(f"alternate.py: error: {' '.join(e.cmd)} failed: {e.stderr.strip()}\n")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
