import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readEventFile } from '../../src/formats/events.js';
import { decodeGraphDef, encodeGraphDef } from '../../src/formats/graphdef.js';
import { appendScalars, EventFileWriter } from '../../src/train/tensorboard.js';

const tmp = () => mkdtempSync(path.join(tmpdir(), 'tensorboard-test-'));
const graph = encodeGraphDef({ node: [{ name: 'x', op: 'Placeholder', input: [], attr: {} }] });

test('a new event file has TensorFlow\'s name and its version record at once; records reach the disk on flush', () => {
  const dir = tmp();
  const w = new EventFileWriter(dir, { wallTime: 1765000000.5, host: 'myhost' });
  assert.equal(path.basename(w.file), 'events.out.tfevents.1765000000.myhost');
  assert.deepEqual(readEventFile(w.file).events.map((e) => e.kind), ['file_version']);
  w.addGraph(graph, 1765000001);
  w.addScalars(10, { loss: 2.5, learning_rate: 0.8 }, 1765000002);
  assert.equal(readEventFile(w.file).events.length, 1, 'buffered until a flush');
  w.flush();
  w.addScalars(20, { loss: 1.25 }, 1765000003);
  // A run killed here leaves a readable file holding everything flushed so far.
  const killed = readEventFile(w.file);
  assert.deepEqual(killed.events.map((e) => e.kind), ['file_version', 'graph_def', 'summary']);
  assert.equal(killed.truncated, false);
  w.close();
  appendScalars(w.file, 20, { 'validation/accuracy': 0.75 }, 1765000004);
  const { events } = readEventFile(w.file);
  assert.equal(events.length, 5);
  const [version, g, s10, s20, acc] = events;
  assert.ok(version.kind === 'file_version' && version.fileVersion === 'brain.Event:2' && version.wallTime === 1765000000.5);
  assert.ok(g.kind === 'graph_def' && decodeGraphDef(g.graphDef, 'g').node[0].name === 'x');
  assert.deepEqual(s10, { wallTime: 1765000002, step: 10, kind: 'summary', scalars: [{ tag: 'loss', value: 2.5 }, { tag: 'learning_rate', value: Math.fround(0.8) }], others: [] });
  assert.equal(s20.step, 20);
  assert.ok(acc.kind === 'summary' && acc.scalars[0].tag === 'validation/accuracy');
});

test('two writers in the same second get two files; a file is never overwritten', () => {
  const dir = tmp();
  const a = new EventFileWriter(dir, { wallTime: 5, host: 'h' });
  const b = new EventFileWriter(dir, { wallTime: 5, host: 'h' });
  assert.notEqual(a.file, b.file);
  assert.deepEqual(readdirSync(dir).sort(), ['events.out.tfevents.0000000005.h', 'events.out.tfevents.0000000005.h.1']);
  writeFileSync(path.join(dir, 'keep'), 'x');
  assert.equal(readFileSync(path.join(dir, 'keep'), 'utf8'), 'x');
});
