import type { Command } from 'commander';
import { loadModel } from '../../eval/evaluate.js';
import { UserError } from '../../errors.js';
import { imageFileToMnist } from '../../predict/preprocess.js';
import { predictDigits } from '../../predict/predict.js';
import { predictWithGraph } from '../../graph/predict-graph.js';
import { isTransferModelDir } from '../../transfer/model-dir.js';
import { printTransferPredictions } from './transfer.js';
import { addBackendOption, useBackend, type BackendFlag } from '../options.js';

interface PredictFlags {
  modelDir: string;
  model?: string;
  checkpoint?: string;
  ema: boolean;
  json?: boolean;
  graph?: string;
  backend?: BackendFlag;
}

export function register(program: Command): void {
  const cmd = program
    .command('predict')
    .description('recognise the digit in PNG or JPEG images of any size')
    .argument('<images...>', 'image files')
    .option('-d, --model-dir <dir>', 'model directory', 'runs/mlp')
    .option('-m, --model <name>', 'model (default: the one recorded in the model directory)')
    .option('--checkpoint <N|prefix>', 'checkpoint to use: a global step N (model.ckpt-N in the model directory) or a path prefix (default: the newest)')
    .option('--no-ema', 'use the raw variables instead of their moving averages')
    .option('--json', 'print one JSON object per image')
    .option('--graph <file>', 'use a frozen GraphDef (.pb from mnist freeze, or TensorFlow\'s) instead of a checkpoint');
  addBackendOption(cmd);
  cmd.addHelpText(
    'after',
    `
Each image is converted the way MNIST was made: grey, digit white on black (dark-on-light images
are inverted), fitted into 20×20 and centred by centre of mass in 28×28.

Examples:
  mnist predict digit.png
  mnist predict --model-dir runs/mlp --json a.png b.jpg
  mnist predict --checkpoint 20000 digit.png      # runs/mlp/model.ckpt-20000
  mnist predict --graph mlp.pb digit.png
  mnist predict --model-dir runs/digits59 a.png   # a model from mnist transfer: class names`,
  );
  cmd.action(async (images: string[], flags: PredictFlags) => {
    if (!images.length) throw new UserError('no image given');
    await useBackend(flags.backend, true);
    if (flags.graph && flags.checkpoint) throw new UserError('--graph and --checkpoint cannot be used together (a frozen graph holds its own weights)');
    if (!flags.graph && isTransferModelDir(flags.modelDir)) {
      if (flags.checkpoint) throw new UserError(`${flags.modelDir}: a transfer model directory; --checkpoint is not supported for it (its newest checkpoint is used)`);
      return printTransferPredictions(flags.modelDir, images, Boolean(flags.json));
    }
    const inputs = await Promise.all(images.map((f) => imageFileToMnist(f)));
    let predictions;
    if (flags.graph) {
      predictions = await predictWithGraph(flags.graph, inputs);
    } else {
      const loaded = loadModel(flags.modelDir, { useEma: flags.ema, model: flags.model, checkpoint: flags.checkpoint });
      predictions = predictDigits(loaded.model, inputs);
      loaded.model.dispose();
    }
    predictions.forEach((p, i) => {
      if (flags.json) {
        console.log(JSON.stringify({ file: images[i], digit: p.digit, probabilities: p.probabilities.map((x) => Number(x.toFixed(6))) }));
      } else {
        const probs = p.probabilities.map((x, d) => `${d}:${x.toFixed(3)}`).join(' ');
        console.log(`${images[i]}: ${p.digit}  (${probs})`);
      }
    });
  });
}
