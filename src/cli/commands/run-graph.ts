import type { Command } from 'commander';
import * as tf from '@tensorflow/tfjs';
import { quoted, UserError } from '../../errors.js';
import { parseTensorName } from '../../formats/graphdef.js';
import { parseInputFlag, readFeedFiles, shapeFor } from '../../graph/feeds.js';
import { openGraph } from '../../graph/load.js';
import { FrozenGraph } from '../../graph/tfjs-model.js';
import { DEFAULT_SIGNATURE, isSavedModel, openSavedModelSignature } from '../../graph/saved-model.js';
import { addBackendOption, useBackend, type BackendFlag } from '../options.js';

interface RunGraphFlags {
  input?: string[];
  output?: string[];
  checkpoint?: string;
  ema?: boolean;
  json?: boolean;
  backend?: BackendFlag;
  tag?: string[];
  signature?: string;
}

/** The tfjs dtype a placeholder of this TensorFlow type is fed with (tfjs has no int64/float64). */
function tfjsDtype(dtype: string): 'float32' | 'int32' | 'bool' {
  if (dtype === 'DT_BOOL') return 'bool';
  return dtype === 'DT_FLOAT' || dtype === 'DT_DOUBLE' || dtype === 'DT_HALF' ? 'float32' : 'int32';
}

const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];

export function register(program: Command): void {
  const cmd = program
    .command('run-graph')
    .description("run a frozen TensorFlow graph (.pb, ours or TensorFlow's), a .meta graph with its checkpoint, or a TensorFlow.js model.json, on TensorFlow.js's graph executor")
    .argument('<graph>', 'a frozen GraphDef (.pb), a MetaGraphDef (.meta), a TensorFlow.js graph model (model.json) or a SavedModel directory')
    .option('-i, --input <name=file>', 'feed a placeholder: an image (MNIST-style preprocessing), a .json array or a .npy file; several images separated by commas form a batch (repeatable)', collect)
    .option('--output <name:0>', 'tensor to compute (repeatable; default: the nodes nothing else uses)', collect)
    .option('--checkpoint <prefix>', 'for a .meta graph: the checkpoint to restore (default: the .meta path without .meta)')
    .option('--ema', 'for a .meta graph: restore the moving averages (NAME/ExponentialMovingAverage) into the variables')
    .option('--tag <tag>', 'for a SavedModel: the tag set of the MetaGraphDef to run (repeatable)', collect)
    .option('--signature <key>', `for a SavedModel: the signature to run (default: ${DEFAULT_SIGNATURE})`)
    .option('--json', 'print the outputs as one JSON object');
  addBackendOption(cmd);
  cmd.addHelpText(
    'after',
    `
The graph runs on TensorFlow.js's own GraphModel executor (tfjs-converter); an op it does not
know is reported by name. Placeholders are listed when no --input is given.

Examples:
  mnist freeze --model-dir runs/mlp -o mlp.pb
  mnist run-graph mlp.pb --input x-input=digit.png --output probabilities:0
  mnist run-graph frozen_model.pb --input input=batch.npy --output output:0 --json
  mnist run-graph runs/mlp/model.ckpt-30000.meta --output layer2/add:0 --input x-input=digit.png --ema
  mnist run-graph model.ckpt.meta --output add:0          # the book's v1 + v2 → [3]
  mnist run-graph web-model/model.json --input x-input=digit.png
  mnist run-graph export/1 --input images=digit.png                 # a SavedModel: inputs and outputs by signature key
  mnist run-graph saved_model_half_plus_three --signature serving_default --input x=x.json`,
  );
  cmd.action(async (file: string, flags: RunGraphFlags) => {
    const inputFlags = flags.input ?? [];
    const outputFlags = flags.output ?? [];
    await useBackend(flags.backend, true);
    if (isSavedModel(file)) {
      await runSignature(file, flags);
      return;
    }
    const graph = openGraph(file, { checkpoint: flags.checkpoint, outputs: outputFlags, useEma: flags.ema });
    const model = FrozenGraph.load(graph, file);
    try {
      const placeholders = new Map(model.inputs.map((p) => [p.name, p]));
      if (!inputFlags.length && placeholders.size) {
        const listed = model.inputs.map((p) => `${p.name} (${p.dtype}, shape ${p.shape ? `[${p.shape.join(', ')}]` : 'unknown'})`).join('; ');
        throw new UserError(`${file}: feed its placeholders with --input NAME=FILE: ${listed}`);
      }
      const feeds: Record<string, tf.Tensor> = {};
      for (const flag of inputFlags) {
        const { name, files } = parseInputFlag(flag);
        const node = parseTensorName(name).node;
        const placeholder = placeholders.get(node);
        if (!placeholder) throw new UserError(`${file}: no placeholder named ${quoted(node)} (placeholders: ${[...placeholders.keys()].join(', ') || 'none'})`);
        const value = await readFeedFiles(files);
        const shape = shapeFor(value, placeholder.shape, `--input ${name}`);
        feeds[node] = tf.tensor(Array.from(value.data), shape, tfjsDtype(placeholder.dtype));
      }
      const outputs = outputFlags.length ? outputFlags : model.defaultOutputs;
      const results = await model.run(feeds, outputs);
      const printed: Record<string, { dtype: string; shape: number[]; values: unknown }> = {};
      results.forEach((t, i) => {
        printed[outputs[i]] = { dtype: t.dtype, shape: t.shape, values: t.arraySync() };
      });
      if (flags.json) console.log(JSON.stringify(printed));
      else for (const [name, r] of Object.entries(printed)) console.log(`${name} ${r.dtype}[${r.shape.join(', ')}] ${JSON.stringify(r.values)}`);
      tf.dispose([...Object.values(feeds), ...results]);
    } finally {
      model.dispose();
    }
  });
}

/** A SavedModel signature: inputs fed and outputs printed by their signature keys. */
async function runSignature(dir: string, flags: RunGraphFlags): Promise<void> {
  if (flags.output?.length) throw new UserError(`${dir}: a SavedModel computes its signature's outputs; choose a signature with --signature instead of --output`);
  const key = flags.signature ?? DEFAULT_SIGNATURE;
  const opened = openSavedModelSignature(dir, { tags: flags.tag, signature: key });
  const model = FrozenGraph.load(opened.graph, opened.model.file);
  const feeds: Record<string, tf.Tensor> = {};
  try {
    model.checkRunnable(opened.outputs.map((o) => o.tensor), opened.inputs.map((i) => i.tensor));
    const byKey = new Map(opened.inputs.map((i) => [i.key, i]));
    const given = new Set<string>();
    for (const flag of flags.input ?? []) {
      const { name, files } = parseInputFlag(flag);
      const input = byKey.get(name);
      if (!input) throw new UserError(`${opened.model.file}: signature "${key}" has no input "${name}" (inputs: ${[...byKey.keys()].join(', ') || 'none'})`);
      const value = await readFeedFiles(files);
      const shape = shapeFor(value, input.shape, `--input ${name}`);
      feeds[parseTensorName(input.tensor).node] = tf.tensor(Array.from(value.data), shape, tfjsDtype(input.dtype));
      given.add(name);
    }
    const missing = opened.inputs.filter((i) => !given.has(i.key));
    if (missing.length) {
      const listed = missing.map((i) => `${i.key} (${i.dtype}, shape ${i.shape ? `[${i.shape.join(', ')}]` : 'unknown'})`).join('; ');
      throw new UserError(`${opened.model.file}: feed signature "${key}" with --input KEY=FILE: ${listed}`);
    }
    const results = await model.run(feeds, opened.outputs.map((o) => o.tensor));
    const printed: Record<string, { dtype: string; shape: number[]; values: unknown }> = {};
    results.forEach((t, i) => {
      printed[opened.outputs[i].key] = { dtype: t.dtype, shape: t.shape, values: t.arraySync() };
    });
    if (flags.json) console.log(JSON.stringify(printed));
    else for (const [name, r] of Object.entries(printed)) console.log(`${name} ${r.dtype}[${r.shape.join(', ')}] ${JSON.stringify(r.values)}`);
    tf.dispose(results);
  } finally {
    tf.dispose(Object.values(feeds));
    model.dispose();
  }
}
