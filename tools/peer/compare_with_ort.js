#!/usr/bin/env node
// Compares `edgeopt run` with ONNX Runtime (onnxruntime-node, CPU, one intra-op thread) on the
// same seeded random inputs, and prints one JSON line per model.
//
//   node tools/peer/compare_with_ort.js --edgeopt build/tools/edgeopt [--tol 1e-4] [--seed 1]
//        [--atol A] [--shape NAME=1x3x224x224] [--target ref|x86|arm-neon] MODEL.onnx [MODEL.onnx ...]
//
// Error measure: max_rel_err = max_i |edgeopt_i - ort_i| / max_i |ort_i| per output (the
// largest absolute error relative to the output's scale, so near-zero elements do not blow it
// up). Exit status: 0 when every output is within --tol, 1 otherwise, 2 on usage errors, 77 when
// onnxruntime-node is not installed (ctest reports the test as skipped).
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync } = require('child_process');
const { readNpy, writeNpy } = require('./npy');
const { randomFeeds, relativeError } = require('./common');

function usage(msg) {
  console.error(`compare_with_ort: ${msg}`);
  process.exit(2);
}

function parseArgs(argv) {
  const a = { edgeopt: null, tol: 1e-4, atol: 0, seed: 1, shapes: {}, target: null, models: [] };
  for (let i = 0; i < argv.length; ++i) {
    const v = argv[i];
    if (v === '--edgeopt') a.edgeopt = argv[++i];
    else if (v === '--tol') a.tol = Number(argv[++i]);
    else if (v === '--seed') a.seed = Number(argv[++i]);
    else if (v === '--target') a.target = argv[++i];
    else if (v === '--atol') a.atol = Number(argv[++i]);
    else if (v === '--shape') {
      const [name, dims] = argv[++i].split('=');
      a.shapes[name] = dims.split('x').map(Number);
    } else if (v.startsWith('--')) usage(`unknown option ${v}`);
    else a.models.push(v);
  }
  if (!a.edgeopt || !a.models.length) usage('need --edgeopt BINARY and at least one MODEL');
  return a;
}

async function compareModel(ort, args, modelPath) {
  const session = await ort.InferenceSession.create(modelPath, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgeopt-peer-'));
  try {
    const feeds = randomFeeds(ort, session, args.shapes, args.seed);
    const cliInputs = [];
    session.inputNames.forEach((name, k) => {
      const file = path.join(dir, `input_${k}.npy`);
      writeNpy(file, 'float32', feeds[name].dims, feeds[name].data);
      cliInputs.push('--input', `${name}=${file}`);
    });
    const ortOut = await session.run(feeds);
    const outNames = session.outputNames;
    const outPath = path.join(dir, outNames.length === 1 ? 'out.npy' : 'out');
    const t0 = process.hrtime.bigint();
    const target = args.target ? ['--target', args.target] : [];
    execFileSync(args.edgeopt, ['run', modelPath, ...cliInputs, '--output', outPath, ...target], { stdio: ['ignore', 'ignore', 'inherit'] });
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const result = { model: path.basename(modelPath), target: args.target || 'ref', outputs: {}, edgeopt_run_seconds: +seconds.toFixed(3), ok: true };
    for (const name of outNames) {
      const file = outNames.length === 1 ? outPath : path.join(outPath, `${name.replace(/[^A-Za-z0-9._-]/g, '_')}.npy`);
      const ours = readNpy(file);
      const ref = ortOut[name];
      if (JSON.stringify(ours.dims) !== JSON.stringify(ref.dims.map(Number))) {
        result.outputs[name] = { error: `shape ${JSON.stringify(ours.dims)} vs ORT ${JSON.stringify(ref.dims)}` };
        result.ok = false;
        continue;
      }
      const { maxAbs, rel } = relativeError(ref.data, ours.data);
      result.outputs[name] = { dims: ours.dims, max_abs_err: maxAbs, max_rel_err: rel };
      // Within --tol of the output's scale, or within the absolute floor --atol (outputs such as a
      // Sigmoid's whose scale on random inputs can be tiny).
      if (!(rel <= args.tol || maxAbs <= args.atol)) result.ok = false;
    }
    return result;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

(async () => {
  const args = parseArgs(process.argv.slice(2));
  let ort;
  try {
    ort = require('onnxruntime-node');
  } catch (e) {
    console.error('compare_with_ort: onnxruntime-node is not installed (cd tools/peer && npm install --ignore-scripts)');
    process.exit(77);
  }
  let allOk = true;
  for (const m of args.models) {
    let r;
    try {
      r = await compareModel(ort, args, m);
    } catch (e) {
      r = { model: path.basename(m), ok: false, error: String(e.message || e).split('\n')[0] };
    }
    allOk = allOk && r.ok;
    console.log(JSON.stringify(r));
  }
  process.exit(allOk ? 0 : 1);
})();
