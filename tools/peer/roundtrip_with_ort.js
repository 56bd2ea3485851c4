#!/usr/bin/env node
// Checks with ONNX Runtime that edgeopt's import -> export keeps what a model computes, for every
// case exported by `edgeopt_onnx_conformance --export-dir DIR` (the ONNX backend test suite),
// including ops edgeopt's own executor does not run.
//
//   node tools/peer/roundtrip_with_ort.js DIR [--verbose]
//
// Per case: ORT runs the original model and edgeopt's export on the same inputs; outputs must
// agree within rtol 1e-4 / atol 1e-5 (the export is converted to opset 17, so ORT may pick other
// kernel versions). When ORT cannot run the original (ORT 1.30 dropped many opset-1..6 kernels,
// which the old pytorch-* cases use), the export's ORT outputs are compared with the suite's
// expected outputs instead (the suite's tolerance, rtol 1e-3 / atol 1e-7). A case whose original
// ORT cannot run and whose export ORT cannot run either is counted as "peer cannot run" and not
// judged. Exit 1 when an export that should run fails in ORT, or disagrees.
'use strict';
const fs = require('fs');
const path = require('path');
const { readNpy } = require('./npy');

const RTOL = 1e-4, ATOL = 1e-5;
const SUITE_RTOL = 1e-3, SUITE_ATOL = 1e-7;

function listCases(root) {
  const out = [];
  for (const suite of fs.readdirSync(root).sort())
    for (const c of fs.readdirSync(path.join(root, suite)).sort()) {
      const dir = path.join(root, suite, c);
      if (fs.existsSync(path.join(dir, 'model.onnx')) && fs.existsSync(path.join(dir, 'inputs.txt')))
        out.push({ suite, name: c, dir });
    }
  return out;
}

// The suite's expected outputs for a case as {name: {type, dims, data}}, or null if any is not
// expressible as .npy.
function suiteExpected(dir) {
  const file = path.join(dir, 'outputs.txt');
  if (!fs.existsSync(file)) return null;
  const out = {};
  for (const l of fs.readFileSync(file, 'utf8').split('\n').filter((x) => x.length)) {
    if (l.startsWith('! ')) return null;
    const [name, f] = l.split(' ');
    out[name] = readNpy(path.join(dir, f));
  }
  return out;
}

function compareTensors(a, b, rtol = RTOL, atol = ATOL) {
  if (a.type !== b.type) return `dtype ${b.type} vs ${a.type}`;
  if (JSON.stringify(a.dims) !== JSON.stringify(b.dims)) return `shape ${JSON.stringify(b.dims)} vs ${JSON.stringify(a.dims)}`;
  if (a.type === 'string') return a.data.join('\u0000') === b.data.join('\u0000') ? '' : 'strings differ';
  for (let i = 0; i < a.data.length; ++i) {
    const x = Number(a.data[i]), y = Number(b.data[i]);
    if (Number.isNaN(x) && Number.isNaN(y)) continue;
    if (x === y) continue;
    if (!(Math.abs(x - y) <= atol + rtol * Math.abs(x))) return `element ${i}: ${y} vs ${x}`;
  }
  return '';
}

async function main() {
  const args = process.argv.slice(2);
  const verbose = args.includes('--verbose');
  const root = args.find((a) => !a.startsWith('--'));
  if (!root) { console.error('usage: roundtrip_with_ort.js DIR [--verbose]'); process.exit(2); }
  let ort;
  try { ort = require('onnxruntime-node'); } catch (e) {
    console.error('roundtrip_with_ort: onnxruntime-node is not installed (cd tools/peer && npm install --ignore-scripts)');
    process.exit(77);
  }
  const opts = { intraOpNumThreads: 1, interOpNumThreads: 1, logSeverityLevel: 4 };
  const stats = {};
  const failures = [];
  for (const c of listCases(root)) {
    const s = (stats[c.suite] ||= { cases: 0, pass: 0, passSuite: 0, peerCannotRun: 0, noInputs: 0, fail: 0 });
    ++s.cases;
    const lines = fs.readFileSync(path.join(c.dir, 'inputs.txt'), 'utf8').split('\n').filter((l) => l.length);
    if (lines.some((l) => l.startsWith('! '))) { ++s.noInputs; continue; }
    const feeds = {};
    for (const l of lines) {
      const [name, file] = l.split(' ');
      const t = readNpy(path.join(c.dir, file));
      feeds[name] = new ort.Tensor(t.type === 'bool' ? 'bool' : t.type, t.data, t.dims);
    }
    const source = fs.readFileSync(path.join(c.dir, 'source.txt'), 'utf8').trim();
    let expected, rtol = RTOL, atol = ATOL, originalRuns = true;
    try {
      const orig = await ort.InferenceSession.create(source, opts);
      expected = await orig.run(feeds);
    } catch (e) {
      originalRuns = false;
      if (verbose) console.log(`  peer cannot run original ${c.name}: ${String(e.message).split('\n')[0]}`);
      expected = suiteExpected(c.dir);
      rtol = SUITE_RTOL; atol = SUITE_ATOL;
    }
    let actual;
    try {
      const ours = await ort.InferenceSession.create(path.join(c.dir, 'model.onnx'), opts);
      actual = await ours.run(feeds);
    } catch (e) {
      if (!originalRuns) { ++s.peerCannotRun; continue; }
      ++s.fail; failures.push(`${c.suite}/${c.name}: export does not run in ORT: ${String(e.message).split('\n')[0]}`);
      continue;
    }
    if (!expected) { ++s.noInputs; continue; }
    let diff = '';
    for (const name of Object.keys(expected)) {
      if (!actual[name]) { diff = `output '${name}' missing`; break; }
      diff = compareTensors(expected[name], actual[name], rtol, atol);
      if (diff) { diff = `output '${name}': ${diff}`; break; }
    }
    if (diff) { ++s.fail; failures.push(`${c.suite}/${c.name}${originalRuns ? '' : ' (vs suite outputs)'}: ${diff}`); }
    else if (originalRuns) ++s.pass;
    else ++s.passSuite;
  }
  for (const [suite, s] of Object.entries(stats))
    console.log(`suite ${suite.padEnd(18)} exported ${String(s.cases).padStart(4)} | export == original in ORT ${String(s.pass).padStart(4)}, ` +
                `export in ORT == suite outputs (original not runnable in ORT) ${s.passSuite}, ORT runs neither ${s.peerCannotRun}, ` +
                `data not expressible as .npy ${s.noInputs}, FAILED ${s.fail}`);
  for (const f of failures) console.log(`  FAILED: ${f}`);
  console.log(failures.length ? 'RESULT: FAIL' : 'RESULT: PASS');
  process.exit(failures.length ? 1 : 0);
}
main();
