import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runSteps, type StepLoopOptions } from '../../src/train/loop.js';

/** A loop whose hooks record what happened, in order. */
function recorded(opts: Partial<StepLoopOptions> & Pick<StepLoopOptions, 'fromStep' | 'toStep'>) {
  const events: string[] = [];
  const options: StepLoopOptions = {
    step: (step, logging) => {
      events.push(`step ${step}${logging ? ' logging' : ''}`);
      return step / 10;
    },
    afterStep: (step) => void events.push(`after ${step}`),
    save: async (step) => {
      events.push(`save ${step}`);
      return `model.ckpt-${step}`;
    },
    ...opts,
  };
  return { events, run: () => runSteps(options) };
}

test('loop: steps from fromStep to toStep, each given the global step before it; checkpoints every N and once at the end', async () => {
  const { events, run } = recorded({ fromStep: 3, toStep: 8, checkpointEvery: 2 });
  const result = await run();
  assert.deepEqual(events, [
    'step 3', 'after 4', 'save 4', 'step 4', 'after 5', 'step 5', 'after 6', 'save 6', 'step 6', 'after 7', 'step 7', 'after 8', 'save 8',
  ]);
  assert.deepEqual([result.step, result.stepsRun, result.lastLoss, result.checkpoint], [8, 5, 0.7, 'model.ckpt-8']);
});

test('loop: the last step on a checkpoint boundary is saved once; a run with nothing to do saves nothing', async () => {
  const { events, run } = recorded({ fromStep: 0, toStep: 4, checkpointEvery: 2 });
  await run();
  assert.deepEqual(events.filter((e) => e.startsWith('save')), ['save 2', 'save 4']);
  const done = recorded({ fromStep: 5, toStep: 5, checkpointEvery: 2 });
  const result = await done.run();
  assert.deepEqual(done.events, []);
  assert.deepEqual([result.step, result.stepsRun, result.checkpoint], [5, 0, undefined]);
  assert.ok(Number.isNaN(result.lastLoss));
});

test('loop: shouldStop is asked once before every step; a stop ends with a checkpoint of the step reached', async () => {
  let calls = 0;
  const { events, run } = recorded({ fromStep: 0, toStep: 100, checkpointEvery: 0, shouldStop: () => calls++ >= 3 });
  const result = await run();
  assert.equal(calls, 4);
  assert.deepEqual(events, ['step 0', 'after 1', 'step 1', 'after 2', 'step 2', 'after 3', 'save 3']);
  assert.equal(result.checkpoint, 'model.ckpt-3');
  // Stopped before the first step: nothing trained, nothing saved.
  const none = recorded({ fromStep: 7, toStep: 100, shouldStop: () => true });
  assert.equal((await none.run()).checkpoint, undefined);
  assert.deepEqual(none.events, []);
});

test("loop: log lines every N steps, at the end of each block (mnist_train.py) or its start (the sine example's step:0)", async () => {
  for (const [logAt, expected] of [['end', [3, 6]], ['start', [1, 4, 7]]] as const) {
    const logged: number[] = [];
    const { events, run } = recorded({ fromStep: 0, toStep: 7, logEvery: 3, logAt, log: (step) => void logged.push(step) });
    await run();
    assert.deepEqual(logged, expected, logAt);
    // The step is told when its loss will be logged (a trainer may read it back only then).
    assert.deepEqual(events.filter((e) => e.endsWith('logging')).map((e) => Number(e.split(' ')[1]) + 1), expected);
  }
});

test('loop: a step without a loss is not logged; the loss may come from a promise', async () => {
  const logged: number[] = [];
  const result = await runSteps({
    fromStep: 0, toStep: 4, logEvery: 1, log: (step) => void logged.push(step),
    step: async (step) => (step % 2 === 0 ? step : undefined),
  });
  assert.deepEqual(logged, [1, 3]);
  assert.equal(result.lastLoss, 2);
});

test('loop: evaluations every N steps after that step’s checkpoint and after the last step, their time counted apart', async () => {
  const events: string[] = [];
  const busy = (ms: number) => {
    const end = performance.now() + ms;
    while (performance.now() < end);
  };
  const result = await runSteps({
    fromStep: 0, toStep: 5, step: () => 1,
    checkpointEvery: 2, save: async (step) => (events.push(`save ${step}`), `ckpt-${step}`),
    evaluateEvery: 2,
    evaluate: (step, clock) => {
      events.push(`evaluate ${step}`);
      assert.ok(clock.elapsedMs >= clock.evaluatingMs);
      busy(20);
    },
  });
  assert.deepEqual(events, ['save 2', 'evaluate 2', 'save 4', 'evaluate 4', 'save 5', 'evaluate 5']);
  assert.ok(result.evaluatingMs >= 60, `${result.evaluatingMs}`);
  assert.ok(result.trainMs < result.elapsedMs - 59);
  // Stopped right after an evaluated step: no second evaluation of it.
  const again: number[] = [];
  let calls = 0;
  await runSteps({ fromStep: 0, toStep: 9, step: () => 1, shouldStop: () => calls++ >= 4, evaluateEvery: 2, evaluate: (step) => void again.push(step) });
  assert.deepEqual(again, [2, 4]);
});

test('loop: samples at most every sampleEveryMs and always after the last step, with steps per second', async () => {
  const samples: Array<[number, number]> = [];
  await runSteps({ fromStep: 0, toStep: 50, step: () => 1, sampleEveryMs: 60_000, sample: (step, _loss, rate) => void samples.push([step, rate]) });
  assert.deepEqual(samples.map(([s]) => s), [50]);
  assert.ok(samples[0][1] > 0);
  const every: number[] = [];
  await runSteps({ fromStep: 0, toStep: 3, step: () => 1, sample: (step) => void every.push(step) });
  assert.deepEqual(every, [1, 2, 3]);
});

test('loop: the event loop runs between steps, so a stop request (Ctrl-C) from a callback is seen', async () => {
  let stop = false;
  setImmediate(() => {
    stop = true;
  });
  const result = await runSteps({ fromStep: 0, toStep: 10_000, step: () => 0, shouldStop: () => stop });
  assert.ok(result.step <= 2, `ran ${result.step} steps`);
});
