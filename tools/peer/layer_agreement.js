#!/usr/bin/env node
// Per-layer bit-exactness of edgeopt's int8 execution against ONNX Runtime's on a QDQ model:
// every QuantizeLinear output (the int8 tensor a layer writes) becomes a graph output, both run
// the model on the same input, and the share of identical bytes is reported per tensor and per
// layer type (the float op the QuantizeLinear quantizes: Conv, Add, GlobalAveragePool, ...).
// ORT fuses each DQ -> op -> Q group into its int8 op (QLinearConv, QLinearAdd, ...), as it does
// for the deployed model; the extra graph outputs do not change which groups it fuses.
//
//   node tools/peer/layer_agreement.js --edgeopt build/tools/edgeopt MODEL.qdq.onnx INPUT.npy
//        [--target x86|ref|arm-neon] [--json]
//
// Needs Debian's python3-onnx (/usr/bin/python3) to add the outputs. Prints a table (or one JSON
// line with --json). Exit 0, 2 on usage errors, 77 without onnxruntime-node or python3-onnx.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync } = require('child_process');
const { readNpy } = require('./npy');

function usage(msg) {
  console.error(`layer_agreement: ${msg}`);
  process.exit(2);
}

// Writes OUT: MODEL with every QuantizeLinear output as a graph output; prints a JSON map from
// each such tensor to the op type of the node producing the QuantizeLinear's input.
const EXPOSE = `
import json, sys, onnx
m = onnx.shape_inference.infer_shapes(onnx.load(sys.argv[1]))
g = m.graph
inferred = {v.name: v for v in g.value_info}
producer = {o: n for n in g.node for o in n.output}
present = {o.name for o in g.output}
zero_point_type = {t.name: t.data_type for t in g.initializer}
kinds = {}
for n in g.node:
    if n.op_type != 'QuantizeLinear':
        continue
    src = producer.get(n.input[0])
    kinds[n.output[0]] = src.op_type if src is not None else 'graph input'
    if n.output[0] not in present:
        if n.output[0] in inferred:
            g.output.append(inferred[n.output[0]])
        else:
            elem = zero_point_type.get(n.input[2], onnx.TensorProto.UINT8) if len(n.input) > 2 else onnx.TensorProto.UINT8
            g.output.append(onnx.helper.make_tensor_value_info(n.output[0], elem, None))
onnx.save(m, sys.argv[2])
print(json.dumps(kinds))
`;

(async () => {
  const argv = process.argv.slice(2);
  const a = { edgeopt: null, target: 'x86', json: false, files: [] };
  for (let i = 0; i < argv.length; ++i) {
    if (argv[i] === '--edgeopt') a.edgeopt = argv[++i];
    else if (argv[i] === '--target') a.target = argv[++i];
    else if (argv[i] === '--json') a.json = true;
    else if (argv[i].startsWith('--')) usage(`unknown option ${argv[i]}`);
    else a.files.push(argv[i]);
  }
  if (!a.edgeopt || a.files.length !== 2) usage('need --edgeopt BINARY MODEL INPUT.npy');
  let ort;
  try {
    ort = require('onnxruntime-node');
  } catch (e) {
    console.error('layer_agreement: onnxruntime-node is not installed');
    process.exit(77);
  }
  const [model, input] = a.files;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgeopt-layers-'));
  try {
    const exposed = path.join(dir, 'exposed.onnx');
    let kinds;
    try {
      kinds = JSON.parse(execFileSync('/usr/bin/python3', ['-c', EXPOSE, model, exposed], { encoding: 'utf8' }));
    } catch (e) {
      console.error('layer_agreement: needs python3-onnx for /usr/bin/python3');
      process.exit(77);
    }
    const session = await ort.InferenceSession.create(exposed, { intraOpNumThreads: 1, interOpNumThreads: 1 });
    const x = readNpy(input);
    const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', x.data, x.dims) };
    const theirs = await session.run(feeds);
    const outDir = path.join(dir, 'out');
    execFileSync(a.edgeopt, ['run', exposed, '--input', input, '--output', outDir, '--target', a.target],
                 { stdio: ['ignore', 'ignore', 'inherit'] });
    const perTensor = [], perKind = {};
    for (const name of Object.keys(kinds)) {
      const ours = readNpy(path.join(outDir, `${name.replace(/[^A-Za-z0-9._-]/g, '_')}.npy`)).data;
      const ref = theirs[name].data;
      let same = 0, maxDiff = 0;
      for (let i = 0; i < ref.length; ++i) {
        const d = Math.abs(Number(ours[i]) - Number(ref[i]));
        same += d === 0;
        maxDiff = Math.max(maxDiff, d);
      }
      perTensor.push({ tensor: name, kind: kinds[name], elements: ref.length, identical: same / ref.length, max_diff: maxDiff });
      const k = (perKind[kinds[name]] ||= { tensors: 0, elements: 0, identical: 0, max_diff: 0 });
      k.tensors += 1;
      k.elements += ref.length;
      k.identical += same;
      k.max_diff = Math.max(k.max_diff, maxDiff);
    }
    for (const k of Object.values(perKind)) k.identical = k.identical / k.elements;
    if (a.json) {
      console.log(JSON.stringify({ model: path.basename(model), target: a.target, per_kind: perKind, per_tensor: perTensor }));
    } else {
      console.log(`layer type            tensors    elements  identical  max |diff|`);
      for (const [kind, k] of Object.entries(perKind))
        console.log(`${kind.padEnd(20)} ${String(k.tensors).padStart(8)} ${String(k.elements).padStart(11)} ` +
                    `${(100 * k.identical).toFixed(3).padStart(9)}% ${String(k.max_diff).padStart(10)}`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
})();
