import type { Command } from 'commander';
import { loadMnist } from '../../data/mnist.js';
import { checkpointLabel, confusionMatrix, evaluate, formatConfusionMatrix, loadModel } from '../../eval/evaluate.js';
import { addBackendOption, addDataOptions, useBackend, type BackendFlag } from '../options.js';

interface TestFlags {
  modelDir: string;
  model?: string;
  checkpoint?: string;
  ema: boolean;
  json?: boolean;
  dataDir?: string;
  limit?: number;
  backend?: BackendFlag;
}

export function register(program: Command): void {
  const cmd = program
    .command('test')
    .description('accuracy on the 10,000 test images, with a confusion matrix')
    .option('-d, --model-dir <dir>', 'model directory', 'runs/mlp')
    .option('-m, --model <name>', 'model (default: the one recorded in the model directory)')
    .option('--checkpoint <N|prefix>', 'checkpoint to use: a global step N (model.ckpt-N in the model directory) or a path prefix (default: the newest)')
    .option('--no-ema', 'use the raw variables instead of their moving averages')
    .option('--json', 'print a JSON object instead of text');
  addDataOptions(cmd, 'test');
  addBackendOption(cmd);
  cmd.addHelpText('after', '\nExamples:\n  mnist test --model-dir runs/mlp\n  mnist test --model-dir runs/mlp --no-ema --json\n  mnist test --model-dir runs/mlp --checkpoint 20000');
  cmd.action(async (flags: TestFlags) => {
    await useBackend(flags.backend, flags.json);
    const { test } = loadMnist({ dataDir: flags.dataDir, limit: flags.limit });
    const loaded = loadModel(flags.modelDir, { useEma: flags.ema, model: flags.model, checkpoint: flags.checkpoint });
    const result = evaluate(loaded.model, test);
    const matrix = confusionMatrix(test.labels, result.predictions);
    loaded.model.dispose();
    if (flags.json) {
      const { accuracy, correct, count } = result;
      console.log(JSON.stringify({ checkpoint: loaded.checkpoint, globalStep: loaded.globalStep, ema: loaded.usedEma, accuracy, correct, count, confusionMatrix: matrix }));
      return;
    }
    console.log(`Checkpoint ${checkpointLabel(loaded.checkpoint)} (step ${loaded.globalStep}, ${loaded.usedEma ? 'moving averages' : 'raw variables'})`);
    console.log(`Test accuracy = ${result.accuracy.toFixed(4)} (${result.correct}/${result.count})`);
    console.log(formatConfusionMatrix(matrix));
  });
}
