#!/usr/bin/env bash
# One fine-tuning step of edgeopt's built-in trainer against the same step in PyTorch
# (tools/finetune/onnx_torch.py) on the zoo models: every updated Conv/Gemm/BatchNorm value within
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
for m in mlp_fm resnet_fm mobilenet_v2_fm; do
  model=$src/tools/zoo/models/$m.onnx
  "$cli" finetune "$model" --teacher "$model" --data "$work/x.npy" --labels "$work/y.npy" --held-out 0 --epochs 1 --batch 32 \
    -o "$work/$m.edgeopt.onnx" > /dev/null
  "$py" "$src/tools/finetune/onnx_torch.py" step "$model" "$work/x.npy" "$work/y.npy" "$work/$m.torch.onnx" --teacher "$model" > /dev/null
  echo "== $m"
  "$py" "$src/tools/finetune/onnx_torch.py" compare "$model" "$work/$m.edgeopt.onnx" "$work/$m.torch.onnx" --tolerance 5e-3
done
