/**
 * mnist-ts: the TensorFlow book's MNIST system as a library. Train, evaluate and predict with the
 * book's recipes, in TensorFlow's own checkpoint format. See docs/api.md.
 *
 * Byte-level TensorFlow formats (no Node, no TensorFlow.js): `mnist-ts/formats`.
 * Checkpoints on disk: `mnist-ts/checkpoint`. Frozen graphs and MetaGraphs: `mnist-ts/graph`.
 */
export { train, type TrainRunOptions, type TrainSummary } from './api/train.js';
export { openModel, type OpenModelOptions, type OpenedModel, type EvaluateOptions } from './api/model.js';
export type { Prediction } from './predict/predict.js';
export type { StepInfo } from './train/train.js';
export { imageToMnist } from './predict/preprocess.js';
export { selectBackend, backendInfo, BACKEND_CHOICES, type BackendChoice, type BackendInfo } from './backend/select.js';
export { modelNames, getModelDefinition } from './models/registry.js';
export type { ModelDefinition } from './models/model.js';
export { BOOK_DEFAULTS, exponentialDecay, type TrainDefaults, type OptimizerName } from './train/config.js';
export { resolveRecipe, type RecipeRequest, type ResolvedRecipe } from './train/recipe.js';
export { AUGMENT_KINDS, type AugmentKind } from './data/augment.js';
export { loadMnist, IMAGE_SIZE, IMAGE_PIXELS, NUM_CLASSES, type Mnist, type MnistSplit, type LoadOptions } from './data/mnist.js';
export { UserError } from './errors.js';
