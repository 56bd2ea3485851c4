#!/usr/bin/env node
// Runs two ONNX models in ONNX Runtime (CPU, one thread) on the same seeded random inputs and
// compares their outputs by name: the check that an optimized model computes what the original
// computes, by a runtime that is not edgeopt's. Also times both (median of --iters runs,
// alternating the two models).
//
//   node tools/peer/compare_models_ort.js ORIGINAL.onnx OPTIMIZED.onnx [--tol 1e-4] [--seed 1]
//        [--shape NAME=1x3x224x224] [--iters 0]
//
// Prints one JSON line; exit 0 when every output's max_rel_err (max |a-b| / max |a|) is within
// --tol, 1 otherwise, 2 on usage errors, 77 without onnxruntime-node.
'use strict';
const path = require('path');
const { relativeError, randomFeeds } = require('./common');

function usage(msg) {
  console.error(`compare_models_ort: ${msg}`);
  process.exit(2);
}

(async () => {
  const a = { tol: 1e-4, seed: 1, shapes: {}, iters: 0, models: [] };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; ++i) {
    const v = argv[i];
    if (v === '--tol') a.tol = Number(argv[++i]);
    else if (v === '--seed') a.seed = Number(argv[++i]);
    else if (v === '--iters') a.iters = Number(argv[++i]);
    else if (v === '--shape') {
      const [name, dims] = argv[++i].split('=');
      a.shapes[name] = dims.split('x').map(Number);
    } else if (v.startsWith('--')) usage(`unknown option ${v}`);
    else a.models.push(v);
  }
  if (a.models.length !== 2) usage('need ORIGINAL.onnx and OPTIMIZED.onnx');
  let ort;
  try { ort = require('onnxruntime-node'); } catch (e) {
    console.error('compare_models_ort: onnxruntime-node is not installed (cd tools/peer && npm install --ignore-scripts)');
    process.exit(77);
  }
  const opts = { intraOpNumThreads: 1, interOpNumThreads: 1 };
  const [orig, opt] = await Promise.all(a.models.map((m) => ort.InferenceSession.create(m, opts)));
  const feeds = randomFeeds(ort, orig, a.shapes, a.seed);
  const ref = await orig.run(feeds);
  const out = await opt.run(feeds);
  const result = { original: path.basename(a.models[0]), optimized: path.basename(a.models[1]), outputs: {}, ok: true };
  for (const name of orig.outputNames) {
    if (!out[name]) { result.outputs[name] = { error: 'missing in optimized model' }; result.ok = false; continue; }
    const { maxAbs, rel } = relativeError(ref[name].data, out[name].data);
    result.outputs[name] = { max_abs_err: maxAbs, max_rel_err: rel };
    if (!(rel <= a.tol)) result.ok = false;
  }
  if (a.iters > 0) {
    const times = [[], []];
    for (let i = 0; i < a.iters; ++i)
      for (const [k, s] of [orig, opt].entries()) {
        const t0 = process.hrtime.bigint();
        await s.run(feeds);
        times[k].push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
    const median = (v) => v.sort((x, y) => x - y)[Math.floor(v.length / 2)];
    result.ort_median_ms = { original: +median(times[0]).toFixed(3), optimized: +median(times[1]).toFixed(3) };
  }
  console.log(JSON.stringify(result));
  process.exit(result.ok ? 0 : 1);
})();
