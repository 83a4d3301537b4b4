import type { Command } from 'commander';
import { UserError } from '../../errors.js';
import { loadModel } from '../../eval/evaluate.js';
import { defaultOutputs, freezeModel } from '../../graph/freeze.js';
import { openGraph } from '../../graph/load.js';
import { writeTfjsModel } from '../../graph/tfjs-export.js';
import { addBackendOption, useBackend, type BackendFlag } from '../options.js';

interface ExportFlags {
  format: string;
  modelDir: string;
  model?: string;
  graph?: string;
  ema: boolean;
  output: string;
  backend?: BackendFlag;
}

export function register(program: Command): void {
  const cmd = program
    .command('export')
    .description('export a trained model (or a frozen .pb) as a TensorFlow.js graph model: model.json + weights.bin')
    .option('--format <name>', 'export format (only "tfjs")', 'tfjs')
    .option('-d, --model-dir <dir>', 'model directory to export (frozen first, as mnist freeze does)', 'runs/mlp')
    .option('-m, --model <name>', 'model (default: the one recorded in the model directory)')
    .option('--graph <file>', 'export this frozen GraphDef (.pb) instead of a model directory')
    .option('--no-ema', 'use the raw variables instead of their moving averages')
    .requiredOption('-o, --output <dir>', 'directory for model.json and weights.bin');
  addBackendOption(cmd);
  cmd.addHelpText(
    'after',
    `
The files are what tensorflowjs_converter writes for a frozen graph: load them with
tf.loadGraphModel('.../model.json') in the browser or Node, feed "x-input" ([n, 784] pixels in
[0, 1]) and fetch "probabilities" or the logits node.

Examples:
  mnist export --format tfjs --model-dir runs/mlp -o web-model
  mnist export --format tfjs --graph frozen_model.pb -o web-model`,
  );
  cmd.action(async (flags: ExportFlags) => {
    if (flags.format !== 'tfjs') throw new UserError(`--format ${flags.format}: unknown export format (only "tfjs")`);
    await useBackend(flags.backend, true);
    let graph;
    let source: string;
    if (flags.graph) {
      graph = openGraph(flags.graph);
      source = flags.graph;
    } else {
      const loaded = loadModel(flags.modelDir, { useEma: flags.ema, model: flags.model });
      try {
        graph = freezeModel(loaded.model, { outputs: defaultOutputs(loaded.model) });
      } finally {
        loaded.model.dispose();
      }
      source = flags.modelDir;
    }
    const written = await writeTfjsModel(graph, source, flags.output);
    console.log(`Wrote ${written.modelJson} and ${written.weights} (${written.bytes} bytes of weights, ${graph.node.length} nodes)`);
  });
}
