/**
 * The step loop every trainer runs on (MNIST models, the sine LSTM, transfer's final layer, the
 * transfer demo): the global step counter, stop requests, periodic and final checkpoints, the
 * cadence of progress, log lines and evaluations, the yield to the event loop (so Ctrl-C is
 * seen) and the clock. A trainer brings only its step (batch, gradients, update) and what its
 * checkpoint and reports hold.
 */

export interface StepLoopOptions {
  /** The global step the run starts at (0, or the step of the checkpoint it resumes from). */
  fromStep: number;
  /** The global step the run trains to. */
  toStep: number;
  /**
   * One training step, from global step `step` to `step + 1`. Returns the loss on its batch, or
   * undefined when the trainer reads the loss only where `logging` asks for it.
   */
  step(step: number, logging: boolean): number | undefined | Promise<number | undefined>;
  /** Checked once before every step: true ends the run there (with its final checkpoint). */
  shouldStop?(): boolean;
  /** After every step, with the new global step: progress bars, per-step reports. */
  afterStep?(step: number, loss: number | undefined): void | Promise<void>;
  /**
   * At most every `sampleEveryMs` and after the run's last step: live charts and event logs,
   * with the steps per second since the previous sample.
   */
  sample?(step: number, loss: number | undefined, stepsPerSecond: number): void;
  sampleEveryMs?: number;
  /** A log line every `logEvery` steps (none when 0). */
  log?(step: number, loss: number): void;
  logEvery?: number;
  /**
   * Which step of each block of `logEvery` steps is logged: its last ('end': steps logEvery,
   * 2·logEvery, … — mnist_train.py's "After 1000 training step(s)") or its first ('start': steps
   * 1, logEvery + 1, … — the sine example's "step:0", the loss of the batch at index 0).
   */
  logAt?: 'start' | 'end';
  /**
   * Writes a checkpoint of global step `step` and returns its prefix: every `checkpointEvery`
   * steps (0 = none on the way) and after the last step run, never twice for one step.
   */
  save?(step: number): Promise<string>;
  checkpointEvery?: number;
  /**
   * An evaluation after every `evaluateEvery` steps (after that step's checkpoint; 0 = none on
   * the way) and after the last step run (also on a stop) unless that step was just evaluated.
   * Its time is counted apart (`evaluatingMs`).
   */
  evaluate?(step: number, clock: LoopClock): void | Promise<void>;
  evaluateEvery?: number;
}

/** Where the run's wall time went so far. */
export interface LoopClock {
  /** Since the loop started, everything included. */
  elapsedMs: number;
  /** In `save`. */
  savingMs: number;
  /** In `evaluate`. */
  evaluatingMs: number;
}

export interface StepLoopResult extends LoopClock {
  /** The global step reached. */
  step: number;
  stepsRun: number;
  /** The loss of the last step that returned one (NaN when none did). */
  lastLoss: number;
  /** The newest checkpoint this run wrote; undefined when it wrote none. */
  checkpoint?: string;
  /** Wall time less saving and evaluating. */
  trainMs: number;
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

export async function runSteps(opts: StepLoopOptions): Promise<StepLoopResult> {
  const { fromStep, toStep, save, evaluate, log, sample } = opts;
  const checkpointEvery = save ? (opts.checkpointEvery ?? 0) : 0;
  const evaluateEvery = evaluate ? (opts.evaluateEvery ?? 0) : 0;
  const logEvery = log ? (opts.logEvery ?? 0) : 0;
  // Before a step, `step` is the index of its batch (0-based); 'end' logs index logEvery - 1, … .
  const logOffset = opts.logAt === 'start' ? 0 : 1;
  const sampleEveryMs = opts.sampleEveryMs ?? 0;
  const started = performance.now();
  const clock = (): LoopClock => ({ elapsedMs: performance.now() - started, savingMs, evaluatingMs });
  let savingMs = 0;
  let evaluatingMs = 0;
  let savedAt = fromStep;
  let evaluatedAt = fromStep;
  let checkpoint: string | undefined;
  let lastLoss = NaN;
  let sampleTime = started;
  let sampleStep = fromStep;

  const saveNow = async (step: number) => {
    const t0 = performance.now();
    checkpoint = await save!(step);
    savedAt = step;
    savingMs += performance.now() - t0;
  };
  const evaluateNow = async (step: number) => {
    const t0 = performance.now();
    await evaluate!(step, clock());
    evaluatedAt = step;
    evaluatingMs += performance.now() - t0;
  };

  let step = fromStep;
  while (step < toStep && !opts.shouldStop?.()) {
    const logging = logEvery > 0 && (step + logOffset) % logEvery === 0;
    const result = opts.step(step, logging);
    const loss = result instanceof Promise ? await result : result;
    step++;
    if (loss !== undefined) lastLoss = loss;
    const after = opts.afterStep?.(step, loss);
    if (after instanceof Promise) await after;
    if (sample) {
      const now = performance.now();
      if (now - sampleTime >= sampleEveryMs || step === toStep) {
        sample(step, loss, ((step - sampleStep) * 1000) / Math.max(now - sampleTime, 1e-6));
        sampleTime = now;
        sampleStep = step;
      }
    }
    if (logging && loss !== undefined) log!(step, loss);
    if (checkpointEvery > 0 && step % checkpointEvery === 0) await saveNow(step);
    if (evaluateEvery > 0 && step % evaluateEvery === 0) await evaluateNow(step);
    // A step may have awaited only settled promises; let the event loop run so Ctrl-C is seen.
    await yieldToEventLoop();
  }
  if (save && step > savedAt) await saveNow(step);
  if (evaluate && step > evaluatedAt) await evaluateNow(step);
  const { elapsedMs } = clock();
  return { step, stepsRun: step - fromStep, lastLoss, checkpoint, elapsedMs, savingMs, evaluatingMs, trainMs: elapsedMs - savingMs - evaluatingMs };
}
