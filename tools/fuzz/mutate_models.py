#!/usr/bin/python3
"""Robustness check: mutates ONNX models and runs `edgeopt run` on them; every run must end with
exit code 0 or 2, and an exit 2 must print exactly one stderr line and leave no output behind.

Needs Debian's python3-onnx and python3-numpy (run with /usr/bin/python3) and an export folder
made by the conformance runner:

    build/tests/edgeopt_onnx_conformance --export-dir /tmp/rt
    /usr/bin/python3 tools/fuzz/mutate_models.py --cases /tmp/rt --edgeopt build/tools/edgeopt \
        --seed 1 --iterations 1500 --keep /tmp/crashes

Mutations are semantic (attribute values, integer initializer entries, truncated float
initializers), which reach the checker, libonnx shape inference, the version converter and the
executor's own validation; byte-level mutations mostly stop at the protobuf parser.
Crashing models are copied to --keep with the name of the case they came from.
"""
import argparse
import glob
import os
import random
import shutil
import subprocess
import sys
import tempfile

import onnx
from onnx import numpy_helper as nh


def random_int(rng):
    return rng.choice([-5, -2, -1, 0, 1, 2, 3, 7, 100, 1 << 32, 1 << 33])


def mutate(model, rng):
    g = model.graph
    for _ in range(rng.randint(1, 3)):
        if rng.random() < 0.5 and len(g.node):
            node = rng.choice(g.node)
            if not node.attribute:
                continue
            a = rng.choice(node.attribute)
            if a.type == onnx.AttributeProto.INT:
                a.i = random_int(rng)
            elif a.type == onnx.AttributeProto.INTS:
                del a.ints[:]
                a.ints.extend(random_int(rng) for _ in range(rng.randint(0, 5)))
            elif a.type == onnx.AttributeProto.FLOAT:
                a.f = rng.choice([0.0, -1.0, 1e30, float("nan")])
            elif a.type == onnx.AttributeProto.STRING:
                a.s = rng.choice([b"", b"SAME_UPPER", b"VALID", b"linear", b"edge", b"xyz"])
        elif len(g.initializer):
            t = rng.choice(g.initializer)
            arr = nh.to_array(t)
            if arr.dtype.kind in "iu" and arr.size:
                flat = arr.copy().reshape(-1)
                flat[rng.randrange(flat.size)] = random_int(rng) % (1 << 63)
                arr = flat.reshape(arr.shape)
            elif arr.size:
                arr = arr.reshape(-1)[: arr.size - 1]
            t.CopyFrom(nh.from_array(arr, t.name))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cases", required=True)
    p.add_argument("--edgeopt", required=True)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--iterations", type=int, default=1000)
    p.add_argument("--keep", default="crashes")
    args = p.parse_args()
    rng = random.Random(args.seed)
    cases = [d for d in sorted(glob.glob(os.path.join(args.cases, "*", "*")))
             if os.path.exists(os.path.join(d, "inputs.txt")) and "!" not in open(os.path.join(d, "inputs.txt")).read()]
    work = tempfile.mkdtemp(prefix="edgeopt-fuzz-")
    outcomes, bad = {}, 0
    try:
        for _ in range(args.iterations):
            case = rng.choice(cases)
            model = onnx.load(os.path.join(case, "model.onnx"))
            mutate(model, rng)
            path = os.path.join(work, "m.onnx")
            onnx.save(model, path)
            inputs = []
            for line in open(os.path.join(case, "inputs.txt")):
                name, file = line.split()
                inputs += ["--input", f"{name}={os.path.join(case, file)}"]
            out = os.path.join(work, "out")
            shutil.rmtree(out, ignore_errors=True)
            if os.path.exists(out):
                os.remove(out)
            r = subprocess.run([args.edgeopt, "run", path, *inputs, "--output", out], capture_output=True, timeout=120)
            outcomes[r.returncode] = outcomes.get(r.returncode, 0) + 1
            ok = r.returncode == 0 or (r.returncode == 2 and r.stderr.count(b"\n") == 1 and not os.path.exists(out))
            if not ok:
                bad += 1
                os.makedirs(args.keep, exist_ok=True)
                dest = os.path.join(args.keep, f"{bad}-{os.path.basename(case)}.onnx")
                shutil.copy(path, dest)
                print(f"exit {r.returncode}: {dest}: {r.stderr[:200]!r}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"runs by exit code: {dict(sorted(outcomes.items()))}; bad outcomes: {bad}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
