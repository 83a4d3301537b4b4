import * as tf from '@tensorflow/tfjs';
import { batchNormTraining } from './batch-norm.js';
import { concatLastAxis } from './concat.js';
import { convLayer, denseLayer, fusedLayersAvailable, poolFusionAvailable } from './fused-layers.js';
import { requiredNodes, type Graph, type GraphNode, type Padding } from './graph.js';

export interface ExecuteOptions {
  /** Dropout is active only when training. */
  training?: boolean;
  /** Values of Variable nodes, by variable name. */
  variable: (name: string) => tf.Tensor;
  /** Seed source for dropout masks (a new seed per call keeps masks different per step). */
  dropoutSeed?: () => number;
  /**
   * When training, each batch-norm node's batch statistics: the mean and the unbiased (n − 1)
   * variance per channel, what TensorFlow moves the moving statistics towards.
   */
  batchStatistics?: (node: GraphNode, mean: tf.Tensor1D, variance: tf.Tensor1D) => void;
}

/** Runs the graph on TensorFlow.js and returns the requested outputs. Call inside tf.tidy. */
export function execute(graph: Graph, feeds: Record<string, tf.Tensor>, outputs: string[], opts: ExecuteOptions): tf.Tensor[] {
  const { nodes, fused } = plan(graph, outputs, opts.training ?? false);
  const ownLayers = fusedLayersAvailable();
  const ownPools = poolFusionAvailable();
  const values = new Map<string, tf.Tensor>();
  for (const node of nodes) {
    const layer = fused.get(node.name);
    if (layer === null) continue; // computed by the fused layer that ends further on
    const input = (i: string) => values.get(i) as tf.Tensor;
    values.set(node.name, layer ? runFused(layer, input, ownLayers, ownPools) : run(node, node.inputs.map(input), feeds, opts));
  }
  return outputs.map((o) => values.get(o) as tf.Tensor);
}

/** The nodes a set of outputs needs and their fused layers, worked out once per graph and outputs. */
const plans = new WeakMap<Graph, Map<string, { nodes: GraphNode[]; fused: Map<string, FusedLayer | null> }>>();

function plan(graph: Graph, outputs: string[], training: boolean): { nodes: GraphNode[]; fused: Map<string, FusedLayer | null> } {
  let byOutputs = plans.get(graph);
  if (!byOutputs) plans.set(graph, (byOutputs = new Map()));
  const key = `${graph.nodes.length}\n${training}\n${outputs.join('\n')}`; // a graph can still grow while it is being built
  let entry = byOutputs.get(key);
  if (!entry) {
    const nodes = requiredNodes(graph, outputs);
    byOutputs.set(key, (entry = { nodes, fused: fusedLayers(nodes, outputs, training) }));
  }
  return entry;
}

/**
 * MatMul or Conv2D, then a bias add, then optionally Relu (and, after a Conv2D's, a 2×2 max-pool),
 * run as one fused op. In inference, a Conv2D's batch normalisation (moving statistics) takes the
 * bias add's place: folded into the filter and a bias.
 */
interface FusedLayer {
  product: GraphNode;
  /** The bias variable, or the FusedBatchNormV3 node folded in. */
  bias: string;
  batchNorm?: GraphNode;
  relu: boolean;
  /** A 2×2 stride-2 MaxPool reading the Relu; the layer computes its output. */
  pool?: GraphNode;
  /** Whether a variable lies upstream of the layer's input (else its gradient is never needed). */
  inputNeedsGrad: boolean;
}

/**
 * Finds MatMul/Conv2D → Add/BiasAdd(bias variable) [→ Relu] chains whose intermediate values
 * nobody else reads, so each can run as one fused op: one kernel (oneDNN adds the bias and applies
 * ReLU in the same pass) and one tape node instead of three. Returns, by node name, the layer a
 * chain's last node computes, or null for the nodes inside a chain that are skipped. The graph
 * itself (and so freeze/export) is unchanged.
 */
function fusedLayers(nodes: GraphNode[], outputs: string[], training: boolean): Map<string, FusedLayer | null> {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const readers = new Map<string, GraphNode[]>();
  for (const n of nodes) for (const i of n.inputs) readers.set(i, [...(readers.get(i) ?? []), n]);
  const requested = new Set(outputs);
  const fromVariable = new Set<string>();
  for (const n of nodes) if (n.op === 'Variable' || n.inputs.some((i) => fromVariable.has(i))) fromVariable.add(n.name);
  const soleReader = (name: string): GraphNode | undefined => {
    const r = readers.get(name);
    return r?.length === 1 && !requested.has(name) ? r[0] : undefined;
  };
  const fused = new Map<string, FusedLayer | null>();
  for (const product of nodes) {
    if (product.op !== 'MatMul' && product.op !== 'Conv2D') continue;
    if (product.op === 'MatMul' && (product.attrs.transpose_a || product.attrs.transpose_b)) continue;
    const add = soleReader(product.name);
    if (!add || add.inputs[0] !== product.name) continue;
    const batchNorm = !training && product.op === 'Conv2D' && add.op === 'FusedBatchNormV3' && add.inputs.slice(1).every((i) => byName.get(i)?.op === 'Variable');
    const bias = batchNorm ? add : byName.get(add.inputs[1]);
    const biasShape = bias?.attrs.shape;
    if (!bias || (!batchNorm && (!['Add', 'BiasAdd'].includes(add.op) || bias.op !== 'Variable' || !Array.isArray(biasShape) || biasShape.length !== 1))) continue;
    const relu = soleReader(add.name);
    const last = relu?.op === 'Relu' ? relu : add;
    const pool = product.op === 'Conv2D' && last === relu ? soleReader(relu.name) : undefined;
    const pooled = pool && isPool2x2(pool) ? pool : undefined;
    fused.set(product.name, null);
    if (last !== add) fused.set(add.name, null);
    if (pooled) fused.set(last.name, null);
    fused.set((pooled ?? last).name, {
      product, bias: bias.name, ...(batchNorm ? { batchNorm: add } : {}), relu: last !== add, pool: pooled, inputNeedsGrad: fromVariable.has(product.inputs[0]),
    });
  }
  return fused;
}

const isPool2x2 = (n: GraphNode) =>
  n.op === 'MaxPool' && String(n.attrs.ksize) === '1,2,2,1' && String(n.attrs.strides) === '1,2,2,1' && (n.attrs.padding === 'VALID' || n.attrs.padding === 'SAME');

/** On the native backend, our one-tape-node layers (fused-layers.ts); elsewhere tf.fused ops. */
function runFused(layer: FusedLayer, input: (name: string) => tf.Tensor, ownLayers: boolean, ownPools: boolean): tf.Tensor {
  if (layer.batchNorm) return runFused(...foldBatchNorm(layer, layer.batchNorm, input), ownLayers, ownPools);
  const { product, bias, relu, pool, inputNeedsGrad } = layer;
  if (pool) {
    const x = input(product.inputs[0]);
    // SAME equals VALID for a 2×2 stride-2 pool of even height and width.
    const valid = pool.attrs.padding === 'VALID' || (x.rank === 4 && pooledSizesEven(layer, x));
    if (ownPools && x.rank === 4 && valid) {
      const s = product.attrs.strides as number[];
      const pad = (product.attrs.padding as string).toLowerCase() as 'same' | 'valid';
      return convLayer(x, input(product.inputs[1]), input(bias), { strides: [s[1], s[2]], pad }, true, inputNeedsGrad, true);
    }
    const y = runFused({ ...layer, pool: undefined }, input, ownLayers, ownPools);
    return tf.maxPool(y as tf.Tensor4D, [2, 2], [2, 2], (pool.attrs.padding as string).toLowerCase() as 'same' | 'valid');
  }
  const [x, w] = product.inputs.map(input);
  const b = input(bias);
  const activation = relu ? 'relu' : 'linear';
  if (product.op === 'MatMul') {
    if (ownLayers && x.rank === 2) return denseLayer(x, w, b, relu, inputNeedsGrad);
    return tf.fused.matMul({ a: x as tf.Tensor2D, b: w as tf.Tensor2D, bias: b, activation });
  }
  const s = product.attrs.strides as number[];
  const strides: [number, number] = [s[1], s[2]];
  const pad = (product.attrs.padding as string).toLowerCase() as 'same' | 'valid';
  if (ownLayers && x.rank === 4) return convLayer(x, w, b, { strides, pad }, relu, inputNeedsGrad);
  return tf.fused.conv2d({ x: x as tf.Tensor4D, filter: w as tf.Tensor4D, strides, pad, bias: b, activation });
}

/**
 * An inference batch normalisation after a convolution folded into it: filter·m and bias
 * offset − mean·m per output channel, m = scale/√(variance + ε). Returns the plain layer and its inputs.
 */
function foldBatchNorm(layer: FusedLayer, node: GraphNode, input: (name: string) => tf.Tensor): [FusedLayer, (name: string) => tf.Tensor] {
  const [, scale, offset, mean, variance] = node.inputs.map(input);
  const { multiplier, shift } = inferenceAffine(scale, offset, mean, variance, node.attrs.epsilon as number);
  const filterName = layer.product.inputs[1];
  const folded = new Map([[filterName, tf.mul(input(filterName), multiplier)], [node.name, shift]]);
  return [{ ...layer, batchNorm: undefined }, (name) => folded.get(name) ?? input(name)];
}

/** Whether the convolution's output (the pool's input) has even height and width. */
function pooledSizesEven({ product }: FusedLayer, x: tf.Tensor): boolean {
  if (product.attrs.padding !== 'SAME') return false;
  const strides = product.attrs.strides as number[];
  const [h, w] = [Math.ceil(x.shape[1]! / strides[1]), Math.ceil(x.shape[2]! / strides[2])];
  return h % 2 === 0 && w % 2 === 0;
}

function run(node: GraphNode, inputs: tf.Tensor[], feeds: Record<string, tf.Tensor>, opts: ExecuteOptions): tf.Tensor {
  const a = node.attrs;
  const [x, y] = inputs;
  switch (node.op) {
    case 'Placeholder': {
      const fed = feeds[node.name];
      if (!fed) throw new Error(`no value fed for placeholder ${node.name}`);
      return fed;
    }
    case 'Variable':
      return opts.variable(node.name);
    case 'MatMul':
      return tf.matMul(x as tf.Tensor2D, y as tf.Tensor2D, a.transpose_a as boolean, a.transpose_b as boolean);
    case 'Add':
    case 'BiasAdd':
      return tf.add(x, y);
    case 'Relu':
      return tf.relu(x);
    case 'Tanh':
      return tf.tanh(x);
    case 'Sigmoid':
      return tf.sigmoid(x);
    case 'Softmax':
      return tf.softmax(x);
    case 'Identity':
      return x;
    case 'Conv2D': {
      const s = a.strides as number[];
      return tf.conv2d(x as tf.Tensor4D, y as tf.Tensor4D, [s[1], s[2]], (a.padding as string).toLowerCase() as 'same' | 'valid');
    }
    case 'MaxPool':
    case 'AvgPool': {
      const k = a.ksize as number[];
      const s = a.strides as number[];
      const pad = (a.padding as Padding).toLowerCase() as 'same' | 'valid';
      const pool = node.op === 'MaxPool' ? tf.maxPool : tf.avgPool;
      return pool(x as tf.Tensor4D, [k[1], k[2]], [s[1], s[2]], pad);
    }
    case 'Reshape':
      return tf.reshape(x, a.shape as number[]);
    case 'Pad':
      return tf.pad(x, a.paddings as Array<[number, number]>);
    case 'ConcatV2': {
      const axis = a.axis as number;
      return axis === -1 || axis === x.rank - 1 ? concatLastAxis(inputs) : tf.concat(inputs, axis);
    }
    case 'FusedBatchNormV3':
      return batchNorm(node, inputs, opts);
    case 'Dropout':
      return opts.training && (a.rate as number) > 0 ? tf.dropout(x, a.rate as number, undefined, opts.dropoutSeed?.()) : x;
    default:
      throw new Error(`op ${node.op} (node ${node.name}) is not supported`);
  }
}

/** FusedBatchNormV3 on an NHWC map: batch statistics when training (reported to `batchStatistics`), the moving ones otherwise. */
function batchNorm(node: GraphNode, [x, scale, offset, movingMean, movingVariance]: tf.Tensor[], opts: ExecuteOptions): tf.Tensor {
  if (x.rank !== 4) throw new Error(`${node.name}: batch normalisation takes an NHWC feature map, not a tensor of rank ${x.rank}`);
  const epsilon = node.attrs.epsilon as number;
  if (!opts.training) {
    // Two broadcast ops, native where the backend is (a convolution's normalisation is folded into it instead).
    const { multiplier, shift } = inferenceAffine(scale, offset, movingMean, movingVariance, epsilon);
    return tf.add(tf.mul(x, multiplier), shift);
  }
  const count = x.size / x.shape[3]!;
  const unbiased = count / Math.max(count - 1, 1);
  return batchNormTraining(x, scale, offset, epsilon, (mean, variance) =>
    opts.batchStatistics?.(node, mean, tf.tidy(() => tf.mul(variance, unbiased)) as tf.Tensor1D));
}

/** An inference batch normalisation as y = x·multiplier + shift per channel: multiplier = scale/√(variance + ε), shift = offset − mean·multiplier. */
function inferenceAffine(scale: tf.Tensor, offset: tf.Tensor, mean: tf.Tensor, variance: tf.Tensor, epsilon: number): { multiplier: tf.Tensor; shift: tf.Tensor } {
  const multiplier = tf.mul(scale, tf.rsqrt(tf.add(variance, epsilon)));
  return { multiplier, shift: tf.sub(offset, tf.mul(mean, multiplier)) };
}
