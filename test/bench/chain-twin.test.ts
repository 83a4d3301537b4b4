/**
 * The time-to-accuracy bench's PyTorch twin (bench/chain-twin.ts → bench/chain_torch.py): for a
 * registry model that is a layer chain, the same layers and the recipe `mnist train` resolves.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { chainTwin } from '../../bench/chain-twin.js';
import { torchEnv } from '../../bench/torch-env.js';
import { UserError } from '../../src/errors.js';
import { layerChain } from '../../src/models/layer-chain.js';
import { Model } from '../../src/models/model.js';
import { getModelDefinition } from '../../src/models/registry.js';

/** The value after `flag` in the twin's arguments (undefined when absent). */
const arg = (args: string[], flag: string) => (args.includes(flag) ? args[args.indexOf(flag) + 1] : undefined);

const chainOf = (name: string) => {
  const model = Model.build(getModelDefinition(name));
  const layers = layerChain(model)?.layers;
  model.dispose();
  return layers;
};

test('fast-cnn: its chain with He initialisers, one-cycle Adam β = (0.7, 0.9), batch 64, 1,075 steps', () => {
  const twin = chainTwin('fast-cnn');
  assert.deepEqual(twin.layers.map(({ init: _init, l2: _l2, ...layer }) => layer), chainOf('fast-cnn'));
  assert.deepEqual(JSON.parse(arg(twin.args, '--layers')!), twin.layers);
  assert.deepEqual(twin.layers[0].init, { weight: { kind: 'truncated_normal', stddev: Math.sqrt(2 / 25), mean: 0 }, bias: { kind: 'constant', value: 0 } });
  assert.deepEqual(twin.layers.map((l) => l.l2), [false, false, true, true], 'the registry regularises the fc weights only');
  assert.deepEqual(twin.args.slice(2), [
    '--steps', '1075', '--batch', '64', '--optimizer', 'adam', '--lr', '0.01', '--beta1', '0.7', '--beta2', '0.9',
    '--schedule', 'one-cycle', '--warmup', '0.2', '--l2', '0', '--ema', '0', '--label-smoothing', '0',
  ]);
});

test('vgg-bn: batch-normalised conv layers, each weight initialiser read past γ and β; its affine augmentation', () => {
  const twin = chainTwin('vgg-bn');
  assert.deepEqual(twin.layers.map(({ init: _init, l2: _l2, ...layer }) => layer), chainOf('vgg-bn'));
  assert.deepEqual(twin.layers.map((l) => (l.init.weight.kind === 'truncated_normal' ? l.init.weight.stddev : NaN)),
    [Math.sqrt(2 / 9), Math.sqrt(2 / 288), Math.sqrt(2 / 288), Math.sqrt(2 / 576), Math.sqrt(2 / 3136), 0.1]);
  assert.deepEqual(twin.layers[0].kind === 'conv' && twin.layers[0].batchNorm, { epsilon: 1e-3, momentum: 0.99 });
  assert.equal(arg(twin.args, '--augment'), 'affine');
});

test("deep-cnn and book-cnn: the tutorial's and the book's recipes (exponential decay, staircase or smooth, L2, EMA, dropout)", () => {
  const deep = chainTwin('deep-cnn');
  assert.deepEqual(deep.args.slice(2), [
    '--steps', '20000', '--batch', '50', '--optimizer', 'adam', '--lr', '0.0001', '--beta1', '0.9', '--beta2', '0.999',
    '--schedule', 'exponential', '--decay-rate', '1', '--staircase', '1', '--l2', '0', '--ema', '0.999', '--label-smoothing', '0',
  ]);
  assert.deepEqual(deep.layers.map((l) => (l.kind === 'dense' ? l.keep : 'conv')), ['conv', 'conv', 0.5, 1]);
  assert.deepEqual(deep.layers[2].init.bias, { kind: 'constant', value: 0.1 });
  const book = chainTwin('book-cnn');
  assert.deepEqual(book.args.slice(2), [
    '--steps', '30000', '--batch', '100', '--optimizer', 'sgd', '--lr', '0.01',
    '--schedule', 'exponential', '--decay-rate', '0.99', '--staircase', '0', '--l2', '0.0001', '--ema', '0.99', '--label-smoothing', '0',
  ]);
  assert.deepEqual(book.layers.map((l) => l.l2), [false, false, true, true]);
  assert.deepEqual(chainTwin('mlp').layers.map((l) => `${l.kind} ${l.in}→${l.out}`), ['dense 784→500', 'dense 500→10']);
});

test('the mnist train flags after -- reach the twin; the model\'s augmentation unless --no-augment', () => {
  const twin = chainTwin('vgg-cnn', ['--steps', '40', '--batch-size=32', '--learning-rate', '0.002', '--augment', '--decay-steps', '7', '--ema', '0', '--validate-every', '5']);
  assert.equal(arg(twin.args, '--steps'), '40');
  assert.equal(arg(twin.args, '--batch'), '32');
  assert.equal(arg(twin.args, '--lr'), '0.002');
  assert.equal(arg(twin.args, '--augment'), 'affine', 'a bare --augment is the affine preset, as for mnist train');
  assert.equal(arg(twin.args, '--decay-steps'), '7');
  assert.equal(arg(twin.args, '--ema'), '0');
  assert.equal(arg(chainTwin('fast-cnn', ['--augment', 'light', '--optimizer', 'momentum', '--momentum', '0.5']).args, '--augment'), 'light');
  assert.equal(arg(chainTwin('fast-cnn', ['--optimizer', 'momentum', '--momentum', '0.5']).args, '--momentum'), '0.5');
  assert.equal(arg(chainTwin('fast-cnn-995').args, '--augment'), 'light');
  assert.equal(arg(chainTwin('fast-cnn-995', ['--no-augment']).args, '--augment'), undefined);
  assert.equal(arg(chainTwin('fast-cnn-995').args, '--label-smoothing'), '0.1', "the model's label smoothing");
  assert.equal(arg(chainTwin('fast-cnn', ['--label-smoothing', '0.2']).args, '--label-smoothing'), '0.2');
  assert.equal(arg(chainTwin('vgg-cnn', ['--validation-size', '0']).args, '--validation-size'), '0', 'the same training images');
  assert.equal(chainTwin('vgg-cnn').args.includes('--validation-size'), false, "the twin's default is mnist train's 5,000");
  assert.equal(arg(chainTwin('fast-cnn', ['--schedule', 'exponential', '--decay-rate', '0.5']).args, '--decay-rate'), '0.5');
});

test('a model that is no layer chain, or a recipe the twin cannot follow, is a one-line error', () => {
  assert.throws(() => chainTwin('lenet5'), (e: unknown) => e instanceof UserError && /lenet5 is not a layer chain/.test(e.message));
  assert.throws(() => chainTwin('inception-mini'), UserError);
  assert.throws(() => chainTwin('vgg-cnn', ['--augment', 'elastic']), /no elastic augmentation/);
  // The flags are read by mnist train's own option definitions: what the CLI refuses, the twin refuses.
  assert.throws(() => chainTwin('fast-cnn', ['--steps']), (e: unknown) => e instanceof UserError && /option '--steps <n>' argument missing/.test(e.message));
  assert.throws(() => chainTwin('fast-cnn', ['--label-smoothing', '1']), /expected a number in \[0, 1\), got "1"/);
  assert.throws(() => chainTwin('fast-cnn', ['--no-such-flag']), /unknown option '--no-such-flag'/);
  assert.throws(() => chainTwin('fast-cnn', ['--optimizer', 'adagrad']), /argument 'adagrad' is invalid/);
});

const python = '/usr/bin/python3';
const hasTorch = spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;

/** Runs bench/chain_torch.py; its one JSON line, or its exit status and last stderr line. */
function runTwin(args: string[]): { status: number | null; result?: { seed: number; timed_steps: number; test: number; validation: number | null }; error: string } {
  const script = fileURLToPath(new URL('../../bench/chain_torch.py', import.meta.url));
  // The bench's PyTorch environment (tuned glibc malloc: without it every large tensor is an mmap/munmap pair).
  const r = spawnSync(python, [script, ...args], { encoding: 'utf8', env: torchEnv() });
  return { status: r.status, result: r.status === 0 ? JSON.parse(r.stdout.trim()) : undefined, error: r.stderr.trim().split('\n').at(-1) ?? '' };
}

// Small networks: the twin measures validation and test accuracy on 15,000 images after training.
test('bench/chain_torch.py trains what the bench passes it (pooling, L2, EMA, augmentation, label smoothing)', { skip: !hasTorch && `no PyTorch at ${python}` }, () => {
  const twin = chainTwin('fast-cnn', ['--steps', '2', '--batch-size', '8', '--ema', '0.9', '--l2', '1e-4', '--augment', 'light', '--label-smoothing', '0.1']);
  const { status, result, error } = runTwin([...twin.args, '--seed', '3']);
  assert.equal(status, 0, error);
  const all = runTwin([...chainTwin('fast-cnn', ['--steps', '1', '--batch-size', '8', '--validation-size', '0']).args]);
  assert.equal(all.status, 0, all.error);
  assert.equal(all.result?.validation, null, 'no validation images held out');
  assert.equal(result?.seed, 3);
  assert.equal(result?.timed_steps, 2);
  assert.ok(result.test > 0 && result.test <= 1);
});

test('bench/chain_torch.py: SAME convolutions, batch normalisation and dropout (conv and dense); a broken chain is a one-line error', { skip: !hasTorch && `no PyTorch at ${python}` }, () => {
  const layers = [
    { kind: 'conv', k: 3, h: 28, in: 1, out: 4, same: true, relu: true, pool: true, keep: 0.75 },
    { kind: 'conv', k: 2, h: 14, in: 4, out: 4, same: true, relu: true, pool: false, batchNorm: { epsilon: 1e-3, momentum: 0.99 } },
    { kind: 'dense', in: 784, out: 16, relu: true, keep: 0.5 },
    { kind: 'dense', in: 16, out: 10, relu: false, keep: 1 },
  ];
  const ok = runTwin(['--layers', JSON.stringify(layers), '--steps', '3', '--time-steps', '2', '--batch', '8']);
  assert.equal(ok.status, 0, ok.error);
  assert.equal(ok.result?.timed_steps, 2);
  const bad = runTwin(['--layers', JSON.stringify(layers.slice(0, -1))]);
  assert.notEqual(bad.status, 0);
  assert.match(bad.error, /--layers: the last layer must be dense without ReLU or dropout/);
  const badKeep = runTwin(['--layers', JSON.stringify([{ ...layers[0], keep: 0 }, ...layers.slice(1)])]);
  assert.notEqual(badKeep.status, 0);
  assert.match(badKeep.error, /--layers: layer 0: dropout keep probability must be in \(0, 1\], got 0/);
  const badNorm = runTwin(['--layers', JSON.stringify([layers[0], { ...layers[1], batchNorm: { epsilon: 0, momentum: 0.99 } }, ...layers.slice(2)])]);
  assert.notEqual(badNorm.status, 0);
  assert.match(badNorm.error, /--layers: layer 1: batchNorm must be/);
});
