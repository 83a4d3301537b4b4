// Child process for the kill test: saves checkpoints forever (each one's weights all equal to its
// step), printing "saved N" after each, until it is killed.
import path from 'node:path';
import type { TensorValue } from '../../../src/formats/tensor-value.js';
import { Saver } from '../../../src/checkpoint/saver.js';

const dir = process.argv[2];
const saver = new Saver({ maxToKeep: 2 });
for (let step = 1; ; step++) {
  const tensors = new Map<string, TensorValue>([
    ['weights', { dtype: 'float32', shape: [1 << 18], data: new Float32Array(1 << 18).fill(step) }],
    ['global_step', { dtype: 'int64', shape: [], data: BigInt64Array.from([BigInt(step)]) }],
  ]);
  await saver.save(path.join(dir, 'model.ckpt'), tensors, { globalStep: step, metaGraph: new Uint8Array(1000).fill(step & 0xff) });
  process.stdout.write(`saved ${step}\n`);
}
