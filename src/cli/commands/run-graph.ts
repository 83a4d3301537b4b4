import type { Command } from 'commander';
import * as tf from '@tensorflow/tfjs';
import { quoted, UserError } from '../../errors.js';
import { parseTensorName } from '../../formats/graphdef.js';
import { parseInputFlag, readFeedFiles, shapeFor } from '../../graph/feeds.js';
import { openGraph } from '../../graph/load.js';
import { FrozenGraph } from '../../graph/tfjs-model.js';
import { addBackendOption, useBackend, type BackendFlag } from '../options.js';

interface RunGraphFlags {
  input?: string[];
  output?: string[];
  checkpoint?: string;
  ema?: boolean;
  json?: boolean;
  backend?: BackendFlag;
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
    .argument('<graph>', 'a frozen GraphDef (.pb), a MetaGraphDef (.meta) or a TensorFlow.js graph model (model.json)')
    .option('-i, --input <name=file>', 'feed a placeholder: an image (MNIST-style preprocessing), a .json array or a .npy file; several images separated by commas form a batch (repeatable)', collect)
    .option('--output <name:0>', 'tensor to compute (repeatable; default: the nodes nothing else uses)', collect)
    .option('--checkpoint <prefix>', 'for a .meta graph: the checkpoint to restore (default: the .meta path without .meta)')
    .option('--ema', 'for a .meta graph: restore the moving averages (NAME/ExponentialMovingAverage) into the variables')
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
  mnist run-graph web-model/model.json --input x-input=digit.png`,
  );
  cmd.action(async (file: string, flags: RunGraphFlags) => {
    const inputFlags = flags.input ?? [];
    const outputFlags = flags.output ?? [];
    await useBackend(flags.backend, true);
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
