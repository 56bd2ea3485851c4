#!/usr/bin/python3
"""The reference fine-tune hook for `edgeopt finetune --hook`: trains the job's student.onnx in
PyTorch by knowledge distillation and writes the trained values back into the same graph.

    edgeopt finetune STUDENT --teacher T --data ... --hook "/usr/bin/python3 tools/finetune/torch_hook.py {job}"
    edgeopt finetune ... --hook "torchrun --standalone --nproc_per_node=2 tools/finetune/torch_hook.py {job}"

Single process, or under torchrun: DistributedDataParallel on the gloo backend, each rank taking
its share of every batch (gradients averaged, so a step sees the whole batch; BatchNorm statistics
are per rank, as plain DDP computes them); rank 0 writes the results. Reads request.json
(edgeopt.finetune-request/1) and the .npy files edgeopt wrote (already preprocessed), appends one
JSON line per epoch to progress.jsonl, keeps the epoch with the best held-out top-1, and writes
student_out.onnx and result.json (edgeopt.finetune-result/1). Weights that were exactly zero stay
zero. Any error: a message on stderr and exit 1 (edgeopt shows the last line).
"""
import json
import math
import os
import sys
import time

import numpy as np
import onnx
import torch
import torch.distributed as dist

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from onnx_torch import OnnxModule, kd_loss  # noqa: E402


def top1(net, x, y, chunk=512):
    net.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), chunk):
            correct += int((net(x[i:i + chunk]).argmax(1) == y[i:i + chunk]).sum())
    return correct / max(1, len(x))


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: torch_hook.py JOB_FOLDER")
    job = sys.argv[1]
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    if world > 1:
        dist.init_process_group("gloo")
    torch.set_num_threads(1)
    req = json.load(open(os.path.join(job, "request.json")))
    if req.get("schema") != "edgeopt.finetune-request/1":
        sys.exit("torch_hook: request.json is not edgeopt.finetune-request/1")
    load = lambda name: np.load(os.path.join(job, name))
    x, y = torch.from_numpy(load("train_x.npy")), torch.from_numpy(load("train_y.npy"))
    hx, hy = torch.from_numpy(load("held_x.npy")), torch.from_numpy(load("held_y.npy"))
    teacher = torch.from_numpy(load("teacher_logits.npy")) if os.path.exists(os.path.join(job, "teacher_logits.npy")) else None
    model = onnx.load(os.path.join(job, "student.onnx"))
    net = OnnxModule(model, untie=False)
    trainable = set(req["trainable"])
    for name, k in net.key.items():
        if name not in trainable:
            net.params[k].requires_grad_(False)
    keep_zero = set(req.get("keep_zero_weights", []))
    masks = {net.key[n]: (net.params[net.key[n]].detach() != 0).float() for n in keep_zero if n in net.key}
    opt_req, loss_req = req["optimizer"], req["loss"]
    decayed = [p for k, p in net.params.items() if k in net.decayed and p.requires_grad]
    other = [p for k, p in net.params.items() if k not in net.decayed and p.requires_grad]
    opt = torch.optim.SGD([{"params": decayed, "weight_decay": opt_req["weight_decay"]}, {"params": other, "weight_decay": 0.0}],
                          lr=opt_req["lr"], momentum=opt_req["momentum"], nesterov=opt_req.get("nesterov", True))
    model_ddp = torch.nn.parallel.DistributedDataParallel(net) if world > 1 else net
    teacher_top1 = -1.0
    if os.path.exists(os.path.join(job, "teacher.onnx")) and len(hx):
        teacher_top1 = top1(OnnxModule(onnx.load(os.path.join(job, "teacher.onnx"))), hx, hy)
    epochs, batch = req["epochs"], req["batch"]
    steps = math.ceil(len(x) / batch)
    total, step = steps * epochs, 0
    gen = torch.Generator().manual_seed(req.get("seed", 0))
    best, best_state, log = -1.0, None, []
    for epoch in range(1, epochs + 1):
        start = time.time()
        order = torch.randperm(len(x), generator=gen)
        net.train()
        loss_sum, correct, seen = 0.0, 0, 0
        for s in range(steps):
            idx = order[s * batch:(s + 1) * batch]
            share = idx[rank::world]  # this rank's part of the batch
            for g in opt.param_groups:
                g["lr"] = opt_req["lr"] * 0.5 * (1 + math.cos(math.pi * step / total))
            step += 1
            logits = model_ddp(x[share])
            loss = kd_loss(logits, teacher[share] if teacher is not None else None, y[share], loss_req["alpha"], loss_req["temperature"])
            opt.zero_grad()
            loss.backward()
            opt.step()
            with torch.no_grad():
                for k, m in masks.items():
                    net.params[k].mul_(m)
            loss_sum += float(loss) * len(share)
            correct += int((logits.argmax(1) == y[share]).sum())
            seen += len(share)
        held = top1(net, hx, hy) if len(hx) else -1.0
        entry = {"epoch": epoch, "loss": loss_sum / max(1, seen), "train_top1": correct / max(1, seen), "held_out_top1": held,
                 "seconds": time.time() - start}
        log.append(entry)
        if rank == 0:
            with open(os.path.join(job, "progress.jsonl"), "a") as f:
                f.write(json.dumps(entry) + "\n")
        if held > best:
            best = held
            best_state = ({k: p.detach().clone() for k, p in net.params.items()},
                          {k: (m.clone(), v.clone()) for k, (m, v) in getattr(net, "_running", {}).items()})
    if best_state is not None:
        with torch.no_grad():
            for k, p in net.params.items():
                p.copy_(best_state[0][k])
            net._running = best_state[1]
    if rank == 0:
        net.write_back()
        onnx.save(model, os.path.join(job, "student_out.onnx"))
        with open(os.path.join(job, "result.json"), "w") as f:
            json.dump({"schema": "edgeopt.finetune-result/1", "teacher_held_out_top1": teacher_top1,
                       "student_held_out_top1": best, "epochs": log, "processes": world}, f, indent=2)
    if world > 1:
        dist.barrier()
        dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except SystemExit:
        raise
    except Exception as e:  # one line for edgeopt's error message
        print("torch_hook: %s: %s" % (type(e).__name__, e), file=sys.stderr)
        sys.exit(1)
