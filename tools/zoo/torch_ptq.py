#!/usr/bin/python3
"""The peer for edgeopt's int8 quantization: PyTorch's own post-training quantization
(torch.ao.quantization FX mode, `onednn` backend) of the zoo models, calibrated on the same 500
images as `edgeopt quantize --calib calib_data/fashion_mnist_500`, evaluated on the full
Fashion-MNIST test set. Run with Debian's /usr/bin/python3 (python3-torch):

    /usr/bin/python3 tools/zoo/torch_ptq.py [--models resnet_fm mobilenet_v2_fm mlp_fm]

The torch modules are rebuilt from train_fashion_mnist.py and loaded with the weights stored in
the zoo's ONNX files (their initializers carry the state_dict names), so no .pt files are needed;
the fp32 accuracy is checked against the manifest first. Prints one JSON line per model.
"""
import argparse
import importlib.util
import json
import os
import sys

import numpy as np
import onnx
import torch
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("train", os.path.join(HERE, "train_fashion_mnist.py"))
train = importlib.util.module_from_spec(spec)
spec.loader.exec_module(train)


def load(name):
    model = train.MODELS[name]()
    graph = onnx.load(os.path.join(HERE, "models", f"{name}.onnx")).graph
    weights = {i.name: torch.from_numpy(numpy_helper.to_array(i).copy()) for i in graph.initializer}
    # The exporter stores identical tensors once and names the copies through Identity nodes.
    for node in graph.node:
        if node.op_type == "Identity" and node.input[0] in weights:
            weights[node.output[0]] = weights[node.input[0]]
    # Parameters whose names the graph does not use directly: find them through the module's
    # BatchNormalization node (inputs: weight, bias, mean, var).
    for key in model.state_dict():
        if key in weights or key.endswith("num_batches_tracked"):
            continue
        module, param = key.rsplit(".", 1)
        prefix = "/" + "/".join(_scopes(module)) + "/"
        for node in graph.node:
            if node.op_type == "BatchNormalization" and node.name.startswith(prefix):
                slot = {"weight": 1, "bias": 2, "running_mean": 3, "running_var": 4}[param]
                weights[key] = weights[node.input[slot]]
    missing = model.load_state_dict({k: v for k, v in weights.items() if k in model.state_dict()}, strict=False)
    assert all(k.endswith("num_batches_tracked") for k in missing.missing_keys), missing
    return model.eval()


def _scopes(module):
    # "stages.1.down.1" -> ["stages", "stages.1", "down", "down.1"]: PyTorch's ONNX node scopes.
    parts, out = module.split("."), []
    i = 0
    while i < len(parts):
        if i + 1 < len(parts) and parts[i + 1].isdigit():
            out.append(parts[i])
            out.append(parts[i] + "." + parts[i + 1])
            i += 2
        else:
            out.append(parts[i])
            i += 1
    return out


def accuracy(model, x, y):
    with torch.no_grad():
        preds = torch.cat([model(x[i:i + 500]).argmax(1) for i in range(0, len(x), 500)])
    return int((preds == y).sum())


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", nargs="*", default=list(train.MODELS))
    p.add_argument("--calib", type=int, default=500, help="first N test images calibrate (the bundled subset)")
    args = p.parse_args()
    from torch.ao.quantization import get_default_qconfig_mapping
    from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx
    torch.backends.quantized.engine = "onednn"
    torch.set_num_threads(1)
    manifest = json.load(open(os.path.join(HERE, "models", "manifest.json")))
    x = train.preprocess(train.read_idx(f"{train.DATA}/t10k-images-idx3-ubyte.gz"))
    y = torch.from_numpy(train.read_idx(f"{train.DATA}/t10k-labels-idx1-ubyte.gz").astype(np.int64))
    for name in args.models:
        model = load(name)
        fp32 = accuracy(model, x, y)
        assert fp32 == manifest["models"][name]["test_correct"], (fp32, manifest["models"][name]["test_correct"])
        prepared = prepare_fx(model, get_default_qconfig_mapping("onednn"), (x[:1],))
        with torch.no_grad():
            for i in range(0, args.calib, 100):
                prepared(x[i:min(i + 100, args.calib)])
        int8 = accuracy(convert_fx(prepared), x, y)
        print(json.dumps({"model": name, "fp32_correct": fp32, "torch_ptq_int8_correct": int8,
                          "drop_points": (fp32 - int8) / 100.0, "calibration_images": args.calib}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
