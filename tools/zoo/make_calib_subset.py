#!/usr/bin/python3
"""Writes calib_data/fashion_mnist_500/: the first 500 images of the Fashion-MNIST test set as
PNG files with a labels.csv, so that the README's main job and the tests have real labelled
data without the dataset-fashion-mnist package. Run with Debian's /usr/bin/python3:

    /usr/bin/python3 tools/zoo/make_calib_subset.py [--count 500]

The PNGs are 8-bit grayscale, written with the standard library (zlib), byte-identical to the
IDX pixels; labels.csv rows are "file,label" with the class index.
"""
import argparse
import gzip
import os
import struct
import sys
import zlib

DATA = "/usr/share/datasets/fashion-mnist"
OUT = os.path.join(os.path.dirname(__file__), "..", "..", "calib_data", "fashion_mnist_500")


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return dims, data[4 + 4 * ndim:]


def png_gray(width, height, pixels):
    def chunk(tag, body):
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body) & 0xFFFFFFFF)
    rows = b"".join(b"\x00" + pixels[r * width:(r + 1) * width] for r in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b""))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--count", type=int, default=500)
    p.add_argument("--out", default=OUT)
    args = p.parse_args()
    (n, h, w), pixels = read_idx(f"{DATA}/t10k-images-idx3-ubyte.gz")
    _, labels = read_idx(f"{DATA}/t10k-labels-idx1-ubyte.gz")
    os.makedirs(os.path.join(args.out, "images"), exist_ok=True)
    with open(os.path.join(args.out, "labels.csv"), "w") as csv:
        csv.write("file,label\n")
        for i in range(args.count):
            name = f"images/test_{i:05d}.png"
            with open(os.path.join(args.out, name), "wb") as f:
                f.write(png_gray(w, h, pixels[i * h * w:(i + 1) * h * w]))
            csv.write(f"{name},{labels[i]}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
