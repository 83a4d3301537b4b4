// Batch fetch time of the trainers' feeds (µs per batch), optionally side by side with another
// checkout's in one process, alternating in rounds:
//   node --import tsx bench/batch-fetch.ts [--against DIR] [--rounds 400] [--calls 50]
// DIR: e.g. `git worktree add /tmp/base <rev>` (with node_modules linked in). Feeds: the IDX
// BatchIterator (batch 100, the MLP's), the sine ShuffledBatches (batch 32), the TFRecord feed of
// `mnist train --tfrecords` (batch 100, 55,000 records in 2 shards). The ratio is the median of the
// per-round ratios, so load changes on a shared machine hit both sides of a round alike.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadMnist, type MnistSplit } from '../src/data/mnist.js';
import { bookSineData, type WindowedData } from '../src/rnn/sine-data.js';
import { writeMnistTFRecords } from '../src/pipeline/mnist-tfrecord.js';

const argv = process.argv.slice(2);
const opt = (name: string, fallback?: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : fallback;
};
const against = opt('against');
const rounds = Number(opt('rounds', '400'));
const calls = Number(opt('calls', '50'));

type Feed = () => unknown;
interface Tree {
  batches: { BatchIterator: new (split: MnistSplit, batchSize: number, seed: number) => { next(): unknown } };
  sine: { ShuffledBatches: new (data: WindowedData, batchSize: number, buffer: number, seed: number) => { next(): unknown } };
  tfrecord: Record<string, (files: string[], opts: { batchSize: number; seed: number }) => unknown>;
}
const load = async (root: string): Promise<Tree> => {
  const get = (file: string) => import(pathToFileURL(path.join(root, file)).href);
  return { batches: await get('src/data/batches.ts'), sine: await get('src/rnn/sine-data.ts'), tfrecord: await get('src/pipeline/mnist-tfrecord.ts') };
};

/** The TFRecord feed of either API: the sync source of before the shared pipeline, or the BatchStream. */
async function tfrecordFeed(tree: Tree, files: string[]): Promise<Feed> {
  const opts = { batchSize: 100, seed: 1 };
  if (tree.tfrecord.mnistTFRecordBatches) {
    const stream = (await tree.tfrecord.mnistTFRecordBatches(files, opts)) as { next(): unknown };
    return () => stream.next();
  }
  const next = tree.tfrecord.mnistBatchSourceSync(files, opts) as Feed;
  next(); // it reads the records on the first call
  return next;
}

const { train } = loadMnist();
const sine = bookSineData();
const dir = mkdtempSync(path.join(tmpdir(), 'bench-fetch-'));
try {
  const files = await writeMnistTFRecords(train, dir, { shards: 2 });
  const trees: Array<[string, Tree]> = [['this', await load(path.join(import.meta.dirname, '..'))]];
  if (against) trees.push([against, await load(path.resolve(against))]);
  const feeds = async (tree: Tree): Promise<Record<string, Feed>> => {
    const idx = new tree.batches.BatchIterator(train, 100, 1);
    const lstm = new tree.sine.ShuffledBatches(sine.train, 32, 1000, 1);
    return { 'IDX batch 100': () => idx.next(), 'sine batch 32': () => lstm.next(), 'TFRecord batch 100': await tfrecordFeed(tree, files) };
  };
  const sides = await Promise.all(trees.map(([, tree]) => feeds(tree)));
  const time = (feed: Feed) => {
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) feed();
    return ((performance.now() - t0) * 1000) / calls;
  };
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  for (const name of Object.keys(sides[0])) {
    const samples = sides.map(() => [] as number[]);
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 ? [...sides.keys()].reverse() : [...sides.keys()];
      for (const s of order) samples[s].push(time(sides[s][name]));
    }
    const cols = trees.map(([label], s) => `${label}: ${median(samples[s]).toFixed(1)} µs`).join('   ');
    const ratio = sides.length > 1 ? `   this/other ${median(samples[0].map((v, r) => v / samples[1][r])).toFixed(3)}` : '';
    console.log(`${name.padEnd(20)} ${cols}${ratio}`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
