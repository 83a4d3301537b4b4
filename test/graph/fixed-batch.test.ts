import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadMnist } from '../../src/data/mnist.js';
import { decodeGraphDef, encodeGraphDef } from '../../src/formats/graphdef.js';
import { predictWithGraph } from '../../src/graph/predict-graph.js';

const FROZEN = path.join(import.meta.dirname, '../fixtures/pb_softmax_mnist/frozen_model.pb');

/** TensorFlow 1.8's softmax graph with its input placeholder fixed to a batch of `batch`. */
function fixedBatchGraph(batch: number): string {
  const graph = decodeGraphDef(readFileSync(FROZEN), FROZEN);
  const input = graph.node.find((n) => n.op === 'Placeholder')!;
  input.attr!.shape = { shape: { dim: [{ size: batch }, { size: 784 }] } };
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'fixed-batch-')), `softmax-${batch}.pb`);
  writeFileSync(file, encodeGraphDef(graph));
  return file;
}

test('a placeholder of a fixed batch size: images go in chunks of it, padding dropped, with a one-line note', async () => {
  const { test: split } = loadMnist({ limit: 7 });
  const images = Array.from({ length: 7 }, (_, i) => Float32Array.from(split.images.subarray(i * 784, (i + 1) * 784), (v) => v / 255));
  const want = await predictWithGraph(FROZEN, images);
  const notes: string[] = [];
  const fixed = fixedBatchGraph(4);
  const got = await predictWithGraph(fixed, images, { onNote: (l) => notes.push(l) });
  assert.deepEqual(got.map((p) => p.digit), want.map((p) => p.digit));
  got.forEach((p, i) => p.probabilities.forEach((v, k) => assert.ok(Math.abs(v - want[i].probabilities[k]) < 1e-6)));
  assert.equal(notes.length, 1);
  assert.match(notes[0], /^note: .*softmax-4\.pb: placeholder input takes batches of exactly 4 images; padded with 1 blank image\(s\), whose results are dropped$/);
  notes.length = 0;
  assert.equal((await predictWithGraph(fixed, images.slice(0, 4), { onNote: (l) => notes.push(l) })).length, 4);
  assert.equal(notes.length, 0, 'no padding, no note');
  assert.equal((await predictWithGraph(fixedBatchGraph(100), images.slice(0, 1), { onNote: (l) => notes.push(l) }))[0].digit, want[0].digit);
});
