/**
 * Worker-thread entry for a training run started from the web page. train() runs its steps
 * back to back (on the cpu backend each await settles as a microtask), which would starve the
 * server's event loop; here it has a thread of its own. It writes checkpoints and
 * `events.jsonl` like `mnist train`; the server follows those. Stop requests arrive through a
 * shared flag because this thread's event loop may not turn until training ends.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { selectBackend, type BackendChoice } from '../backend/select.js';
import { loadMnist } from '../data/mnist.js';
import { train, type TrainOptions } from '../train/train.js';

export interface TrainWorkerData {
  options: Omit<TrainOptions, 'shouldStop' | 'batches'>;
  backend: BackendChoice;
  dataDir?: string;
  limit?: number;
  /** Int32Array over a SharedArrayBuffer: [0] = 1 asks the run to stop after its current step. */
  stopFlag: SharedArrayBuffer;
}

export type TrainWorkerMessage =
  | { type: 'started'; fromStep: number; toStep: number; backend: string }
  | { type: 'progress'; step: number; loss: number }
  | { type: 'done'; step: number; seconds: number; checkpoint: string }
  | { type: 'failed'; message: string };

const PROGRESS_INTERVAL_MS = 200;

const { options, backend, dataDir, limit, stopFlag } = workerData as TrainWorkerData;
const stop = new Int32Array(stopFlag);
const post = (m: TrainWorkerMessage) => parentPort!.postMessage(m);

try {
  const { name } = await selectBackend(backend);
  // A resumed directory's recorded validation size decides which images it trains on.
  const data = loadMnist({ dataDir, limit, validationSize: options.validationSize });
  let last = 0;
  const result = await train({ ...options, shouldStop: () => Atomics.load(stop, 0) === 1 }, data.train, {
    start: (fromStep, toStep) => post({ type: 'started', fromStep, toStep, backend: name }),
    step: ({ step, loss }) => {
      const now = performance.now();
      if (now - last < PROGRESS_INTERVAL_MS) return;
      last = now;
      post({ type: 'progress', step, loss });
    },
    log: () => {},
    stop: () => {},
  });
  post({ type: 'done', step: result.globalStep, seconds: result.seconds, checkpoint: result.checkpoint });
  result.model.dispose();
  result.ema?.dispose();
} catch (err) {
  post({ type: 'failed', message: (err as Error)?.message ?? String(err) });
}
