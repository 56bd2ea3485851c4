#!/usr/bin/python3
"""Writes the seed corpora of edgeopt's fuzz targets into tests/fuzz/corpus/TARGET/ (committed;
rerun after changing a case). Valid inputs of every kind each reader takes, and the hostile cases of
issue 20 (element counts that overflow, shapes larger than the bytes present, zero batches, short
biases, huge scales, deep subgraphs, image headers past the pixel limit). Needs Debian's
python3-onnx and python3-numpy: /usr/bin/python3 tests/fuzz/make_seeds.py
"""
import gzip
import io
import os
import struct
import zlib

import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reliability"))
from builders import idx_bytes as idx, npy_header, png_bytes, raw_tensor, vi  # noqa: E402

here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def put(target, name, data):
    os.makedirs(os.path.join(here, target), exist_ok=True)
    with open(os.path.join(here, target, name), "wb") as f:
        f.write(data)


def npy(array):
    b = io.BytesIO()
    np.save(b, array)
    return b.getvalue()


def png(width, height, channels=1, pixels=None):
    color = {1: 0, 3: 2, 4: 6}[channels]
    raw = pixels if pixels is not None else b"".join(b"\x00" + bytes((x * 7 + y) % 256 for x in range(width * channels)) for y in range(height))
    return png_bytes(width, height, color, zlib.compress(raw))


def model(nodes, inputs, outputs, inits=(), opset=17):
    g = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(inits))
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)]).SerializeToString()


SEP = b"|||\n"

# ---- .npy ----
put("npy", "f32_2x3", npy(np.arange(6, dtype=np.float32).reshape(2, 3)))
put("npy", "i64_vec", npy(np.arange(5, dtype=np.int64)))
put("npy", "u8_fortran", npy(np.asfortranarray(np.arange(12, dtype=np.uint8).reshape(3, 4))))
put("npy", "f16_scalar", npy(np.float16(1.5)))
put("npy", "bool_2x2", npy(np.array([[True, False], [False, True]])))
put("npy", "big_endian_f64", npy(np.arange(4, dtype=">f8")))
put("npy", "negative_dim", npy_header("<f4", "(-2, 3)", b"\0" * 24))
put("npy", "dim_past_int64", npy_header("<f4", "(99999999999999999999,)", b"\0" * 8))
put("npy", "declares_1e12", npy_header("<f4", "(1000000000000, 1, 28, 28)", b"\0" * 64))
put("npy", "labels_7e8_int64", npy_header("<i8", "(700000000,)", b"\0" * 64))
put("npy", "product_overflows", npy_header("<f4", "(4294967296, 4294967296, 4294967296)", b"\0" * 16))
put("npy", "v2_header", b"\x93NUMPY\x02\x00" + struct.pack("<I", 118) + b"{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }".ljust(117) + b"\n" + b"\0\0\0\0")

# ---- data sets (first byte: 0 IDX, 1 gzipped IDX, 2 .npy, 3 image + labels.csv, 4 image in a class folder) ----
images = idx(0x08, [3, 4, 4], bytes(range(48)))
labels = idx(0x08, [3], bytes([0, 1, 2]))
put("dataset", "idx", b"\x00" + images + SEP + labels)
put("dataset", "idx_gz", b"\x01" + gzip.compress(images) + SEP + gzip.compress(labels))
put("dataset", "idx_dims_overflow", b"\x00" + idx(0x08, [0xFFFFFFFF, 0xFFFFFFFF, 0xFFFF], b"\0" * 32) + SEP + labels)
put("dataset", "idx_label_count_differs", b"\x00" + images + SEP + idx(0x08, [2], b"\0\1"))
put("dataset", "idx_float_pixels", b"\x00" + idx(0x0D, [1, 2, 2], struct.pack(">4f", 0.5, float("nan"), 1.0, 2.0)) + SEP + idx(0x08, [1], b"\0"))
put("dataset", "npy", b"\x02" + npy(np.ones((4, 1, 3, 3), np.float32)) + SEP + npy(np.arange(4, dtype=np.int64)))
put("dataset", "npy_nan", b"\x02" + npy(np.full((2, 3), np.nan, np.float32)) + SEP + npy(np.zeros(2, np.int64)))
put("dataset", "npy_labels_huge", b"\x02" + npy(np.ones((2, 3), np.float32)) + SEP + npy_header("<i8", "(700000000,)", b"\0" * 64))
put("dataset", "png_rgb_csv", b"\x03" + png(5, 4, 3) + SEP + b"a.png,1\n")
put("dataset", "png_csv_bad_row", b"\x03" + png(2, 2) + SEP + b"nosuch.png,x\n,,\n")
put("dataset", "png_gray_class", b"\x04" + png(9, 7))
put("dataset", "png_rgba_class", b"\x04" + png(3, 3, 4))
# Headers that declare far more pixels than the bytes hold (30000 x 30000: 2.7 GB decoded).
put("dataset", "png_30000x30000_header", b"\x04" + png(30000, 30000, 3, pixels=b"\0" * 16))
put("dataset", "png_60000x60000_header", b"\x04" + png(60000, 60000, 1, pixels=b"\0" * 16))
put("dataset", "jpeg_truncated", b"\x04" + b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xdb")

# ---- ONNX models (import and execute) ----
x = vi("x", [1, 1, 28, 28])
w = numpy_helper.from_array(np.ones((2, 1, 3, 3), np.float32), "w")
put("onnx", "conv", model([helper.make_node("Conv", ["x", "w"], ["y"])], [x], [vi("y", [1, 2, 26, 26])], [w]))
put("onnx", "conv_bias_short", model([helper.make_node("Conv", ["x", "w", "b"], ["y"])], [x], [vi("y", 4)],
                                     [w, numpy_helper.from_array(np.ones(1, np.float32), "b")]))
put("onnx", "batch_zero", model([helper.make_node("Conv", ["x", "w"], ["y"])], [vi("x", [0, 1, 28, 28])], [vi("y", 4)], [w]))
big = raw_tensor("big", [3, 6148914691236517206], b"\0" * 8)
put("onnx", "slice_dims_overflow", model(
    [helper.make_node("Slice", ["big", "s", "e"], ["y"])], [], [vi("y", 2)],
    [big, numpy_helper.from_array(np.array([0], np.int64), "s"), numpy_helper.from_array(np.array([1], np.int64), "e")]))
huge = raw_tensor("h", [750000000], b"\0" * 8)
put("onnx", "initializer_more_than_bytes", model([helper.make_node("Identity", ["h"], ["y"])], [], [vi("y", 1)], [huge]))
put("onnx", "resize_huge_scales", model(
    [helper.make_node("Resize", ["x", "", "sc"], ["y"], mode="nearest")], [x], [vi("y", 4)],
    [numpy_helper.from_array(np.array([1, 1, 1e9, 1e9], np.float32), "sc")]))
ext = raw_tensor("e", [4], b"")
ext.ClearField("raw_data")
ext.data_location = TensorProto.EXTERNAL
for k, v in (("location", "."), ("offset", "1"), ("length", str(2**63 - 1))):
    entry = ext.external_data.add()
    entry.key, entry.value = k, v
put("onnx", "external_data_dot", model([helper.make_node("Identity", ["e"], ["y"])], [], [vi("y", 1)], [ext]))
put("onnx", "opset13_relu_chain", model([helper.make_node("Relu", ["x" if i == 0 else "t%d" % (i - 1)], ["t%d" % i if i < 99 else "y"])
                                         for i in range(100)], [x], [vi("y", 4)], opset=13))
put("onnx", "opset9_softmax", model([helper.make_node("Softmax", ["x"], ["y"], axis=1)], [vi("x", [2, 5])], [vi("y", 2)], opset=9))
leaf = helper.make_graph([helper.make_node("Identity", ["x"], ["o"])], "b", [], [vi("o", 4)])
body = leaf
for depth in range(60):  # nested in the then-branch only (both would double the size per level)
    node = helper.make_node("If", ["c"], ["o"], then_branch=body, else_branch=leaf)
    body = helper.make_graph([node], "b%d" % depth, [], [vi("o", 4)])
put("onnx", "if_nested_60", model(body.node[:], [vi("c", [], TensorProto.BOOL), x], [vi("o", 4)]))
put("onnx", "name_with_escape", model([helper.make_node("Bogus\x1b[31m\nOp", ["x"], ["y"], name="n\x1b]0;t\x07")], [x], [vi("y", 4)]))
put("onnx", "gemm_mismatch", model([helper.make_node("Gemm", ["a", "b"], ["y"])], [vi("a", [2, 3])], [vi("y", 2)],
                                   [numpy_helper.from_array(np.ones((4, 5), np.float32), "b")]))
print("seeds written to", here)
