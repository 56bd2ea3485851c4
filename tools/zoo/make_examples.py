#!/usr/bin/python3
"""Builds the small example models bundled in examples/ (run with Debian's /usr/bin/python3,
which sees python3-torch). Deterministic: seeded weights and inputs; rerunning reproduces the
committed files up to exporter version.

    /usr/bin/python3 tools/zoo/make_examples.py examples/

tiny_cnn.onnx         conv/BN/ReLU/max-pool, a residual add, global pooling, Gemm and Softmax on
                      1x1x28x28 (Fashion-MNIST-shaped) input; random weights - the README's
                      quick-start model until the trained zoo lands.
dynamic_reshape.onnx  a model whose Reshape/Slice targets are computed from Shape at run time
                      (symbolic batch, height and width), for data-dependent shape handling.
Each model gets a matching seeded input `<name>.input.npy`.
"""
import os
import sys

import numpy as np
import torch
from torch import nn


class TinyCnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU())
        self.pool = nn.MaxPool2d(2)
        self.block = nn.Sequential(nn.Conv2d(8, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(),
                                   nn.Conv2d(8, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8))
        self.head = nn.Linear(8, 10)

    def forward(self, x):
        y = self.pool(self.stem(x))
        y = torch.relu(y + self.block(y))
        y = torch.flatten(nn.functional.adaptive_avg_pool2d(y, 1), 1)
        return torch.softmax(self.head(y), dim=1)


class DynamicReshape(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)

    def forward(self, x):
        y = self.conv(x)
        b, c, h, w = y.shape
        y = y.reshape(b, c, h * w).transpose(1, 2)  # [B, HW, C], targets from Shape at run time
        y = y[:, : (h * w) // 2, :]                  # Slice with a computed end
        y = y.reshape(b, -1, 2, c // 2).mean(dim=2)
        return y.flatten(1)


def export(model, x, path, dynamic):
    torch.onnx.export(model, x, path, opset_version=13, input_names=["input"], output_names=["output"],
                      dynamic_axes=dynamic)


def main() -> int:
    out = sys.argv[1] if len(sys.argv) > 1 else "examples"
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    cnn = TinyCnn().eval()
    for m in cnn.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 1.5)
    x = torch.rand(1, 1, 28, 28)
    export(cnn, x, os.path.join(out, "tiny_cnn.onnx"), {"input": {0: "batch"}, "output": {0: "batch"}})
    np.save(os.path.join(out, "tiny_cnn.input.npy"), x.numpy())

    dyn = DynamicReshape().eval()
    x = torch.randn(2, 3, 6, 10)
    export(dyn, x, os.path.join(out, "dynamic_reshape.onnx"),
           {"input": {0: "batch", 2: "height", 3: "width"}, "output": {0: "batch"}})
    np.save(os.path.join(out, "dynamic_reshape.input.npy"), x.numpy())
    return 0


if __name__ == "__main__":
    sys.exit(main())
