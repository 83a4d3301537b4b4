/**
 * The book §4.3: tf.train.ExponentialMovingAverage(0.99, num_updates=step) on one variable.
 * Effective decay = min(0.99, (1 + step)/(10 + step)): 0.1 at step 0, so the shadow jumps most of
 * the way (0 → 4.5 when v = 5); 0.99 at step 10000, so it barely moves (4.5 → 5.454999 with v = 100).
 *
 *   node --import tsx examples/moving-average.ts
 */
import * as tf from '@tensorflow/tfjs';
import { ExponentialMovingAverage } from '../src/train/ema.js';
import { VariableStore } from '../src/variables/store.js';
import { runIfMain, type Print } from './lib/main.js';
import { pythonList } from './lib/numpy-print.js';

export function run(print: Print): void {
  const store = new VariableStore();
  const v1 = store.create('v1', []);
  let step = 0;
  const ema = new ExponentialMovingAverage(0.99);
  ema.createShadows([v1]);
  const show = () => print(pythonList([v1.variable.dataSync()[0], ema.shadowOf(v1).dataSync()[0]]));

  show();
  v1.variable.assign(tf.scalar(5));
  ema.apply([v1], step);
  show();
  step = 10000;
  v1.variable.assign(tf.scalar(100));
  ema.apply([v1], step);
  show();
  ema.apply([v1], step);
  show();
  ema.dispose();
  store.dispose();
}

await runIfMain(import.meta.url, run);
