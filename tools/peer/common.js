// Shared by the peer scripts: seeded inputs and the error measure.
'use strict';

// Deterministic uniform [-1, 1) generator (mulberry32).
function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  };
}

// max |a - b| and max |a - b| / max |a| (the reference a's scale), so near-zero elements do
// not blow the relative error up.
function relativeError(a, b) {
  let maxAbs = 0, scale = 0;
  for (let i = 0; i < a.length; ++i) {
    const x = Number(a[i]), y = Number(b[i]);
    maxAbs = Math.max(maxAbs, Math.abs(x - y));
    scale = Math.max(scale, Math.abs(x));
  }
  return { maxAbs, rel: scale > 0 ? maxAbs / scale : maxAbs };
}

// Seeded float32 feeds for every input of an ORT session; symbolic dims become 1 unless
// `shapes[name]` gives the dims.
function randomFeeds(ort, session, shapes, seed) {
  const next = rng(seed);
  const feeds = {};
  for (const meta of session.inputMetadata) {
    const dims = shapes[meta.name] || meta.shape.map((d) => (typeof d === 'number' ? d : 1));
    if (meta.type !== 'float32') throw new Error(`input ${meta.name}: only float32 inputs are generated`);
    const n = dims.reduce((p, d) => p * d, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; ++i) data[i] = next();
    feeds[meta.name] = new ort.Tensor('float32', data, dims);
  }
  return feeds;
}

module.exports = { rng, relativeError, randomFeeds };
