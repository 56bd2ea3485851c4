#!/usr/bin/env node
// edgeopt's x86 target against ONNX Runtime (onnxruntime-node, CPU, intra-op threads 1) on the same
// models and input shapes, measured in one run: the two sides alternate for --rounds rounds (each
// round: `edgeopt bench --iters N`, then N ORT runs after a warm-up) and the figure per side is the
// median of its round medians. Prints one table row per model and, with --json, one JSON line.
//
//   node tools/bench/bench_vs_ort.js [--edgeopt build/tools/edgeopt] [--rounds 5] [--iters 20]
//        [--threads 1] [--json] MODEL.onnx[@NAME=1x3x224x224] ...
//
// Exit 0, 2 on usage errors or a failed run, 77 without onnxruntime-node.
'use strict';
const path = require('path');
const { spawnSync } = require('child_process');
const peer = path.join(__dirname, '..', 'peer');
const { randomFeeds } = require(path.join(peer, 'common'));

function usage(msg) {
  console.error(`bench_vs_ort: ${msg}`);
  process.exit(2);
}

function median(v) {
  const s = [...v].sort((x, y) => x - y);
  return s.length ? s[Math.floor(s.length / 2)] : NaN;
}

(async () => {
  const a = { edgeopt: path.join(__dirname, '..', '..', 'build', 'tools', 'edgeopt'), rounds: 5, iters: 20, threads: 1,
              json: false, models: [] };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; ++i) {
    const v = argv[i];
    if (v === '--edgeopt') a.edgeopt = argv[++i];
    else if (v === '--rounds') a.rounds = Number(argv[++i]);
    else if (v === '--iters') a.iters = Number(argv[++i]);
    else if (v === '--threads') a.threads = Number(argv[++i]);
    else if (v === '--json') a.json = true;
    else if (v.startsWith('--')) usage(`unknown option ${v}`);
    else {
      const [file, shape] = v.split('@');
      const shapes = {};
      if (shape) {
        const [name, dims] = shape.split('=');
        if (!dims) usage(`bad shape in ${v} (expected MODEL.onnx@NAME=1x3x224x224)`);
        shapes[name] = dims.split('x').map(Number);
      }
      a.models.push({ file, shape, shapes });
    }
  }
  if (!a.models.length) usage('no models given');
  if (!(a.rounds >= 1 && a.iters >= 1 && a.threads >= 1)) usage('--rounds, --iters and --threads must be >= 1');
  let ort;
  try {
    ort = require(require.resolve('onnxruntime-node', { paths: [peer] }));
  } catch (e) {
    console.error('bench_vs_ort: onnxruntime-node is not installed (cd tools/peer && npm install --ignore-scripts)');
    process.exit(77);
  }
  const rows = [];
  if (!a.json) console.log('model                      input                edgeopt x86 ms   ORT ms   ratio (edgeopt/ORT)');
  for (const m of a.models) {
    const session = await ort.InferenceSession.create(m.file, { intraOpNumThreads: a.threads, interOpNumThreads: 1,
                                                                 graphOptimizationLevel: 'all', executionMode: 'sequential' });
    const feeds = randomFeeds(ort, session, m.shapes, 1);
    const edgeoptArgs = ['bench', m.file, '--target', 'x86', '--threads', String(a.threads), '--iters', String(a.iters),
                         '--warmup', '3', '--json'];
    if (m.shape) edgeoptArgs.push('--shape', m.shape);
    const ours = [], theirs = [];
    for (let r = 0; r < a.rounds; ++r) {
      const p = spawnSync(a.edgeopt, edgeoptArgs, { encoding: 'utf8', maxBuffer: 64 << 20 });
      if (p.status !== 0) usage(`edgeopt bench failed on ${m.file}: ${(p.stderr || '').trim()}`);
      ours.push(JSON.parse(p.stdout).latency_ms.median);
      for (let i = 0; i < 3; ++i) await session.run(feeds);
      const t = [];
      for (let i = 0; i < a.iters; ++i) {
        const t0 = process.hrtime.bigint();
        await session.run(feeds);
        t.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
      theirs.push(median(t));
    }
    const row = { model: path.basename(m.file), input: m.shape || 'default', edgeopt_ms: median(ours), ort_ms: median(theirs),
                  edgeopt_rounds: ours, ort_rounds: theirs };
    row.ratio = row.edgeopt_ms / row.ort_ms;
    rows.push(row);
    if (!a.json)
      console.log(`${row.model.padEnd(26)} ${row.input.padEnd(20)} ${row.edgeopt_ms.toFixed(3).padStart(14)} ` +
                  `${row.ort_ms.toFixed(3).padStart(8)}   ${row.ratio.toFixed(3)}`);
  }
  if (a.json) console.log(JSON.stringify({ rounds: a.rounds, iters: a.iters, threads: a.threads, results: rows }));
})().catch((e) => usage(e.message));
