/**
 * The book MLP (npm start's recipe: 784-500-10, batch 100, L2 1e-4, SGD lr 0.8·0.99^(step/550), EMA
 * 0.99) side by side in one run, on the real MNIST batches:
 *   1. ms per training step, alternating timed blocks in one process: `mnist train`'s step on the
 *      TensorFlow.js path (MNIST_DENSE_STEP=0: fused layers, fused loss, in-place SGD and EMA) and
 *      in one native call (src/backend/dense-step.ts) on 1 and 2 threads; then the PyTorch twin
 *      (bench/book_mlp_torch.py, OpenBLAS, tuned malloc) on 1 and 2 threads, `--torch-steps` steps.
 *   2. with --full: the whole 30,000-step `mnist train` (bin/mnist.js, needs `npm run build`) with
 *      MNIST_DENSE_STEP=0 and without, one after the other, and the PyTorch twin's 30,000 steps at its
 *      best thread count: training seconds and test accuracy (EMA).
 *   node --import tsx bench/book-mlp-run.ts [--blocks 7] [--steps 300] [--torch-steps 2000] [--full]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { selectBackend } from '../src/backend/select.js';
import { BatchIterator } from '../src/data/batches.js';
import { loadMnist } from '../src/data/mnist.js';
import { Model } from '../src/models/model.js';
import { getModelDefinition } from '../src/models/registry.js';
import { denseChain } from '../src/models/dense-chain.js';
import { denseStepFor } from '../src/backend/dense-step.js';
import { threadChoice } from '../src/backend/native.js';
import { ExponentialMovingAverage } from '../src/train/ema.js';
import { createOptimizer } from '../src/train/optimizers.js';
import { trainingStep } from '../src/train/train.js';
import { l2Regularizer } from '../src/variables/regularizers.js';
import { torchEnv } from './torch-env.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const blocks = arg('blocks', 7);
const stepsPerBlock = arg('steps', 300);
const torchSteps = arg('torch-steps', 2000);
const full = process.argv.includes('--full');

const cpu = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown CPU';
const avx512 = [...new Set(readFileSync('/proc/cpuinfo', 'utf8').match(/\bavx512\w*/g) ?? [])];
console.log(`CPU: ${cpu}; ${avx512.length > 0 ? `AVX-512 (${avx512.join(' ')})` : 'no AVX-512 (AVX2)'}; load ${readFileSync('/proc/loadavg', 'utf8').split(' ')[0]}`);

await selectBackend('native');
const data = loadMnist({});
const backendThreads = threadChoice.threads;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

type Variant = { name: string; denseStep: boolean; threads?: number };
const variants: Variant[] = [
  { name: 'mnist train step, TensorFlow.js path (MNIST_DENSE_STEP=0)', denseStep: false },
  { name: 'one native call, 1 thread', denseStep: true, threads: 1 },
  { name: 'one native call, 2 threads', denseStep: true, threads: 2 },
];
const runs = variants.map(() => {
  const model = Model.build(getModelDefinition('mlp'), { seed: 1, regularizer: l2Regularizer(1e-4) });
  const ema = new ExponentialMovingAverage(0.99);
  ema.createShadows(model.store.trainable());
  return { model, ema, optimizer: createOptimizer('sgd', { momentum: 0 }), batches: new BatchIterator(data.train, 100, 1), step: 0, times: [] as number[], cpu: [] as number[] };
});
const chains = runs.map((r) => denseChain(r.model)!);

function block(i: number): number {
  const v = variants[i];
  const r = runs[i];
  if (v.denseStep) delete process.env.MNIST_DENSE_STEP;
  else process.env.MNIST_DENSE_STEP = '0';
  // The dense step reads the backend's thread count at every call; the tfjs path keeps the backend's.
  threadChoice.threads = v.threads ?? backendThreads;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  for (let s = 0; s < stepsPerBlock; s++) {
    const lr = 0.8 * 0.99 ** (r.step / 550);
    trainingStep(r.model, r.optimizer, r.ema, r.batches.next(), lr, r.step);
    r.step++;
  }
  const cpu = process.cpuUsage(cpu0);
  r.cpu.push((cpu.user + cpu.system) / 1000 / stepsPerBlock);
  return (performance.now() - t0) / stepsPerBlock;
}

for (const [i, v] of variants.entries()) {
  if (v.denseStep && !denseStepFor(chains[i].map((e) => e.variable), [])) {
    throw new Error('the native dense step is unavailable (an older addon? run npm run build:native)');
  }
}
for (const [i] of variants.entries()) block(i); // warm-up
for (let b = 0; b < blocks; b++) for (const [i] of variants.entries()) runs[i].times.push(block(i));

console.log(`\nms per training step (median of ${blocks} blocks of ${stepsPerBlock} steps, alternating; CPU: process CPU time, all threads):`);
for (const [i, v] of variants.entries()) console.log(`  ${v.name.padEnd(58)} ${median(runs[i].times).toFixed(3)} ms  (CPU ${median(runs[i].cpu).toFixed(3)} ms)`);

function torch(steps: number, threads: number): { seconds: number; test_ema: number } | null {
  const r = spawnSync(existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3', [join(ROOT, 'bench', 'book_mlp_torch.py'), '--steps', String(steps), '--threads', String(threads)], {
    encoding: 'utf8', env: torchEnv({ OMP_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads) }),
  });
  if (r.status !== 0) {
    console.log(`  PyTorch twin failed: ${(r.stderr || r.stdout).trim().split('\n').pop()}`);
    return null;
  }
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}
const torchMs: number[] = [];
for (const threads of [1, 2]) {
  const r = torch(torchSteps, threads);
  if (r) {
    torchMs.push((r.seconds * 1000) / torchSteps);
    console.log(`  ${`PyTorch twin, ${threads} thread(s) (${torchSteps} steps)`.padEnd(58)} ${torchMs[torchMs.length - 1].toFixed(3)} ms`);
  }
}
const ours = Math.min(median(runs[1].times), median(runs[2].times));
if (torchMs.length > 0) console.log(`  PyTorch best ÷ ours best (one native call): ${(Math.min(...torchMs) / ours).toFixed(2)}×; TensorFlow.js path ÷ one call: ${(median(runs[0].times) / ours).toFixed(2)}×`);

if (full) {
  console.log('\nthe full run, 30,000 steps (mnist train; training seconds as it reports them):');
  for (const [label, env] of [['TensorFlow.js path (MNIST_DENSE_STEP=0)', { MNIST_DENSE_STEP: '0' }], ['one native call', {}]] as const) {
    const dir = mkdtempSync(join(tmpdir(), 'mnist-book-mlp-'));
    try {
      const t = spawnSync(process.execPath, [join(ROOT, 'bin', 'mnist.js'), 'train', '--fresh', '--model-dir', dir, '--no-progress', '--log-every', '100000'],
        { encoding: 'utf8', env: { ...process.env, ...env } });
      const trained = /Trained to step (\d+) in ([\d.]+) s/.exec(t.stdout);
      const test = spawnSync(process.execPath, [join(ROOT, 'bin', 'mnist.js'), 'test', '--model-dir', dir, '--json'], { encoding: 'utf8' });
      const accuracy = test.status === 0 ? (JSON.parse(test.stdout) as { accuracy: number }).accuracy : NaN;
      console.log(`  ${label.padEnd(45)} ${trained ? `${trained[2]} s` : `failed: ${t.stderr.trim().split('\n').pop()}`}, test accuracy (EMA) ${(accuracy * 100).toFixed(2)} %`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const best = torchMs.length === 2 && torchMs[1] < torchMs[0] ? 2 : 1;
  const r = torch(30000, best);
  if (r) console.log(`  ${`PyTorch twin, ${best} thread(s)`.padEnd(45)} ${r.seconds} s, test accuracy (EMA) ${(r.test_ema * 100).toFixed(2)} %`);
}
