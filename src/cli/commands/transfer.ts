import { InvalidArgumentError, type Command } from 'commander';
import cliProgress from 'cli-progress';
import { predictTransfer } from '../../transfer/predict.js';
import { findBottleneck, findInputPlaceholder } from '../../transfer/endpoints.js';
import { openGraph } from '../../graph/load.js';
import { formatAccuracy, runTransfer, TRANSFER_DEFAULTS, type TransferOptions, type TransferReporter } from '../../transfer/transfer.js';
import { addBackendOption, nonNegativeNumber, positiveInt, positiveNumber, useBackend, type BackendFlag } from '../options.js';

/** The run's options as commander parses them: `-o` names the model directory. */
interface TransferFlags extends Omit<TransferOptions, 'modelDir' | 'input' | 'bottleneck'> {
  input?: string;
  bottleneck?: string;
  output: string;
  progress: boolean;
  backend?: BackendFlag;
}

const number = (value: string) => {
  const n = Number(value);
  if (!Number.isFinite(n)) throw new InvalidArgumentError(`expected a number, got "${value}"`);
  return n;
};

function progressReporter(live: boolean): TransferReporter {
  const bars = live ? new cliProgress.MultiBar({ format: '{task} {value}/{total} |{bar}| {note}', hideCursor: true, stream: process.stderr, clearOnComplete: false }, cliProgress.Presets.shades_classic) : undefined;
  let bar: cliProgress.SingleBar | undefined;
  const log = (line: string) => (bars ? bars.log(line + '\n') : console.log(line));
  return {
    bottlenecksStart: (total) => (bar = bars?.create(total, 0, { task: 'bottlenecks', note: '' })),
    bottleneck: (done) => bar?.update(done),
    trainStart: (steps) => (bar = bars?.create(steps, 0, { task: 'step', note: '' })),
    step: ({ step, loss }) => bar?.update(step, { note: `loss ${loss.toFixed(4)}` }),
    log,
    stop: () => bar?.stop(),
  };
}

/** `mnist predict --model-dir DIR` for a transfer model directory: class names instead of digits. */
export async function printTransferPredictions(modelDir: string, images: string[], json: boolean): Promise<void> {
  const { classes, predictions } = await predictTransfer(modelDir, images);
  predictions.forEach((p, i) => {
    if (json) {
      console.log(JSON.stringify({ file: images[i], class: p.className, label: p.label, probabilities: Object.fromEntries(classes.map((c, k) => [c, Number(p.probabilities[k].toFixed(6))])) }));
    } else {
      console.log(`${images[i]}: ${p.className}  (${classes.map((c, k) => `${c}:${p.probabilities[k].toFixed(3)}`).join(' ')})`);
    }
  });
}

export function register(program: Command): void {
  const d = TRANSFER_DEFAULTS;
  const cmd = program
    .command('transfer')
    .description("transfer learning (the book's §6.5): a frozen graph's bottleneck vectors, cached, feed a new softmax layer trained on your labelled image folders")
    .requiredOption('--graph <file>', 'frozen image-classification graph (.pb from mnist freeze, or TensorFlow\'s)')
    .option('--input <name>', 'the placeholder that takes the image (e.g. x-input; default: the graph\'s only placeholder)')
    .option('--bottleneck <name:0>', 'the tensor whose values become the features (e.g. layer6-fc2/Relu:0, pool_3/_reshape:0; default: the input of the final fully-connected layer)')
    .requiredOption('--images <dir>', 'one sub-folder of JPEG/PNG images per class; the folder names are the class names')
    .requiredOption('-o, --output <dir>', 'model directory to write (graph.pb, transfer.json, checkpoints, bottlenecks/)')
    .option('--bottleneck-dir <dir>', 'bottleneck cache (default: OUTPUT/bottlenecks)')
    .option('--steps <n>', 'training steps', positiveInt, d.steps)
    .option('--batch-size <n>', 'bottlenecks per step (drawn at random from the training set)', positiveInt, d.batchSize)
    .option('--learning-rate <x>', 'gradient-descent learning rate', positiveNumber, d.learningRate)
    .option('--validation-percent <p>', 'percentage of images for validation (by file-name hash)', nonNegativeNumber, d.validationPercent)
    .option('--testing-percent <p>', 'percentage of images for the final test (by file-name hash)', nonNegativeNumber, d.testingPercent)
    .option('--eval-every <n>', 'report validation accuracy every N steps', positiveInt, d.evalEvery)
    .option('--checkpoint-every <n>', 'write a checkpoint every N steps (and at the end)', positiveInt, d.checkpointEvery)
    .option('--input-mean <x>', 'pixels (0..255) are fed as (p - mean) / std', number, d.inputMean)
    .option('--input-std <x>', 'see --input-mean (0/255 gives [0, 1]; Inception-v3 wants 128/128)', positiveNumber, d.inputStd)
    .option('--seed <n>', 'random seed (initial weights, batches)', positiveInt, d.seed)
    .option('--resume', "go on from the latest checkpoint in OUTPUT up to --steps (ends as an uninterrupted run with the same flags)")
    .option('--no-progress', 'no progress bars');
  addBackendOption(cmd);
  cmd.addHelpText(
    'after',
    `
Each image is decoded, resized to the size the input placeholder implies ([-1, H, W, C], or
[-1, H·W] for a flattened grey image) and run once to the bottleneck tensor; the vector is cached
under a hash of the image bytes, graph and scaling, so re-runs skip the graph and a changed image
is recomputed. Only the new layer (final_training_ops/weights, /biases) is trained.

Examples:
  mnist freeze --model-dir runs/digits04 -o digits04.pb
  mnist transfer --graph digits04.pb --images digits59/ -o runs/digits59      # input and bottleneck found
  mnist transfer --graph digits04.pb --input x-input --bottleneck layer6-fc2/Relu:0 --images digits59/ -o runs/digits59
  mnist predict --model-dir runs/digits59 some-digit.png
  mnist transfer --graph tensorflow_inception_graph.pb --input Mul --bottleneck pool_3/_reshape:0 \\
      --input-mean 128 --input-std 128 --images flower_photos/ -o runs/flowers`,
  );
  cmd.action(async (flags: TransferFlags) => {
    await useBackend(flags.backend, true);
    if (flags.input === undefined || flags.bottleneck === undefined) {
      const graph = openGraph(flags.graph);
      flags.input ??= findInputPlaceholder(graph, flags.graph);
      flags.bottleneck ??= findBottleneck(graph, flags.graph);
      console.error(`Input placeholder ${flags.input}, bottleneck ${flags.bottleneck} (override with --input / --bottleneck)`);
    }
    const result = await runTransfer(
      {
        graph: flags.graph,
        input: flags.input!,
        bottleneck: flags.bottleneck!,
        images: flags.images,
        modelDir: flags.output,
        bottleneckDir: flags.bottleneckDir,
        steps: flags.steps,
        batchSize: flags.batchSize,
        learningRate: flags.learningRate,
        validationPercent: flags.validationPercent,
        testingPercent: flags.testingPercent,
        evalEvery: flags.evalEvery,
        checkpointEvery: flags.checkpointEvery,
        inputMean: flags.inputMean,
        inputStd: flags.inputStd,
        seed: flags.seed,
        resume: flags.resume,
      },
      progressReporter(flags.progress && Boolean(process.stderr.isTTY)),
    );
    console.log(`Final test accuracy = ${formatAccuracy(result.testAccuracy, result.counts.testing)}; model in ${flags.output} (checkpoint ${result.checkpoint})`);
  });
}
