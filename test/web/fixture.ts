import { selectBackend } from '../../src/backend/select.js';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadMnist, type Mnist } from '../../src/data/mnist.js';
import { BOOK_DEFAULTS } from '../../src/train/config.js';
import { train } from '../../src/train/train.js';
import { startServer, type RunningServer } from '../../src/web/server.js';

/** Training examples the test model sees; validation/test splits are cut to this size too. */
export const LIMIT = 3000;

const quiet = { start() {}, step() {}, log() {}, stop() {} };

/**
 * A model directory with a briefly trained model (cpu backend), and a server over it on a free
 * loopback port. The softmax model trains in a few seconds even on a loaded 2-core machine and
 * reaches ~88% on the test set: enough to recognise clearly drawn digits.
 */
export interface TrainedServer {
  server: RunningServer;
  dir: string;
  data: Mnist;
  close(): Promise<void>;
}

export async function trainedServer(opts: { steps?: number; model?: string } = {}): Promise<TrainedServer> {
  await selectBackend('cpu');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mnist-web-'));
  const data = loadMnist({ limit: LIMIT });
  await train(
    { ...BOOK_DEFAULTS, model: opts.model ?? 'softmax', modelDir: dir, steps: opts.steps ?? 200, learningRate: 0.5, decayRate: 1, l2: 0, ema: 0, batchSize: 100, checkpointEvery: 100, logEvery: 1e9 },
    data.train,
    quiet,
  );
  const server = await startServer({ modelDir: dir, port: 0, limit: LIMIT, backend: 'cpu', log: () => {} });
  return {
    server,
    dir,
    data,
    async close() {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
