#!/usr/bin/env node
// Top-1 predictions of an ONNX model in ONNX Runtime (CPU, one thread) over a data set, written
// as a .npy of int64 (one class per sample) — to compare with `edgeopt eval --predictions`.
//
//   node tools/peer/ort_predict.js MODEL.onnx DATA OUT.npy [--batch 100] [--limit N]
//        [--scale 0.00392156862745098 --mean 0.2860 --std 0.3530]
//
// DATA is a .npy of preprocessed samples, or an IDX image file (gzipped or not; grayscale, fed
// as N x 1 x H x W float32 after (pixel * scale - mean) / std).
//
// Prints one JSON line with the sample count and the median time per batch.
'use strict';
const fs = require('fs');
const zlib = require('zlib');
const { readNpy, writeNpy } = require('./npy');

function readIdxImages(path, scale, mean, std) {
  let buf = fs.readFileSync(path);
  if (buf[0] === 0x1f && buf[1] === 0x8b) buf = zlib.gunzipSync(buf);
  if (buf[2] !== 8 || buf[3] !== 3) throw new Error(`${path}: not an unsigned-byte IDX image file`);
  const [n, h, w] = [buf.readUInt32BE(4), buf.readUInt32BE(8), buf.readUInt32BE(12)];
  const data = new Float32Array(n * h * w);
  for (let i = 0; i < data.length; ++i) data[i] = (buf[16 + i] * scale - mean) / std;
  return { type: 'float32', dims: [n, 1, h, w], data };
}

(async () => {
  const argv = process.argv.slice(2);
  const pos = argv.filter((a, i) => !a.startsWith('--') && !(i > 0 && argv[i - 1].startsWith('--')));
  const opt = (name, dflt) => { const i = argv.indexOf(name); return i >= 0 ? Number(argv[i + 1]) : dflt; };
  if (pos.length !== 3) { console.error('usage: ort_predict.js MODEL.onnx DATA.npy OUT.npy [--batch N] [--limit N]'); process.exit(2); }
  let ort;
  try { ort = require('onnxruntime-node'); } catch (e) { console.error('ort_predict: onnxruntime-node is not installed'); process.exit(77); }
  const [model, data, out] = pos;
  const batch = opt('--batch', 100);
  const x = data.endsWith('.npy') ? readNpy(data)
    : readIdxImages(data, opt('--scale', 1), opt('--mean', 0), opt('--std', 1));
  const n = Math.min(x.dims[0], opt('--limit', x.dims[0]));
  const per = x.dims.slice(1).reduce((p, d) => p * d, 1);
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const preds = new BigInt64Array(n);
  const times = [];
  for (let s = 0; s < n; s += batch) {
    const b = Math.min(batch, n - s);
    const t = new ort.Tensor('float32', x.data.slice(s * per, (s + b) * per), [b, ...x.dims.slice(1)]);
    const t0 = process.hrtime.bigint();
    const r = await session.run({ [session.inputNames[0]]: t });
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    const logits = r[session.outputNames[0]].data;
    const classes = logits.length / b;
    for (let i = 0; i < b; ++i) {
      let best = 0;
      for (let c = 1; c < classes; ++c) if (logits[i * classes + c] > logits[i * classes + best]) best = c;
      preds[s + i] = BigInt(best);
    }
  }
  writeNpy(out, 'int64', [n], preds);
  times.sort((p, q) => p - q);
  console.log(JSON.stringify({ model, samples: n, median_batch_ms: +times[Math.floor(times.length / 2)].toFixed(3) }));
})();
