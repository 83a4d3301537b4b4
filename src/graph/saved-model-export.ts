/**
 * `mnist export --format savedmodel`: a trained model as a TensorFlow 1.x SavedModel, what
 * `tf.saved_model.builder.SavedModelBuilder.add_meta_graph_and_variables(sess, ["serve"],
 * signature_def_map={"serving_default": predict_signature})` writes:
 *
 *   DIR/saved_model.pb                          SavedModel{schema 1, [MetaGraphDef tagged "serve"]}
 *   DIR/variables/variables.index               the variables (V2 checkpoint, EMA values when
 *   DIR/variables/variables.data-00000-of-00001 the model directory has them)
 *
 * The MetaGraphDef is the one `mnist train` writes with checkpoints (VariableV2 variables with
 * initializers, `init`, the saver subgraph and SaverDef that TensorFlow's loader runs to restore
 * `variables/variables`), limited to the model's own variables, plus `probabilities` (Softmax) and
 * `classes` (ArgMax, int64) and the `serving_default` predict signature:
 * images [-1, 784] float → probabilities [-1, 10] float, classes [-1] int64.
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { UserError } from '../errors.js';
import { writeBundle } from '../formats/bundle.js';
import type { TensorValue } from '../formats/tensor-value.js';
import { attr, shapeFromProto, type MetaGraphDef, type NodeDef } from '../formats/graphdef.js';
import { protoType } from '../formats/protos.js';
import type { Model } from '../models/model.js';
import { tempPathFor } from '../util/atomic-write.js';
import { variableValue } from './freeze.js';
import { DEFAULT_PROBABILITIES_NODE, withProbabilities } from './graphdef.js';
import { buildMetaGraph } from './metagraph.js';
import { metaVariable } from './model-metagraph.js';
import { strippedOpList } from './op-defs.js';
import { DEFAULT_SIGNATURE, SAVED_MODEL_FILE, SERVING_TAG, type SignatureDef } from './saved-model.js';

export const EXPORT_KEYS = { images: 'images', probabilities: 'probabilities', classes: 'classes' } as const;
const CLASSES_NODE = 'classes';
/** `tf.saved_model.signature_constants.PREDICT_METHOD_NAME`. */
const PREDICT_METHOD = 'tensorflow/serving/predict';

/** The serving MetaGraphDef of a model: its graph, variables, saver, `classes` and the predict signature. */
export function servingMetaGraph(model: Model): MetaGraphDef & { signature_def: Record<string, SignatureDef> } {
  const graph = withProbabilities(model.graph, model.output);
  const meta = buildMetaGraph({ graph, variables: model.store.all().map((v) => ({ ...metaVariable(v), regularizer: undefined })) });
  const nodes = meta.graph_def!.node;
  const placeholders = nodes.filter((n) => n.op === 'Placeholder');
  if (placeholders.length !== 1) throw new UserError(`model ${model.name}: expected one input placeholder, found ${placeholders.length}`);
  const input = placeholders[0];
  const classes: NodeDef[] = [
    { name: `${CLASSES_NODE}/dimension`, op: 'Const', input: [], attr: { dtype: attr.type('int32'), value: attr.tensor({ dtype: 'int32', shape: [], data: Int32Array.of(1) }) } },
    { name: CLASSES_NODE, op: 'ArgMax', input: [DEFAULT_PROBABILITIES_NODE, `${CLASSES_NODE}/dimension`], attr: { T: attr.type('float32'), Tidx: attr.type('int32'), output_type: attr.type('int64') } },
  ];
  nodes.push(...classes);
  const inputShape = shapeFromProto(input.attr?.shape?.shape) ?? [-1, 784];
  const signature: SignatureDef = {
    inputs: { [EXPORT_KEYS.images]: { name: `${input.name}:0`, dtype: 'DT_FLOAT', tensor_shape: { dim: inputShape.map((size) => ({ size })) } } },
    outputs: {
      [EXPORT_KEYS.probabilities]: { name: `${DEFAULT_PROBABILITIES_NODE}:0`, dtype: 'DT_FLOAT', tensor_shape: { dim: [{ size: -1 }, { size: classCount(model, inputShape) }] } },
      [EXPORT_KEYS.classes]: { name: `${CLASSES_NODE}:0`, dtype: 'DT_INT64', tensor_shape: { dim: [{ size: -1 }] } },
    },
    method_name: PREDICT_METHOD,
  };
  return {
    ...meta,
    meta_info_def: { ...meta.meta_info_def, tags: [SERVING_TAG], stripped_op_list: strippedOpList(nodes.map((n) => n.op)) },
    signature_def: { [DEFAULT_SIGNATURE]: signature },
  };
}

/** How many scores the model gives per image (one forward pass of a blank image). */
function classCount(model: Model, inputShape: number[]): number {
  const pixels = inputShape.slice(1).reduce((a, b) => a * Math.max(b, 1), 1);
  return tf.tidy(() => model.logits(tf.zeros([1, pixels]), false).shape[1] ?? -1);
}

/** The bytes of `saved_model.pb`. */
export function savedModelBytes(model: Model): Uint8Array {
  const T = protoType('tensorflow.SavedModel');
  return T.encode(T.fromObject({ saved_model_schema_version: 1, meta_graphs: [servingMetaGraph(model)] })).finish();
}

/**
 * Writes the SavedModel into `dir`, which must not exist or be empty (as TensorFlow's builder
 * insists). Everything is written into a temporary folder beside it and renamed into place, so a
 * failure leaves nothing behind.
 */
export function writeSavedModel(model: Model, dir: string): { files: string[]; variables: number } {
  if (existsSync(dir) && readdirSync(dir).length > 0) throw new UserError(`${dir}: export directory already exists and is not empty (SavedModels go into a new directory, e.g. export/2)`);
  const tensors: Array<[string, TensorValue]> = model.store.all().map((v) => [v.name, variableValue(model.store, v.name)]);
  const bundle = writeBundle(tensors);
  const pb = savedModelBytes(model);
  mkdirSync(path.dirname(path.resolve(dir)), { recursive: true });
  const tmp = tempPathFor(path.resolve(dir));
  try {
    mkdirSync(path.join(tmp, 'variables'), { recursive: true });
    writeFileSync(path.join(tmp, SAVED_MODEL_FILE), pb);
    writeFileSync(path.join(tmp, 'variables', 'variables.index'), bundle.index);
    writeFileSync(path.join(tmp, 'variables', 'variables.data-00000-of-00001'), bundle.data);
    if (existsSync(dir)) rmSync(dir, { recursive: true }); // the empty directory
    renameSync(tmp, dir);
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
  return {
    files: [SAVED_MODEL_FILE, 'variables/variables.index', 'variables/variables.data-00000-of-00001'].map((f) => path.join(dir, f)),
    variables: tensors.length,
  };
}
