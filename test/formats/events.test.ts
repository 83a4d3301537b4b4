import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { decodeEvent, encodeEvent, eventFileName, isEventFileHead, readEventFile } from '../../src/formats/events.js';
import { decodeGraphDef, decodeMetaGraphDef } from '../../src/formats/graphdef.js';
import { decodeTFRecords, encodeTFRecords } from '../../src/formats/tfrecord.js';
import { protoType } from '../../src/formats/protos.js';
import { UserError } from '../../src/errors.js';

const TF_FILE = path.join(import.meta.dirname, '../fixtures/tfevents_mnist_graph/events.out.tfevents.1558939826.DESKTOP-A3RLTD2');
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const tmp = () => mkdtempSync(path.join(tmpdir(), 'events-test-'));

test('a TensorFlow-written event file: version record, graph and meta graph', () => {
  const { events, truncated } = readEventFile(TF_FILE);
  assert.equal(truncated, false);
  assert.deepEqual(events.map((e) => e.kind), ['file_version', 'graph_def', 'meta_graph_def']);
  const [version, graph, meta] = events;
  assert.equal(version.kind === 'file_version' && version.fileVersion, 'brain.Event:2');
  assert.equal(version.wallTime, 1558939826);
  assert.equal(graph.wallTime, 1558939826.8968773);
  assert.equal(graph.step, 0);
  assert.ok(graph.kind === 'graph_def');
  const g = decodeGraphDef(graph.graphDef, 'graph_def');
  assert.equal(g.node.length, 283);
  assert.equal(g.node[0].name, 'input/x-input');
  assert.ok(meta.kind === 'meta_graph_def');
  assert.equal(decodeMetaGraphDef(meta.metaGraphDef, 'meta').meta_info_def?.tensorflow_version, '1.12.0');
});

test('our encoder reproduces the TensorFlow file record for record, byte for byte', () => {
  const records = decodeTFRecords(readFileSync(TF_FILE));
  for (const [i, record] of records.entries()) {
    const event = decodeEvent(record, `record ${i}`);
    assert.equal(hex(encodeEvent(event)), hex(record), `record ${i}`);
  }
  assert.equal(hex(encodeTFRecords(records.map((r, i) => encodeEvent(decodeEvent(r, `${i}`))))), hex(readFileSync(TF_FILE)));
});

/** Reads a protobuf varint at `pos`; returns [value, next position]. */
function varint(b: Uint8Array, pos: number): [number, number] {
  let value = 0;
  for (let shift = 0; ; shift += 7) {
    const byte = b[pos++];
    value += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) return [value, pos];
  }
}

test('a scalar summary event, field by field against event.proto and summary.proto', () => {
  const bytes = encodeEvent({ wallTime: 1700000000.25, step: 300, kind: 'summary', scalars: [{ tag: 'loss', value: 0.5 }] });
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  assert.equal(bytes[0], (1 << 3) | 1); // wall_time = 1, double (fixed64)
  assert.equal(view.getFloat64(1, true), 1700000000.25);
  assert.equal(bytes[9], (2 << 3) | 0); // step = 2, varint
  const [step, p1] = varint(bytes, 10);
  assert.equal(step, 300);
  assert.equal(bytes[p1], (5 << 3) | 2); // summary = 5, length-delimited
  const [summaryLength, p2] = varint(bytes, p1 + 1);
  assert.equal(p2 + summaryLength, bytes.length);
  assert.equal(bytes[p2], (1 << 3) | 2); // Summary.value = 1
  const [valueLength, p3] = varint(bytes, p2 + 1);
  assert.equal(p3 + valueLength, bytes.length);
  assert.equal(bytes[p3], (1 << 3) | 2); // Value.tag = 1, string
  assert.equal(bytes[p3 + 1], 4);
  assert.equal(Buffer.from(bytes.subarray(p3 + 2, p3 + 6)).toString(), 'loss');
  assert.equal(bytes[p3 + 6], (2 << 3) | 5); // Value.simple_value = 2, float (fixed32)
  assert.equal(view.getFloat32(p3 + 7, true), 0.5);
  assert.equal(p3 + 11, bytes.length);
});

test('step 0 is left out as TensorFlow leaves it out; file names are TensorFlow\'s', () => {
  const bytes = encodeEvent({ wallTime: 1558939826, step: 0, kind: 'file_version', fileVersion: 'brain.Event:2' });
  // The first record of the TensorFlow-written file.
  assert.equal(hex(bytes), '090000802ce23ad7411a0d627261696e2e4576656e743a32');
  assert.equal(eventFileName(1558939826.9, 'host'), 'events.out.tfevents.1558939826.host');
  assert.equal(eventFileName(5, 'h'), 'events.out.tfevents.0000000005.h');
  assert.ok(isEventFileHead(bytes));
  assert.ok(!isEventFileHead(encodeEvent({ wallTime: 1, step: 0, kind: 'file_version', fileVersion: 'other' })));
});

test('a last record cut short is left out and reported; other damage or another file is an error', () => {
  const dir = tmp();
  const file = path.join(dir, 'events.out.tfevents.1.h');
  const version = encodeEvent({ wallTime: 1, step: 0, kind: 'file_version', fileVersion: 'brain.Event:2' });
  const scalar = encodeEvent({ wallTime: 2, step: 7, kind: 'summary', scalars: [{ tag: 'a', value: 1 }] });
  writeFileSync(file, encodeTFRecords([version, scalar]));
  appendFileSync(file, encodeTFRecords([scalar]).subarray(0, 20));
  const { events, truncated } = readEventFile(file);
  assert.equal(truncated, true);
  assert.equal(events.length, 2);

  const corrupt = Buffer.from(encodeTFRecords([version, scalar]));
  corrupt[corrupt.length - 6] ^= 0xff;
  writeFileSync(file, corrupt);
  assert.throws(() => readEventFile(file), (e: unknown) => e instanceof UserError && /events\.out\.tfevents\.1\.h: corrupt record data/.test(e.message));

  writeFileSync(file, encodeTFRecords([scalar]));
  assert.throws(() => readEventFile(file), (e: unknown) => e instanceof UserError && /not a TensorBoard event file/.test(e.message));
  writeFileSync(file, '');
  assert.throws(() => readEventFile(file), /empty file/);
});

test('TensorFlow 2.x scalars (a one-element float tensor) read as scalars; images by kind', () => {
  const tensorScalar = encodeEventMessage({
    wall_time: 3,
    step: 4,
    summary: { value: [{ tag: 'acc', tensor: { dtype: 'DT_FLOAT', tensor_shape: {}, float_val: [0.75] } }, { tag: 'img', image: new Uint8Array([8, 1]) }] },
  });
  const e = decodeEvent(tensorScalar, 'x');
  assert.ok(e.kind === 'summary');
  assert.deepEqual(e.scalars, [{ tag: 'acc', value: 0.75 }]);
  assert.deepEqual(e.others, [{ tag: 'img', kind: 'image' }]);
});

function encodeEventMessage(message: object): Uint8Array {
  const type = protoType('tensorflow.Event');
  return type.encode(type.fromObject(message)).finish();
}
