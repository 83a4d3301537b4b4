/**
 * An independent reader for the protobuf messages we write: Debian's `protoc --decode` (Google's
 * C++ protobuf) against the `.proto` files in proto/, its text format parsed here, and a
 * field-by-field comparison with the object we meant to encode.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const PROTO_DIR = fileURLToPath(new URL('../../proto/', import.meta.url));

export function protocVersion(): string | undefined {
  const r = spawnSync('protoc', ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/**
 * proto/ laid out under the paths its imports name (tensorflow/core/framework/…), so protoc can
 * resolve them; files nobody imports go under tensorflow/core/protobuf/. Returns the include root
 * and each file's path in it, by base name.
 */
function protoTree(): { root: string; paths: Map<string, string> } {
  const files = readdirSync(PROTO_DIR).filter((f) => f.endsWith('.proto'));
  const paths = new Map<string, string>();
  for (const f of files) {
    for (const [, imported] of readFileSync(path.join(PROTO_DIR, f), 'utf8').matchAll(/^import "([^"]+)";/gm)) {
      paths.set(path.basename(imported), imported);
    }
  }
  for (const f of files) if (!paths.has(f)) paths.set(f, `tensorflow/core/protobuf/${f}`);
  const root = mkdtempSync(path.join(tmpdir(), 'mnist-protoc-'));
  for (const [base, rel] of paths) {
    mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    copyFileSync(path.join(PROTO_DIR, base), path.join(root, rel));
  }
  return { root, paths };
}

let tree: ReturnType<typeof protoTree> | undefined;

/** `protoc --decode=tensorflow.TYPE` of `bytes`, `TYPE` defined in proto/`file`: its text format. */
export function protocDecode(type: string, file: string, bytes: Uint8Array): string {
  tree ??= protoTree();
  const r = spawnSync('protoc', [`--decode=${type}`, `-I${tree.root}`, tree.paths.get(file)!], { input: bytes, maxBuffer: 256 << 20 });
  assert.equal(r.status, 0, `protoc --decode=${type}: ${r.stderr}`);
  return r.stdout.toString('latin1');
}

/** A scalar as protoc prints it: a quoted string's bytes, or the bare token (number, enum name, true/false). */
export type TextScalar = { bytes: Uint8Array } | { token: string };
export interface TextMessage {
  [field: string]: Array<TextScalar | TextMessage>;
}

/** Parses protobuf text format (as protoc --decode prints it) into fields → values in order. */
export function parseTextFormat(text: string): TextMessage {
  const tokens = text.match(/"(?:[^"\\]|\\.)*"|[{}:]|[^\s{}:"]+/g) ?? [];
  let at = 0;
  const message = (): TextMessage => {
    const out: TextMessage = {};
    while (at < tokens.length && tokens[at] !== '}') {
      const name = tokens[at++];
      let value: TextScalar | TextMessage;
      if (tokens[at] === ':') at++;
      if (tokens[at] === '{') {
        at++;
        value = message();
        assert.equal(tokens[at++], '}', 'text format: unbalanced braces');
      } else {
        const t = tokens[at++];
        value = t.startsWith('"') ? { bytes: unescapeC(t.slice(1, -1)) } : { token: t };
      }
      (out[name] ??= []).push(value);
    }
    return out;
  };
  const parsed = message();
  assert.equal(at, tokens.length, 'text format: trailing tokens');
  return parsed;
}

/** C escapes as protobuf's CEscape writes them: \n \r \t \" \' \\ and three-digit octal. */
function unescapeC(s: string): Uint8Array {
  const out: number[] = [];
  const raw = Buffer.from(s, 'latin1');
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] !== 0x5c) {
      out.push(raw[i]);
      continue;
    }
    const c = String.fromCharCode(raw[++i]);
    if (/[0-7]/.test(c)) {
      let digits = c;
      while (digits.length < 3 && /[0-7]/.test(String.fromCharCode(raw[i + 1]))) digits += String.fromCharCode(raw[++i]);
      out.push(parseInt(digits, 8));
    } else out.push({ n: 10, r: 13, t: 9 }[c as 'n' | 'r' | 't'] ?? c.charCodeAt(0));
  }
  return Uint8Array.from(out);
}

/** proto3 leaves these out of the wire (and protoc's text): zero, false, empty, enum value 0. */
const DEFAULT_ENUMS = new Set(['DT_INVALID', 'LEGACY', 'LITTLE']);
function isDefault(v: unknown): boolean {
  return v === 0 || v === false || v === '' || (typeof v === 'string' && DEFAULT_ENUMS.has(v)) || (v instanceof Uint8Array && v.length === 0);
}

/** Fields that are proto maps (repeated {key, value} entries on the wire) when given as an object; OpDef.attr is a list. */
const MAP_FIELDS = new Set(['attr', 'collection_def', 'signature_def', 'inputs', 'outputs']);

function isScalarOf(got: TextScalar | TextMessage, where: string): TextScalar {
  assert.ok('bytes' in got || 'token' in got, `${where}: a message where a scalar was meant`);
  return got as TextScalar;
}

function sameScalar(meant: unknown, got: TextScalar | TextMessage, where: string): void {
  const s = isScalarOf(got, where);
  if (meant instanceof Uint8Array) {
    assert.ok('bytes' in s, where);
    assert.ok(Buffer.from(s.bytes).equals(Buffer.from(meant)), `${where}: bytes differ`);
  } else if (typeof meant === 'string') {
    if ('bytes' in s) assert.equal(Buffer.from(s.bytes).toString('utf8'), meant, where);
    else assert.equal(s.token, meant, where);
  } else if (typeof meant === 'number') {
    assert.ok('token' in s, where);
    const value = Number(s.token);
    assert.ok(value === meant || Math.fround(value) === Math.fround(meant), `${where}: ${s.token} read, ${meant} meant`);
  } else if (typeof meant === 'boolean') {
    assert.ok('token' in s, where);
    assert.equal(s.token, String(meant), where);
  } else {
    assert.fail(`${where}: cannot compare ${typeof meant}`);
  }
}

/**
 * Asserts that protoc's reading `got` holds exactly the fields of `meant` (the plain object given
 * to the encoder), value for value: a field we wrote under another number or type shows up as
 * missing, unknown or different here.
 */
export function assertDecodedAs(got: TextMessage, meant: Record<string, unknown>, where: string): void {
  const meantFields = Object.entries(meant).filter(([, v]) => v !== undefined && v !== null);
  for (const field of Object.keys(got)) {
    assert.ok(meantFields.some(([k]) => k === field), `${where}: protoc read field "${field}", which was not meant to be written`);
  }
  for (const [field, value] of meantFields) {
    const at = `${where}.${field}`;
    const values = got[field] ?? [];
    if (MAP_FIELDS.has(field) && !Array.isArray(value)) {
      const entries = Object.entries(value as Record<string, unknown>);
      assert.equal(values.length, entries.length, `${at}: ${values.length} map entries read, ${entries.length} meant`);
      for (const [key, v] of entries) {
        const entry = values.find((e) => {
          const k = (e as TextMessage).key?.[0] as TextScalar | undefined;
          return k !== undefined && 'bytes' in k && Buffer.from(k.bytes).toString('utf8') === key;
        }) as TextMessage | undefined;
        assert.ok(entry, `${at}: no entry "${key}"`);
        if (typeof v === 'object' && !(v instanceof Uint8Array)) assertDecodedAs((entry.value?.[0] ?? {}) as TextMessage, v as Record<string, unknown>, `${at}["${key}"]`);
        else sameScalar(v, entry.value![0], `${at}["${key}"]`);
      }
    } else if (Array.isArray(value) || (ArrayBuffer.isView(value) && !(value instanceof Uint8Array))) {
      const list = Array.from(value as ArrayLike<unknown>);
      assert.equal(values.length, list.length, `${at}: ${values.length} values read, ${list.length} meant`);
      list.forEach((v, i) => {
        if (typeof v === 'object' && !(v instanceof Uint8Array)) assertDecodedAs(values[i] as TextMessage, v as Record<string, unknown>, `${at}[${i}]`);
        else sameScalar(v, values[i], `${at}[${i}]`);
      });
    } else if (typeof value === 'object' && !(value instanceof Uint8Array)) {
      assert.equal(values.length, 1, `${at}: ${values.length} messages read, 1 meant`);
      assertDecodedAs(values[0] as TextMessage, value as Record<string, unknown>, at);
    } else if (values.length === 0) {
      assert.ok(isDefault(value), `${at}: not read, ${String(value)} meant`);
    } else {
      assert.equal(values.length, 1, `${at}: repeated where one value was meant`);
      sameScalar(value, values[0], at);
    }
  }
}
