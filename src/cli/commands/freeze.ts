import type { Command } from 'commander';
import { loadModel } from '../../eval/evaluate.js';
import { encodeGraphDef } from '../../formats/graphdef.js';
import { defaultOutputs, freezeModel } from '../../graph/freeze.js';
import { writeFileAtomic } from '../../util/atomic-write.js';
import { addBackendOption, addModelOptions, useBackend, type BackendFlag } from '../options.js';

interface FreezeFlags {
  modelDir: string;
  model?: string;
  checkpoint?: string;
  outputNode?: string[];
  ema: boolean;
  output: string;
  backend?: BackendFlag;
}

const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];

export function register(program: Command): void {
  const cmd = program
    .command('freeze')
    .description('write a trained model as one frozen TensorFlow GraphDef (.pb): variables become constants (convert_variables_to_constants)')
    .option('--output-node <name>', 'node to keep, with everything it needs (repeatable; default: the logits node and "probabilities", a Softmax of them)', collect)
    .requiredOption('-o, --output <file>', 'the .pb file to write');
  addModelOptions(cmd, { checkpoint: 'checkpoint to freeze: a global step N (model.ckpt-N in the model directory) or a path prefix (default: the newest)', ema: 'freeze the raw variables instead of their moving averages' });
  addBackendOption(cmd);
  cmd.addHelpText(
    'after',
    `
The GraphDef uses TensorFlow's op names and attributes (Placeholder, Const, MatMul, Add, BiasAdd,
Relu, Conv2D, MaxPool, Reshape, Softmax…) and the book's node names: the input is "x-input", each
variable a Const named as the variable ("layer1/weights") read through "layer1/weights/read".
TensorFlow loads it with tf.GraphDef.ParseFromString + tf.import_graph_def; \`mnist run-graph\` runs it.

Examples:
  mnist freeze --model-dir runs/mlp -o mlp.pb
  mnist freeze --model-dir runs/mlp --output-node layer2/add -o logits.pb
  mnist run-graph mlp.pb --input x-input=digit.png --output probabilities:0`,
  );
  cmd.action(async (flags: FreezeFlags) => {
    await useBackend(flags.backend, true);
    const loaded = loadModel(flags.modelDir, { useEma: flags.ema, model: flags.model, checkpoint: flags.checkpoint });
    try {
      const outputs = flags.outputNode?.length ? flags.outputNode : defaultOutputs(loaded.model);
      const graph = freezeModel(loaded.model, { outputs });
      const bytes = encodeGraphDef(graph);
      await writeFileAtomic(flags.output, bytes);
      const frozen = graph.node.filter((n) => n.op === 'Const' && graph.node.some((r) => r.name === `${n.name}/read`)).length;
      console.log(
        `Froze ${frozen} variables of ${loaded.model.name} (${loaded.usedEma ? 'moving averages' : 'raw values'}, step ${loaded.globalStep}) into ${flags.output} (${bytes.length} bytes); outputs: ${outputs.join(', ')}`,
      );
    } finally {
      loaded.model.dispose();
    }
  });
}
