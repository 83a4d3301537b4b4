import * as tf from '@tensorflow/tfjs';
import { concatLastAxis } from './concat.js';
import { requiredNodes, type Graph, type GraphNode, type Padding } from './graph.js';

export interface ExecuteOptions {
  /** Dropout is active only when training. */
  training?: boolean;
  /** Values of Variable nodes, by variable name. */
  variable: (name: string) => tf.Tensor;
  /** Seed source for dropout masks (a new seed per call keeps masks different per step). */
  dropoutSeed?: () => number;
}

/** Runs the graph on TensorFlow.js and returns the requested outputs. Call inside tf.tidy. */
export function execute(graph: Graph, feeds: Record<string, tf.Tensor>, outputs: string[], opts: ExecuteOptions): tf.Tensor[] {
  const values = new Map<string, tf.Tensor>();
  for (const node of requiredNodes(graph, outputs)) {
    values.set(node.name, run(node, node.inputs.map((i) => values.get(i) as tf.Tensor), feeds, opts));
  }
  return outputs.map((o) => values.get(o) as tf.Tensor);
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
    case 'Dropout':
      return opts.training && (a.rate as number) > 0 ? tf.dropout(x, a.rate as number, undefined, opts.dropoutSeed?.()) : x;
    default:
      throw new Error(`op ${node.op} (node ${node.name}) is not supported`);
  }
}
