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
patterns.onnx         conv stem with BatchNorm kept, hard-swish in both decomposed forms, and a
                      transformer-style block (LayerNorm, GELU, transposes) exported at opset 13,
                      where LayerNorm and GELU have no single ONNX op: the cleanup passes' test.
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


class Patterns(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 16, 3, stride=2, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(16)
        self.conv2 = nn.Conv2d(16, 16, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(16)
        self.hswish = nn.Hardswish()
        self.norm1 = nn.LayerNorm(16)
        self.fc1 = nn.Linear(16, 32)
        self.gelu = nn.GELU()
        self.fc2 = nn.Linear(32, 16)
        self.norm2 = nn.LayerNorm(16)
        self.head = nn.Linear(16, 10)

    def forward(self, x):
        y = self.hswish(self.bn(self.conv(x)))                       # x * HardSigmoid(x)
        z = self.bn2(self.conv2(y))
        y = z * nn.functional.relu6(z + 3) / 6                       # x * Clip(x + 3, 0, 6) / 6
        t = y.flatten(2).transpose(1, 2)                             # [B, HW, C]
        t = t + self.fc2(self.gelu(self.fc1(self.norm1(t))))         # LayerNorm, GELU (Erf form)
        t = self.norm2(t).transpose(1, 2).transpose(1, 2)            # a Transpose pair to merge
        return self.head(t.mean(dim=1))


def export(model, x, path, dynamic, training=torch.onnx.TrainingMode.EVAL):
    torch.onnx.export(model, x, path, opset_version=13, input_names=["input"], output_names=["output"],
                      dynamic_axes=dynamic, training=training, do_constant_folding=False)


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

    torch.manual_seed(2)
    pat = Patterns().eval()
    for m in pat.modules():
        if isinstance(m, (nn.BatchNorm2d, nn.LayerNorm)) and m.weight is not None:
            nn.init.uniform_(m.weight, 0.5, 1.5)
            nn.init.uniform_(m.bias, -0.2, 0.2)
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 1.5)
    x = torch.randn(1, 3, 16, 16)
    # PRESERVE keeps BatchNormalization nodes (EVAL would fold them into the convolutions).
    export(pat, x, os.path.join(out, "patterns.onnx"), {"input": {0: "batch"}, "output": {0: "batch"}},
           training=torch.onnx.TrainingMode.PRESERVE)
    np.save(os.path.join(out, "patterns.input.npy"), x.numpy())
    return 0


if __name__ == "__main__":
    sys.exit(main())
