/**
 * The `checkpoint` state file TensorFlow keeps beside its checkpoints: a text-format
 * CheckpointState protobuf, e.g.
 *
 *   model_checkpoint_path: "model.ckpt-1000"
 *   all_model_checkpoint_paths: "model.ckpt-900"
 *   all_model_checkpoint_paths: "model.ckpt-1000"
 *
 * Paths may be absolute or relative to the directory holding the file (TensorFlow resolves
 * relative ones against it; we write relative ones so a run directory can be moved).
 * Newer TensorFlow versions add `all_model_checkpoint_timestamps` and `last_preserved_timestamp`;
 * they are read and written back when present.
 */
import { fileError, quoted } from '../errors.js';

export const CHECKPOINT_STATE_FILE = 'checkpoint';

export interface CheckpointState {
  modelCheckpointPath: string;
  /** Oldest first; the newest is modelCheckpointPath. */
  allModelCheckpointPaths: string[];
  allModelCheckpointTimestamps?: number[];
  lastPreservedTimestamp?: number;
}

/** Parses the text of a `checkpoint` file; errors name `fileName`. */
export function parseCheckpointState(text: string, fileName: string): CheckpointState {
  const state: CheckpointState = { modelCheckpointPath: '', allModelCheckpointPaths: [] };
  const timestamps: number[] = [];
  const lines = text.split(/\r?\n/);
  // NUL, other control characters and invalid UTF-8 (decoded as U+FFFD) never occur in the text
  // format; echoing them back would only put garbage on the user's terminal.
  // eslint-disable-next-line no-control-regex -- control characters are what this looks for
  const binary = lines.findIndex((line) => /[\x00-\x08\x0b-\x1f\x7f\ufffd]/.test(line));
  if (binary >= 0) throw fileError(fileName, `not a text checkpoint state file (binary data on line ${binary + 1})`);
  let lineNo = 0;
  for (const rawLine of lines) {
    lineNo++;
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([A-Za-z_][A-Za-z0-9_]*)\s*:\s*(.*)$/.exec(line);
    if (!m) throw fileError(fileName, `line ${lineNo}: expected "field: value", got ${quoted(line)}`);
    const [, field, valueText] = m;
    const fail = (problem: string): never => {
      throw fileError(fileName, `line ${lineNo}: ${problem}`);
    };
    switch (field) {
      case 'model_checkpoint_path':
        state.modelCheckpointPath = parseString(valueText, fail);
        break;
      case 'all_model_checkpoint_paths':
        state.allModelCheckpointPaths.push(parseString(valueText, fail));
        break;
      case 'all_model_checkpoint_timestamps':
        timestamps.push(parseNumber(valueText, fail));
        break;
      case 'last_preserved_timestamp':
        state.lastPreservedTimestamp = parseNumber(valueText, fail);
        break;
      default:
        // Fields of later TensorFlow versions: ignore, as a proto parser skipping unknown fields would.
        break;
    }
  }
  if (timestamps.length > 0) state.allModelCheckpointTimestamps = timestamps;
  if (state.modelCheckpointPath === '') throw fileError(fileName, 'no model_checkpoint_path');
  return state;
}

/** Text for a `checkpoint` file, in TensorFlow's field order and quoting. */
export function formatCheckpointState(state: CheckpointState): string {
  let out = `model_checkpoint_path: ${quote(state.modelCheckpointPath)}\n`;
  for (const p of state.allModelCheckpointPaths) out += `all_model_checkpoint_paths: ${quote(p)}\n`;
  for (const t of state.allModelCheckpointTimestamps ?? []) out += `all_model_checkpoint_timestamps: ${formatNumber(t)}\n`;
  if (state.lastPreservedTimestamp !== undefined) out += `last_preserved_timestamp: ${formatNumber(state.lastPreservedTimestamp)}\n`;
  return out;
}

function formatNumber(n: number): string {
  return Number.isInteger(n) ? `${n}` : String(n);
}

function parseNumber(text: string, fail: (p: string) => never): number {
  const n = Number(text.trim());
  if (text.trim() === '' || !Number.isFinite(n)) fail(`not a number: ${quoted(text.trim())}`);
  return n;
}

const SIMPLE_ESCAPES: Record<string, number> = { n: 10, r: 13, t: 9, '"': 34, "'": 39, '\\': 92, a: 7, b: 8, f: 12, v: 11, '?': 63 };

/** Protobuf text-format string: one or more adjacent quoted pieces with C escapes, bytes as UTF-8. */
function parseString(text: string, fail: (p: string) => never): string {
  const bytes: number[] = [];
  let i = 0;
  const s = text.trim();
  let pieces = 0;
  while (i < s.length) {
    const q = s[i];
    if (q !== '"' && q !== "'") fail(`expected a quoted string, got ${quoted(s)}`);
    i++;
    let closed = false;
    while (i < s.length) {
      const c = s[i];
      if (c === q) {
        closed = true;
        i++;
        break;
      }
      if (c !== '\\') {
        const cp = s.codePointAt(i)!;
        bytes.push(...new TextEncoder().encode(String.fromCodePoint(cp)));
        i += cp > 0xffff ? 2 : 1;
        continue;
      }
      const e = s[i + 1];
      if (e === undefined) break;
      if (e in SIMPLE_ESCAPES) {
        bytes.push(SIMPLE_ESCAPES[e]);
        i += 2;
      } else if (/[0-7]/.test(e)) {
        const m = /^[0-7]{1,3}/.exec(s.slice(i + 1))![0];
        bytes.push(parseInt(m, 8) & 0xff);
        i += 1 + m.length;
      } else if (e === 'x' && /^[0-9a-fA-F]{1,2}/.test(s.slice(i + 2))) {
        const m = /^[0-9a-fA-F]{1,2}/.exec(s.slice(i + 2))![0];
        bytes.push(parseInt(m, 16));
        i += 2 + m.length;
      } else {
        fail(`unknown escape \\${e} in string`);
      }
    }
    if (!closed) fail('unterminated string');
    pieces++;
    while (i < s.length && /\s/.test(s[i])) i++;
  }
  if (pieces === 0) fail('expected a quoted string');
  return new TextDecoder().decode(Uint8Array.from(bytes));
}

/** Quotes like Python's text_format (CEscape): printable ASCII as is, everything else escaped. */
function quote(value: string): string {
  let out = '"';
  for (const b of new TextEncoder().encode(value)) {
    if (b === 10) out += '\\n';
    else if (b === 13) out += '\\r';
    else if (b === 9) out += '\\t';
    else if (b === 34) out += '\\"';
    else if (b === 39) out += "\\'";
    else if (b === 92) out += '\\\\';
    else if (b < 0x20 || b >= 0x7f) out += '\\' + b.toString(8).padStart(3, '0');
    else out += String.fromCharCode(b);
  }
  return out + '"';
}
