#!/usr/bin/python3
"""Exports torchvision models to ONNX for edgeopt's peer comparisons.

Run with Debian's interpreter, which sees python3-torch / python3-torchvision:
    /usr/bin/python3 tools/peer/export_torchvision.py OUT_DIR [resnet18 mobilenet_v2 squeezenet1_1 ...]
Weights are random (seeded): there is no network access for pretrained weights, and numerical
agreement does not depend on them. Each model is exported at 1x3x224x224, opset 13 (edgeopt
converts it to its canonical opset on import), with a dynamic batch dimension.
"""
import os
import sys

import torch
import torchvision


def main() -> int:
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    out_dir = sys.argv[1]
    names = sys.argv[2:] or ["resnet18", "mobilenet_v2", "squeezenet1_1"]
    os.makedirs(out_dir, exist_ok=True)
    for name in names:
        torch.manual_seed(0)
        model = getattr(torchvision.models, name)(weights=None).eval()
        # Randomise BatchNorm statistics so that folding/normalisation is really exercised.
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
        x = torch.randn(1, 3, 224, 224)
        path = os.path.join(out_dir, f"{name}.onnx")
        torch.onnx.export(model, x, path, opset_version=13, input_names=["input"],
                          output_names=["logits"], dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
                          do_constant_folding=True)
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
