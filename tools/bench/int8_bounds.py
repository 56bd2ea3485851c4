#!/usr/bin/python3
"""How close an int8 model runs to what edgeopt's integer contract allows on this CPU.

  int8_bounds.py MODEL [--top N] [-- BENCH ARGS...]    runs `edgeopt bench MODEL --json BENCH ARGS`
  int8_bounds.py --json FILE [--top N]                  reads a saved `edgeopt bench --json` output

Every int8 convolution or matrix product does two things that cannot be skipped: its multiply-
accumulates, at best at the measured AVX-512 VNNI peak (a depthwise 3x3 uses three of the four
bytes of each vpdpbusd lane, so three quarters of it), and one requantization per output element
(kernels/ref/quant.h), at best at the measured output-stage rate. Both rates are measured by
`edgeopt bench` itself in the same process. Per layer this prints the measured time against
  serial floor   MAC time + output-stage time (no overlap between the two), and
  overlap floor  max(MAC time, output-stage time) (perfect overlap; on this CPU vpdpbusd and the
                 output stage's 64-bit multiplies share execution ports, so it is not reachable),
and the totals, with the other steps (pooling, adds, quantize/dequantize) at their measured time.
A model cannot run faster than the total overlap floor plus its other steps with this arithmetic.
"""
import argparse
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EDGEOPT = os.environ.get("EDGEOPT", os.path.join(ROOT, "build", "tools", "edgeopt"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model", nargs="?", help="an int8 (QDQ) ONNX model to bench")
    ap.add_argument("--json", help="a saved `edgeopt bench --json` output instead of running bench")
    ap.add_argument("--top", type=int, default=10, help="layers to list, furthest from their floor first")
    ap.add_argument("bench", nargs=argparse.REMAINDER, help="-- then arguments for edgeopt bench")
    a = ap.parse_args()
    if bool(a.model) == bool(a.json):
        ap.error("give either MODEL or --json FILE")
    if a.json:
        with open(a.json) as f:
            d = json.load(f)
    else:
        extra = [x for x in a.bench if x != "--"]
        cmd = [EDGEOPT, "bench", a.model, "--target", "x86", "--json"] + extra
        d = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    peak = d.get("measured_peak_gops", {}).get("int8", 0) * 1e9 / 2  # MAC/s
    rate = d.get("measured_output_stage_goutputs_per_s", 0) * 1e9  # outputs/s
    if peak <= 0 or rate <= 0:
        sys.exit("int8_bounds.py: error: the bench output has no measured int8 peak or output-stage rate "
                 "(not the x86 target, or no AVX-512 VNNI)")
    rows, other = [], 0.0
    for s in d["steps"]:
        if not (s["op"].startswith("edgeopt.Q") and s.get("macs", 0) > 0):
            other += s["median_ms"]
            continue
        mac_peak = peak * (0.75 if "dwconv" in s["kernel"] else 1.0)
        mac_ms = s["macs"] / mac_peak * 1e3
        out_ms = s["outputs"] / rate * 1e3
        rows.append((s["median_ms"], mac_ms, out_ms, s["node"], s["kernel"]))
    print(f"measured: int8 peak {2 * peak / 1e9:.0f} GOP/s, output stage {rate / 1e9:.1f} G outputs/s; "
          f"latency median {d['latency_ms']['median']:.3f} ms")
    print(f"{'layer':<44} {'ms':>7} {'MACs ms':>8} {'output ms':>9} {'serial':>7} {'overlap':>7}  kernel")
    for r in sorted(rows, key=lambda r: r[0] - (r[1] + r[2]), reverse=True)[: a.top]:
        name = r[3] if len(r[3]) <= 44 else "..." + r[3][-41:]
        print(f"{name:<44} {r[0]:7.3f} {r[1]:8.3f} {r[2]:9.3f} {r[1] + r[2]:7.3f} {max(r[1], r[2]):7.3f}  {r[4]}")
    measured = sum(r[0] for r in rows)
    serial = sum(r[1] + r[2] for r in rows)
    overlap = sum(max(r[1], r[2]) for r in rows)
    print(f"int8 conv/gemm steps ({len(rows)}): measured {measured:.3f} ms, serial floor {serial:.3f} ms, "
          f"overlap floor {overlap:.3f} ms")
    print(f"other steps: {other:.3f} ms measured")
    print(f"model: measured {measured + other:.3f} ms (sum of step medians); floor with the other steps as measured: "
          f"serial {serial + other:.3f} ms, overlap {overlap + other:.3f} ms")


if __name__ == "__main__":
    main()
