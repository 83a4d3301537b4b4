import type { Command } from 'commander';
import { setTimeout as sleep } from 'node:timers/promises';
import { latestCheckpoint } from '../../checkpoint/saver.js';
import { loadMnist, sliceSplit } from '../../data/mnist.js';
import { evaluate, loadModel } from '../../eval/evaluate.js';
import { UserError } from '../../errors.js';
import { readModelDirInfo, requireModelDir } from '../../train/model-dir.js';
import { onStopSignals, signalExitCode } from '../stop-signals.js';
import { addBackendOption, addDataOptions, addModelOptions, positiveNumber, useBackend, type BackendFlag } from '../options.js';

interface EvalFlags {
  modelDir: string;
  model?: string;
  checkpoint?: string;
  interval: number;
  once?: boolean;
  ema: boolean;
  dataDir?: string;
  limit?: number;
  backend?: BackendFlag;
}

export function register(program: Command): void {
  const cmd = program
    .command('eval')
    .description("watch a model directory and report validation accuracy of each new checkpoint (mnist_eval.py)")
    .option('--interval <seconds>', 'seconds between looks at the directory', positiveNumber, 10)
    .option('--once', 'evaluate the newest checkpoint once and exit');
  addModelOptions(cmd, { dir: 'model directory to watch', checkpoint: 'evaluate this checkpoint once and exit: a global step N (model.ckpt-N in the model directory) or a path prefix' });
  addDataOptions(cmd, 'validation');
  addBackendOption(cmd);
  cmd.addHelpText(
    'after',
    `
Runs beside \`mnist train\`: every --interval seconds it restores the newest checkpoint, with the
moving averages in place of the variables, and prints the validation accuracy. Ctrl-C (or SIGTERM/SIGHUP) stops it.

Examples:
  mnist eval --model-dir runs/mlp             # watch while training runs
  mnist eval --model-dir runs/mlp --once      # one evaluation, then exit
  mnist eval --model-dir runs/mlp --checkpoint 20000   # model.ckpt-20000, once`,
  );
  cmd.action(async (flags: EvalFlags) => {
    requireModelDir(flags.modelDir);
    await useBackend(flags.backend);
    // The images the run held out; a run that held none out trained on these very images.
    const heldOut = readModelDirInfo(flags.modelDir)?.recipe?.validationSize;
    if (heldOut === 0) {
      console.error(`Note: ${flags.modelDir} trained on every training image (validation size 0), the validation images included: its validation accuracy is not a held-out figure (\`mnist test\` is).`);
    }
    const { validation: all } = loadMnist({ dataDir: flags.dataDir, validationSize: heldOut || undefined });
    const validation = flags.limit ? sliceSplit(all, 0, flags.limit) : all;
    const report = (checkpoint: string | undefined): void => {
      const loaded = loadModel(flags.modelDir, { useEma: flags.ema, model: flags.model, checkpoint });
      const result = evaluate(loaded.model, validation);
      loaded.model.dispose();
      console.log(`After ${loaded.globalStep} training step(s), validation accuracy = ${result.accuracy.toFixed(4)}`);
    };
    if (flags.checkpoint !== undefined) return report(flags.checkpoint);
    const stopping = new AbortController();
    const signals = onStopSignals(() => stopping.abort());
    try {
      let lastSeen: string | null = null;
      while (!stopping.signal.aborted) {
        let newest: string | null;
        try {
          newest = latestCheckpoint(flags.modelDir);
        } catch (err) {
          if (err instanceof UserError) return report(undefined); // a damaged state file: report names what to use
          throw err;
        }
        if (!newest) {
          // Says why: no checkpoint yet, or a state file naming one that is missing or damaged.
          if (flags.once || lastSeen === null) return report(undefined);
        } else if (newest !== lastSeen) {
          lastSeen = newest;
          report(newest);
        }
        if (flags.once) return;
        await sleep(flags.interval * 1000, undefined, { signal: stopping.signal }).catch(() => {});
      }
    } finally {
      signals.dispose();
    }
    if (signals.signal) process.exitCode = signalExitCode(signals.signal);
  });
}
