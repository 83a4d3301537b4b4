// The PyTorch twin's command line (bench/chain_torch.py) for `mnist train --model NAME [flags]`:
// the model's layer chain and the recipe `mnist train` would resolve for it.
import * as tf from '@tensorflow/tfjs';
import type { AugmentKind } from '../src/data/augment.js';
import { parseTrainFlags } from '../src/cli/commands/train.js';
import { UserError } from '../src/errors.js';
import { layerChain, type ChainLayer } from '../src/models/layer-chain.js';
import { Model } from '../src/models/model.js';
import { getModelDefinition } from '../src/models/registry.js';
import type { TrainDefaults } from '../src/train/config.js';
import { resolveRecipe } from '../src/train/recipe.js';
import type { Initializer } from '../src/variables/initializers.js';
import { l2Regularizer } from '../src/variables/regularizers.js';

/** A chain layer as the twin takes it: the layer, its variables' initializers and whether the recipe's L2 applies to its weights. */
export type TwinLayer = ChainLayer & { init: { weight: Initializer; bias: Initializer }; l2: boolean };

export interface ChainTwin {
  layers: TwinLayer[];
  recipe: TrainDefaults;
  augment: AugmentKind | undefined;
  /** bench/chain_torch.py's arguments for that network and recipe (without --seed, --threads, --time-steps). */
  args: string[];
}

/**
 * The twin of `mnist train --model modelName ...extra`: the model's layer chain with each layer's
 * initializers and L2 membership, and the recipe resolved as `mnist train` resolves it for a fresh
 * run. A model that is not a layer chain, or a recipe the twin cannot follow, is a one-line error.
 */
export function chainTwin(modelName: string, extra: string[] = []): ChainTwin {
  const definition = getModelDefinition(modelName);
  // The variables live on tfjs's cpu backend for this moment: no "use tfjs-node" banner.
  const backend = tf.backend() as unknown as { firstUse?: boolean };
  if ('firstUse' in backend) backend.firstUse = false;
  // Built with some L2 so the variables show which weights the model regularises; the scale is the recipe's.
  const model = Model.build(definition, { regularizer: l2Regularizer(1) });
  try {
    const chain = layerChain(model);
    if (!chain) throw new UserError(`${modelName} is not a layer chain (conv layers then dense layers): the PyTorch twin cannot build it (use --no-torch)`);
    let next = 0;
    const layers = chain.layers.map((layer): TwinLayer => {
      const weight = chain.variables[next++];
      // A batch-normalised layer's γ (1) and β (0) start where PyTorch's BatchNorm2d starts; it has no bias.
      const bias = layer.kind === 'conv' && layer.batchNorm ? chain.variables[(next += 2) - 1] : chain.variables[next++];
      return { ...layer, init: { weight: weight.initializer, bias: bias.initializer }, l2: weight.regularizer !== undefined };
    });
    const { overrides, augment: augmentFlag } = parseTrainFlags(extra);
    const resolved = resolveRecipe({ modelDir: '/nonexistent/mnist-ts-twin', model: modelName, fresh: true, overrides, augment: augmentFlag });
    const { config: recipe, augment } = resolved;
    if (augment === 'elastic') throw new UserError('the PyTorch twin has no elastic augmentation (use --no-torch, or --augment affine|light)');
    if (!['sgd', 'momentum', 'adam'].includes(recipe.optimizer)) throw new UserError(`the PyTorch twin has no ${recipe.optimizer} optimizer`);
    const args = [
      '--layers', JSON.stringify(layers),
      '--steps', String(recipe.steps), '--batch', String(recipe.batchSize),
      '--optimizer', recipe.optimizer, '--lr', String(recipe.learningRate),
      ...(recipe.optimizer === 'adam' ? ['--beta1', String(recipe.beta1 ?? 0.9), '--beta2', String(recipe.beta2 ?? 0.999)] : []),
      ...(recipe.optimizer === 'momentum' ? ['--momentum', String(recipe.momentum)] : []),
      ...(recipe.schedule === 'one-cycle'
        ? ['--schedule', 'one-cycle', '--warmup', String(recipe.warmup ?? 0.2)]
        : ['--schedule', 'exponential', '--decay-rate', String(recipe.decayRate), '--staircase', recipe.staircase ? '1' : '0',
          ...(recipe.decaySteps !== undefined ? ['--decay-steps', String(recipe.decaySteps)] : [])]),
      '--l2', String(recipe.l2), '--ema', String(recipe.ema), '--label-smoothing', String(recipe.labelSmoothing ?? 0),
      ...(augment ? ['--augment', augment] : []),
      ...(recipe.validationSize !== undefined ? ['--validation-size', String(recipe.validationSize)] : []),
    ];
    return { layers, recipe, augment, args };
  } finally {
    model.dispose();
  }
}
