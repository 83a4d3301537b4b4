import { UserError } from '../errors.js';
import type { ModelDefinition } from './model.js';
import { mlp, softmax } from './mlp.js';
import { bookCnn, deepCnn, fastCnn, fastCnn995, lenet5, vggBn, vggCnn } from './cnn.js';
import { inceptionMini } from './inception.js';

/** Every model `--model NAME` accepts; a new model adds one line here. */
const MODELS: ModelDefinition[] = [mlp, softmax, bookCnn, lenet5, deepCnn, inceptionMini, vggCnn, vggBn, fastCnn, fastCnn995];

export function modelNames(): string[] {
  return MODELS.map((m) => m.name);
}

export function getModelDefinition(name: string): ModelDefinition {
  const def = MODELS.find((m) => m.name === name);
  if (!def) throw new UserError(`unknown model "${name}" (known: ${modelNames().join(', ')})`);
  return def;
}

export function listModels(): ModelDefinition[] {
  return [...MODELS];
}
