import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../src/backend/select.js';

/**
 * The native backend when its addon is built (CNN training steps take milliseconds there and
 * minutes on tfjs `cpu`), else `cpu`. One thread: the test machine is shared.
 */
export async function fastestBackend(): Promise<string> {
  process.env.MNIST_NATIVE_THREADS ??= '1';
  try {
    return (await selectBackend('native')).name;
  } catch {
    await tf.setBackend('cpu');
    return 'cpu';
  }
}
