import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AUGMENT_PRESETS, type AugmentKind } from '../../src/data/augment.js';
import { loadMnist, sliceSplit } from '../../src/data/mnist.js';
import { mnistTFRecordBatches, writeMnistTFRecords } from '../../src/pipeline/mnist-tfrecord.js';
import { listModels } from '../../src/models/registry.js';
import { BOOK_DEFAULTS } from '../../src/train/config.js';
import { train, type TrainOptions, type TrainReporter } from '../../src/train/train.js';
import { fastestBackend } from '../models/backend-for-tests.js';
import { assertSameCheckpoint } from '../helpers/checkpoints.js';

// One thread: the same arithmetic order in every run (and the test machine is shared).
await fastestBackend();
const work = mkdtempSync(path.join(tmpdir(), 'mnist-resume-'));
// 40 images in batches of 8: every run below crosses several epoch boundaries (reshuffles).
const data = loadMnist({ limit: 40 }).train;
const silent: TrainReporter = { start() {}, step() {}, log() {}, stop() {} };

interface Case {
  model: string;
  augment?: AugmentKind;
  optimizer?: TrainOptions['optimizer'];
}

/**
 * Trains `steps` straight in one directory, and stopped after `stopAt` then resumed (a new
 * `train` call, as a new process would) in another; the two final checkpoints must be byte-identical.
 */
async function assertResumeIsExact({ model, augment, optimizer }: Case, steps: number, stopAt: number): Promise<void> {
  const definition = listModels().find((m) => m.name === model)!;
  const name = `${model}${augment ? `-${augment}` : ''}${optimizer ? `-${optimizer}` : ''}`;
  const options = (dir: string): TrainOptions => ({
    ...BOOK_DEFAULTS,
    ...definition.defaults,
    ...(optimizer ? { optimizer } : {}),
    // A decay every 2 steps (staircase or not), so the learning rate at the resume step matters too.
    decaySteps: 2,
    decayRate: 0.9,
    batchSize: 8,
    steps,
    seed: 7,
    model,
    modelDir: path.join(work, `${name}-${dir}`),
    augment: augment ? AUGMENT_PRESETS[augment] : undefined,
    augmentKind: augment,
  });
  const straight = await train(options('straight'), data, silent);
  let stepsSeen = 0;
  const first = await train({ ...options('resumed'), shouldStop: () => stepsSeen++ >= stopAt }, data, silent);
  assert.equal(first.globalStep, stopAt);
  const resumed = await train(options('resumed'), data, silent);
  assert.equal(resumed.stepsRun, steps - stopAt);
  for (const r of [straight, first, resumed]) {
    r.model.dispose();
    r.ema?.dispose();
  }
  assertSameCheckpoint(resumed.checkpoint, straight.checkpoint);
}

for (const { name, defaults } of listModels()) {
  test(`${name} (${defaults.optimizer}${defaults.ema ? ', EMA' : ''}): 6 steps straight = 3 + 3 resumed, byte for byte`, async () => {
    await assertResumeIsExact({ model: name }, 6, 3);
  });
}

test('the MLP with momentum: 5 steps straight = 2 + 3 resumed (the Momentum slots)', async () => {
  await assertResumeIsExact({ model: 'mlp', optimizer: 'momentum' }, 5, 2);
});

test("the MLP with Adagrad (the sine example's optimizer, from the one optimizer set): 5 steps straight = 2 + 3 resumed (the Adagrad slots)", async () => {
  await assertResumeIsExact({ model: 'mlp', optimizer: 'adagrad' }, 5, 2);
});

for (const augment of ['affine', 'elastic'] as const) {
  test(`the MLP with --augment ${augment}: 6 steps straight = 4 + 2 resumed`, async () => {
    await assertResumeIsExact({ model: 'mlp', augment }, 6, 4);
  });
}

test('the MLP from TFRecord shards (seeded shuffle buffer): 6 steps straight = 2 + 4 resumed', async () => {
  const shards = await writeMnistTFRecords(sliceSplit(data, 0, 40), path.join(work, 'records'), { shards: 2 });
  const source = async () => {
    const stream = await mnistTFRecordBatches(shards, { batchSize: 8, seed: 7, shuffleBuffer: 16 });
    return () => stream.next()!;
  };
  const options = async (dir: string): Promise<TrainOptions> => ({
    ...BOOK_DEFAULTS, batchSize: 8, steps: 6, seed: 7, model: 'mlp', modelDir: path.join(work, `records-${dir}`), batches: await source(),
  });
  const straight = await train(await options('straight'), undefined, silent);
  let stepsSeen = 0;
  const first = await train({ ...(await options('resumed')), shouldStop: () => stepsSeen++ >= 2 }, undefined, silent);
  const resumed = await train(await options('resumed'), undefined, silent);
  for (const r of [straight, first, resumed]) r.model.dispose();
  assertSameCheckpoint(resumed.checkpoint, straight.checkpoint);
});

test('book-cnn (dropout) with --augment affine: 6 steps straight = 1 + 5 resumed', async () => {
  await assertResumeIsExact({ model: 'book-cnn', augment: 'affine' }, 6, 1);
});
