/**
 * `mnist-ts/checkpoint`: TensorFlow V2 checkpoints on disk (Node): read any TensorFlow-written
 * checkpoint, save tensors the way tf.train.Saver does (byte-identical files, the `checkpoint`
 * state file, max_to_keep), restore into TensorFlow.js variables. For bytes in memory (a browser),
 * use `CheckpointBytesReader` from `mnist-ts/formats`.
 */
export { CheckpointReader, resolveCheckpointPrefix, type TensorInfo } from './reader.js';
export { Saver, getCheckpointState, latestCheckpoint, type SaverOptions, type SaveOptions } from './saver.js';
export { tensorsToCheckpoint, restoreVariables, int64Scalar, type SaveValue, type RestoreOptions } from './tf-variables.js';
export { tensorTable, formatTensorTable, type TensorRow } from './inspect.js';
export type { TensorValue, TensorDType } from '../formats/tensor-value.js';
export type { CheckpointState } from '../formats/checkpoint-state.js';
