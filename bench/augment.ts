// Cost of training-time augmentation per batch: node --import tsx bench/augment.ts [batch] [repeats]
import { AUGMENT_KINDS, AUGMENT_PRESETS, Augmenter } from '../src/data/augment.js';
import { BatchIterator } from '../src/data/batches.js';
import { loadMnist } from '../src/data/mnist.js';

const batchSize = Number(process.argv[2] ?? 100);
const repeats = Number(process.argv[3] ?? 200);
const batch = new BatchIterator(loadMnist({ limit: batchSize }).train, batchSize, 1).next();
const out = new Float32Array(batch.images.length);
for (const kind of AUGMENT_KINDS) {
  const c0 = process.cpuUsage();
  const augmenter = new Augmenter(AUGMENT_PRESETS[kind], 1);
  const setup = process.cpuUsage(c0);
  for (let i = 0; i < 10; i++) augmenter.apply(batch.images, batchSize, out);
  const c1 = process.cpuUsage();
  const t1 = performance.now();
  for (let i = 0; i < repeats; i++) augmenter.apply(batch.images, batchSize, out);
  const wall = (performance.now() - t1) / repeats;
  const cpu = process.cpuUsage(c1);
  console.log(
    `${kind.padEnd(8)} ${((cpu.user + cpu.system) / 1e3 / repeats).toFixed(2)} ms CPU (${wall.toFixed(2)} ms wall) per batch of ${batchSize}; ` +
      `set-up ${((setup.user + setup.system) / 1e3).toFixed(0)} ms CPU once`,
  );
}
