#!/usr/bin/python3
"""An ONNX graph as a torch.nn.Module, for training in PyTorch: the ops edgeopt's built-in
fine-tuner trains (Conv, Gemm/MatMul with constant weights, BatchNormalization, Relu, Clip,
HardSigmoid, HardSwish, Sigmoid, Add, Mul, Concat, MaxPool, AveragePool, GlobalAveragePool,
Flatten, Reshape, Identity, Dropout), every float initializer an
nn.Parameter (int64 ones, e.g. Reshape shapes, stay constants), and write_back() putting the
trained values into the same graph's initializers. Needs Debian's python3-torch and python3-onnx
(run with /usr/bin/python3).

    python3 tools/finetune/onnx_torch.py step MODEL.onnx X.npy LABELS.npy OUT.onnx \
        [--teacher T.onnx] [--lr 0.01] [--momentum 0.9] [--weight-decay 5e-4] [--alpha 0.7] [--temperature 4]

runs exactly one SGD step (Nesterov, weight decay on Conv/Gemm/MatMul weights only, BatchNorm in
training mode with momentum 0.1) of the loss alpha*T^2*KL(teacher/T || student/T) +
(1-alpha)*CE on the whole batch, as `edgeopt finetune --epochs 1 --batch N` does on N samples,
and writes the stepped model: the two can be compared value by value,

    python3 tools/finetune/onnx_torch.py compare BEFORE.onnx EDGEOPT.onnx TORCH.onnx [--tolerance 1e-3]

prints, per op type, the largest difference between the two steps relative to the largest step
(exit 1 above the tolerance).
"""
import argparse
import sys

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import numpy_helper


class OnnxModule(torch.nn.Module):
    def __init__(self, model, untie=True):
        super().__init__()
        self.model = model
        self.graph = model.graph
        self.params = torch.nn.ParameterDict()
        self.consts = {}
        self.key = {}
        for i, init in enumerate(self.graph.initializer):
            a = numpy_helper.to_array(init)
            if a.dtype == np.float32:
                k = "p%d" % i
                self.params[k] = torch.nn.Parameter(torch.from_numpy(a.copy()))
                self.key[init.name] = k
            else:
                self.consts[init.name] = torch.from_numpy(a.copy())
        # An Identity of a float initializer is how exporters share equal constants of distinct
        # parameters (two BatchNorm biases that were both zero): each such output becomes a
        # parameter of its own, as edgeopt's fine-tuner treats it, written back as an initializer.
        self.alias = {}
        self.untied = []
        by_name = {i.name: i for i in self.graph.initializer}
        for n in list(self.graph.node):
            if not untie:
                break
            if n.op_type == "Identity" and n.input[0] in self.key:
                k = "u%d" % len(self.untied)
                self.params[k] = torch.nn.Parameter(self.params[self.key[n.input[0]]].detach().clone())
                self.key[n.output[0]] = k
                self.untied.append(n)
        self.decayed = set()
        for n in self.graph.node:
            if n.op_type in ("Conv", "Gemm", "MatMul") and len(n.input) > 1:
                name = self.alias.get(n.input[1], n.input[1])
                if name in self.key:
                    self.decayed.add(self.key[name])

    def value(self, env, name):
        name = self.alias.get(name, name)
        if name in self.key:
            return self.params[self.key[name]]
        if name in self.consts:
            return self.consts[name]
        return env[name]

    def forward(self, x):
        env = {self.graph.input[0].name: x}
        for n in self.graph.node:
            if n.op_type == "Identity" and n.output[0] in self.key:
                continue
            if n.op_type == "Identity" and n.input[0] in self.key:
                env[n.output[0]] = self.params[self.key[n.input[0]]]  # tied (untie=False): one parameter
                continue
            a = {at.name: onnx.helper.get_attribute_value(at) for at in n.attribute}
            if n.op_type == "Constant":
                env[n.output[0]] = torch.from_numpy(numpy_helper.to_array(a["value"]).copy())
                continue
            ins = [self.value(env, i) if i else None for i in n.input]
            op = n.op_type
            if op == "Conv":
                p = a.get("pads", [0, 0, 0, 0])
                y = F.conv2d(ins[0], ins[1], ins[2] if len(ins) > 2 else None, stride=a.get("strides", [1, 1]),
                             padding=(p[0], p[1]), groups=a.get("group", 1))
            elif op == "BatchNormalization":
                rm, rv = self.running(n)
                y = F.batch_norm(ins[0], rm, rv, ins[1], ins[2], self.training, 0.1, a.get("epsilon", 1e-5))
            elif op == "Relu":
                y = F.relu(ins[0])
            elif op == "Clip":
                y = F.hardtanh(ins[0], float(ins[1]), float(ins[2]))
            elif op == "HardSigmoid":
                y = torch.clamp(a.get("alpha", 0.2) * ins[0] + a.get("beta", 0.5), 0, 1)
                if abs(a.get("alpha", 0.2) - 1 / 6) < 1e-6 and abs(a.get("beta", 0.5) - 0.5) < 1e-6:
                    y = F.hardsigmoid(ins[0])  # PyTorch's own gradient at the kinks
            elif op == "HardSwish":
                y = F.hardswish(ins[0])
            elif op == "Sigmoid":
                y = torch.sigmoid(ins[0])
            elif op == "Add":
                y = ins[0] + ins[1]
            elif op == "Mul":
                y = ins[0] * ins[1]
            elif op == "Concat":
                y = torch.cat(ins, dim=a.get("axis", 1))
            elif op == "MaxPool":
                p = a.get("pads", [0, 0, 0, 0])
                y = F.max_pool2d(ins[0], a["kernel_shape"], a.get("strides", [1, 1]), (p[0], p[1]))
            elif op == "AveragePool":
                p = a.get("pads", [0, 0, 0, 0])
                y = F.avg_pool2d(ins[0], a["kernel_shape"], a.get("strides", [1, 1]), (p[0], p[1]),
                                 count_include_pad=bool(a.get("count_include_pad", 0)))
            elif op == "GlobalAveragePool":
                y = ins[0].mean(dim=(2, 3), keepdim=True)
            elif op in ("Flatten",):
                y = ins[0].reshape(ins[0].shape[0], -1)
            elif op == "Reshape":
                y = ins[0].reshape(ins[0].shape[0], -1)
            elif op in ("Identity", "Dropout"):
                y = ins[0]
            elif op == "Gemm":
                w = ins[1].t() if a.get("transB", 0) else ins[1]
                y = ins[0] @ w
                if len(ins) > 2 and ins[2] is not None:
                    y = y + ins[2]
            elif op == "MatMul":
                y = ins[0] @ ins[1]
            else:
                raise SystemExit("onnx_torch: node %s: op %s is not supported" % (n.name, op))
            env[n.output[0]] = y
        return env[self.graph.output[0].name]

    def running(self, node):
        # Running statistics as buffers, updated in place by F.batch_norm in training mode.
        if not hasattr(self, "_running"):
            self._running = {}
        if node.name not in self._running:
            # Through an untied Identity too: torch.onnx shares a fresh BatchNorm's running mean
            # (0) and variance (1) with its bias and scale when their values are equal.
            mean, var = (self.params[self.key[n]].detach().numpy() if n in self.key else numpy_helper.to_array(self.init(n))
                         for n in (node.input[3], node.input[4]))
            self._running[node.name] = (torch.from_numpy(mean.copy()), torch.from_numpy(var.copy()))
        return self._running[node.name]

    def init(self, name):
        name = self.alias.get(name, name)
        for i in self.graph.initializer:
            if i.name == name:
                return i
        raise SystemExit("onnx_torch: %s is not an initializer" % name)

    def write_back(self):
        """The trained parameters and running statistics into the graph's initializers."""
        for n in self.untied:  # the untied copies become initializers of their own
            self.graph.node.remove(n)
            self.graph.initializer.append(numpy_helper.from_array(np.zeros(1, np.float32), n.output[0]))
        self.untied = []
        by_name = {i.name: i for i in self.graph.initializer}
        for name, k in self.key.items():
            by_name[name].CopyFrom(numpy_helper.from_array(self.params[k].detach().numpy().astype(np.float32), name))
        for n in self.graph.node:
            if n.op_type == "BatchNormalization" and hasattr(self, "_running") and n.name in self._running:
                mean, var = self._running[n.name]
                for idx, t in ((3, mean), (4, var)):
                    name = self.alias.get(n.input[idx], n.input[idx])
                    by_name[name].CopyFrom(numpy_helper.from_array(t.numpy().astype(np.float32), name))


def kd_loss(student, teacher, labels, alpha, temperature):
    ce = F.cross_entropy(student, labels)
    if teacher is None or alpha == 0:
        return ce
    t = temperature
    kl = F.kl_div(F.log_softmax(student / t, dim=1), F.log_softmax(teacher / t, dim=1), reduction="batchmean", log_target=True)
    return alpha * t * t * kl + (1 - alpha) * ce


def step(args):
    model = onnx.load(args.model)
    net = OnnxModule(model)
    net.train()
    x = torch.from_numpy(np.load(args.x).astype(np.float32))
    labels = torch.from_numpy(np.load(args.labels).astype(np.int64))
    teacher = None
    if args.teacher:
        tnet = OnnxModule(onnx.load(args.teacher))
        tnet.eval()
        with torch.no_grad():
            teacher = tnet(x)
    decayed = [p for k, p in net.params.items() if k in net.decayed]
    other = [p for k, p in net.params.items() if k not in net.decayed]
    opt = torch.optim.SGD([{"params": decayed, "weight_decay": args.weight_decay}, {"params": other, "weight_decay": 0.0}],
                          lr=args.lr, momentum=args.momentum, nesterov=True)
    opt.zero_grad()
    loss = kd_loss(net(x), teacher, labels, args.alpha, args.temperature)
    loss.backward()
    opt.step()
    net.write_back()
    onnx.save(model, args.out)
    print("loss %.6f" % loss.item())


def node_constants(model):
    """Per node (in order): its initializer inputs as arrays, through Identity aliases."""
    inits = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    alias = {}
    for n in model.graph.node:
        if n.op_type == "Identity" and n.input[0] in inits:
            alias[n.output[0]] = n.input[0]
    out = []
    for n in model.graph.node:
        if n.op_type == "Identity" and n.output[0] in alias:
            continue
        vals = [inits[alias.get(i, i)] for i in n.input if alias.get(i, i) in inits]
        out.append((n.op_type, n.name, [v for v in vals if v.dtype == np.float32]))
    return out


def compare(args):
    """How far edgeopt's step is from PyTorch's, per op type: max |a - b| / max |b - before|."""
    before, a, b = (node_constants(onnx.load(p)) for p in (args.before, args.a, args.b))
    # Per op type: the largest difference over all its tensors, against the largest step over all
    # of them (a tensor whose own step is at float-rounding level, e.g. a converged bias, would
    # otherwise compare rounding noise with rounding noise).
    diff, step = {}, {}
    for (op, name, v0), (_, _, va), (_, _, vb) in zip(before, a, b):
        for x0, xa, xb in zip(v0, va, vb):
            diff[op] = max(diff.get(op, 0.0), float(np.abs(xa - xb).max()))
            step[op] = max(step.get(op, 0.0), float(np.abs(xb - x0).max()))
    worst = {op: diff[op] / step[op] for op in diff if step[op] > 0}
    for op, err in sorted(worst.items()):
        print("%-20s max |edgeopt - torch| / max |torch step| = %.2e" % (op, err))
    return 0 if all(e < args.tolerance for e in worst.values()) else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("step")
    s.add_argument("model")
    s.add_argument("x")
    s.add_argument("labels")
    s.add_argument("out")
    s.add_argument("--teacher")
    s.add_argument("--lr", type=float, default=0.01)
    s.add_argument("--momentum", type=float, default=0.9)
    s.add_argument("--weight-decay", type=float, default=5e-4)
    s.add_argument("--alpha", type=float, default=0.7)
    s.add_argument("--temperature", type=float, default=4.0)
    c = sub.add_parser("compare")
    c.add_argument("before")
    c.add_argument("a")
    c.add_argument("b")
    c.add_argument("--tolerance", type=float, default=1e-3)
    args = ap.parse_args()
    torch.manual_seed(0)
    if args.cmd == "step":
        return step(args)
    return compare(args)


if __name__ == "__main__":
    sys.exit(main())
