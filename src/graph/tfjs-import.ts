/**
 * Reads a TensorFlow.js graph model (`model.json` + its weight files, as `mnist export --format
 * tfjs` or tensorflowjs_converter write them) back into a frozen GraphDef: the topology is the
 * GraphDef in protobuf-JSON form, and each weight becomes the value of the `Const` node it names.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileError, quoted } from '../errors.js';
import { readFailure } from '../util/read-file.js';
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

function weightValue(spec: WeightSpec, bytes: Uint8Array, offset: number, file: string): { value: TensorValue; size: number } {
  const n = spec.shape.reduce((a, b) => a * b, 1);
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
        const length = new DataView(bytes.buffer, bytes.byteOffset + at, 4).getUint32(0, true);
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
  let json: ModelJson;
  try {
    json = JSON.parse(readOrFail(jsonFile, 'model.json').toString('utf8')) as ModelJson;
  } catch (err) {
    if (err instanceof SyntaxError) throw fileError(jsonFile, `not valid JSON (${err.message})`);
    throw err;
  }
  if (!json.modelTopology || (json.format && json.format !== 'graph-model')) {
    throw fileError(jsonFile, `not a TensorFlow.js graph model (format ${quoted(json.format ?? 'none')}; layers models are not supported)`);
  }
  const graph = graphDefFromJson(json.modelTopology, jsonFile);
  const byName = new Map(graph.node.map((n) => [n.name, n]));
  for (const group of json.weightsManifest ?? []) {
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
  if ((t.tensor_shape?.dim ?? []).some((d) => Number(d.size) === 0)) return true;
  return [t.float_val, t.int_val, t.int64_val, t.bool_val, t.string_val, t.double_val, t.half_val].some((v) => (v?.length ?? 0) > 0);
}
