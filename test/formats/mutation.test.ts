/**
 * Seeded, bounded mutation test of every reader of outside files: real TensorFlow fixtures with
 * bits flipped, bytes overwritten or inserted, files cut short and varints made huge — both in the
 * raw bytes and inside their checksummed framing (records and table entries re-framed so the
 * damage reaches the protobuf and graph layers) — fed through the same in-process code the CLI
 * uses. Every read must either succeed or throw a one-line UserError in the project's words.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { CheckpointReader } from '../../src/checkpoint/reader.js';
import { getCheckpointState } from '../../src/checkpoint/state.js';
import { UserError } from '../../src/errors.js';
import { decodeExample } from '../../src/formats/example.js';
import { decodeGraphDef, encodeGraphDef, type GraphDef } from '../../src/formats/graphdef.js';
import { TableBuilder, TableReader } from '../../src/formats/sstable.js';
import { decodeTFRecords, encodeTFRecords, readTFRecords } from '../../src/formats/tfrecord.js';
import { encodeVarint64 } from '../../src/formats/varint.js';
import { openGraph } from '../../src/graph/load.js';
import { tfjsModelFiles } from '../../src/graph/tfjs-export.js';
import { FrozenGraph } from '../../src/graph/tfjs-model.js';
import { INFO_FILE, readModelDirInfo } from '../../src/train/model-dir.js';
import { Random } from '../../src/util/random.js';

const SEED = Number(process.env.MUTATION_SEED ?? 20);
/** More mutations per target, for a longer hunt by hand (`MUTATION_SCALE=10`); 1 in `npm test`. */
const SCALE = Number(process.env.MUTATION_SCALE ?? 1);
const FIXTURES = 'test/fixtures';
const work = mkdtempSync(path.join(tmpdir(), 'mutation-'));

before(async () => {
  await tf.setBackend('cpu');
});
after(() => rmSync(work, { recursive: true, force: true }));

// ---------------------------------------------------------------- byte mutations

const HUGE = [2n ** 31n, 2n ** 32n, 2n ** 53n + 1n, 2n ** 62n, 2n ** 63n, 2n ** 64n - 1n];

type Mutator = (bytes: Uint8Array, r: Random) => { what: string; bytes: Uint8Array };

const mutators: Record<string, Mutator> = {
  flip(bytes, r) {
    const out = Uint8Array.from(bytes);
    const bit = r.int(Math.max(1, out.length * 8));
    if (out.length) out[bit >> 3] ^= 1 << (bit & 7);
    return { what: `bit ${bit} flipped`, bytes: out };
  },
  overwrite(bytes, r) {
    const out = Uint8Array.from(bytes);
    const at = r.int(Math.max(1, out.length));
    const n = 1 + r.int(4);
    const fill = [0x00, 0xff, 0x80, -1][r.int(4)];
    for (let i = at; i < Math.min(out.length, at + n); i++) out[i] = fill < 0 ? r.int(256) : fill;
    return { what: `${n} byte(s) at ${at} overwritten with ${fill < 0 ? 'random' : fill}`, bytes: out };
  },
  truncate(bytes, r) {
    const n = r.int(Math.max(1, bytes.length));
    return { what: `cut to ${n} bytes`, bytes: bytes.slice(0, n) };
  },
  insert(bytes, r) {
    const at = r.int(bytes.length + 1);
    const extra = Uint8Array.from({ length: 1 + r.int(8) }, () => r.int(256));
    return { what: `${extra.length} byte(s) inserted at ${at}`, bytes: Buffer.concat([bytes.subarray(0, at), extra, bytes.subarray(at)]) };
  },
  /** The varint starting at a random byte (a tag, length or value in protobuf) replaced by a huge one. */
  bigVarint(bytes, r) {
    const at = r.int(Math.max(1, bytes.length));
    let end = at;
    while (end < bytes.length && end - at < 10 && bytes[end] & 0x80) end++;
    const value = HUGE[r.int(HUGE.length)];
    const varint = encodeVarint64(value);
    return { what: `varint at ${at} set to ${value}`, bytes: Buffer.concat([bytes.subarray(0, at), varint, bytes.subarray(Math.min(bytes.length, end + 1))]) };
  },
};
const MUTATOR_NAMES = Object.keys(mutators);

function mutate(bytes: Uint8Array, r: Random): { what: string; bytes: Uint8Array } {
  return mutators[MUTATOR_NAMES[r.int(MUTATOR_NAMES.length)]](bytes, r);
}

/** A value somewhere in a JSON document replaced by one of another kind (or a huge or negative number). */
function mutateJson(text: string, r: Random): { what: string; bytes: Uint8Array } {
  const doc = JSON.parse(text) as unknown;
  const paths: Array<Array<string | number>> = [];
  const walk = (v: unknown, at: Array<string | number>): void => {
    paths.push(at);
    if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, [...at, Array.isArray(v) ? Number(k) : k]);
  };
  walk(doc, []);
  const at = paths[1 + r.int(paths.length - 1)] ?? [];
  const replacement = [null, -1, 2 ** 62, 0.5, 'x', '\u0000', {}, [], true, [[1]], { paths: 7 }][r.int(11)];
  let parent = doc as Record<string | number, unknown>;
  for (const k of at.slice(0, -1)) parent = parent[k] as Record<string | number, unknown>;
  if (at.length) parent[at[at.length - 1]] = replacement;
  return { what: `${at.join('.')} set to ${JSON.stringify(replacement)}`, bytes: new TextEncoder().encode(JSON.stringify(doc)) };
}

// ---------------------------------------------------------------- what counts as a clean error

/** Words a user should never see: JavaScript and library internals, binary garbage. */
const INTERNALS = [
  /Cannot (read|set) propert/,
  /\b(undefined|null|NaN)\b/,
  /\[object /,
  /is not (a function|iterable|defined|a constructor)/,
  /Invalid (typed )?array length/,
  /Array buffer allocation failed/,
  /Maximum call stack/,
  /\b(TypeError|RangeError|SyntaxError|ReferenceError)\b/,
  /Unexpected (token|end of JSON|non-whitespace)/,
  /out of bounds|outside the bounds/,
  /\bE[A-Z]{3,}:/, // errno codes (EISDIR: …)
  /\be[+-]\d+\b/, // numbers that lost their precision
  /\b(offset|shard|size|length|bytes?)\s+-\d/, // huge values that wrapped around
  // eslint-disable-next-line no-control-regex -- raw binary echoed back
  /[\x00-\x08\x0b-\x1f\x7f-\x9f\ufffd]/,
];

function problemWith(err: unknown): string | null {
  if (!(err instanceof UserError)) return `not a UserError: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`;
  if (/[\n\r]/.test(err.message)) return `more than one line: ${JSON.stringify(err.message)}`;
  if (err.message.length > 400) return `${err.message.length} characters long: ${err.message.slice(0, 120)}…`;
  const hit = INTERNALS.find((re) => re.test(err.message));
  return hit ? `internal wording (${hit}): ${JSON.stringify(err.message)}` : null;
}

interface Tally {
  mutations: number;
  clean: number;
  succeeded: number;
  failures: string[];
}

const tallies = new Map<string, Tally>();

async function check(target: string, what: string, run: () => unknown): Promise<void> {
  const t = tallies.get(target) ?? { mutations: 0, clean: 0, succeeded: 0, failures: [] };
  tallies.set(target, t);
  t.mutations++;
  try {
    await run();
    t.succeeded++;
  } catch (err) {
    const problem = problemWith(err);
    if (process.env.MUTATION_VERBOSE) console.log(`# ${target}, ${what}: ${(err as Error).message}`);
    if (problem) t.failures.push(`${target}, ${what}: ${problem}`);
    else t.clean++;
  }
}

function assertClean(target: string): void {
  const t = tallies.get(target)!;
  assert.deepEqual(t.failures, [], `${t.failures.length} of ${t.mutations} ${target} mutations gave unclean errors`);
}

// ---------------------------------------------------------------- the readers, as the CLI calls them

/** `mnist inspect` / `test`: open the checkpoint and read every tensor. */
function readCheckpoint(prefixOrDir: string): void {
  const reader = CheckpointReader.open(prefixOrDir);
  for (const e of reader.entries()) if (e.dtype !== null) reader.tensor(e.name);
}

/** `mnist run-graph`: open, load into TensorFlow.js, list placeholders, run with a feed of the right size. */
async function runGraph(file: string, outputs: string[] = []): Promise<void> {
  const graph = openGraph(file, { outputs });
  const model = FrozenGraph.load(graph, file);
  const feeds: Record<string, tf.Tensor> = {};
  try {
    for (const p of model.inputs) {
      const shape = (p.shape ?? []).map((d) => (d < 0 ? 1 : d));
      if (shape.reduce((a, b) => a * b, 1) > 1 << 16) return;
      feeds[p.name] = p.dtype === 'DT_BOOL' ? tf.zeros(shape, 'bool') : tf.ones(shape, p.dtype === 'DT_FLOAT' ? 'float32' : 'int32');
    }
    tf.dispose(await model.run(feeds, outputs.length ? outputs : model.defaultOutputs));
  } finally {
    tf.dispose(Object.values(feeds));
    model.dispose();
  }
}

/** `mnist tfrecord read`: stream the records and decode each Example. */
async function readTFRecordFile(file: string): Promise<void> {
  let index = 0;
  for await (const rec of readTFRecords(file)) decodeExample(rec, `${file}: record ${index++}`);
}

function copyFixture(name: string, into: string): string {
  const dir = path.join(work, into);
  rmSync(dir, { recursive: true, force: true });
  cpSync(path.join(FIXTURES, name), dir, { recursive: true });
  return dir;
}

/** Rebuilds a table with one entry's value mutated, every checksum valid. */
function mutateTableEntry(index: Uint8Array, r: Random): { what: string; bytes: Uint8Array } {
  const { entries } = TableReader.read(index, 'fixture.index');
  const i = r.int(entries.length);
  const m = mutate(entries[i].value, r);
  const table = new TableBuilder();
  entries.forEach((e, j) => table.add(e.key, j === i ? m.bytes : e.value));
  return { what: `entry ${i}: ${m.what}`, bytes: table.finish() };
}

/** Re-frames a TFRecord file with one record's Example mutated, every CRC valid. */
function mutateRecord(bytes: Uint8Array, r: Random): { what: string; bytes: Uint8Array } {
  const records = decodeTFRecords(bytes);
  const i = r.int(records.length);
  const m = mutate(records[i], r);
  records[i] = m.bytes;
  return { what: `record ${i}: ${m.what}`, bytes: encodeTFRecords(records) };
}

/** Graph surgery: valid protobuf, wrong graph (dangling inputs, unknown ops, lost attributes, huge shapes). */
function mutateGraph(graph: GraphDef, r: Random): { what: string; graph: GraphDef } {
  const g = structuredClone(graph);
  const node = g.node[r.int(g.node.length)];
  const attrs = Object.keys(node.attr ?? {});
  switch (r.int(7)) {
    case 0:
      node.input = [...(node.input ?? []), 'no/such/node'];
      return { what: `"${node.name}" reads a missing node`, graph: g };
    case 1:
      node.op = ['Conv2D', 'NoSuchOp', 'Const', 'MatMul', 'Placeholder', 'Switch'][r.int(6)];
      return { what: `"${node.name}" made a ${node.op}`, graph: g };
    case 2:
      if (attrs.length) delete node.attr![attrs[r.int(attrs.length)]];
      return { what: `"${node.name}" lost an attribute`, graph: g };
    case 3:
      node.input = (node.input ?? []).map((i) => `${i.replace(/:\d+$/, '')}:${[1, 7, 99][r.int(3)]}`);
      return { what: `"${node.name}" reads a missing output`, graph: g };
    case 4: {
      const value = node.attr?.value?.tensor ?? node.attr?.shape?.shape;
      const shape = value && 'dtype' in value ? value.tensor_shape : value;
      if (shape?.dim?.length) shape.dim[r.int(shape.dim.length)].size = [2 ** 62, 2 ** 40, -7, 0][r.int(4)];
      return { what: `"${node.name}" shape changed`, graph: g };
    }
    case 5:
      for (const a of attrs) if (node.attr![a].type) node.attr![a] = { type: ['DT_HALF', 'DT_STRING', 'DT_INVALID', 'DT_INT64'][r.int(4)] };
      return { what: `"${node.name}" dtype changed`, graph: g };
    default:
      g.node = g.node.filter((n) => n !== node);
      return { what: `"${node.name}" removed`, graph: g };
  }
}

// ---------------------------------------------------------------- the runs

const r = new Random(SEED);

describe(`mutated TensorFlow files give one-line UserErrors (seed ${SEED})`, () => {
  it('checkpoint .index: raw bytes, and table entries re-framed with valid checksums', async () => {
    for (const fixture of ['ckpt_v1_v2', 'ckpt_houseprices_adam']) {
      const original = readFileSync(path.join(FIXTURES, fixture, 'model.ckpt.index'));
      for (let i = 0; i < 60 * SCALE; i++) {
        const dir = copyFixture(fixture, 'ckpt');
        const m = i % 2 ? mutate(original, r) : mutateTableEntry(original, r);
        writeFileSync(path.join(dir, 'model.ckpt.index'), m.bytes);
        await check('checkpoint index', `${fixture}: ${m.what}`, () => readCheckpoint(path.join(dir, 'model.ckpt')));
      }
    }
    assertClean('checkpoint index');
  });

  it('checkpoint .data and the `checkpoint` state file', async () => {
    const fixture = 'ckpt_houseprices_adam';
    const data = readFileSync(path.join(FIXTURES, fixture, 'model.ckpt.data-00000-of-00001'));
    const state = readFileSync(path.join(FIXTURES, fixture, 'checkpoint'));
    for (let i = 0; i < 40 * SCALE; i++) {
      const dir = copyFixture(fixture, 'ckpt');
      const m = mutate(data, r);
      writeFileSync(path.join(dir, 'model.ckpt.data-00000-of-00001'), m.bytes);
      await check('checkpoint data', m.what, () => readCheckpoint(path.join(dir, 'model.ckpt')));
    }
    for (let i = 0; i < 40 * SCALE; i++) {
      const dir = copyFixture(fixture, 'ckpt');
      const m = mutate(state, r);
      writeFileSync(path.join(dir, 'checkpoint'), m.bytes);
      await check('checkpoint state', m.what, () => {
        getCheckpointState(dir);
        readCheckpoint(dir);
      });
    }
    assertClean('checkpoint data');
    assertClean('checkpoint state');
  });

  it('frozen .pb: raw bytes and graph surgery, through TensorFlow.js', async () => {
    const original = readFileSync(path.join(FIXTURES, 'pb_softmax_mnist/frozen_model.pb'));
    const graph = decodeGraphDef(original, 'frozen_model.pb');
    const file = path.join(work, 'frozen_model.pb');
    for (let i = 0; i < 120 * SCALE; i++) {
      let what: string;
      if (i % 3 === 2) {
        const m = mutateGraph(graph, r);
        what = m.what;
        writeFileSync(file, encodeGraphDef(m.graph));
      } else {
        const m = mutate(original, r);
        what = m.what;
        writeFileSync(file, m.bytes);
      }
      await check('frozen graph', what, () => runGraph(file));
    }
    assertClean('frozen graph');
  });

  it('.meta graph with its checkpoint, through TensorFlow.js', async () => {
    const original = readFileSync(path.join(FIXTURES, 'meta_v1_v2/model.ckpt.meta'));
    const big = readFileSync(path.join(FIXTURES, 'meta_houseprices/model.ckpt.meta'));
    for (let i = 0; i < 60 * SCALE; i++) {
      const dir = copyFixture('meta_v1_v2', 'meta');
      const m = mutate(original, r);
      writeFileSync(path.join(dir, 'model.ckpt.meta'), m.bytes);
      await check('meta graph', `v1_v2: ${m.what}`, () => runGraph(path.join(dir, 'model.ckpt.meta'), ['add:0']));
    }
    const dir = copyFixture('meta_houseprices', 'meta-big');
    for (let i = 0; i < 20 * SCALE; i++) {
      const m = mutate(big, r);
      writeFileSync(path.join(dir, 'model.ckpt.meta'), m.bytes);
      await check('meta graph', `houseprices: ${m.what}`, () => openGraph(path.join(dir, 'model.ckpt.meta'), { outputs: ['BiasAdd_4:0'] }));
    }
    assertClean('meta graph');
  });

  it('TensorFlow.js model.json (as text and as JSON) and weights.bin, through TensorFlow.js', async () => {
    const original = decodeGraphDef(readFileSync(path.join(FIXTURES, 'pb_softmax_mnist/frozen_model.pb')), 'frozen_model.pb');
    const { modelJson, weights } = tfjsModelFiles(original, 'frozen_model.pb');
    const dir = path.join(work, 'tfjs');
    mkdirSync(dir, { recursive: true });
    const json = path.join(dir, 'model.json');
    for (let i = 0; i < 60 * SCALE; i++) {
      let m: { what: string; bytes: Uint8Array };
      writeFileSync(path.join(dir, 'weights.bin'), weights);
      writeFileSync(json, modelJson);
      if (i % 3 === 0) {
        m = mutateJson(modelJson, r);
        writeFileSync(json, m.bytes);
      } else if (i % 3 === 1) {
        m = mutate(new TextEncoder().encode(modelJson), r);
        writeFileSync(json, m.bytes);
      } else {
        m = mutate(weights, r);
        m.what = `weights.bin: ${m.what}`;
        writeFileSync(path.join(dir, 'weights.bin'), m.bytes);
      }
      await check('tfjs model', m.what, () => runGraph(json));
    }
    assertClean('tfjs model');
  });

  it('TFRecord files: raw bytes, and Examples re-framed with valid CRCs', async () => {
    const original = readFileSync(path.join(FIXTURES, 'tfrecord_ij_small/data.tfrecords-00000-of-00002'));
    const file = path.join(work, 'data.tfrecords');
    for (let i = 0; i < 80 * SCALE; i++) {
      const m = i % 2 ? mutate(original, r) : mutateRecord(original, r);
      writeFileSync(file, m.bytes);
      await check('tfrecord', m.what, () => readTFRecordFile(file));
    }
    assertClean('tfrecord');
  });

  it(`a model directory's ${INFO_FILE}`, async () => {
    const dir = path.join(work, 'model-dir');
    mkdirSync(dir, { recursive: true });
    const info = JSON.stringify({ model: 'mlp', l2: 0.0001, ema: 0.99, optimizer: 'sgd', createdBy: 'mnist-ts', recipe: { batchSize: 100, steps: 30000, seed: 1 } }, null, 2) + '\n';
    for (let i = 0; i < 40 * SCALE; i++) {
      const m = i % 2 ? mutateJson(info, r) : mutate(new TextEncoder().encode(info), r);
      writeFileSync(path.join(dir, INFO_FILE), m.bytes);
      await check('model info', m.what, () => readModelDirInfo(dir));
    }
    assertClean('model info');
  });

  after(() => {
    let mutations = 0;
    let clean = 0;
    let succeeded = 0;
    for (const [target, t] of tallies) {
      mutations += t.mutations;
      clean += t.clean;
      succeeded += t.succeeded;
      console.log(`# ${target}: ${t.mutations} mutations, ${t.clean} clean errors, ${t.succeeded} read without error, ${t.failures.length} unclean`);
      for (const f of t.failures.slice(0, 40)) console.log(`#   ${f}`);
    }
    console.log(`# total: ${mutations} mutations, ${clean} clean errors, ${succeeded} read without error, ${mutations - clean - succeeded} unclean`);
  });
});
