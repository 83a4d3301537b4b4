import { Command, Option } from 'commander';
import cliProgress from 'cli-progress';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { writeLinePlot } from '../../rnn/plot.js';
import { bookSineData } from '../../rnn/sine-data.js';
import type { SineLayout } from '../../rnn/sine-model.js';
import { createSineModel, evaluateSine, restoreSineModel, SINE_DEFAULTS, trainSine, type SineOptions, type SineReporter } from '../../rnn/sine.js';
import { addBackendOption, nonNegativeInt, positiveInt, positiveNumber, useBackend, type BackendFlag } from '../options.js';

interface SineFlags {
  modelDir: string;
  steps: number;
  batchSize: number;
  learningRate: number;
  hiddenSize: number;
  layers: number;
  layout: SineLayout;
  seed: number;
  logEvery: number;
  checkpointEvery: number;
  plot?: string;
  evaluateOnly?: boolean;
  resume?: boolean;
  backend?: BackendFlag;
  progress?: boolean;
}

export function register(program: Command): void {
  const cmd = program
    .command('sine')
    .description("the book's LSTM example (§8.4): learn to predict sin(x) from the previous 10 samples, report the test RMSE, plot predictions vs. the real sine")
    .option('-d, --model-dir <dir>', 'where checkpoints and the plot go', 'runs/sine')
    .option('--steps <n>', 'training steps', positiveInt, SINE_DEFAULTS.steps)
    .option('--batch-size <n>', 'windows per step', positiveInt, SINE_DEFAULTS.batchSize)
    .option('--learning-rate <x>', 'Adagrad learning rate', positiveNumber, SINE_DEFAULTS.learningRate)
    .option('--hidden-size <n>', 'LSTM units per layer', positiveInt, SINE_DEFAULTS.hiddenSize)
    .option('--layers <n>', 'stacked LSTM layers', positiveInt, SINE_DEFAULTS.numLayers)
    .addOption(
      new Option('--layout <how>', "how a window enters the LSTM: 'book' = one time step of 10 values (what the book's code does), 'sequence' = 10 time steps of 1 value")
        .choices(['book', 'sequence'])
        .default(SINE_DEFAULTS.layout),
    )
    .option('--seed <n>', 'seed for initial weights and the shuffle', nonNegativeInt, SINE_DEFAULTS.seed)
    .option('--log-every <n>', 'print the loss every N steps', positiveInt, SINE_DEFAULTS.logEvery)
    .option('--checkpoint-every <n>', 'save a checkpoint every N steps (0 = only at the end)', nonNegativeInt, SINE_DEFAULTS.checkpointEvery)
    .option('--plot <base>', 'write the plot to BASE.png and BASE.svg (default: MODEL_DIR/sine-predictions)')
    .option('--resume', 'go on from the latest checkpoint in --model-dir to --steps (the same result as an uninterrupted run with the same flags)')
    .option('--evaluate-only', "don't train: restore the latest checkpoint in --model-dir, evaluate and plot")
    .option('--no-progress', 'no live progress bar, only log lines');
  addBackendOption(cmd);
  cmd.addHelpText(
    'after',
    `
Defaults are the book's: 2 LSTM layers × 30 units, windows of 10 samples of sin every 0.01, 10,000
training and 1,000 test windows, batch 32, shuffle buffer 1000, Adagrad 0.1, 11,000 steps.
Checkpoints use TensorFlow's variable names (model/rnn/multi_rnn_cell/cell_0/basic_lstm_cell/kernel …).

Examples:
  mnist sine
  mnist sine --steps 2000 --model-dir /tmp/sine
  mnist sine --layout sequence --model-dir runs/sine-seq
  mnist sine --steps 11000 --resume --model-dir runs/sine   # after a run stopped earlier
  mnist sine --evaluate-only --model-dir runs/sine`,
  );
  cmd.action(async (flags: SineFlags) => {
    const backend = await useBackend(flags.backend);
    const opts: SineOptions = {
      ...SINE_DEFAULTS,
      steps: flags.steps,
      batchSize: flags.batchSize,
      learningRate: flags.learningRate,
      hiddenSize: flags.hiddenSize,
      numLayers: flags.layers,
      layout: flags.layout,
      seed: flags.seed,
      logEvery: flags.logEvery,
      checkpointEvery: flags.checkpointEvery,
      modelDir: flags.modelDir,
    };
    const data = bookSineData();
    const model = createSineModel(opts);
    try {
      if (flags.evaluateOnly) {
        const { checkpoint, globalStep } = restoreSineModel(model, flags.modelDir);
        console.log(`Restored ${checkpoint} (step ${globalStep})`);
      } else {
        const reporter = progressReporter(flags.progress !== false && Boolean(process.stderr.isTTY));
        const started = performance.now();
        try {
          const trained = await trainSine(model, data.train, opts, reporter, { resume: flags.resume });
          const run = trained.globalStep - trained.firstStep;
          reporter.log(`Trained ${run} steps to step ${trained.globalStep} in ${((performance.now() - started) / 1000).toFixed(1)} s on ${backend} (${(trained.trainMs / Math.max(run, 1)).toFixed(2)} ms/step); saved ${trained.checkpoint}`);
        } finally {
          reporter.stop();
        }
      }
      const { rmse, predictions, labels } = evaluateSine(model, data.test);
      console.log(`Root Mean Square Error: ${rmse.toFixed(6)}`);
      const base = flags.plot ?? path.join(flags.modelDir, 'sine-predictions');
      mkdirSync(path.dirname(base), { recursive: true });
      const files = await writeLinePlot(base, {
        title: `LSTM sine prediction on the test range (RMSE ${rmse.toFixed(6)})`,
        xTitle: 'test example',
        yTitle: 'sin(x)',
        series: { predictions, real_sin: labels },
      });
      console.log(`Plot: ${files.png}, ${files.svg}`);
    } finally {
      model.dispose();
    }
  });
}

function progressReporter(live: boolean): SineReporter & { stop(): void } {
  const bar = live
    ? new cliProgress.SingleBar({ format: 'step {value}/{total} |{bar}| ETA {eta_formatted}', hideCursor: true, etaBuffer: 500, stream: process.stderr, clearOnComplete: true }, cliProgress.Presets.shades_classic)
    : undefined;
  let started = false;
  return {
    log(line) {
      if (bar && started) {
        // SingleBar has no log(): clear the line, print, let the next update redraw.
        process.stderr.write('\r\x1b[2K');
        console.log(line);
      } else console.log(line);
    },
    step(step, total) {
      if (!bar) return;
      if (!started) {
        bar.start(total, step);
        started = true;
      } else if (step % 50 === 0 || step === total) bar.update(step);
    },
    stop() {
      bar?.stop();
    },
  };
}
