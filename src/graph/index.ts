/**
 * `mnist-ts/graph`: TensorFlow graphs on disk (Node) and in TensorFlow.js — open a frozen
 * GraphDef (`.pb`), a MetaGraphDef (`.meta`) restored from its checkpoint, or a TensorFlow.js
 * graph model, and run it; freeze one of our models into a `.pb` TensorFlow can load.
 */
export { openGraph, readGraphBytes, type OpenGraphOptions } from './load.js';
export { FrozenGraph, type GraphInput } from './tfjs-model.js';
export { freezeModel, freezeModelToBytes, type FreezeModelOptions } from './freeze.js';
export { restoreMetaGraph, type RestoreGraphOptions } from './meta-import.js';
export { predictWithGraph } from './predict-graph.js';
