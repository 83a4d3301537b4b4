// Training-step benchmark, side by side in one run: native (oneDNN), wasm, cpu and PyTorch.
//   npm run bench -- [--models mlp,mlp_l2_ema,book_cnn,deep_cnn] [--repeats 5] [--quick] [--profile]
//                    [--no-torch] [--install-torch] [--cpu-cnn] [--rounds N]
// Median ms/step of several timed blocks after warm-up; ratio against PyTorch's best thread count.
// --rounds N (N > 1) then times `mnist train`'s step and PyTorch N more times, alternating, and
// prints each round's ratio and their median: on a shared, noisy host one round's ratio can be off
// by a third.
// "CPU ms/step" is the process's CPU time per step (all threads): on a busy machine it shows the
// work done, which wall time hides behind waiting for a core.
import * as tf from '@tensorflow/tfjs';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadAddon } from '../src/backend/addon.js';
import { kernelProfiler } from '../src/backend/profiler.js';
import { selectBackend } from '../src/backend/select.js';
import { MODEL_TITLES, MODELS, randomBatch, type BenchModel } from './models.js';
import { torchEnv } from './torch-env.js';

const argv = process.argv.slice(2);
const opt = (name: string, fallback: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] ? argv[i + 1] : fallback;
};
const has = (name: string) => argv.includes(`--${name}`);
const models = opt('models', Object.keys(MODELS).join(',')).split(',');
const rounds = Number(opt('rounds', '1'));
const repeats = Number(opt('repeats', has('quick') ? '3' : '5'));
const scale = has('quick') ? 0.5 : 1;
const PYTHON = '/usr/bin/python3';

interface Result { label: string; median?: number; min?: number; cpu?: number; ips?: number; note?: string }

const isCnn = (id: string) => id.endsWith('cnn');

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

async function timeTfjs(label: string, backend: 'native' | 'wasm' | 'cpu', id: string,
  o: { fused?: boolean; threads?: number; stepsPerRepeat: number; repeats: number; profile?: boolean }): Promise<Result> {
  await selectBackend(backend);
  const addon = loadAddon().addon;
  if (backend === 'native' && addon) addon.setThreads(o.threads ?? defaultThreads);
  const model: BenchModel = MODELS[id](Boolean(o.fused));
  const { x, y } = randomBatch(model.batch);
  try {
    const warmup = Math.max(2, Math.ceil(o.stepsPerRepeat / 2));
    for (let i = 0; i < warmup; ++i) model.step(x, y);
    const times: number[] = [];
    const cpuTimes: number[] = [];
    for (let r = 0; r < o.repeats; ++r) {
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      for (let i = 0; i < o.stepsPerRepeat; ++i) model.step(x, y);
      const c = process.cpuUsage(c0);
      times.push((performance.now() - t0) / o.stepsPerRepeat);
      cpuTimes.push((c.user + c.system) / 1000 / o.stepsPerRepeat);
    }
    if (o.profile) profile(label, model, x, y, o.stepsPerRepeat);
    const xi = tf.randomUniform([isCnn(id) ? 500 : 1000, 784]);
    const infer = () => tf.tidy(() => model.infer(xi).dataSync());
    infer();
    const t0 = performance.now();
    const reps = backend === 'cpu' ? 1 : 5;
    for (let i = 0; i < reps; ++i) infer();
    const ips = (reps * xi.shape[0] * 1000) / (performance.now() - t0);
    xi.dispose();
    return { label, median: median(times), min: Math.min(...times), cpu: median(cpuTimes), ips };
  } catch (err) {
    return { label, note: `cannot train: ${String((err as Error).message).split('\n')[0].slice(0, 80)}` };
  } finally {
    model.dispose();
    tf.dispose([x, y]);
    if (backend === 'native' && addon) addon.setThreads(defaultThreads);
  }
}

function profile(label: string, model: BenchModel, x: tf.Tensor, y: tf.Tensor, steps: number): void {
  kernelProfiler.reset();
  kernelProfiler.enabled = true;
  const t0 = performance.now();
  for (let i = 0; i < steps; ++i) model.step(x, y);
  const total = (performance.now() - t0) / steps;
  kernelProfiler.enabled = false;
  console.log(`\nper-kernel time, ${model.name}, ${label} (${total.toFixed(2)} ms/step while profiling)`);
  console.log('| kernel | ms/step | calls/step | share | impl |\n|---|---|---|---|---|');
  let sum = 0;
  for (const k of kernelProfiler.report()) {
    const ms = k.totalMs / steps;
    sum += ms;
    if (ms / total < 0.005) continue;
    console.log(`| ${k.kernel} | ${ms.toFixed(3)} | ${k.calls / steps} | ${((100 * ms) / total).toFixed(1)}% | ${k.native ? 'native' : 'js'} |`);
  }
  console.log(`| (engine, tape, JS outside kernels) | ${(total - sum).toFixed(3)} | | ${((100 * (total - sum)) / total).toFixed(1)}% | |`);
}

function timeTorch(id: string, threads: number): Result {
  const label = `PyTorch ${threads} thread${threads > 1 ? 's' : ''}`;
  if (!existsSync(PYTHON)) return { label, note: 'skipped: no /usr/bin/python3' };
  const env = torchEnv();
  delete env.OMP_NUM_THREADS;
  // PyTorch inherits the short libgomp spin our addon sets (GOMP_SPINCOUNT=1000, src/backend/addon.ts),
  // on purpose: with libgomp's default spinning its 2-thread step was 2-4x slower here (its OpenMP
  // threads and OpenBLAS's threads fight over the two cores; MLP 17.7 vs 4.3 ms, Deep CNN 120 vs
  // 74 ms, 2026-11-28), and the reference is PyTorch at its best.
  const script = fileURLToPath(new URL('./torch_step.py', import.meta.url));
  const run = spawnSync(PYTHON, [script, '--threads', String(threads), '--models', id, '--repeats', String(repeats),
    '--scale', String(scale)], { env, encoding: 'utf8' });
  if (run.status !== 0) {
    const why = /No module named 'torch'/.test(run.stderr) ? 'PyTorch not installed (apt-get install python3-torch)' : run.stderr.trim().split('\n').pop();
    return { label, note: `skipped: ${why}` };
  }
  const r = JSON.parse(run.stdout).results[id];
  return { label, median: r.median_ms, min: Math.min(...r.train_ms), cpu: r.median_cpu_ms, ips: r.infer_ips };
}

function ensureTorch(): void {
  if (has('no-torch') || !existsSync(PYTHON)) return;
  if (spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0) return;
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!root || !existsSync('/etc/debian_version') || !has('install-torch')) {
    console.log('PyTorch missing, so no reference column: install it with `sudo apt-get install -y python3-torch libopenblas0-pthread`, or let the bench do it as root with --install-torch');
    return;
  }
  console.log('installing PyTorch for the reference column: apt-get install -y python3-torch libopenblas0-pthread');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  let r = spawnSync('apt-get', ['install', '-y', 'python3-torch', 'libopenblas0-pthread'], { env, stdio: 'inherit' });
  if (r.status !== 0) {
    spawnSync('apt-get', ['update'], { env, stdio: 'inherit' });
    r = spawnSync('apt-get', ['install', '-y', 'python3-torch', 'libopenblas0-pthread'], { env, stdio: 'inherit' });
  }
  if (r.status !== 0) console.log('PyTorch install failed; skipping it');
}

const fmt = (v: number | undefined, digits = 2) => (v === undefined ? '—' : v.toFixed(digits));

const native = loadAddon();
const defaultThreads = native.addon?.info().threads ?? 1;
ensureTorch();
console.log(`# train-step bench — ${new Date().toISOString()}, ${repeats} repeats, native: ${native.addon ? JSON.stringify(native.addon.info()) : native.error}`);
for (const id of models) {
  if (!MODELS[id]) throw new Error(`unknown model ${id}; one of ${Object.keys(MODELS).join(', ')}`);
  const cnn = isCnn(id);
  const results: Result[] = [];
  if (native.addon) {
    const steps = Math.max(2, Math.round((cnn ? 5 : 40) * scale));
    const t = `${defaultThreads} thread${defaultThreads > 1 ? 's' : ''}`;
    results.push(await timeTfjs(`native, ${t}`, 'native', id, { stepsPerRepeat: steps, repeats }));
    results.push(await timeTfjs(`native, ${t}, mnist train's fused step`, 'native', id, { fused: true, stepsPerRepeat: steps, repeats, profile: has('profile') }));
    if (defaultThreads > 1) {
      results.push(await timeTfjs("native, 1 thread, mnist train's fused step", 'native', id, { fused: true, threads: 1, stepsPerRepeat: steps, repeats }));
    }
  } else {
    results.push({ label: 'native', note: `unavailable: ${native.error}` });
  }
  results.push(await timeTfjs('wasm', 'wasm', id, { stepsPerRepeat: cnn ? 1 : 10, repeats: cnn ? 1 : 3 }));
  if (!cnn || has('cpu-cnn')) results.push(await timeTfjs('cpu', 'cpu', id, { stepsPerRepeat: cnn ? 1 : 3, repeats: cnn ? 1 : 3 }));
  else results.push({ label: 'cpu', note: 'skipped (minutes per step; --cpu-cnn to run)' });
  if (!has('no-torch')) results.push(timeTorch(id, 1), timeTorch(id, 2));
  const torchBest = Math.min(...results.filter((r) => r.label.startsWith('PyTorch') && r.median).map((r) => r.median!));
  console.log(`\n## ${MODEL_TITLES[id]}`);
  console.log('| backend | ms/step (median) | best block | speed vs PyTorch best | CPU ms/step | inference images/s |\n|---|---|---|---|---|---|');
  for (const r of results) {
    if (r.note) {
      console.log(`| ${r.label} | ${r.note} | | | | |`);
      continue;
    }
    const ratio = Number.isFinite(torchBest) ? `${(torchBest / r.median!).toFixed(2)}×` : '—';
    console.log(`| ${r.label} | ${fmt(r.median)} | ${fmt(r.min)} | ${ratio} | ${fmt(r.cpu)} | ${fmt(r.ips, 0)} |`);
  }
  if (rounds > 1 && native.addon && !has('no-torch')) await alternatingRounds(id);
}

/**
 * `rounds` more rounds of: `mnist train`'s step on native (default threads and 1 thread), then
 * PyTorch (1 and 2 threads); each round's ratio is PyTorch's best ÷ ours best in that round.
 */
async function alternatingRounds(id: string): Promise<void> {
  const steps = Math.max(2, Math.round((isCnn(id) ? 5 : 40) * scale));
  const ratios: number[] = [];
  console.log(`\n${rounds} alternating rounds, ${MODEL_TITLES[id]}:`);
  console.log('| round | native best (ms) | PyTorch best (ms) | ratio |\n|---|---|---|---|');
  for (let round = 1; round <= rounds; round++) {
    const ours = [
      await timeTfjs('native', 'native', id, { fused: true, stepsPerRepeat: steps, repeats }),
      ...(defaultThreads > 1 ? [await timeTfjs('native 1', 'native', id, { fused: true, threads: 1, stepsPerRepeat: steps, repeats })] : []),
    ].filter((r) => r.median).map((r) => r.median!);
    const theirs = [timeTorch(id, 1), timeTorch(id, 2)].filter((r) => r.median).map((r) => r.median!);
    if (ours.length === 0 || theirs.length === 0) return;
    const [a, b] = [Math.min(...ours), Math.min(...theirs)];
    ratios.push(b / a);
    console.log(`| ${round} | ${fmt(a)} | ${fmt(b)} | ${(b / a).toFixed(2)}× |`);
  }
  console.log(`median ratio over ${ratios.length} rounds: ${median(ratios).toFixed(2)}× (range ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}×)`);
}
