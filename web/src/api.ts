/** The server's JSON API (src/web/server.ts), as the page uses it. */

export interface DigitResult {
  digit: number;
  confidence: number;
  probabilities: number[];
  input: number[];
  box: { x: number; y: number; width: number; height: number } | null;
}

export interface PredictResult {
  /** The first (or only) digit's result; `number` and `digits` have them all, left to right. */
  digit: number;
  probabilities: number[];
  /** 784 values in [0, 1]: the 28×28 image the network saw. */
  input: number[];
  number?: string;
  digits?: DigitResult[];
  checkpoint: string;
  step: number;
  usedEma: boolean;
  model: string;
}

export interface CheckpointRow {
  name: string;
  step: number | null;
  savedAt: number;
  latest: boolean;
  /** What a prediction naming no checkpoint uses: the newest, or the one given with `mnist serve --checkpoint`. */
  default: boolean;
  validationAccuracy: number | null;
}

export interface JobStatus {
  state: 'idle' | 'starting' | 'running' | 'stopping' | 'done' | 'failed';
  fromStep?: number;
  toStep?: number;
  step?: number;
  loss?: number;
  seconds?: number;
  checkpoint?: string;
  backend?: string;
  error?: string;
}

export interface Info {
  modelDir: string;
  model: string;
  models: string[];
  backend: string;
  latest: string | null;
  /** Global step of the newest checkpoint (0 when there is none). */
  latestStep: number;
  checkpoints: number;
  job: JobStatus;
}

export interface MistakeItem {
  index: number;
  label: number;
  prediction: number;
  confidence: number;
  probabilities: number[];
  /** base64 of 784 bytes (0..255). */
  pixels: string;
}

export interface Mistakes {
  checkpoint: string;
  step: number;
  accuracy: number;
  testCount: number;
  total: number;
  offset: number;
  limit: number;
  items: MistakeItem[];
}

export type TrainEvent =
  | { type: 'start'; time: number; model: string; fromStep: number; steps: number; batchSize: number }
  | { type: 'step'; time: number; step: number; loss: number; learningRate: number; examplesPerSec: number }
  | { type: 'checkpoint'; time: number; step: number; checkpoint: string }
  | { type: 'end'; time: number; step: number; seconds: number }
  | { type: 'validation'; time: number; step: number; checkpoint: string; accuracy: number }
  | { type: 'reset'; time: number };

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function call<T>(path: string, init?: RequestInit): Promise<T> {
  const res = await fetch(path, init);
  const body = (await res.json().catch(() => ({}))) as { error?: string };
  if (!res.ok) throw new ApiError(res.status, body.error ?? `${res.status} ${res.statusText}`);
  return body as T;
}

const query = (params: Record<string, string | number | undefined>) => {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
};

export const api = {
  info: () => call<Info>('/api/info'),
  predictPng: (png: Blob, checkpoint?: string) =>
    call<PredictResult>(`/api/predict${query({ checkpoint })}`, { method: 'POST', headers: { 'Content-Type': 'image/png' }, body: png }),
  checkpoints: () => call<{ modelDir: string; model: string; pinned: string | null; checkpoints: CheckpointRow[] }>('/api/checkpoints'),
  mistakes: (offset: number, limit: number, checkpoint?: string) => call<Mistakes>(`/api/mistakes${query({ offset, limit, checkpoint })}`),
  /** `steps` is the total global step to reach, as for `mnist train --steps`. */
  train: (body: { steps: number; fresh?: boolean; model?: string }) =>
    call<JobStatus>('/api/train', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) }),
  stopTraining: () =>
    call<{ stopping: boolean }>('/api/train/stop', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' }),
};
