import { selectBackend } from '../../src/backend/select.js';

/**
 * The backends a numeric test should agree on: always `cpu`, plus `native` when the addon is built.
 * A missing addon fails the suite unless MNIST_ALLOW_NO_NATIVE=1 says it is expected.
 */
export async function backendsUnderTest(): Promise<string[]> {
  try {
    await selectBackend('native');
    return ['cpu', 'native'];
  } catch {
    if (process.env.MNIST_ALLOW_NO_NATIVE !== '1') throw new Error('native backend not built (npm run build:native)');
    return ['cpu'];
  }
}
