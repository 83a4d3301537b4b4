import { BatchIterator } from '../src/data/batches.js';
import { loadMnist } from '../src/data/mnist.js';
import { Model } from '../src/models/model.js';
import { getModelDefinition } from '../src/models/registry.js';
import { BOOK_DEFAULTS } from '../src/train/config.js';
import { ExponentialMovingAverage } from '../src/train/ema.js';
import { createOptimizer } from '../src/train/optimizers.js';
import { l2Regularizer } from '../src/variables/regularizers.js';

/**
 * What `mnist train` sets up for a registry model with its default recipe, for the benches that
 * time its step: the model (seed 1), optimizer with slots, moving averages (0.99 when the recipe
 * has none) and batches of the first 5,000 training images.
 */
export function trainingSetup(modelName: string) {
  const definition = getModelDefinition(modelName);
  const config = { ...BOOK_DEFAULTS, ...definition.defaults };
  const model = Model.build(definition, { seed: 1, regularizer: config.l2 > 0 ? l2Regularizer(config.l2) : undefined });
  const trainable = model.store.trainable();
  const optimizer = createOptimizer(config.optimizer, { momentum: config.momentum });
  optimizer.createSlots(trainable);
  const ema = new ExponentialMovingAverage(config.ema || 0.99);
  ema.createShadows(trainable);
  const batches = new BatchIterator(loadMnist({ limit: 5000 }).train, config.batchSize, 1);
  return { config, model, trainable, optimizer, ema, batches };
}
