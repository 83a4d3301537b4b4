/**
 * TensorBoard event files (`events.out.tfevents.<seconds>.<host>`): TFRecord-framed `Event`
 * protos (proto/event.proto), the first one naming the file version (`brain.Event:2`). This module
 * turns events into bytes and back; src/train/tensorboard.ts appends them to a file.
 *
 * Encoding follows TensorFlow's C++ serializer: fields in number order, proto3 defaults (step 0,
 * empty strings) left out, so our bytes are the bytes `tf.summary.FileWriter` writes.
 */
import protobuf from 'protobufjs';
import { fileError } from '../errors.js';
import { tensorFromProto, type TensorProto } from './graphdef.js';
import { protoType } from './protos.js';
import { readTFRecordFileSync, type TFRecordReadOptions } from './tfrecord.js';

export const FILE_VERSION = 'brain.Event:2';
const FILE_VERSION_PREFIX = 'brain.Event:';

export interface Scalar {
  tag: string;
  value: number;
}

/** What one event holds besides its time and step (the proto's `what` oneof). */
export type EventContent =
  | { kind: 'file_version'; fileVersion: string }
  | { kind: 'graph_def'; graphDef: Uint8Array }
  | { kind: 'meta_graph_def'; metaGraphDef: Uint8Array }
  | { kind: 'summary'; scalars: Scalar[]; /** Tags of non-scalar values (images, histograms…), by kind. */ others?: Array<{ tag: string; kind: string }> }
  | { kind: 'log_message' | 'session_log' | 'tagged_run_metadata' | 'empty' };

export type TFEvent = { wallTime: number; step: number } & EventContent;

interface EventMessage {
  wall_time?: number;
  step?: number;
  file_version?: string;
  graph_def?: Uint8Array;
  meta_graph_def?: Uint8Array;
  summary?: { value?: SummaryValueMessage[] };
  log_message?: object;
  session_log?: object;
  tagged_run_metadata?: object;
}

interface SummaryValueMessage {
  tag?: string;
  node_name?: string;
  simple_value?: number;
  tensor?: TensorProto;
  image?: Uint8Array;
  histo?: Uint8Array;
  audio?: Uint8Array;
  obsolete_old_style_histogram?: Uint8Array;
}

/** Serializes one Event. */
export function encodeEvent(event: TFEvent): Uint8Array {
  const message: EventMessage = {};
  if (event.wallTime !== 0) message.wall_time = event.wallTime;
  if (event.step !== 0) message.step = event.step;
  switch (event.kind) {
    case 'file_version':
      message.file_version = event.fileVersion;
      break;
    case 'graph_def':
      message.graph_def = event.graphDef;
      break;
    case 'meta_graph_def':
      message.meta_graph_def = event.metaGraphDef;
      break;
    case 'summary':
      message.summary = { value: event.scalars.map((s) => ({ tag: s.tag, simple_value: s.value })) };
      break;
    case 'empty':
      break;
    default:
      throw new Error(`encodeEvent: cannot write a ${event.kind} event`);
  }
  const type = protoType('tensorflow.Event');
  return type.encode(type.fromObject(message)).finish();
}

const DECODE_OPTIONS: protobuf.IConversionOptions = { longs: Number, enums: String, defaults: false, arrays: true, oneofs: false };

/** Parses one Event; `where` names the file and record for errors. */
export function decodeEvent(bytes: Uint8Array, where: string): TFEvent {
  const type = protoType('tensorflow.Event');
  let m: EventMessage;
  try {
    m = type.toObject(type.decode(bytes), DECODE_OPTIONS) as EventMessage;
  } catch (err) {
    throw fileError(where, `not a TensorBoard Event (protobuf decoding failed: ${(err as Error).message.replace(/\s+/g, ' ')})`);
  }
  const base = { wallTime: m.wall_time ?? 0, step: m.step ?? 0 };
  if (m.file_version !== undefined) return { ...base, kind: 'file_version', fileVersion: m.file_version };
  if (m.graph_def !== undefined) return { ...base, kind: 'graph_def', graphDef: m.graph_def };
  if (m.meta_graph_def !== undefined) return { ...base, kind: 'meta_graph_def', metaGraphDef: m.meta_graph_def };
  if (m.summary !== undefined) return { ...base, kind: 'summary', ...summaryValues(m.summary.value ?? [], where) };
  if (m.log_message !== undefined) return { ...base, kind: 'log_message' };
  if (m.session_log !== undefined) return { ...base, kind: 'session_log' };
  if (m.tagged_run_metadata !== undefined) return { ...base, kind: 'tagged_run_metadata' };
  return { ...base, kind: 'empty' };
}

/** Scalars written as TF 1.x `simple_value` or as TF 2.x one-element float `tensor`; the rest by kind. */
function summaryValues(values: SummaryValueMessage[], where: string): { scalars: Scalar[]; others: Array<{ tag: string; kind: string }> } {
  const scalars: Scalar[] = [];
  const others: Array<{ tag: string; kind: string }> = [];
  for (const v of values) {
    const tag = v.tag || v.node_name || '';
    if (v.simple_value !== undefined) {
      scalars.push({ tag, value: v.simple_value });
      continue;
    }
    if (v.tensor) {
      const scalar = tensorScalar(v.tensor, where);
      if (scalar !== undefined) scalars.push({ tag, value: scalar });
      else others.push({ tag, kind: 'tensor' });
      continue;
    }
    const kind = v.image ? 'image' : v.histo || v.obsolete_old_style_histogram ? 'histogram' : v.audio ? 'audio' : 'empty';
    others.push({ tag, kind });
  }
  return { scalars, others };
}

function tensorScalar(proto: TensorProto, where: string): number | undefined {
  if (!['DT_FLOAT', 'DT_DOUBLE', 'DT_INT32', 'DT_INT64'].includes(proto.dtype ?? '')) return undefined;
  try {
    const t = tensorFromProto(proto, where);
    return t.data.length === 1 ? Number((t.data as ArrayLike<number | bigint>)[0]) : undefined;
  } catch {
    return undefined;
  }
}

/** True when the first record of a TFRecord file is an event file's version record. */
export function isEventFileHead(firstRecord: Uint8Array): boolean {
  try {
    const e = decodeEvent(firstRecord, 'record 0');
    return e.kind === 'file_version' && e.fileVersion.startsWith(FILE_VERSION_PREFIX);
  } catch {
    return false;
  }
}

/** `events.out.tfevents.1558939826.host` — TensorFlow's name, seconds zero-padded to 10 digits. */
export function eventFileName(seconds: number, host: string, suffix = ''): string {
  return `events.out.tfevents.${String(Math.floor(seconds)).padStart(10, '0')}.${host}${suffix}`;
}

/** TensorBoard's own test: a file is an event file when its name contains `tfevents`. */
export function isEventFileName(name: string): boolean {
  return name.includes('tfevents');
}

/**
 * Every event of a file. A last record cut short (a file still being written, or a killed writer)
 * is left out, as TensorBoard does; `truncated` says so. Other damage is an error naming the file.
 */
export function readEventFile(file: string): { events: TFEvent[]; truncated: boolean } {
  let truncated = false;
  const opts: TFRecordReadOptions = {
    skipCorrupt: true,
    onWarning: (m) => {
      const problem = m.replace(`${file}: `, '').replace(/; skipping.*$/, '');
      if (/ at offset 0$/.test(problem)) throw fileError(file, `not a TensorBoard event file (not TFRecord-framed: ${problem})`);
      if (!m.includes('truncated record')) throw fileError(file, problem);
      truncated = true;
    },
  };
  const records = readTFRecordFileSync(file, opts);
  if (records.length === 0) {
    if (truncated) return { events: [], truncated };
    throw fileError(file, 'empty file, not a TensorBoard event file');
  }
  if (!isEventFileHead(records[0])) throw fileError(file, `not a TensorBoard event file (record 0 is not a "${FILE_VERSION_PREFIX}…" version record)`);
  return { events: records.map((r, i) => decodeEvent(r, `${file}: record ${i}`)), truncated };
}

export interface EventFileSummary {
  records: number;
  fileVersion?: string;
  firstStep?: number;
  lastStep?: number;
  firstWallTime?: number;
  lastWallTime?: number;
  graphs: number;
  metaGraphs: number;
  /** Values per tag, with their kind (`scalar`, `image`, …). */
  tags: Map<string, { kind: string; count: number }>;
  truncated: boolean;
}

/** Steps, tags and wall-time span of a file's events (what `mnist tfrecord read` prints for one). */
export function summarizeEvents(events: TFEvent[], truncated = false): EventFileSummary {
  const s: EventFileSummary = { records: events.length, graphs: 0, metaGraphs: 0, tags: new Map(), truncated };
  const tag = (name: string, kind: string) => {
    const t = s.tags.get(name);
    if (t) t.count++;
    else s.tags.set(name, { kind, count: 1 });
  };
  for (const e of events) {
    if (e.wallTime) {
      s.firstWallTime = Math.min(s.firstWallTime ?? e.wallTime, e.wallTime);
      s.lastWallTime = Math.max(s.lastWallTime ?? e.wallTime, e.wallTime);
    }
    if (e.kind === 'file_version') s.fileVersion ??= e.fileVersion;
    else if (e.kind === 'graph_def') s.graphs++;
    else if (e.kind === 'meta_graph_def') s.metaGraphs++;
    else if (e.kind === 'summary') {
      s.firstStep = Math.min(s.firstStep ?? e.step, e.step);
      s.lastStep = Math.max(s.lastStep ?? e.step, e.step);
      for (const v of e.scalars) tag(v.tag, 'scalar');
      for (const v of e.others ?? []) tag(v.tag, v.kind);
    }
  }
  return s;
}

/** One row per step: the wall time of its last event and every scalar written at it, by tag. */
export interface ScalarRow {
  step: number;
  wallTime: number;
  values: Map<string, number>;
}

/** The scalars of events (several files in name order), merged by step; tags in first-seen order. */
export function scalarRows(events: Iterable<TFEvent>): { tags: string[]; rows: ScalarRow[] } {
  const tags: string[] = [];
  const byStep = new Map<number, ScalarRow>();
  for (const e of events) {
    if (e.kind !== 'summary' || e.scalars.length === 0) continue;
    let row = byStep.get(e.step);
    if (!row) byStep.set(e.step, (row = { step: e.step, wallTime: e.wallTime, values: new Map() }));
    row.wallTime = Math.max(row.wallTime, e.wallTime);
    for (const s of e.scalars) {
      if (!tags.includes(s.tag)) tags.push(s.tag);
      row.values.set(s.tag, s.value);
    }
  }
  return { tags, rows: [...byStep.values()].sort((a, b) => a.step - b.step) };
}
