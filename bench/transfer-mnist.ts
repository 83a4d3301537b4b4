/**
 * The MNIST transfer-learning demonstration (docs/transfer.md): a CNN trained on digits 0–4 only,
 * frozen; a new softmax layer on its bottleneck learns digits 5–9 from PER_CLASS images each
 * (through `mnist transfer`'s code path: PNG folders, cached bottlenecks); the same CNN trained
 * from scratch on the same images for comparison; both scored on every 5–9 digit of the test set.
 *
 *   node --import tsx bench/transfer-mnist.ts [--model lenet5] [--bottleneck Reshape_1:0]
 *     [--base-steps 2000] [--per-class 50] [--transfer-steps 4000] [--scratch-steps 500] [--dir .tmp-transfer]
 *     [--draws K]
 *
 * With --draws K the base network is trained once and the comparison is repeated on K small sets
 * drawn at random (seeds 1…K); a line per draw, then the means and how often transfer won.
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { selectBackend } from '../src/backend/select.js';
import { loadMnist } from '../src/data/mnist.js';
import { digitsSubset, trainAndFreeze, trainFromScratch, transferAccuracy, writeDigitFolders } from '../src/transfer/mnist-demo.js';
import { runTransfer, TRANSFER_DEFAULTS } from '../src/transfer/transfer.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'lenet5' },
    bottleneck: { type: 'string', default: 'Reshape_1:0' },
    'base-steps': { type: 'string', default: '2000' },
    'per-class': { type: 'string', default: '50' },
    'transfer-steps': { type: 'string', default: '4000' },
    'scratch-steps': { type: 'string', default: '500' },
    seed: { type: 'string', default: '1' },
    dir: { type: 'string', default: '.tmp-transfer' },
    draws: { type: 'string' },
  },
});
process.env.MNIST_NATIVE_THREADS ??= '1';
const backend = (await selectBackend('auto')).name;
const dir = values.dir!;
const seed = Number(values.seed);
rmSync(dir, { recursive: true, force: true });
const mnist = loadMnist();
const low = digitsSubset(mnist.train, [0, 1, 2, 3, 4]);
const test59 = digitsSubset(mnist.test, [5, 6, 7, 8, 9]);
const pb = path.join(dir, 'digits04.pb');

let t = performance.now();
await trainAndFreeze(values.model!, low, path.join(dir, 'digits04'), pb, Number(values['base-steps']), seed);
const base = (performance.now() - t) / 1000;
const perClass = Number(values['per-class']);
const draws = values.draws === undefined ? [undefined] : Array.from({ length: Number(values.draws) }, (_, i) => i + 1);
const rows: { transfer: number; scratch: number }[] = [];
for (const draw of draws) {
  const few = digitsSubset(mnist.train, [5, 6, 7, 8, 9], perClass, draw);
  const tag = draw === undefined ? '' : `-draw${draw}`;
  await writeDigitFolders(few, path.join(dir, `digits59${tag}`));
  t = performance.now();
  const result = await runTransfer({
    ...TRANSFER_DEFAULTS,
    graph: pb,
    input: 'x-input',
    bottleneck: values.bottleneck!,
    images: path.join(dir, `digits59${tag}`),
    modelDir: path.join(dir, `transfer59${tag}`),
    steps: Number(values['transfer-steps']),
    validationPercent: 0,
    testingPercent: 0,
    seed: draw ?? seed,
  });
  const transferSeconds = (performance.now() - t) / 1000;
  const transfer = await transferAccuracy(path.join(dir, `transfer59${tag}`), test59);
  t = performance.now();
  const scratch = await trainFromScratch(values.model!, few, test59, Number(values['scratch-steps']), 50, draw ?? seed);
  const scratchSeconds = (performance.now() - t) / 1000;
  rows.push({ transfer, scratch });
  console.log(
    JSON.stringify({ backend, model: values.model, bottleneck: values.bottleneck, baseSteps: Number(values['base-steps']), perClass, draw: draw ?? 'first', trainImages: few.count, testImages: test59.count, baseSeconds: +base.toFixed(1), bottleneckSize: result.bottleneckSize, transferAccuracy: transfer, transferSeconds: +transferSeconds.toFixed(1), scratchAccuracy: scratch, scratchSeconds: +scratchSeconds.toFixed(1) }),
  );
}
if (rows.length > 1) {
  const stats = (xs: number[]) => {
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1));
    return { mean: +mean.toFixed(4), sd: +sd.toFixed(4), min: Math.min(...xs), max: Math.max(...xs) };
  };
  const gaps = rows.map((r) => r.transfer - r.scratch);
  console.log(JSON.stringify({ summary: true, perClass, draws: rows.length, transfer: stats(rows.map((r) => r.transfer)), scratch: stats(rows.map((r) => r.scratch)), gap: stats(gaps), transferWins: gaps.filter((g) => g > 0).length }));
}
