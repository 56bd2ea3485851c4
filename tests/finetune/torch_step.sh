#!/usr/bin/env bash
# One fine-tuning step of edgeopt's built-in trainer against the same step in PyTorch
# (tools/finetune/onnx_torch.py) on the zoo models and a PyTorch-built squeeze-excitation model: every updated Conv/Gemm/BatchNorm value within
# 5e-3 of the largest step of its op type (measured: 1e-5 to 8e-4). Skipped (77) without Debian's python3-torch/python3-onnx.
# Usage: torch_step.sh EDGEOPT_CLI SOURCE_DIR WORKDIR
set -euo pipefail
cli=$1 src=$2 work=$3
py=/usr/bin/python3
"$py" -c "import torch, onnx, numpy" 2>/dev/null || { echo "python3-torch/python3-onnx not installed: skipped"; exit 77; }
rm -rf "$work" && mkdir -p "$work"
# The first 32 Fashion-MNIST training images, preprocessed as the zoo models expect, with labels.
"$py" - "$work" <<'PY'
import gzip, os, sys, numpy as np
d, work = "/usr/share/datasets/fashion-mnist/", sys.argv[1]
with gzip.open(d + "train-images-idx3-ubyte.gz") as f:
    img = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)[:32]
with gzip.open(d + "train-labels-idx1-ubyte.gz") as f:
    lab = np.frombuffer(f.read(), np.uint8, offset=8)[:32]
np.save(os.path.join(work, "x.npy"), (((img.astype(np.float32) / 255.0) - 0.286) / 0.353).astype(np.float32))
np.save(os.path.join(work, "y.npy"), lab.astype(np.int64))
PY
# A MobileNetV3-style block built in PyTorch (HardSwish, AvgPool, squeeze-excitation with
# HardSigmoid and a broadcast Mul, a Sigmoid branch, Concat), exported by torch.onnx: the ops the
# zoo does not have.
"$py" - "$work/se_fm.onnx" <<'PY'
import sys, torch, torch.nn as nn, torch.nn.functional as F
torch.manual_seed(0)
class SE(nn.Module):
    def __init__(s):
        super().__init__()
        s.c1, s.bn1 = nn.Conv2d(1, 8, 3, 2, 1, bias=False), nn.BatchNorm2d(8)
        s.r, s.e = nn.Conv2d(8, 4, 1), nn.Conv2d(4, 8, 1)
        s.b = nn.Conv2d(8, 8, 1)
        s.fc = nn.Linear(16, 10)
    def forward(s, x):
        a = F.avg_pool2d(F.hardswish(s.bn1(s.c1(x))), 3, 2, 1, count_include_pad=False)
        g = F.hardsigmoid(s.e(F.relu(s.r(F.adaptive_avg_pool2d(a, 1)))))
        y = torch.cat([a * g, torch.sigmoid(s.b(a))], 1)
        return s.fc(torch.flatten(F.adaptive_avg_pool2d(y, 1), 1))
m = SE().eval()
torch.onnx.export(m, torch.zeros(1, 1, 28, 28), sys.argv[1], opset_version=17, input_names=["input"], output_names=["logits"],
                  dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}}, training=torch.onnx.TrainingMode.PRESERVE,
                  do_constant_folding=False)
PY
for m in mlp_fm resnet_fm mobilenet_v2_fm se_fm; do
  model=$src/tools/zoo/models/$m.onnx
  [ "$m" = se_fm ] && model=$work/se_fm.onnx
  "$cli" finetune "$model" --teacher "$model" --data "$work/x.npy" --labels "$work/y.npy" --held-out 0 --epochs 1 --batch 32 \
    -o "$work/$m.edgeopt.onnx" > /dev/null
  "$py" "$src/tools/finetune/onnx_torch.py" step "$model" "$work/x.npy" "$work/y.npy" "$work/$m.torch.onnx" --teacher "$model" > /dev/null
  echo "== $m"
  "$py" "$src/tools/finetune/onnx_torch.py" compare "$model" "$work/$m.edgeopt.onnx" "$work/$m.torch.onnx" --tolerance 5e-3
done
