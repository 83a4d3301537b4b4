/**
 * `train()` as `mnist train` runs it (MLP by default, book recipe, native backend, silent
 * reporter, one checkpoint at the end), timed per step: wall and process CPU. With checkouts
 * named, each is timed in its own process, alternating, so two commits compare side by side:
 *   node --import tsx bench/train-run.ts [steps] [model] [rounds] [checkout …]
 *   e.g. node --import tsx bench/train-run.ts 3000 mlp 5 /work/main .
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const steps = Number(process.argv[2] ?? 3000);
const model = process.argv[3] ?? 'mlp';
const rounds = Number(process.argv[4] ?? 3);
const checkouts = process.argv.slice(5);

if (process.env.TRAIN_RUN_CHILD) {
  // One run of the checkout the parent names (its sources; this file may be newer than they are).
  const root = process.env.TRAIN_RUN_CHILD;
  const { selectBackend } = await import(path.join(root, 'src/backend/select.ts'));
  const { loadMnist } = await import(path.join(root, 'src/data/mnist.ts'));
  const { BOOK_DEFAULTS } = await import(path.join(root, 'src/train/config.ts'));
  const { getModelDefinition } = await import(path.join(root, 'src/models/registry.ts'));
  const { train } = await import(path.join(root, 'src/train/train.ts'));
  await selectBackend('native');
  const data = loadMnist().train;
  const dir = mkdtempSync(path.join(tmpdir(), 'train-run-'));
  const silent = { start() {}, step() {}, log() {}, stop() {} };
  const config = { ...BOOK_DEFAULTS, ...getModelDefinition(model).defaults };
  // CPU measured here, not read from the result: older checkouts' train() does not report it.
  const cpuStart = process.cpuUsage();
  const r = await train({ ...config, model, modelDir: dir, steps, checkpointEvery: steps, logEvery: steps + 1, fresh: true }, data, silent);
  const cpu = process.cpuUsage(cpuStart);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  rmSync(dir, { recursive: true, force: true });
  console.log(JSON.stringify({ msPerStep: (r.seconds * 1000) / steps, cpuMsPerStep: (cpuSeconds * 1000) / steps, loss: r.lastLoss }));
} else {
  const roots = (checkouts.length ? checkouts : ['.']).map((c) => path.resolve(c));
  const runs = new Map<string, Array<{ msPerStep: number; cpuMsPerStep: number; loss: number }>>(roots.map((r) => [r, []]));
  for (let round = 0; round < rounds; round++) {
    for (const root of roots) {
      const out = execFileSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), String(steps), model], {
        cwd: root,
        env: { ...process.env, TRAIN_RUN_CHILD: root },
        encoding: 'utf8',
      });
      runs.get(root)!.push(JSON.parse(out.trim().split('\n').pop()!));
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  console.log(`${model}, ${steps} steps, ${rounds} alternating rounds (median; ms per step):`);
  const base = roots[0];
  for (const root of roots) {
    const r = runs.get(root)!;
    const [wall, cpu] = [median(r.map((x) => x.msPerStep)), median(r.map((x) => x.cpuMsPerStep))];
    const ratio = root === base ? '' : `  (wall ${(wall / median(runs.get(base)!.map((x) => x.msPerStep))).toFixed(3)}×, CPU ${(cpu / median(runs.get(base)!.map((x) => x.cpuMsPerStep))).toFixed(3)}× the first)`;
    console.log(`  ${root}: wall ${wall.toFixed(3)}, CPU ${cpu.toFixed(3)}; last loss ${r[0].loss}${ratio}`);
  }
}
