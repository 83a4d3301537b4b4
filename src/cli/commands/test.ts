import type { Command } from 'commander';
import { IMAGE_PIXELS, loadMnist, type MnistSplit } from '../../data/mnist.js';
import { predictWithGraph } from '../../graph/predict-graph.js';
import { checkpointLabel, confusionMatrix, evaluate, formatConfusionMatrix, loadModel } from '../../eval/evaluate.js';
import { classMetrics, formatClassMetrics } from '../../eval/class-metrics.js';
import { addBackendOption, addDataOptions, addModelOptions, useBackend, type BackendFlag } from '../options.js';

interface TestFlags {
  modelDir: string;
  model?: string;
  checkpoint?: string;
  ema: boolean;
  json?: boolean;
  dataDir?: string;
  limit?: number;
  backend?: BackendFlag;
  graph?: string;
  input?: string;
  output?: string;
}

export function register(program: Command): void {
  const cmd = program
    .command('test')
    .description('accuracy on the 10,000 test images, with a confusion matrix and per-class precision, recall and F1')
    .option('--json', 'print a JSON object instead of text')
    .option('--graph <file>', "evaluate a graph instead of a checkpoint: a frozen .pb (ours or TensorFlow's), a .meta with its checkpoint (needs --output), a TensorFlow.js model.json or a SavedModel directory")
    .option('--input <name>', 'with --graph: the placeholder fed the images (default: the only one)')
    .option('--output <name>', 'with --graph: the tensor of the 10 scores (default: probabilities, else the only output)');
  addModelOptions(cmd);
  addDataOptions(cmd, 'test');
  addBackendOption(cmd);
  cmd.addHelpText('after', '\nExamples:\n  mnist test --model-dir runs/mlp\n  mnist test --model-dir runs/mlp --no-ema --json\n  mnist test --model-dir runs/mlp --checkpoint 20000\n  mnist test --graph frozen_model.pb                 # any MNIST graph: pixels in [0, 1], 784 per image\n  mnist test --graph export/1                        # a SavedModel (serving_default)');
  cmd.action(async (flags: TestFlags) => {
    await useBackend(flags.backend, flags.json);
    const { test } = loadMnist({ dataDir: flags.dataDir, limit: flags.limit });
    if (flags.graph) {
      await testGraph(flags, test);
      return;
    }
    const loaded = loadModel(flags.modelDir, { useEma: flags.ema, model: flags.model, checkpoint: flags.checkpoint });
    const result = evaluate(loaded.model, test);
    const matrix = confusionMatrix(test.labels, result.predictions);
    loaded.model.dispose();
    if (flags.json) {
      const { accuracy, correct, count } = result;
      console.log(JSON.stringify({ checkpoint: loaded.checkpoint, globalStep: loaded.globalStep, ema: loaded.usedEma, accuracy, correct, count, confusionMatrix: matrix, classes: classMetrics(matrix) }));
      return;
    }
    console.log(`Checkpoint ${checkpointLabel(loaded.checkpoint)} (step ${loaded.globalStep}, ${loaded.usedEma ? 'moving averages' : 'raw variables'})`);
    console.log(`Test accuracy = ${result.accuracy.toFixed(4)} (${result.correct}/${result.count})`);
    console.log(formatConfusionMatrix(matrix));
    console.log(formatClassMetrics(classMetrics(matrix)));
  });
}

/** Accuracy of any MNIST graph on the test split (pixels scaled to [0, 1], as read_data_sets gives them). */
async function testGraph(flags: TestFlags, test: MnistSplit): Promise<void> {
  const images = Array.from({ length: test.count }, (_, i) => Float32Array.from(test.images.subarray(i * IMAGE_PIXELS, (i + 1) * IMAGE_PIXELS), (v) => v / 255));
  const results = await predictWithGraph(flags.graph!, images, { input: flags.input, output: flags.output });
  const predictions = Uint8Array.from(results, (r) => r.digit);
  const correct = predictions.reduce((n, p, i) => n + (p === test.labels[i] ? 1 : 0), 0);
  const accuracy = correct / test.count;
  const matrix = confusionMatrix(test.labels, predictions);
  if (flags.json) {
    console.log(JSON.stringify({ graph: flags.graph, accuracy, correct, count: test.count, confusionMatrix: matrix, classes: classMetrics(matrix) }));
    return;
  }
  console.log(`Graph ${flags.graph}`);
  console.log(`Test accuracy = ${accuracy.toFixed(4)} (${correct}/${test.count})`);
  console.log(formatConfusionMatrix(matrix));
  console.log(formatClassMetrics(classMetrics(matrix)));
}
