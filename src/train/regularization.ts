import type { Model } from '../models/model.js';
import { GraphKeys, type VariableEntry } from '../variables/store.js';

/** The `losses` collection split into L2 terms on trainable variables (folded into the update) and the rest. */
export function splitRegularization(model: Model): { folded: VariableEntry[]; onTape: VariableEntry[] } {
  const folded: VariableEntry[] = [];
  const onTape: VariableEntry[] = [];
  for (const v of model.store.getCollection<VariableEntry>(GraphKeys.REGULARIZATION_LOSSES)) {
    (v.regularizer?.kind === 'l2' && v.trainable ? folded : onTape).push(v);
  }
  return { folded, onTape };
}

/** Each variable's folded L2 coefficient λ (0 where it has none), in the order of `variables`. */
export function foldedDecays(variables: VariableEntry[], folded: VariableEntry[]): number[] {
  return variables.map((t) => folded.reduce((sum, v) => (v === t ? sum + v.regularizer!.scale : sum), 0));
}
