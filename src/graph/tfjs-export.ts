/**
 * A frozen GraphDef as a TensorFlow.js graph model on disk — `model.json` (format "graph-model",
 * the GraphDef as `modelTopology`, a weights manifest) and `weights.bin` — the layout
 * tensorflowjs_converter writes and `tf.loadGraphModel(url)` reads in the browser or Node.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { GraphDef } from '../formats/graphdef.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { graphDefToArtifacts } from './tfjs-model.js';

export const WEIGHTS_FILE = 'weights.bin';

export interface TfjsModelFiles {
  modelJson: string;
  weights: Uint8Array;
}

export function tfjsModelFiles(graph: GraphDef, file: string): TfjsModelFiles {
  const { modelTopology, weightSpecs, weightData } = graphDefToArtifacts(graph, file);
  const modelJson = {
    format: 'graph-model',
    generatedBy: 'mnist-ts',
    convertedBy: 'mnist-ts',
    modelTopology,
    weightsManifest: [{ paths: [WEIGHTS_FILE], weights: weightSpecs }],
  };
  return { modelJson: JSON.stringify(modelJson), weights: new Uint8Array(weightData) };
}

/** Writes `DIR/model.json` and `DIR/weights.bin`; returns their paths. */
export async function writeTfjsModel(graph: GraphDef, file: string, dir: string): Promise<{ modelJson: string; weights: string; bytes: number }> {
  const { modelJson, weights } = tfjsModelFiles(graph, file);
  await mkdir(dir, { recursive: true });
  const weightsPath = path.join(dir, WEIGHTS_FILE);
  const jsonPath = path.join(dir, 'model.json');
  // Weights first: a model.json on disk always has its weights beside it.
  await writeFileAtomic(weightsPath, weights);
  await writeFileAtomic(jsonPath, modelJson);
  return { modelJson: jsonPath, weights: weightsPath, bytes: weights.length };
}
