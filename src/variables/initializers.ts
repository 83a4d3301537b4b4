import { Random } from '../util/random.js';

/** How a variable gets its first value (TensorFlow's initializer names and parameters). */
export type Initializer =
  | { kind: 'truncated_normal'; stddev: number; mean?: number }
  | { kind: 'random_normal'; stddev: number; mean?: number }
  | { kind: 'constant'; value: number }
  | { kind: 'zeros' };

export const truncatedNormal = (stddev: number, mean = 0): Initializer => ({ kind: 'truncated_normal', stddev, mean });
export const randomNormal = (stddev: number, mean = 0): Initializer => ({ kind: 'random_normal', stddev, mean });
export const constant = (value: number): Initializer => ({ kind: 'constant', value });
export const zeros = (): Initializer => ({ kind: 'zeros' });

function gaussian(random: Random): number {
  // Box–Muller; 1 - u keeps log() away from 0.
  const u = 1 - random.next();
  const v = random.next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

export function initialValues(init: Initializer, size: number, random: Random): Float32Array {
  const out = new Float32Array(size);
  switch (init.kind) {
    case 'zeros':
      break;
    case 'constant':
      out.fill(init.value);
      break;
    case 'random_normal':
      for (let i = 0; i < size; i++) out[i] = (init.mean ?? 0) + init.stddev * gaussian(random);
      break;
    case 'truncated_normal':
      // TensorFlow redraws samples more than two standard deviations from the mean.
      for (let i = 0; i < size; i++) {
        let g: number;
        do g = gaussian(random);
        while (Math.abs(g) > 2);
        out[i] = (init.mean ?? 0) + init.stddev * g;
      }
      break;
  }
  return out;
}
