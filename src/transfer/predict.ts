/** `mnist predict --model-dir DIR` on a transfer model: image → frozen graph → bottleneck → new layer. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { CheckpointReader } from '../checkpoint/reader.js';
import { latestCheckpoint } from '../checkpoint/saver.js';
import { restoreVariables } from '../checkpoint/tf-variables.js';
import { UserError } from '../errors.js';
import { openGraph } from '../graph/load.js';
import { FrozenGraph } from '../graph/tfjs-model.js';
import { BottleneckGraph, imageToInput } from './bottlenecks.js';
import { FinalLayer } from './final-layer.js';
import { readTransferInfo } from './model-dir.js';

export interface ClassPrediction {
  label: number;
  className: string;
  probabilities: number[];
}

export async function predictTransfer(modelDir: string, files: string[]): Promise<{ classes: string[]; predictions: ClassPrediction[] }> {
  const info = readTransferInfo(modelDir);
  const checkpoint = latestCheckpoint(modelDir);
  if (!checkpoint) throw new UserError(`${modelDir}: no checkpoint of the final layer found (run mnist transfer -o ${modelDir})`);
  const graphFile = path.join(modelDir, info.graph);
  const frozen = FrozenGraph.load(openGraph(graphFile), graphFile);
  const layer = FinalLayer.build(info.bottleneckSize, info.classes.length);
  try {
    restoreVariables(CheckpointReader.open(checkpoint), Object.fromEntries(layer.store.all().map((v) => [v.name, v.variable])));
    const graph = await BottleneckGraph.open(frozen, new Uint8Array(), info.input, info.bottleneck, info.inputSpec);
    const inputs = await Promise.all(files.map((f) => imageToInput(readImage(f), f, graph.spec)));
    const probabilities = layer.probabilities(inputs.length ? await graph.run(inputs) : []);
    return {
      classes: info.classes,
      predictions: probabilities.map((p) => {
        const label = p.indexOf(Math.max(...p));
        return { label, className: info.classes[label], probabilities: p };
      }),
    };
  } finally {
    layer.dispose();
    frozen.dispose();
  }
}

function readImage(file: string): Uint8Array {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new UserError(`${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
}
