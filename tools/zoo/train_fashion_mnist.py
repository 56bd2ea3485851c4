#!/usr/bin/python3
"""Trains edgeopt's example zoo on Fashion-MNIST and exports each model to ONNX.

Run with Debian's interpreter (it sees python3-torch and python3-numpy); the data comes from
Debian's dataset-fashion-mnist package (IDX files):

    /usr/bin/python3 tools/zoo/train_fashion_mnist.py [--out tools/zoo/models] [--epochs 4]

Deterministic: fixed seeds, one thread order, no data-loader workers. For each model it writes
  NAME.onnx                     opset 13, BatchNormalization kept (PRESERVE), dynamic batch
  NAME.torch_predictions.npy    torch's top-1 class for each of the 10,000 test images (uint8)
and records in manifest.json the test accuracy torch measured (correct / 10,000), the
preprocessing as an edgeopt spec string, the parameter count and the training settings.

Preprocessing (identical in training, torch evaluation and the manifest spec): pixel / 255,
then (x - 0.2860) / 0.3530, layout N x 1 x 28 x 28.
"""
import argparse
import gzip
import json
import os
import sys
import time

import numpy as np
import torch
from torch import nn

DATA = "/usr/share/datasets/fashion-mnist"
MEAN, STD = 0.2860, 0.3530
SPEC = f"scale=1/255,mean={MEAN},std={STD},layout=NCHW"
CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def preprocess(images):
    x = images.astype(np.float32) / np.float32(255.0)
    x = (x - np.float32(MEAN)) / np.float32(STD)
    return torch.from_numpy(x[:, None, :, :].copy())


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return torch.relu(y + (x if self.down is None else self.down(x)))


class ResNetFM(nn.Module):
    """ResNet-style: stem + three stages of residual basic blocks (16, 32, 64 channels)."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU())
        self.stages = nn.Sequential(BasicBlock(16, 16, 1), BasicBlock(16, 32, 2), BasicBlock(32, 64, 2))
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        y = self.stages(self.stem(x))
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(y, 1), 1))


class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, stride, expand):
        super().__init__()
        hidden = cin * expand
        self.use_res = stride == 1 and cin == cout
        self.block = nn.Sequential(
            nn.Conv2d(cin, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6(),
            nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6(),
            nn.Conv2d(hidden, cout, 1, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = self.block(x)
        return x + y if self.use_res else y


class MobileNetV2FM(nn.Module):
    """MobileNetV2-style: depthwise-separable inverted residual blocks with ReLU6."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU6())
        self.blocks = nn.Sequential(
            InvertedResidual(16, 16, 1, 1), InvertedResidual(16, 24, 2, 4), InvertedResidual(24, 24, 1, 4),
            InvertedResidual(24, 32, 2, 4), InvertedResidual(32, 32, 1, 4), InvertedResidual(32, 64, 1, 4))
        self.head = nn.Sequential(nn.Conv2d(64, 128, 1, bias=False), nn.BatchNorm2d(128), nn.ReLU6())
        self.fc = nn.Linear(128, 10)

    def forward(self, x):
        y = self.head(self.blocks(self.stem(x)))
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(y, 1), 1))


class MlpFM(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                                 nn.Linear(128, 10))

    def forward(self, x):
        return self.net(x)


MODELS = {"resnet_fm": ResNetFM, "mobilenet_v2_fm": MobileNetV2FM, "mlp_fm": MlpFM}


def train(name, epochs, x_train, y_train, x_test, y_test, out):
    torch.manual_seed(0)
    model = MODELS[name]()
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs * (len(x_train) // 128))
    gen = torch.Generator().manual_seed(1)
    start = time.time()
    for epoch in range(epochs):
        model.train()
        perm = torch.randperm(len(x_train), generator=gen)
        for i in range(0, len(x_train) - 127, 128):
            idx = perm[i:i + 128]
            loss = nn.functional.cross_entropy(model(x_train[idx]), y_train[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        print(f"{name}: epoch {epoch + 1}/{epochs} loss {loss.item():.4f} ({time.time() - start:.0f} s)", flush=True)
    model.eval()
    with torch.no_grad():
        preds = torch.cat([model(x_test[i:i + 500]).argmax(1) for i in range(0, len(x_test), 500)])
    correct = int((preds == y_test).sum())
    path = os.path.join(out, f"{name}.onnx")
    torch.onnx.export(model, x_test[:1], path, opset_version=13, input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
                      training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False)
    np.save(os.path.join(out, f"{name}.torch_predictions.npy"), preds.numpy().astype(np.uint8))
    return {
        "file": f"{name}.onnx",
        "architecture": (MODELS[name].__doc__ or name).strip(),
        "input": {"name": "input", "shape": ["batch", 1, 28, 28], "dtype": "float32"},
        "preprocess": SPEC,
        "test_accuracy": correct / len(y_test),
        "test_correct": correct,
        "test_samples": len(y_test),
        "torch_predictions": f"{name}.torch_predictions.npy",
        "parameters": sum(p.numel() for p in model.parameters()),
        "training": {"epochs": epochs, "optimizer": "Adam lr 2e-3 cosine", "batch": 128, "seed": 0},
        "onnx_bytes": os.path.getsize(path),
    }


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "models"))
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--models", nargs="*", default=list(MODELS))
    args = p.parse_args()
    torch.set_num_threads(2)
    torch.use_deterministic_algorithms(True)
    os.makedirs(args.out, exist_ok=True)
    x_train = preprocess(read_idx(f"{DATA}/train-images-idx3-ubyte.gz"))
    y_train = torch.from_numpy(read_idx(f"{DATA}/train-labels-idx1-ubyte.gz").astype(np.int64))
    x_test = preprocess(read_idx(f"{DATA}/t10k-images-idx3-ubyte.gz"))
    y_test = torch.from_numpy(read_idx(f"{DATA}/t10k-labels-idx1-ubyte.gz").astype(np.int64))
    manifest_path = os.path.join(args.out, "manifest.json")
    manifest = json.load(open(manifest_path)) if os.path.exists(manifest_path) else {}
    manifest.setdefault("dataset", {"name": "Fashion-MNIST", "source": DATA, "classes": CLASSES,
                                    "test_images": "t10k-images-idx3-ubyte.gz", "test_labels": "t10k-labels-idx1-ubyte.gz"})
    manifest.setdefault("models", {})
    manifest["torch_version"] = torch.__version__
    for name in args.models:
        manifest["models"][name] = train(name, args.epochs, x_train, y_train, x_test, y_test, args.out)
        print(json.dumps({name: manifest["models"][name]["test_accuracy"]}), flush=True)
        with open(manifest_path, "w") as f:
            json.dump(manifest, f, indent=2)
            f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
