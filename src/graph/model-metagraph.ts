/**
 * The `.meta` of a training run: the model's variables (with their initializers and
 * regularizers), `global_step`, the EMA shadows and optimizer slots the checkpoint holds, and the
 * inference graph — computed once per run and written with every checkpoint.
 */
import type * as tf from '@tensorflow/tfjs';
import type { TensorDType } from '../formats/graphdef.js';
import type { Model } from '../models/model.js';
import { constant } from '../variables/initializers.js';
import type { VariableEntry } from '../variables/store.js';
import { metaGraphBytes, type MetaVariable } from './metagraph.js';

const EMA_SUFFIX = '/ExponentialMovingAverage';
/** Adam's accumulators start at β1 and β2. */
const CONSTANT_STARTS: Record<string, number> = { beta1_power: 0.9, beta2_power: 0.999 };

export interface ModelMetaGraphOptions {
  /** Name of the int64 step counter saved with the checkpoint, if any. */
  globalStep?: string;
  maxToKeep?: number;
}

function dtypeOf(v: tf.Variable): TensorDType {
  return v.dtype === 'int32' ? 'int32' : v.dtype === 'bool' ? 'bool' : 'float32';
}

/** A float32 variable of a VariableStore as the meta graph lists it. */
export function metaVariable(v: VariableEntry): MetaVariable {
  return { name: v.name, shape: [...v.shape], dtype: 'float32', trainable: v.trainable, initializer: v.initializer, regularizer: v.regularizer };
}

/** The variables of a training checkpoint (`trainingState()` plus the global step), as the meta graph lists them. */
export function trainingMetaVariables(model: Model, state: Map<string, tf.Variable>, options: ModelMetaGraphOptions = {}): MetaVariable[] {
  const modelVars = model.store.all();
  const own = new Set(modelVars.map((v) => v.name));
  const averaged = new Set([...state.keys()].filter((k) => k.endsWith(EMA_SUFFIX)).map((k) => k.slice(0, -EMA_SUFFIX.length)));
  const out: MetaVariable[] = modelVars.map((v) => ({ ...metaVariable(v), collections: averaged.has(v.name) ? ['moving_average_variables'] : undefined }));
  if (options.globalStep) out.push({ name: options.globalStep, shape: [], dtype: 'int64', trainable: false, collections: ['global_step'] });
  for (const [name, v] of state) {
    if (own.has(name)) continue;
    const extra: MetaVariable = { name, shape: [...v.shape], dtype: dtypeOf(v), trainable: false };
    if (name.endsWith(EMA_SUFFIX)) extra.initialValueOf = name.slice(0, -EMA_SUFFIX.length);
    else if (name in CONSTANT_STARTS) extra.initializer = constant(CONSTANT_STARTS[name]);
    out.push(extra);
  }
  return out;
}

/** Serialized MetaGraphDef for `model.ckpt-N.meta`. */
export function modelMetaGraph(model: Model, state: Map<string, tf.Variable>, options: ModelMetaGraphOptions = {}): Uint8Array {
  return metaGraphBytes({ graph: model.graph, variables: trainingMetaVariables(model, state, options), maxToKeep: options.maxToKeep });
}
