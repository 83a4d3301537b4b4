import type { Worker } from 'node:worker_threads';
import { startModuleWorker } from '../util/worker.js';
import type { BackendChoice } from '../backend/select.js';
import type { TrainOptions } from '../train/train.js';
import type { TrainWorkerData, TrainWorkerMessage } from './train-worker.js';

export type JobState = 'idle' | 'starting' | 'running' | 'stopping' | 'done' | 'failed';

export interface JobStatus {
  state: JobState;
  fromStep?: number;
  toStep?: number;
  step?: number;
  loss?: number;
  startedAt?: number;
  seconds?: number;
  checkpoint?: string;
  backend?: string;
  error?: string;
}

export interface TrainJobOptions {
  backend: BackendChoice;
  dataDir?: string;
  limit?: number;
}

/** At most one training run at a time, in a worker thread (see train-worker.ts). */
export class TrainJob {
  private worker: Worker | undefined;
  private stopFlag: Int32Array | undefined;
  private current: JobStatus = { state: 'idle' };
  private readonly listeners = new Set<(status: JobStatus) => void>();

  constructor(private readonly opts: TrainJobOptions) {}

  status(): JobStatus {
    return { ...this.current };
  }

  running(): boolean {
    return this.worker !== undefined;
  }

  onChange(listener: (status: JobStatus) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  start(options: Omit<TrainOptions, 'shouldStop' | 'batches'>): JobStatus {
    if (this.worker) throw new Error('a training run is already going');
    const stopFlag = new SharedArrayBuffer(4);
    this.stopFlag = new Int32Array(stopFlag);
    const data: TrainWorkerData = { options, backend: this.opts.backend, dataDir: this.opts.dataDir, limit: this.opts.limit, stopFlag };
    const worker = spawnTrainWorker(data);
    this.worker = worker;
    this.update({ state: 'starting', startedAt: Date.now(), toStep: options.steps });
    worker.on('message', (m: TrainWorkerMessage) => {
      if (m.type === 'started') this.update({ ...this.current, state: this.stopping() ? 'stopping' : 'running', fromStep: m.fromStep, toStep: m.toStep, step: m.fromStep, backend: m.backend });
      else if (m.type === 'progress') this.update({ ...this.current, step: m.step, loss: m.loss });
      else if (m.type === 'done') this.update({ ...this.current, state: 'done', step: m.step, seconds: m.seconds, checkpoint: m.checkpoint });
      else if (m.type === 'failed') this.update({ ...this.current, state: 'failed', error: m.message });
    });
    worker.on('error', (err) => this.update({ ...this.current, state: 'failed', error: err.message }));
    worker.on('exit', (code) => {
      this.worker = undefined;
      if (this.current.state !== 'done' && this.current.state !== 'failed') {
        this.update({ ...this.current, state: 'failed', error: `training worker exited with code ${code}` });
      }
    });
    return this.status();
  }

  /** Asks the run to stop after its current step; it saves a checkpoint first. */
  stop(): boolean {
    if (!this.worker || !this.stopFlag) return false;
    Atomics.store(this.stopFlag, 0, 1);
    this.update({ ...this.current, state: 'stopping' });
    return true;
  }

  /** Stops the run and waits for the worker to finish (its checkpoint written). */
  async close(timeoutMs = 10_000): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    this.stop();
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    const timer = setTimeout(() => void worker.terminate(), timeoutMs);
    await exited;
    clearTimeout(timer);
  }

  private stopping(): boolean {
    return this.stopFlag !== undefined && Atomics.load(this.stopFlag, 0) === 1;
  }

  private update(status: JobStatus): void {
    this.current = status;
    for (const listener of this.listeners) listener(this.status());
  }
}

function spawnTrainWorker(workerData: TrainWorkerData): Worker {
  return startModuleWorker(import.meta.url, 'train-worker', workerData);
}
