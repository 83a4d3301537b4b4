/**
 * Bottleneck vectors (book §6.5): every image runs once through the frozen graph up to the
 * bottleneck tensor; the vector is cached on disk under a hash of the image's bytes, the graph and
 * the preprocessing, so re-runs skip the graph and a changed image (or graph) gets a new entry.
 */
import * as tf from '@tensorflow/tfjs';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileError } from '../errors.js';
import { parseTensorName } from '../formats/graphdef.js';
import { FrozenGraph } from '../graph/tfjs-model.js';
import { decodeImage, resize } from '../image/ops.js';
import { writeFileAtomic } from '../util/atomic-write.js';

/** What the graph's input placeholder takes per image. */
export interface InputSpec {
  height: number;
  width: number;
  channels: 1 | 3;
  /** Pixels (0..255) are fed as (p - mean) / std: 0/255 gives [0, 1] (our MNIST graphs), 128/128 Inception-v3's [-1, 1]. */
  mean: number;
  std: number;
}

const sha256 = (...parts: Array<string | Uint8Array>) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update('\0');
  return h.digest('hex');
};

/**
 * The image size a placeholder implies: [-1, H, W, C] directly; [-1, N] as a square of N
 * (grey) or N/3 (RGB) pixels — our graphs take flattened 28×28 images.
 */
export function inputSize(shape: number[] | undefined, where: string): Pick<InputSpec, 'height' | 'width' | 'channels'> {
  const square = (n: number) => Number.isInteger(Math.sqrt(n)) && n > 0;
  if (shape?.length === 4 && shape[1] > 0 && shape[2] > 0 && (shape[3] === 1 || shape[3] === 3)) {
    return { height: shape[1], width: shape[2], channels: shape[3] as 1 | 3 };
  }
  if (shape?.length === 2 && shape[1] > 0) {
    if (square(shape[1])) return { height: Math.sqrt(shape[1]), width: Math.sqrt(shape[1]), channels: 1 };
    if (shape[1] % 3 === 0 && square(shape[1] / 3)) return { height: Math.sqrt(shape[1] / 3), width: Math.sqrt(shape[1] / 3), channels: 3 };
  }
  throw fileError(where, `cannot tell the image size from the input's shape [${shape?.join(', ') ?? 'unknown'}] (want [-1, H, W, 1 or 3] or [-1, H·W])`);
}

/** Decodes an image file's bytes and resizes it to the graph's input: H·W·C floats, (p - mean) / std. */
export async function imageToInput(bytes: Uint8Array, file: string, spec: InputSpec): Promise<Float32Array> {
  const decoded = await decodeImage(bytes, { channels: spec.channels, source: file });
  const values = tf.tidy(() => {
    const sized = decoded.shape[0] === spec.height && decoded.shape[1] === spec.width ? tf.cast(decoded, 'float32') : resize(decoded, [spec.height, spec.width]);
    return tf.div(tf.sub(sized, spec.mean), spec.std).dataSync() as Float32Array;
  });
  decoded.dispose();
  return Float32Array.from(values);
}

/** The frozen graph cut at the bottleneck: images in, one vector per image out. */
export class BottleneckGraph {
  readonly size: number;
  /** Identifies graph + tensors + preprocessing in cache keys. */
  readonly id: string;

  private constructor(
    readonly frozen: FrozenGraph,
    readonly input: string,
    readonly bottleneck: string,
    readonly inputShape: number[] | undefined,
    readonly spec: InputSpec,
    graphBytes: Uint8Array,
    size: number,
  ) {
    this.size = size;
    this.id = sha256(graphBytes, input, bottleneck, String(spec.mean), String(spec.std));
  }

  /**
   * Checks that the input is a placeholder and the bottleneck a tensor of the graph, then finds
   * the bottleneck's size by running one blank image.
   */
  static async open(frozen: FrozenGraph, graphBytes: Uint8Array, input: string, bottleneck: string, pixels: { mean: number; std: number }): Promise<BottleneckGraph> {
    const file = frozen.file;
    const inputNode = parseTensorName(input).node;
    const placeholder = frozen.inputs.find((p) => p.name === inputNode);
    if (!placeholder) {
      const known = frozen.inputs.map((p) => p.name).join(', ') || 'none';
      throw fileError(file, `input "${input}" is not a placeholder of the graph (placeholders: ${known})`);
    }
    const { node, index } = parseTensorName(bottleneck);
    if (!frozen.graph.node.some((n) => n.name === node)) throw fileError(file, `bottleneck tensor "${bottleneck}" is not in the graph (no node named "${node}")`);
    const spec: InputSpec = { ...inputSize(placeholder.shape, `${file}: input "${inputNode}"`), ...pixels };
    const graph = new BottleneckGraph(frozen, inputNode, `${node}:${index}`, placeholder.shape, spec, graphBytes, 0);
    const [probe] = await graph.run([new Float32Array(spec.height * spec.width * spec.channels)]);
    return new BottleneckGraph(frozen, inputNode, `${node}:${index}`, placeholder.shape, spec, graphBytes, probe.length);
  }

  /** Bottleneck vectors for a batch of preprocessed images. */
  async run(images: Float32Array[]): Promise<Float32Array[]> {
    const { height, width, channels } = this.spec;
    const per = height * width * channels;
    const flat = new Float32Array(images.length * per);
    images.forEach((img, i) => flat.set(img, i * per));
    const shape = this.inputShape?.length === 4 ? [images.length, height, width, channels] : [images.length, per];
    const x = tf.tensor(flat, shape);
    try {
      const [out] = await this.frozen.run({ [this.input]: x }, [this.bottleneck]);
      const values = out.dataSync() as Float32Array;
      out.dispose();
      const size = values.length / images.length;
      return images.map((_, i) => Float32Array.from(values.subarray(i * size, (i + 1) * size)));
    } finally {
      x.dispose();
    }
  }
}

export interface BottleneckStats {
  cached: number;
  computed: number;
}

/** Bottleneck vectors on disk: `DIR/<sha256>.f32`, raw little-endian float32. */
export class BottleneckCache {
  constructor(readonly dir: string) {}

  key(graph: BottleneckGraph, imageBytes: Uint8Array): string {
    return sha256(graph.id, createHash('sha256').update(imageBytes).digest('hex'));
  }

  path(key: string): string {
    return path.join(this.dir, `${key}.f32`);
  }

  read(key: string, size: number): Float32Array | undefined {
    const file = this.path(key);
    if (!existsSync(file)) return undefined;
    const bytes = readFileSync(file);
    // A wrong length is a stale or damaged entry: recompute rather than fail.
    if (bytes.length !== size * 4) return undefined;
    return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  }

  async write(key: string, vector: Float32Array): Promise<void> {
    mkdirSync(this.dir, { recursive: true });
    await writeFileAtomic(this.path(key), new Uint8Array(vector.buffer, vector.byteOffset, vector.byteLength));
  }
}

function readImage(file: string): Uint8Array {
  try {
    return readFileSync(file);
  } catch (err) {
    throw fileError(file, (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message);
  }
}

/**
 * The bottleneck of every file, from the cache where present, else through the graph (in
 * batches) and then into the cache. `progress(done)` after each image.
 */
export async function computeBottlenecks(
  graph: BottleneckGraph,
  cache: BottleneckCache,
  files: string[],
  progress: (done: number) => void = () => {},
  batchSize = 32,
): Promise<{ vectors: Float32Array[]; stats: BottleneckStats }> {
  const vectors: Float32Array[] = new Array(files.length);
  const stats: BottleneckStats = { cached: 0, computed: 0 };
  let pending: Array<{ index: number; key: string; input: Float32Array }> = [];
  let done = 0;
  const flush = async () => {
    if (!pending.length) return;
    const outputs = await graph.run(pending.map((p) => p.input));
    for (let i = 0; i < pending.length; i++) {
      vectors[pending[i].index] = outputs[i];
      await cache.write(pending[i].key, outputs[i]);
    }
    stats.computed += pending.length;
    done += pending.length;
    progress(done);
    pending = [];
  };
  for (let index = 0; index < files.length; index++) {
    const bytes = readImage(files[index]);
    const key = cache.key(graph, bytes);
    const hit = cache.read(key, graph.size);
    if (hit) {
      vectors[index] = hit;
      stats.cached++;
      progress(++done);
      continue;
    }
    pending.push({ index, key, input: await imageToInput(bytes, files[index], graph.spec) });
    if (pending.length >= batchSize) await flush();
  }
  await flush();
  return { vectors, stats };
}
