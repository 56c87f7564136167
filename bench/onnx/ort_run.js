#!/usr/bin/env node
// Run prepared ONNX backend tests (see ort_prepare.py) in ONNX Runtime through
// onnxruntime-node, writing every output as a raw buffer plus a JSON header
// ({name, type, dims}) next to the inputs, or the error ORT gave.
//
// usage: NODE_PATH=/tmp/ort/node_modules node ort_run.js MANIFESTS.txt
// One session per test, default session options (all graph optimizations), one
// intra-op thread so runs stay light on a shared machine.
'use strict';
const fs = require('fs');
const ort = require('onnxruntime-node');

const TYPED = {
  float32: Float32Array, float64: Float64Array, int8: Int8Array, uint8: Uint8Array,
  int16: Int16Array, uint16: Uint16Array, int32: Int32Array, uint32: Uint32Array,
  int64: BigInt64Array, uint64: BigUint64Array, bool: Uint8Array, float16: Uint16Array,
};

function makeTensor(e) {
  if (e.kind !== 'tensor') throw new Error('cannot feed: ' + e.why);
  if (e.type === 'string') return new ort.Tensor('string', e.strings, e.dims);
  const C = TYPED[e.type];
  const b = fs.readFileSync(e.file);
  // copy into an aligned buffer of its own: readFileSync may return a pooled slice
  const ab = new ArrayBuffer(b.length);
  new Uint8Array(ab).set(b);
  return new ort.Tensor(e.type, new C(ab, 0, b.length / C.BYTES_PER_ELEMENT), e.dims);
}

function writeOutput(prefix, i, name, t) {
  const hdr = { name, type: t.type, dims: Array.from(t.dims) };
  if (t.type === 'string') {
    hdr.strings = Array.from(t.data);
  } else {
    const d = t.data;
    fs.writeFileSync(`${prefix}_${i}.bin`, Buffer.from(d.buffer, d.byteOffset, d.byteLength));
  }
  fs.writeFileSync(`${prefix}_${i}.json`, JSON.stringify(hdr));
}

async function runTest(manPath) {
  const man = JSON.parse(fs.readFileSync(manPath, 'utf8'));
  const status = { name: man.name, group: man.group, ok: true, error: null };
  const opts = { intraOpNumThreads: 1, interOpNumThreads: 1 };
  let sess = null, sessModel = null;
  try {
    for (const set of man.sets) {
      // a wrapped model (sequence/optional values, see ort_prepare.py) exists per data set
      if (set.model !== sessModel) {
        if (sess) await sess.release();
        sess = null;
        try {
          sess = await ort.InferenceSession.create(set.model, opts);
        } catch (e) {
          return { ...status, ok: false, error: 'load: ' + String(e.message || e).split('\n')[0] };
        }
        sessModel = set.model;
      }
      const feeds = {};
      set.inputs.forEach((e, i) => {
        // plain models: the i-th input file goes to the session's i-th input, as
        // onnxruntime's backend does; wrapped models name their feeds
        const name = e.feed !== undefined ? e.feed : sess.inputNames[i];
        if (name === undefined) throw new Error(`input_${i}.pb has no matching session input`);
        feeds[name] = makeTensor(e);
      });
      const res = await sess.run(feeds);
      sess.outputNames.forEach((n, i) => writeOutput(set.out_prefix, i, n, res[n]));
      fs.writeFileSync(`${set.out_prefix}_count.json`, JSON.stringify({ n: sess.outputNames.length }));
    }
  } catch (e) {
    return { ...status, ok: false, error: 'run: ' + String(e.message || e).split('\n')[0] };
  } finally {
    if (sess) { try { await sess.release(); } catch (e) { /* ignore */ } }
  }
  return status;
}

(async () => {
  const list = fs.readFileSync(process.argv[2], 'utf8').split('\n').filter(Boolean);
  const results = [];
  for (const m of list) results.push(await runTest(m));
  const out = process.argv[2].replace(/[^/]*$/, 'ort_status.json');
  fs.writeFileSync(out, JSON.stringify(results, null, 0));
  console.log(`${results.length} tests run, ${results.filter(r => !r.ok).length} raised errors; status in ${out}`);
})();
