import type { Command } from 'commander';
import { loadModel } from '../../eval/evaluate.js';
import { UserError } from '../../errors.js';
import { imageFileToDigits, type DigitInput } from '../../predict/preprocess.js';
import { predictDigits, type Prediction } from '../../predict/predict.js';
import { predictWithGraph } from '../../graph/predict-graph.js';
import { isTransferModelDir } from '../../transfer/model-dir.js';
import { printTransferPredictions } from './transfer.js';
import { addBackendOption, addModelOptions, useBackend, type BackendFlag } from '../options.js';

interface PredictFlags {
  modelDir: string;
  model?: string;
  checkpoint?: string;
  ema: boolean;
  json?: boolean;
  graph?: string;
  single?: boolean;
  backend?: BackendFlag;
}

export function register(program: Command): void {
  const cmd = program
    .command('predict')
    .description('read the digit, or the number, in PNG or JPEG images of any size')
    .argument('<images...>', 'image files')
    .option('--json', 'print one JSON object per image')
    .option('--single', 'read all the ink in each image as one digit (no splitting into several digits)')
    .option('--graph <file>', 'use a frozen GraphDef (.pb from mnist freeze, or TensorFlow\'s) instead of a checkpoint');
  addModelOptions(cmd);
  addBackendOption(cmd);
  cmd.addHelpText(
    'after',
    `
Ink is separated from the background (shading, noise and specks are ignored) and cut into digits,
read left to right: an image of "42" prints 42 with each digit's confidence. Each digit is
converted the way MNIST was made: white on black, fitted into 20×20 and centred by centre of
mass in 28×28. A file that cannot be read gets its one-line error and the others are still
read; the exit code is then 1.

Examples:
  mnist predict examples/digits/7.png
  mnist predict examples/digits/2024.png          # prints 2024 and each digit's confidence
  mnist predict --single one-digit.png
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
    const loaded = flags.graph ? undefined : loadModel(flags.modelDir, { useEma: flags.ema, model: flags.model, checkpoint: flags.checkpoint });
    try {
      const read: Array<DigitInput[] | UserError> = [];
      for (const file of images) read.push(await imageFileToDigits(file, { single: flags.single }).catch(userErrorOnly));
      const inputs = read.flatMap((r) => (r instanceof UserError ? [] : r.map((d) => d.pixels)));
      const predictions = loaded ? predictDigits(loaded.model, inputs) : await predictWithGraph(flags.graph!, inputs);
      let next = 0;
      read.forEach((r, i) => {
        if (r instanceof UserError) {
          if (flags.json) console.log(JSON.stringify({ file: images[i], error: r.message }));
          console.error(`error: ${r.message}`);
          process.exitCode = 1;
          return;
        }
        const digits = r.map((d) => ({ ...predictions[next++], box: d.box }));
        console.log(flags.json ? JSON.stringify(jsonResult(images[i], digits)) : textResult(images[i], digits));
      });
    } finally {
      loaded?.model.dispose();
    }
  });
}

type ReadDigit = Prediction & { box: DigitInput['box'] };

function userErrorOnly(err: unknown): UserError {
  if (err instanceof UserError) return err;
  throw err;
}

/** One digit: the digit and all ten probabilities; a number: the number and each digit's confidence. */
function textResult(file: string, digits: ReadDigit[]): string {
  const number = digits.map((d) => d.digit).join('');
  if (digits.length === 1) return `${file}: ${number}  (${digits[0].probabilities.map((x, d) => `${d}:${x.toFixed(3)}`).join(' ')})`;
  return `${file}: ${number}  (${digits.map((d) => `${d.digit} ${d.probabilities[d.digit].toFixed(3)}`).join(', ')})`;
}

/** `digit` and `probabilities` are the first (or only) digit's, as before numbers were read. */
function jsonResult(file: string, digits: ReadDigit[]) {
  const round = (p: number[]) => p.map((x) => Number(x.toFixed(6)));
  return {
    file,
    digit: digits[0].digit,
    probabilities: round(digits[0].probabilities),
    number: digits.map((d) => d.digit).join(''),
    digits: digits.map((d) => ({ digit: d.digit, confidence: Number(d.probabilities[d.digit].toFixed(6)), probabilities: round(d.probabilities), box: d.box })),
  };
}
