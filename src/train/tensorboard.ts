/**
 * A training run's TensorBoard event file in the model directory, as `tf.summary.FileWriter`
 * writes it: the version record, the graph, then scalar summaries by step. `tensorboard --logdir
 * runs` shows it. Records are buffered and appended whole at each flush (every checkpoint, the end,
 * and at least every FLUSH_SECS like TensorFlow's writer), so a killed run leaves a readable file.
 */
import { appendFileSync, openSync, closeSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { decodeMetaGraphDef, encodeGraphDef } from '../formats/graphdef.js';
import { encodeEvent, eventFileName, FILE_VERSION, type TFEvent } from '../formats/events.js';
import { frameRecord } from '../formats/tfrecord.js';

/** TensorFlow's FileWriter default (`flush_secs=120`). */
const FLUSH_SECS = 120;

export const SCALAR_TAGS = {
  loss: 'loss',
  learningRate: 'learning_rate',
  examplesPerSec: 'examples_per_sec',
  validationAccuracy: 'validation/accuracy',
} as const;

const nowSeconds = () => Date.now() / 1000;

export class EventFileWriter {
  readonly file: string;
  private pending: Uint8Array[] = [];
  private lastFlush = nowSeconds();

  /** Creates `events.out.tfevents.<seconds>.<host>` in `dir` (never overwriting) and writes its version record. */
  constructor(dir: string, options: { wallTime?: number; host?: string } = {}) {
    const wallTime = options.wallTime ?? nowSeconds();
    const host = options.host ?? os.hostname();
    let fd: number | undefined;
    let file = '';
    for (let n = 0; fd === undefined; n++) {
      file = path.join(dir, eventFileName(wallTime, host, n === 0 ? '' : `.${n}`));
      try {
        fd = openSync(file, 'wx');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || n > 100) throw err;
      }
    }
    try {
      writeSync(fd, frameRecord(encodeEvent({ wallTime, step: 0, kind: 'file_version', fileVersion: FILE_VERSION })));
    } finally {
      closeSync(fd);
    }
    this.file = file;
  }

  add(event: TFEvent): void {
    this.pending.push(frameRecord(encodeEvent(event)));
    if (nowSeconds() - this.lastFlush >= FLUSH_SECS) this.flush();
  }

  /** The graph TensorBoard's Graphs tab shows (a serialized GraphDef). */
  addGraph(graphDef: Uint8Array, wallTime = nowSeconds()): void {
    this.add({ wallTime, step: 0, kind: 'graph_def', graphDef });
  }

  /** Scalar summaries at a step, in the order given. */
  addScalars(step: number, values: Record<string, number>, wallTime = nowSeconds()): void {
    const scalars = Object.entries(values).map(([tag, value]) => ({ tag, value }));
    this.add({ wallTime, step, kind: 'summary', scalars });
  }

  flush(): void {
    this.lastFlush = nowSeconds();
    if (!this.pending.length) return;
    // One append of whole records: a reader never sees half of one unless the write itself is cut.
    appendFileSync(this.file, Buffer.concat(this.pending));
    this.pending = [];
  }

  close(): void {
    this.flush();
  }
}

/** Appends scalars to an existing event file at once (e.g. an evaluation after training). */
export function appendScalars(file: string, step: number, values: Record<string, number>, wallTime = nowSeconds()): void {
  const scalars = Object.entries(values).map(([tag, value]) => ({ tag, value }));
  appendFileSync(file, frameRecord(encodeEvent({ wallTime, step, kind: 'summary', scalars })));
}

/** The GraphDef inside a serialized MetaGraphDef (what TensorBoard draws for a training run). */
export function graphOfMetaGraph(metaGraph: Uint8Array): Uint8Array {
  return encodeGraphDef(decodeMetaGraphDef(metaGraph, 'MetaGraphDef').graph_def!);
}

/** Opens a run's event file in `modelDir` with its graph written. */
export function openRunEvents(modelDir: string, metaGraph: Uint8Array): EventFileWriter {
  const writer = new EventFileWriter(modelDir);
  writer.addGraph(graphOfMetaGraph(metaGraph));
  return writer;
}
