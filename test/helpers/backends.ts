import { selectBackend } from '../../src/backend/select.js';
import { requirement } from './requirements.js';

let nativeSkipReason: Promise<string | false> | undefined;

/**
 * The skip reason for tests that need the native backend, or false when its addon loads (the
 * backend is then selected). A missing addon fails the run — under CI=true always, locally unless
 * MNIST_ALLOW_NO_NATIVE=1 says it is expected — with one line saying so.
 */
export function nativeSkip(): Promise<string | false> {
  nativeSkipReason ??= selectBackend('native').then(
    () => false,
    (err: Error) => requirement('the native backend', `${err.message.split('\n')[0]}; MNIST_ALLOW_NO_NATIVE=1 skips its tests instead`, { mustHave: process.env.MNIST_ALLOW_NO_NATIVE !== '1' }),
  );
  return nativeSkipReason;
}

/** The backends a numeric test should agree on: always `cpu`, plus `native` when the addon is built. */
export async function backendsUnderTest(): Promise<string[]> {
  return (await nativeSkip()) ? ['cpu'] : ['cpu', 'native'];
}
