#!/usr/bin/env bash
# The reference PyTorch hook (tools/finetune/torch_hook.py) through `edgeopt finetune --hook`, in
# one process and under torchrun with two (DDP, gloo), on 400 Fashion-MNIST training images: both
# return a model edgeopt accepts (same graph, finite values, masks kept, the teacher's held-out
# accuracy equal to edgeopt's). Skipped (77) without Debian's python3-torch/python3-onnx.
# Usage: torch_hook.sh EDGEOPT_CLI SOURCE_DIR WORKDIR
set -euo pipefail
cli=$1 src=$2 work=$3
/usr/bin/python3 -c "import torch, onnx, numpy" 2>/dev/null || { echo "python3-torch/python3-onnx not installed: skipped"; exit 77; }
rm -rf "$work" && mkdir -p "$work"
d=/usr/share/datasets/fashion-mnist
zoo=$src/tools/zoo/models/resnet_fm.onnx
pre=scale=1/255,mean=0.286,std=0.353,layout=NCHW
"$cli" prune "$zoo" --macs 0.5 --unstructured 0.3 -o "$work/student.onnx" > /dev/null
common=(finetune "$work/student.onnx" --teacher "$zoo" --data "$d/train-images-idx3-ubyte.gz" --labels "$d/train-labels-idx1-ubyte.gz"
        --preprocess "$pre" --limit 400 --epochs 1 --batch 32 --hook-timeout 600)
# Debian's torchrun (torch 1.13 on Python 3.11) needs --redirects/--tee other than 0. Its
# rendezvous needs `localhost` and the machine's name to resolve (/etc/hosts, which every installed
# Debian has; a bare debootstrap root does not): without them the DDP run is left out, and said so.
hooks=("/usr/bin/python3 $src/tools/finetune/torch_hook.py {job}")
if getent hosts localhost > /dev/null && getent hosts "$(hostname)" > /dev/null; then
  hooks+=("torchrun --standalone --nproc_per_node=2 --redirects 1 --tee 1 $src/tools/finetune/torch_hook.py {job}")
else
  echo "torch_hook.sh: WARNING: 'localhost' or '$(hostname)' does not resolve here (/etc/hosts): the torchrun (DDP) hook is NOT tested" >&2
fi
for hook in "${hooks[@]}"; do
  echo "== $hook"
  "$cli" "${common[@]}" --hook "$hook" -o "$work/out.onnx"
  test -s "$work/out.onnx"
  rm "$work/out.onnx"
done
