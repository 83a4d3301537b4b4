/**
 * Reads a TensorFlow.js graph model (`model.json` + its weight files, as `mnist export --format
 * tfjs` or tensorflowjs_converter write them) back into a frozen GraphDef: the topology is the
 * GraphDef in protobuf-JSON form, and each weight becomes the value of the `Const` node it names.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileError, quoted } from '../errors.js';
import { readFailure } from '../util/read-file.js';
import { jsonKind, parseJsonText } from '../util/json-text.js';
import { graphDefFromJson, tensorProto, type GraphDef, type TensorProto, type TensorValue } from '../formats/graphdef.js';

interface WeightSpec {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: unknown;
}

interface ModelJson {
  format?: string;
  modelTopology?: unknown;
  weightsManifest?: Array<{ paths: string[]; weights: WeightSpec[] }>;
}

function readOrFail(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    const failure = readFailure(file, err);
    throw (err as NodeJS.ErrnoException).code === 'ENOENT' ? fileError(file, `no such file (${what})`) : failure;
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The weights manifest, checked entry by entry before anything is read or allocated from it. */
function checkManifest(manifest: unknown, file: string): Array<{ paths: string[]; weights: WeightSpec[] }> {
  const bad = (where: string, problem: string): never => {
    throw fileError(file, `bad weightsManifest: ${where} ${problem}`);
  };
  if (manifest === undefined) return [];
  if (!Array.isArray(manifest)) return bad('the manifest', `should be a list, not ${jsonKind(manifest)}`);
  manifest.forEach((group: unknown, g) => {
    if (!isObject(group)) return bad(`group ${g}`, `should be an object, not ${jsonKind(group)}`);
    if (!Array.isArray(group.paths) || !group.paths.every((p) => typeof p === 'string' && p !== '')) bad(`group ${g}`, 'has no list of file paths');
    if ((group.paths as string[]).some((p) => quoted(p, Infinity) !== JSON.stringify(p))) bad(`group ${g}`, 'has a file path with unprintable characters');
    if (!Array.isArray(group.weights)) return bad(`group ${g}`, 'has no list of weights');
    group.weights.forEach((w: unknown, i) => {
      if (!isObject(w) || typeof w.name !== 'string') return bad(`weight ${i} of group ${g}`, 'has no name');
      if (typeof w.dtype !== 'string') bad(`weight ${quoted(w.name)}`, 'has no dtype');
      if (!Array.isArray(w.shape) || !w.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) bad(`weight ${quoted(w.name)}`, 'has no valid shape (a list of sizes)');
    });
  });
  return manifest as Array<{ paths: string[]; weights: WeightSpec[] }>;
}

function weightValue(spec: WeightSpec, bytes: Uint8Array, offset: number, file: string): { value: TensorValue; size: number } {
  const n = spec.shape.reduce((a, b) => a * b, 1);
  if (!Number.isSafeInteger(n) || n > bytes.length) throw fileError(file, `weight ${quoted(spec.name)} of shape [${spec.shape.join(', ')}] needs more bytes than the weight files hold`);
  const copy = (size: number) => {
    if (offset + size > bytes.length) throw fileError(file, `weights end before weight ${quoted(spec.name)} (truncated weight file?)`);
    return bytes.slice(offset, offset + size);
  };
  switch (spec.dtype) {
    case 'float32':
      return { value: { dtype: 'float32', shape: spec.shape, data: new Float32Array(copy(n * 4).buffer) }, size: n * 4 };
    case 'int32':
      return { value: { dtype: 'int32', shape: spec.shape, data: new Int32Array(copy(n * 4).buffer) }, size: n * 4 };
    case 'bool':
      return { value: { dtype: 'bool', shape: spec.shape, data: copy(n) }, size: n };
    case 'string': {
      const strings: Uint8Array[] = [];
      let at = offset;
      for (let i = 0; i < n; i++) {
        if (at + 4 > bytes.length) throw fileError(file, `weights end inside string weight ${quoted(spec.name)} (truncated weight file?)`);
        const length = new DataView(bytes.buffer, bytes.byteOffset + at, 4).getUint32(0, true);
        if (at + 4 + length > bytes.length) throw fileError(file, `weights end inside string weight ${quoted(spec.name)} (truncated weight file?)`);
        strings.push(bytes.slice(at + 4, at + 4 + length));
        at += 4 + length;
      }
      return { value: { dtype: 'string', shape: spec.shape, data: strings }, size: at - offset };
    }
    default:
      throw fileError(file, `weight ${quoted(spec.name)} has dtype ${spec.dtype}, which is not supported`);
  }
}

/** `model.json` of a TensorFlow.js graph model → a frozen GraphDef with the weights as constants. */
export function readTfjsGraphModel(jsonFile: string): GraphDef {
  const parsed = parseJsonText(readOrFail(jsonFile, 'model.json').toString('utf8'), jsonFile);
  if (!isObject(parsed)) throw fileError(jsonFile, `not a TensorFlow.js graph model (the file holds ${jsonKind(parsed)}, not an object)`);
  const json = parsed as ModelJson;
  if (!json.modelTopology || (json.format && json.format !== 'graph-model')) {
    const format = typeof json.format === 'string' ? quoted(json.format) : json.format === undefined ? '"none"' : jsonKind(json.format);
    throw fileError(jsonFile, `not a TensorFlow.js graph model (format ${format}; layers models are not supported)`);
  }
  const manifest = checkManifest(json.weightsManifest, jsonFile);
  const graph = graphDefFromJson(json.modelTopology, jsonFile);
  const byName = new Map(graph.node.map((n) => [n.name, n]));
  for (const group of manifest) {
    const bytes = new Uint8Array(Buffer.concat(group.paths.map((p) => readOrFail(path.join(path.dirname(jsonFile), p), `weights of ${path.basename(jsonFile)}`))));
    let offset = 0;
    for (const spec of group.weights) {
      if (spec.quantization) throw fileError(jsonFile, `weight ${quoted(spec.name)} is quantized, which is not supported`);
      const { value, size } = weightValue(spec, bytes, offset, jsonFile);
      offset += size;
      const node = byName.get(spec.name);
      if (!node) continue;
      node.attr = { ...node.attr, dtype: { type: tensorProto(value).dtype }, value: { tensor: tensorProto(value) } };
    }
  }
  const missing = graph.node.find((n) => n.op === 'Const' && !hasValue(n.attr?.value?.tensor));
  if (missing) throw fileError(jsonFile, `no weight for Const node ${quoted(missing.name)}`);
  return graph;
}

/** Whether a Const's TensorProto carries its values (tfjs topologies keep only dtype and shape). */
function hasValue(t: TensorProto | undefined): boolean {
  if (!t) return false;
  if (t.tensor_content?.length) return true;
  if ((t.tensor_shape?.dim ?? []).some((d) => Number(d.size ?? 0) === 0)) return true;
  return [t.float_val, t.int_val, t.int64_val, t.bool_val, t.string_val, t.double_val, t.half_val].some((v) => (v?.length ?? 0) > 0);
}
