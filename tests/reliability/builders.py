"""Byte-level builders of the hostile inputs the fuzz seeds (tests/fuzz/make_seeds.py) and the
defect table (tests/reliability/defect_table.py) share: files whose headers say what their bytes
do not. Needs Debian's python3-onnx."""
import struct
import zlib

from onnx import TensorProto, helper


def vi(name, dims, t=TensorProto.FLOAT):
    """A value info. dims: a list, or a rank (symbolic dims: ONNX 1.12's checker wants a shape on
    graph outputs, and a value info without one makes the model fail before edgeopt sees it)."""
    if isinstance(dims, int):
        dims = ["d%d" % i for i in range(dims)]
    return helper.make_tensor_value_info(name, t, dims)


def raw_tensor(name, dims, raw):
    """A float tensor whose dims need not match its bytes (make_tensor checks that)."""
    t = TensorProto()
    t.name, t.data_type = name, TensorProto.FLOAT
    t.dims.extend(dims)
    t.raw_data = raw
    return t


def npy_header(descr, shape, payload=b"", fortran=False):
    """A .npy v1 file declaring `shape` (any text) followed by `payload`."""
    head = ("{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (descr, fortran, shape)).encode()
    head += b" " * (63 - (len(head) + 10) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(head)) + head + payload


def idx_bytes(code, dims, payload):
    """An IDX file of element type `code` declaring `dims`, followed by `payload`."""
    return struct.pack(">BBBB", 0, 0, code, len(dims)) + b"".join(struct.pack(">I", d) for d in dims) + payload


def png_chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def png_bytes(width, height, color, idat):
    """A PNG whose header declares width x height (8-bit; color 0 gray, 2 RGB, 6 RGBA) with `idat` as data."""
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, color, 0, 0, 0)) +
            png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b""))
