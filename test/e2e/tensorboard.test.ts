import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readEventFile } from '../../src/formats/events.js';
import { decodeGraphDef } from '../../src/formats/graphdef.js';
import { runCli } from '../helpers/cli.js';

const dir = path.join(mkdtempSync(path.join(tmpdir(), 'mnist-tb-')), 'softmax');

test('mnist train writes a TensorBoard event file: version, graph, loss / learning rate / examples per second, validation accuracy', () => {
  const r = runCli(['train', '--model', 'softmax', '--model-dir', dir, '--steps', '30', '--limit', '1000', '--checkpoint-every', '10', '--no-progress']);
  assert.equal(r.code, 0, r.stderr);
  const files = readdirSync(dir).filter((f) => f.startsWith('events.out.tfevents.'));
  assert.equal(files.length, 1, files.join(', '));
  assert.match(files[0], /^events\.out\.tfevents\.\d{10}\.[^/]+$/);
  const { events } = readEventFile(path.join(dir, files[0]));
  assert.equal(events[0].kind, 'file_version');
  const graph = events.find((e) => e.kind === 'graph_def');
  assert.ok(graph && graph.kind === 'graph_def');
  const nodes = decodeGraphDef(graph.graphDef, 'graph').node.map((n) => n.name);
  for (const n of ['x-input', 'W', 'b', 'MatMul', 'global_step', 'save/restore_all']) assert.ok(nodes.includes(n), `${n} in ${nodes.join(' ')}`);
  const scalars = events.flatMap((e) => (e.kind === 'summary' ? e.scalars.map((s) => ({ step: e.step, ...s })) : []));
  const last = scalars.filter((s) => s.step === 30).map((s) => s.tag);
  assert.deepEqual(last.sort(), ['examples_per_sec', 'learning_rate', 'loss', 'validation/accuracy']);
  const accuracy = scalars.find((s) => s.tag === 'validation/accuracy')!.value;
  assert.match(r.stdout, new RegExp(`validation accuracy \\(raw weights\\) = ${accuracy.toFixed(4)}`));
  for (let i = 1; i < events.length; i++) assert.ok(events[i].wallTime >= events[i - 1].wallTime - 1e-3, 'wall times in order');
});

test('mnist events prints the scalars as a table and CSV; tfrecord read summarises the event file', () => {
  let r = runCli(['events', dir, '--csv']);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines[0], 'step,wall_time,loss,learning_rate,examples_per_sec,validation/accuracy');
  assert.match(lines.at(-1)!, /^30,\d+\.\d{3},[\d.e-]+,0\.5,[\d.]+,0\.\d+$/);
  r = runCli(['events', dir]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^step\s+time\s+loss\s+learning_rate\s+examples_per_sec\s+validation\/accuracy$/m);
  assert.match(r.stdout, /^\s*30\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+/m);
  const file = path.join(dir, readdirSync(dir).find((f) => f.startsWith('events.out.tfevents.'))!);
  r = runCli(['tfrecord', 'read', file]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /TensorBoard event file \(brain\.Event:2\), \d+ records, all CRCs OK/);
  assert.match(r.stdout, /graphs: 1 GraphDef/);
  assert.match(r.stdout, /steps: \d+ \.\. 30/);
  assert.match(r.stdout, /validation\/accuracy: 1 scalar value\(s\)/);
});

test('mnist events: a directory without event files and a file that is not one are one-line errors', () => {
  let r = runCli(['events', path.dirname(dir)]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /^error: .*: no TensorBoard event files/m);
  r = runCli(['events', path.join(dir, 'checkpoint')]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /^error: .*checkpoint: not a TensorBoard event file/m);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
});

test('a run with nothing left to train adds no event file', () => {
  const before = readdirSync(dir).filter((f) => f.startsWith('events.out.tfevents.')).length;
  const r = runCli(['train', '--model-dir', dir, '--steps', '30', '--limit', '1000', '--no-progress']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Nothing to train/);
  assert.equal(readdirSync(dir).filter((f) => f.startsWith('events.out.tfevents.')).length, before);
});
