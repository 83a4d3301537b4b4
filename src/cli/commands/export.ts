import type { Command } from 'commander';
import { UserError } from '../../errors.js';
import { loadModel } from '../../eval/evaluate.js';
import { defaultOutputs, freezeModel } from '../../graph/freeze.js';
import { openGraph } from '../../graph/load.js';
import { writeTfjsModel } from '../../graph/tfjs-export.js';
import { writeSavedModel } from '../../graph/saved-model-export.js';
import path from 'node:path';
import { addBackendOption, addModelOptions, useBackend, type BackendFlag } from '../options.js';

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
    .description('export a trained model as a TensorFlow.js graph model (model.json + weights.bin) or a TensorFlow SavedModel')
    .option('--format <name>', 'export format: "tfjs" or "savedmodel" (TensorFlow 1.x style, for TensorFlow Serving and tf.saved_model.load)', 'tfjs')
    .option('--graph <file>', 'export this frozen GraphDef (.pb) instead of a model directory')
    .requiredOption('-o, --output <dir>', 'directory for model.json and weights.bin, or the SavedModel (new or empty, e.g. export/1)');
  addModelOptions(cmd, { dir: 'model directory to export (frozen first, as mnist freeze does)', checkpoint: false });
  addBackendOption(cmd);
  cmd.addHelpText(
    'after',
    `
The files are what tensorflowjs_converter writes for a frozen graph: load them with
tf.loadGraphModel('.../model.json') in the browser or Node, feed "x-input" ([n, 784] pixels in
[0, 1]) and fetch "probabilities" or the logits node.

Examples:
  mnist export --format tfjs --model-dir runs/mlp -o web-model
  mnist export --format tfjs --graph frozen_model.pb -o web-model
  mnist export --format savedmodel --model-dir runs/mlp -o export/1
      # saved_model.pb (tag "serve", signature "serving_default": images [-1, 784] →
      # probabilities [-1, 10], classes [-1] int64) + variables/ (the moving averages)`,
  );
  cmd.action(async (flags: ExportFlags) => {
    if (flags.format !== 'tfjs' && flags.format !== 'savedmodel') throw new UserError(`--format ${flags.format}: unknown export format ("tfjs" or "savedmodel")`);
    await useBackend(flags.backend, true);
    if (flags.format === 'savedmodel') {
      if (flags.graph) throw new UserError('--graph: a SavedModel is exported from a model directory (--model-dir), not from a frozen graph');
      const loaded = loadModel(flags.modelDir, { useEma: flags.ema, model: flags.model });
      try {
        const written = writeSavedModel(loaded.model, flags.output);
        const values = loaded.usedEma ? 'moving averages' : 'raw variables';
        console.log(`Wrote SavedModel ${flags.output} (tag "serve", signature "serving_default"; ${written.variables} variables, the ${values} of ${path.basename(loaded.checkpoint)})`);
      } finally {
        loaded.model.dispose();
      }
      return;
    }
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
