import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BOOK_DEFAULTS, learningRateAt } from '../../src/train/config.js';
import { recipeOf } from '../../src/train/model-dir.js';

test("the default schedule is the book's exponential decay", () => {
  assert.equal(learningRateAt(BOOK_DEFAULTS, 0, 550), 0.8);
  assert.equal(learningRateAt(BOOK_DEFAULTS, 1099, 550), 0.8 * 0.99);
  assert.equal(learningRateAt({ ...BOOK_DEFAULTS, schedule: 'exponential' }, 1100, 550), 0.8 * 0.99 * 0.99);
});

test('one-cycle: linear warm-up from lr/25 to lr over the warm-up share of the steps, then linear to 0 at the last step', () => {
  const c = { ...BOOK_DEFAULTS, learningRate: 0.01, schedule: 'one-cycle' as const, warmup: 0.25, steps: 100 };
  const at = (step: number) => learningRateAt(c, step, 550);
  assert.ok(Math.abs(at(0) - 0.0004) < 1e-12);
  assert.ok(Math.abs(at(12.5) - (0.0004 + 0.0096 / 2)) < 1e-12);
  assert.equal(at(25), 0.01);
  assert.ok(Math.abs(at(50) - (0.01 * 50) / 75) < 1e-12);
  assert.ok(at(99) > 0 && at(99) < 0.01 / 50);
  assert.equal(at(100), 0);
  assert.equal(at(150), 0, 'never negative past the end');
  const defaultWarmup = { ...c, warmup: undefined };
  assert.equal(learningRateAt(defaultWarmup, 20, 550), 0.01, 'default warm-up 20 %');
});

test("a run's schedule and Adam betas are recorded in its recipe (a resumed run keeps them)", () => {
  const recipe = recipeOf({ ...BOOK_DEFAULTS, schedule: 'one-cycle', warmup: 0.3, beta1: 0.7, beta2: 0.9 }, undefined);
  assert.deepEqual([recipe.schedule, recipe.warmup, recipe.beta1, recipe.beta2], ['one-cycle', 0.3, 0.7, 0.9]);
});
