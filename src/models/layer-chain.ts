import type { VariableEntry } from '../variables/store.js';
import type { GraphNode } from './graph.js';
import type { Model } from './model.js';

/**
 * A k×k stride-1 convolution of an h×h×in map + bias, then optionally ReLU, a 2×2/2 max-pool and
 * dropout (keep probability `keep`; absent or 1 = none). With `batchNorm`, the convolution has no
 * bias but a batch normalisation (γ, β; the batch's statistics) before its ReLU.
 */
export interface ConvLayer {
  kind: 'conv';
  k: number;
  h: number;
  in: number;
  out: number;
  same: boolean;
  relu: boolean;
  pool: boolean;
  keep?: number;
  batchNorm?: { epsilon: number; momentum: number };
}

/** x·W + b, then optionally ReLU and dropout (keep probability `keep`, 1 = none). */
export interface DenseLayer {
  kind: 'dense';
  in: number;
  out: number;
  relu: boolean;
  keep: number;
}

export type ChainLayer = ConvLayer | DenseLayer;

/**
 * A model's graph read as a chain of layers, with its trainable variables in chain order (W, b of
 * each layer; W, γ, β of a batch-normalised one) and the moving mean and variance of each batch
 * normalisation in turn.
 */
export interface LayerChain {
  layers: ChainLayer[];
  variables: VariableEntry[];
  statistics: VariableEntry[];
}

const json = (v: unknown) => JSON.stringify(v);

/**
 * `model`'s graph as a chain of conv layers then dense layers (the last giving the logits) on its
 * flattened-image input, if it is exactly that — every op in order, each consuming the previous
 * one, every trainable variable used — else undefined. The whole native step trains such chains.
 */
export function layerChain(model: Model): LayerChain | undefined {
  const nodes = model.graph.nodes.filter((n) => n.op !== 'Variable' && n.name !== model.input);
  const inputNode = model.graph.nodes.find((n) => n.name === model.input);
  const inputShape = inputNode?.attrs.shape as Array<number | null> | undefined;
  if (!inputShape || inputShape.length !== 2 || typeof inputShape[1] !== 'number') return undefined;
  const layers: ChainLayer[] = [];
  const variables: VariableEntry[] = [];
  const statistics: VariableEntry[] = [];
  let at = 0;
  let previous = model.input;
  let features = inputShape[1];
  let image: { h: number; c: number } | undefined;

  /** The next node if it has op `op` and takes the previous output (and `arity` inputs); it becomes the previous. */
  const take = (ops: string[], arity = 1): GraphNode | undefined => {
    const n = nodes[at];
    if (!n || !ops.includes(n.op) || n.inputs[0] !== previous || n.inputs.length !== arity) return undefined;
    at++;
    previous = n.name;
    return n;
  };
  /** Input `k` of node `n` is a float variable of this shape (trainable or not); it joins `variables` or `statistics`. */
  const variable = (n: GraphNode, shape: number[], k = 1, trainable = true): boolean => {
    const v = model.store.get(n.inputs[k]);
    if (!v || v.trainable !== trainable || v.variable.dtype !== 'float32' || json(v.shape) !== json(shape)) return false;
    (trainable ? variables : statistics).push(v);
    return true;
  };
  /** A FusedBatchNormV3 next in the chain with γ, β and moving statistics of `channels`, or undefined. */
  const batchNorm = (channels: number): ConvLayer['batchNorm'] | undefined => {
    const n = take(['FusedBatchNormV3'], 5);
    if (!n || ![1, 2].every((k) => variable(n, [channels], k)) || ![3, 4].every((k) => variable(n, [channels], k, false))) return undefined;
    const [epsilon, momentum] = [Number(n.attrs.epsilon), Number(n.attrs.momentum)];
    return epsilon > 0 && momentum >= 0 && momentum <= 1 ? { epsilon, momentum } : undefined;
  };
  const weightShape = (n: GraphNode): number[] => model.store.get(n.inputs[1])?.shape ?? [];
  /** The keep probability of a Dropout node next in the chain (1 if none), or undefined for a rate outside [0, 1). */
  const dropoutKeep = (): number | undefined => {
    const dropout = take(['Dropout']);
    const rate = dropout ? Number(dropout.attrs.rate) : 0;
    return rate >= 0 && rate < 1 ? 1 - rate : undefined;
  };

  while (at < nodes.length) {
    const n = nodes[at];
    if (n.op === 'Reshape') {
      if (!take(['Reshape'])) return undefined;
      const shape = n.attrs.shape as number[];
      if (!image && shape.length === 4 && shape[0] === -1 && shape[1] === shape[2] && shape[1] * shape[2] * shape[3] === features) {
        image = { h: shape[1], c: shape[3] };
      } else if (image && json(shape) === json([-1, image.h * image.h * image.c])) {
        features = image.h * image.h * image.c;
        image = undefined;
      } else {
        return undefined;
      }
    } else if (n.op === 'Conv2D') {
      if (!image || layers.some((l) => l.kind === 'dense')) return undefined;
      const conv = take(['Conv2D'], 2);
      if (!conv) return undefined;
      const [k, k2, cin, cout] = weightShape(conv);
      const same = conv.attrs.padding === 'SAME';
      if (k !== k2 || cin !== image.c || json(conv.attrs.strides) !== '[1,1,1,1]' || conv.attrs.dilations !== undefined) return undefined;
      if (!same && conv.attrs.padding !== 'VALID') return undefined;
      if (!variable(conv, [k, k, cin, cout])) return undefined;
      const normalised = nodes[at]?.op === 'FusedBatchNormV3';
      const norm = normalised ? batchNorm(cout) : undefined;
      if (normalised && !norm) return undefined;
      if (!normalised) {
        const bias = take(['BiasAdd', 'Add'], 2);
        if (!bias || !variable(bias, [cout])) return undefined;
      }
      const relu = take(['Relu']) !== undefined;
      if (norm && !relu) return undefined;
      const oh = same ? image.h : image.h - k + 1;
      const poolNode = nodes[at];
      let pool = false;
      if (poolNode?.op === 'MaxPool' && json(poolNode.attrs.ksize) === '[1,2,2,1]' && json(poolNode.attrs.strides) === '[1,2,2,1]' &&
        oh % 2 === 0 && relu) {
        pool = take(['MaxPool']) !== undefined;
      }
      if (oh < 1) return undefined;
      const keep = dropoutKeep();
      if (keep === undefined) return undefined;
      layers.push({ kind: 'conv', k, h: image.h, in: cin, out: cout, same, relu, pool, ...(keep < 1 ? { keep } : {}), ...(norm ? { batchNorm: norm } : {}) });
      image = { h: pool ? oh / 2 : oh, c: cout };
    } else if (n.op === 'MatMul') {
      if (image || n.attrs.transpose_a || n.attrs.transpose_b) return undefined;
      const matmul = take(['MatMul'], 2);
      if (!matmul) return undefined;
      const [rows, cols] = weightShape(matmul);
      if (rows !== features || !variable(matmul, [rows, cols])) return undefined;
      const bias = take(['Add', 'BiasAdd'], 2);
      if (!bias || !variable(bias, [cols])) return undefined;
      const relu = take(['Relu']) !== undefined;
      const keep = dropoutKeep();
      if (keep === undefined) return undefined;
      layers.push({ kind: 'dense', in: rows, out: cols, relu, keep });
      features = cols;
    } else {
      return undefined;
    }
  }
  const last = layers[layers.length - 1];
  if (!last || last.kind !== 'dense' || last.relu || last.keep !== 1 || previous !== model.output) return undefined;
  const trainable = model.store.trainable();
  if (trainable.length !== variables.length || !trainable.every((v) => variables.includes(v))) return undefined;
  return { layers, variables, statistics };
}
