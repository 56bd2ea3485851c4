#!/usr/bin/python3
"""Runs every hostile input of issue 20 (reliability) through an edgeopt binary and prints, per case,
the exit status, the number of stderr lines, the peak RSS, the wall time and whether the case's
contract held (nothing written, the user's files intact, ...). With --before OLD it runs an older
binary on the same cases too and prints both side by side (the issue's before -> after table).

  /usr/bin/python3 tests/reliability/defect_table.py --edgeopt build/tools/edgeopt [--before OLD] [--check]

--check (ctest `reliability_defect_table`): exit 1 unless every case meets its contract with the
given binary: the expected exit code, exactly one stderr line for a refusal, peak RSS under 400 MB,
no timeout, and the case's own check. Each command runs with a 60 s timeout and a 16 GiB address-space
limit (so an old binary's runaway allocation fails instead of swapping the machine); both are printed
when they end a run. Needs Debian's python3-onnx and python3-numpy.
"""
import argparse
import fnmatch
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import zlib

import numpy as np
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from builders import idx_bytes, npy_header, png_bytes, raw_tensor, vi  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TINY = os.path.join(REPO, "examples", "tiny_cnn.onnx")
TIMEOUT_S = 60
ADDRESS_LIMIT = 16 << 30
RSS_LIMIT_MB = 400


# ---- inputs ---------------------------------------------------------------------------------------

def save_model(path, nodes, inputs, outputs, inits=(), opset=17):
    g = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    with open(path, "wb") as f:
        f.write(m.SerializeToString())


def external_tensor(name, dims, location, offset=None, length=None):
    t = TensorProto()
    t.name, t.data_type = name, TensorProto.FLOAT
    t.dims.extend(dims)
    t.data_location = TensorProto.EXTERNAL
    for k, v in (("location", location), ("offset", offset), ("length", length)):
        if v is not None:
            e = t.external_data.add()
            e.key, e.value = k, str(v)
    return t


def write(path, data):
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def png_header_only(width, height, color=0):
    """A PNG whose header declares width x height but whose data is a few zero bytes."""
    return png_bytes(width, height, color, zlib.compress(b"\0" * 16))


def png_black(path, width, height):
    """A real RGB PNG of width x height black pixels (a 30000x30000 one is 2.6 MB; cached)."""
    if os.path.exists(path):
        return
    z = zlib.compressobj(9)
    row = b"\0" * (1 + 3 * width)
    parts = [z.compress(row) for _ in range(height)]
    parts.append(z.flush())
    write(path + ".part", png_bytes(width, height, 2, b"".join(parts)))
    os.rename(path + ".part", path)


def tiny_input(d, name="x.npy", batch=1):
    np.save(os.path.join(d, name), np.zeros((batch, 1, 28, 28), np.float32))
    return name


def labelled_images(d, count=4):
    """An image folder with labels.csv, 28x28 gray PNGs (tiny_cnn's input)."""
    rows = []
    for i in range(count):
        raw = b"".join(b"\0" + bytes((x * 9 + y * 3 + i) % 256 for x in range(28)) for y in range(28))
        write(os.path.join(d, "imgs", "%d.png" % i), png_bytes(28, 28, 0, zlib.compress(raw)))
        rows.append("%d.png,%d\n" % (i, i % 10))
    write(os.path.join(d, "imgs", "labels.csv"), "".join(rows).encode())
    return "imgs"


def fashion_npy(d, batch=8, fill=0.5):
    np.save(os.path.join(d, "data.npy"), np.full((batch, 1, 28, 28), fill, np.float32))
    np.save(os.path.join(d, "labels.npy"), np.arange(batch, dtype=np.int64) % 10)


def slice_model(d, dims):
    save_model(os.path.join(d, "m.onnx"), [helper.make_node("Slice", ["big", "s", "e"], ["y"]),
                                           helper.make_node("Relu", ["x"], ["z"])],
               [vi("x", [1, 1, 28, 28])], [vi("y", 2), vi("z", 4)],
               [raw_tensor("big", dims, b"\0" * 8), numpy_helper.from_array(np.array([0], np.int64), "s"),
                numpy_helper.from_array(np.array([1], np.int64), "e")])
    tiny_input(d)


def identity_of(d, init):
    save_model(os.path.join(d, "m.onnx"), [helper.make_node("Identity", [init.name], ["y"]),
                                           helper.make_node("Relu", ["x"], ["z"])],
               [vi("x", [1, 1, 28, 28])], [vi("y", len(init.dims)), vi("z", 4)], [init])
    tiny_input(d)


def chain(d, op, count, opset, **attrs):
    x = vi("x", [1, 4, 8, 8])
    nodes = [helper.make_node(op, ["x" if i == 0 else "t%d" % (i - 1)], ["t%d" % i if i < count - 1 else "y"], **attrs)
             for i in range(count)]
    save_model(os.path.join(d, "m.onnx"), nodes, [x], [vi("y", 4)], opset=opset)


def conv_model(d, name="m.onnx", bias=None, x_dims=(1, 1, 28, 28), node_name="conv", op="Conv"):
    inits = [numpy_helper.from_array(np.ones((2, 1, 3, 3), np.float32), "w")]
    ins = ["x", "w"]
    if bias is not None:
        inits.append(numpy_helper.from_array(np.ones(bias, np.float32), "b"))
        ins.append("b")
    save_model(os.path.join(d, name), [helper.make_node(op, ins, ["y"], name=node_name)],
               [vi("x", list(x_dims))], [vi("y", 4)], inits)


# ---- checks after a run ----------------------------------------------------------------------------

def nothing_new(d, before):
    """The case's folder holds no file the run created (temporary names included)."""
    created = sorted(p for p in set(walk(d)) - before if not p.endswith(".edgeopt-lock"))  # the lock stays, by design
    return "" if not created else "left " + ", ".join(created[:3])


def walk(d):
    out = []
    for root, dirs, files in os.walk(d):
        for n in dirs + files:
            out.append(os.path.relpath(os.path.join(root, n), d))
    return out


# ---- the cases -------------------------------------------------------------------------------------
# Each: (id, issue item, what, setup(d) -> argv tail, expected exit after the fixes, check(d, before) -> problem or "").
# argv tails name files relative to the case folder, which is the working directory of the run.

CASES = []


def case(cid, item, what, expect=2, check=nothing_new):
    def wrap(fn):
        CASES.append(dict(id=cid, item=item, what=what, setup=fn, expect=expect, check=check))
        return fn
    return wrap


for target in ("ref", "x86"):
    @case("slice-overflow-run-%s" % target, 1, "`run --target %s`: Slice of an initializer [3, 6148914691236517206] (8 bytes)" % target)
    def _(d, target=target):
        slice_model(d, [3, 6148914691236517206])
        return ["run", "m.onnx", "-i", "x.npy", "-o", "out", "--target", target]


@case("slice-overflow-optimize", 1, "`optimize`: the same model")
def _(d):
    slice_model(d, [3, 6148914691236517206])
    return ["optimize", "m.onnx", "-o", "o.onnx"]


@case("slice-overflow-bench", 1, "`bench`: the same model")
def _(d):
    slice_model(d, [3, 6148914691236517206])
    return ["bench", "m.onnx", "--iters", "2", "--warmup", "0"]


@case("slice-overflow-compile", 1, "`compile`: the same model")
def _(d):
    slice_model(d, [3, 6148914691236517206])
    return ["compile", "m.onnx", "-o", "out"]


@case("slice-2e32-squared", 1, "`run`: Slice of an initializer [2^32, 2^32] with two values")
def _(d):
    slice_model(d, [1 << 32, 1 << 32])
    return ["run", "m.onnx", "-i", "x.npy", "-o", "out"]


@case("batch0-bench", 2, "`bench tiny_cnn --shape input=0x1x28x28`")
def _(d):
    shutil.copy(TINY, os.path.join(d, "m.onnx"))
    return ["bench", "m.onnx", "--shape", "input=0x1x28x28", "--iters", "2", "--warmup", "0"]


@case("batch0-run-x86", 2, "`run --target x86` on a (0,1,28,28) .npy")
def _(d):
    shutil.copy(TINY, os.path.join(d, "m.onnx"))
    tiny_input(d, batch=0)
    return ["run", "m.onnx", "-i", "x.npy", "-o", "y.npy", "--target", "x86"]


@case("batch0-declared", 2, "`run --target x86`: a graph input declared with batch 0")
def _(d):
    conv_model(d, x_dims=(0, 1, 28, 28))
    tiny_input(d, batch=0)
    return ["run", "m.onnx", "-i", "x.npy", "-o", "y.npy", "--target", "x86"]


@case("init-huge-8-bytes", 3, "`inspect`: an initializer [2^40, 2^20] with 8 bytes of raw_data")
def _(d):
    identity_of(d, raw_tensor("h", [1 << 40, 1 << 20], b"\0" * 8))
    return ["inspect", "m.onnx"]


@case("resize-huge-scales", 3, "`run`: Resize with scales 1e9 x 1e9")
def _(d):
    save_model(os.path.join(d, "m.onnx"), [helper.make_node("Resize", ["x", "", "sc"], ["y"], mode="nearest")],
               [vi("x", [1, 1, 28, 28])], [vi("y", 4)],
               [numpy_helper.from_array(np.array([1, 1, 1e9, 1e9], np.float32), "sc")])
    tiny_input(d)
    return ["run", "m.onnx", "-i", "x.npy", "-o", "y.npy"]


@case("npy-1e12", 3, "`run --input` of a .npy declaring (1e12,1,28,28) in 64 bytes")
def _(d):
    shutil.copy(TINY, os.path.join(d, "m.onnx"))
    write(os.path.join(d, "x.npy"), npy_header("<f4", "(1000000000000, 1, 28, 28)", b"\0" * 64))
    return ["run", "m.onnx", "-i", "x.npy", "-o", "y.npy"]


@case("optimize-verify-1e8", 3, "`optimize --verify --shape input=100000000x1x28x28`")
def _(d):
    shutil.copy(TINY, os.path.join(d, "m.onnx"))
    return ["optimize", "m.onnx", "-o", "o.onnx", "--verify", "--shape", "input=100000000x1x28x28"]


@case("external-dir", 3, "external-data location that is a folder")
def _(d):
    os.mkdir(os.path.join(d, "sub"))
    identity_of(d, external_tensor("e", [4], "sub"))
    return ["inspect", "m.onnx"]


@case("external-dot", 3, "external-data location `.`")
def _(d):
    identity_of(d, external_tensor("e", [4], "."))
    return ["inspect", "m.onnx"]


@case("external-wrap", 3, "external data offset 1, length INT64_MAX")
def _(d):
    write(os.path.join(d, "w.bin"), b"\0" * 64)
    identity_of(d, external_tensor("e", [4], "w.bin", 1, 2**63 - 1))
    return ["inspect", "m.onnx"]


@case("npy-20-digits", 3, "`run --input` of a .npy with shape (99999999999999999999,)")
def _(d):
    save_model(os.path.join(d, "m.onnx"), [helper.make_node("Relu", ["x"], ["y"])], [vi("x", ["n"])], [vi("y", 1)])
    write(os.path.join(d, "x.npy"), npy_header("<f4", "(99999999999999999999,)", b"\0" * 8))
    return ["run", "m.onnx", "-i", "x.npy", "-o", "y.npy"]


@case("idx-dims-overflow", 3, "`eval` of IDX images whose dims' product overflows, with a resize")
def _(d):
    shutil.copy(TINY, os.path.join(d, "m.onnx"))
    write(os.path.join(d, "img.idx"), idx_bytes(0x08, [0xFFFFFFFF, 0xFFFFFFFF, 0xFFFF], b"\0" * 32))
    write(os.path.join(d, "lab.idx"), idx_bytes(0x08, [3], b"\0\1\2"))
    return ["eval", "m.onnx", "--data", "img.idx", "--labels", "lab.idx", "--preprocess", "resize=28x28"]


@case("png-60000-header", 3, "`eval` of an image folder holding a PNG header of 60000x60000")
def _(d):
    shutil.copy(TINY, os.path.join(d, "m.onnx"))
    write(os.path.join(d, "imgs", "c", "huge.png"), png_header_only(60000, 60000))
    return ["eval", "m.onnx", "--data", "imgs", "--preprocess", "channels=gray,resize=28x28"]


@case("external-2.2GB", 3, "a 2.2 GB external-data file (sparse) for a 4-value tensor without offset/length")
def _(d):
    with open(os.path.join(d, "w.bin"), "wb") as f:
        f.truncate(2200 * 1000 * 1000)
    identity_of(d, external_tensor("e", [4], "w.bin"))
    return ["inspect", "m.onnx"]


@case("init-750M-8-bytes", 4, "`inspect`: an initializer [750000000] with 8 bytes")
def _(d):
    identity_of(d, raw_tensor("h", [750000000], b"\0" * 8))
    return ["inspect", "m.onnx"]


@case("labels-7e8", 4, "`eval` with a labels .npy declaring (7e8,) int64 in a 200-byte file")
def _(d):
    shutil.copy(TINY, os.path.join(d, "m.onnx"))
    fashion_npy(d)
    write(os.path.join(d, "labels.npy"), npy_header("<i8", "(700000000,)", b"\0" * 72))
    return ["eval", "m.onnx", "--data", "data.npy", "--labels", "labels.npy"]


@case("png-30000", 4, "`eval` of a real 30000x30000 PNG (2.6 MB file)")
def _(d):
    shutil.copy(TINY, os.path.join(d, "m.onnx"))
    cache = os.path.join(os.environ.get("EDGEOPT_DEFECT_CACHE", tempfile.gettempdir()), "edgeopt_png_30000.png")
    png_black(cache, 30000, 30000)
    os.makedirs(os.path.join(d, "imgs", "c"))
    os.symlink(cache, os.path.join(d, "imgs", "c", "x.png"))
    return ["eval", "m.onnx", "--data", "imgs", "--preprocess", "channels=gray,resize=28x28"]


@case("model-dev-zero", 4, "MODEL = /dev/zero")
def _(d):
    return ["inspect", "/dev/zero"]


@case("external-fifo", 5, "external-data location naming a FIFO")
def _(d):
    os.mkfifo(os.path.join(d, "w.bin"))
    identity_of(d, external_tensor("e", [4], "w.bin"))
    return ["inspect", "m.onnx"]


@case("labels-csv-fifo", 5, "a labels.csv row naming a FIFO")
def _(d):
    shutil.copy(TINY, os.path.join(d, "m.onnx"))
    labelled_images(d, 2)
    os.mkfifo(os.path.join(d, "imgs", "f.png"))
    with open(os.path.join(d, "imgs", "labels.csv"), "a") as f:
        f.write("f.png,1\n")
    return ["eval", "m.onnx", "--data", "imgs", "--labels", "imgs/labels.csv", "--preprocess", "channels=gray"]


@case("chain-mvn-opset13-100k", 5, "`inspect`: 100,000-node opset-13 chain outside edgeopt's upgrade table (MeanVarianceNormalization)")
def _(d):
    chain(d, "MeanVarianceNormalization", 100000, 13)
    return ["inspect", "m.onnx"]


@case("chain-relu-opset13-100k", 5, "`inspect`: 100,000-node opset-13 Relu chain (edgeopt's own upgrade)", expect=0)
def _(d):
    chain(d, "Relu", 100000, 13)
    return ["inspect", "m.onnx"]


@case("conv-bias-short-x86", 6, "`run --target x86`: a Conv whose bias is one value short")
def _(d):
    conv_model(d, bias=1)
    tiny_input(d)
    return ["run", "m.onnx", "-i", "x.npy", "-o", "y.npy", "--target", "x86"]


def user_files_intact(d, before):
    problem = []
    if not os.path.exists(os.path.join(d, "P", "precious.txt")):
        problem.append("P/precious.txt deleted")
    if not os.path.isdir(os.path.join(d, "P", "src")):
        problem.append("P/src deleted")
    return ", ".join(problem)


@case("compile-wipes-folder", 7, "`compile -o P`, P holding report.json, precious.txt and src/", check=user_files_intact)
def _(d):
    shutil.copy(TINY, os.path.join(d, "m.onnx"))
    os.makedirs(os.path.join(d, "P", "src"))
    write(os.path.join(d, "P", "report.json"), b"{}")
    write(os.path.join(d, "P", "precious.txt"), b"x")
    return ["compile", "m.onnx", "-o", "P"]


def previous_output_kept(d, before):
    gone = [f for f in ("report.json", "model.opt.onnx", "m.onnx") if not os.path.exists(os.path.join(d, f))]
    return "" if not gone else "the previous output in . is gone (%s)" % ", ".join(gone)


@case("compile-into-dot", 7, "`cd OUT && compile M -o .`, OUT holding a previous output", check=previous_output_kept)
def _(d):
    shutil.copy(TINY, os.path.join(d, "m.onnx"))
    shutil.copy(TINY, os.path.join(d, "model.opt.onnx"))
    write(os.path.join(d, "report.json"), b"{}")
    return ["compile", "m.onnx", "-o", "."]


def two_compiles(d, before):
    onnx_files = [p for p in walk(os.path.join(d, "out")) if p.endswith(".onnx")] if os.path.isdir(os.path.join(d, "out")) else []
    codes = open(os.path.join(d, "codes")).read().split()
    if codes.count("0") == 2 and not onnx_files:
        return "both exited 0 and out/ holds no .onnx"
    if "0" not in codes or not onnx_files:
        return "no run succeeded (%s)" % " ".join(codes)
    return ""


@case("compile-concurrent", 7, "a second `compile` into the OUTDIR a running one writes (the second's exit shown)", check=two_compiles)
def _(d):
    # The first run measures for a second or two (calibration, evaluation, many timed runs); the
    # second starts once the first holds the folder (its working folder beside it exists).
    shutil.copy(os.path.join(REPO, "tools", "zoo", "models", "resnet_fm.onnx"), os.path.join(d, "m.onnx"))
    fashion_npy(d, batch=64)
    write(os.path.join(d, "both.sh"), (
        '#!/bin/sh\n"$1" compile m.onnx -o out --calib data.npy --eval data.npy --labels labels.npy --iters 3000 >/dev/null 2>&1 & first=$!\n'
        'for i in $(seq 1 1000); do ls -a | grep -q tmp-edgeopt && break; sleep 0.01; done\n'
        '"$1" compile m.onnx -o out; second=$?\nwait $first; echo $? $second > codes\nexit $second\n').encode())
    os.chmod(os.path.join(d, "both.sh"), 0o755)
    return ["@sh", "./both.sh"]


def victim_intact(d, before):
    return "" if open(os.path.join(d, "victim"), "rb").read() == b"keep" else "victim overwritten through the symlink"


@case("tmp-symlink", 8, "`optimize -o OUT.onnx` with a symlink OUT.onnx.tmp-edgeopt -> victim planted", expect=0, check=victim_intact)
def _(d):
    shutil.copy(TINY, os.path.join(d, "m.onnx"))
    write(os.path.join(d, "victim"), b"keep")
    os.symlink("victim", os.path.join(d, "OUT.onnx.tmp-edgeopt"))
    return ["optimize", "m.onnx", "-o", "OUT.onnx"]


def no_tmp_left(d, before):
    left = [p for p in walk(d) if "tmp-edgeopt" in p]
    return "" if not left else "left " + ", ".join(left[:3])


@case("compile-exit1-tmp", 8, "`compile` ended by SIGTERM once its working folder exists: nothing left beside OUTDIR",
      expect=-15, check=no_tmp_left)
def _(d):
    shutil.copy(TINY, os.path.join(d, "m.onnx"))
    labelled_images(d, 4)
    write(os.path.join(d, "kill.sh"), (
        '#!/bin/sh\n"$1" compile m.onnx -o out --calib imgs --preprocess channels=gray --eval imgs --targets x86 '
        '>/dev/null 2>&1 & pid=$!\n'
        'for i in $(seq 1 400); do ls -a | grep -q tmp-edgeopt && break; sleep 0.01; done\n'
        'sleep 0.05; kill -TERM $pid; wait $pid; exit $?\n').encode())
    os.chmod(os.path.join(d, "kill.sh"), 0o755)
    return ["@sh", "./kill.sh"]


def mode_kept(d, before):
    m = stat.S_IMODE(os.stat(os.path.join(d, "o.onnx")).st_mode)
    return "" if m == 0o600 else "mode became %o" % m


@case("mode-0600", 8, "`optimize -o o.onnx` over a 0600 file keeps 0600", expect=0, check=mode_kept)
def _(d):
    shutil.copy(TINY, os.path.join(d, "m.onnx"))
    write(os.path.join(d, "o.onnx"), b"old")
    os.chmod(os.path.join(d, "o.onnx"), 0o600)
    return ["optimize", "m.onnx", "-o", "o.onnx"]


def model_not_report(d, before):
    data = open(os.path.join(d, "X"), "rb").read() if os.path.exists(os.path.join(d, "X")) else b""
    return "X is a report, not a model" if data.lstrip().startswith(b"{") or data.startswith(b"#") else ""


@case("quantize-report-over-model", 8, "`quantize -o X --report X`", check=model_not_report)
def _(d):
    shutil.copy(TINY, os.path.join(d, "m.onnx"))
    fashion_npy(d)
    return ["quantize", "m.onnx", "--calib", "data.npy", "-o", "X", "--report", "X"]


@case("escape-in-names", 9, "an unknown op type and node name holding a newline and escape sequences")
def _(d):
    save_model(os.path.join(d, "m.onnx"), [helper.make_node("Bogus\x1b[31m\nOp", ["x"], ["y"], name="n\x1b]0;t\x07")],
               [vi("x", [1, 1, 28, 28])], [vi("y", 4)])
    return ["inspect", "m.onnx"]


@case("corrupt-png", 9, "`eval` of a PNG with a corrupt data chunk (libpng's own complaint)")
def _(d):
    shutil.copy(TINY, os.path.join(d, "m.onnx"))
    write(os.path.join(d, "imgs", "c", "bad.png"), png_bytes(28, 28, 0, b"\x78\x9c\xff\xff\xff\xff garbage"))
    return ["eval", "m.onnx", "--data", "imgs", "--preprocess", "channels=gray"]


@case("unknown-subcommand", 9, "an unknown subcommand (`edgeopt frobnicate`)")
def _(d):
    return ["frobnicate", "m.onnx"]


@case("nested-if-60", 9, "subgraphs nested 60 deep")
def _(d):
    leaf = helper.make_graph([helper.make_node("Identity", ["x"], ["o"])], "b", [], [vi("o", 1)])
    body = leaf
    for depth in range(60):
        body = helper.make_graph([helper.make_node("If", ["c"], ["o"], then_branch=body, else_branch=leaf)],
                                 "b%d" % depth, [], [vi("o", 1)])
    save_model(os.path.join(d, "m.onnx"), body.node[:], [vi("c", [], TensorProto.BOOL), vi("x", [1])], [vi("o", 1)])
    return ["inspect", "m.onnx"]


@case("nan-calibration", 10, "`quantize` on all-NaN calibration data")
def _(d):
    shutil.copy(TINY, os.path.join(d, "m.onnx"))
    fashion_npy(d, fill=np.nan)
    return ["quantize", "m.onnx", "--calib", "data.npy", "-o", "q.onnx"]


@case("npy-negative-dim", 10, "`run --input` of a .npy with shape (-2, 1, 28, 28)")
def _(d):
    shutil.copy(TINY, os.path.join(d, "m.onnx"))
    write(os.path.join(d, "x.npy"), npy_header("<f4", "(-2, 1, 28, 28)", b"\0" * (2 * 784 * 4)))
    return ["run", "m.onnx", "-i", "x.npy", "-o", "y.npy"]


for flag_case, argv in (
        ("labels-without-eval", ["compile", "m.onnx", "-o", "out", "--labels", "labels.npy"]),
        ("calibrator-without-calib", ["compile", "m.onnx", "-o", "out", "--calibrator", "entropy"]),
        ("percentile-with-minmax", ["quantize", "m.onnx", "--calib", "data.npy", "-o", "q.onnx", "--percentile", "99.9"]),
        ("seed-without-shuffle", ["quantize", "m.onnx", "--calib", "data.npy", "-o", "q.onnx", "--seed", "3"]),
        ("arm-cpu-bogus", ["run", "m.onnx", "-i", "x.npy", "-o", "y.npy", "--arm-cpu", "bogus"]),
        ("shape-nosuch", ["bench", "m.onnx", "--shape", "nosuch=1x1x28x28", "--iters", "1"]),
        ("duplicate-targets", ["compile", "m.onnx", "-o", "out", "--targets", "x86,x86"])):
    @case("flag-" + flag_case, 10, "`%s`" % " ".join(argv[:1] + argv[3:] if argv[0] != "run" else argv[:1] + argv[-2:]))
    def _(d, argv=argv):
        shutil.copy(TINY, os.path.join(d, "m.onnx"))
        fashion_npy(d)
        tiny_input(d)
        return argv


# ---- running ----------------------------------------------------------------------------------------

# The measured process: a small Python parent that runs the command, so that the peak RSS of every
# process it starts (edgeopt, or the shell script and its edgeopt runs) is read from RUSAGE_CHILDREN.
MEASURE = """
import resource, subprocess, sys
if %d > 0:
    resource.setrlimit(resource.RLIMIT_AS, (%d, %d))
rc = subprocess.call(sys.argv[2:])
open(sys.argv[1], "w").write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
sys.exit(rc if rc >= 0 else 128 - rc)
"""


def run_case(binary, c, root):
    d = os.path.join(root, c["id"])
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    global EDGEOPT
    EDGEOPT = binary
    tail = c["setup"](d)
    argv = ["/bin/sh", tail[1], binary] if tail[0] == "@sh" else [binary] + tail
    before = set(walk(d))
    err_path = os.path.join(root, c["id"] + ".stderr")
    rss_path = os.path.join(root, c["id"] + ".rss")
    start = time.monotonic()
    with open(err_path, "wb") as err:
        proc = subprocess.Popen([sys.executable, "-c", MEASURE % (ADDRESS_LIMIT, ADDRESS_LIMIT, ADDRESS_LIMIT), rss_path] + argv,
                                cwd=d, stdout=subprocess.DEVNULL,
                                stderr=err, stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            code = proc.wait(timeout=TIMEOUT_S)
            timed_out = False
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            code, timed_out = -9, True
    seconds = time.monotonic() - start
    if code > 128:  # a signal, passed on as 128 + N by the measuring parent or the shell
        code = -(code - 128)
    # Progress lines ("edgeopt: progress: ...", printed when stderr is not a terminal) are not messages.
    lines = [l for l in open(err_path, "rb").read().split(b"\n") if l.strip() and not l.startswith(b"edgeopt: progress:")]
    rss_mb = float(open(rss_path).read()) / 1024.0 if os.path.exists(rss_path) else float("nan")
    problem = "" if timed_out else c["check"](d, before)
    return dict(code=code, lines=len(lines), first=(lines[0].decode("utf-8", "replace") if lines else ""),
                rss=rss_mb, seconds=seconds, timed_out=timed_out, problem=problem)


def describe(r):
    if r["timed_out"]:
        status = "hang (killed at %d s)" % TIMEOUT_S
    elif r["code"] < 0:
        status = signal.Signals(-r["code"]).name
    else:
        status = "exit %d" % r["code"]
    return "%s, %d line%s, %s MB, %.2f s%s" % (status, r["lines"], "" if r["lines"] == 1 else "s",
                                                "?" if r["rss"] != r["rss"] else "%.0f" % r["rss"], r["seconds"],
                                                ("; " + r["problem"]) if r["problem"] else "")


def contract_problems(c, r):
    problems = []
    if r["timed_out"]:
        problems.append("timed out")
    if r["code"] != c["expect"]:
        problems.append("exit %d, expected %d" % (r["code"], c["expect"]))
    if c["expect"] == 2 and r["lines"] != 1:
        problems.append("%d stderr lines, expected 1" % r["lines"])
    if r["rss"] > RSS_LIMIT_MB:
        problems.append("peak RSS %.0f MB > %d MB" % (r["rss"], RSS_LIMIT_MB))
    if r["problem"]:
        problems.append(r["problem"])
    return problems


def main():
    global ADDRESS_LIMIT, RSS_LIMIT_MB
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--edgeopt", required=True)
    ap.add_argument("--before", help="an older edgeopt binary to run on the same cases")
    ap.add_argument("--check", action="store_true", help="exit 1 unless --edgeopt meets every case's contract")
    ap.add_argument("--only", default="*", help="glob over case ids")
    ap.add_argument("--work", help="folder for the cases (default: a temporary one, removed)")
    ap.add_argument("--show-first-line", action="store_true", help="print each run's first stderr line")
    ap.add_argument("--address-limit-gib", type=int, default=16,
                    help="address-space limit of each run (0: none; AddressSanitizer reserves terabytes of it)")
    ap.add_argument("--rss-limit-mb", type=int, default=RSS_LIMIT_MB, help="the contract's peak RSS")
    args = ap.parse_args()
    ADDRESS_LIMIT = args.address_limit_gib << 30
    RSS_LIMIT_MB = args.rss_limit_mb
    root = args.work or tempfile.mkdtemp(prefix="edgeopt_defects_")
    binaries = [("after", os.path.abspath(args.edgeopt))]
    if args.before:
        binaries.insert(0, ("before", os.path.abspath(args.before)))
    failed = 0
    cases = [c for c in CASES if fnmatch.fnmatch(c["id"], args.only)]
    print("| # | case | " + " | ".join(name for name, _ in binaries) + " |")
    print("|---|---|" + "---|" * len(binaries))
    for c in cases:
        cells = []
        for name, binary in binaries:
            r = run_case(binary, c, os.path.join(root, name))
            cell = describe(r)
            if args.show_first_line and r["first"]:
                cell += "<br>`" + r["first"][:160].replace("|", "\\|") + "`"
            if name == "after":
                problems = contract_problems(c, r)
                if problems:
                    failed += 1
                    cell += " **CONTRACT BROKEN: " + "; ".join(problems) + "**"
            cells.append(cell)
        print("| %d | %s | %s |" % (c["item"], c["what"].replace("|", "\\|"), " | ".join(cells)), flush=True)
    if not args.work:
        shutil.rmtree(root, ignore_errors=True)
    print("%d case(s), %d breaking the contract" % (len(cases), failed), file=sys.stderr)
    return 1 if (args.check and failed) else 0


EDGEOPT = None
if __name__ == "__main__":
    sys.exit(main())
