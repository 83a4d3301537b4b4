/**
 * The book §5.3: tf.get_variable / tf.variable_scope with our VariableStore. Creating a name twice
 * outside reuse is an error; reuse=True fetches instead; reuse is inherited by inner scopes; names
 * nest as scope/scope/name; the empty scope with reuse reaches any variable by its full name.
 * (TensorFlow prints names with the tensor suffix `:0`; the store keeps the checkpoint name.)
 *
 *   node --import tsx examples/variable-scopes.ts
 */
import { constant } from '../src/variables/initializers.js';
import { VariableStore } from '../src/variables/store.js';
import { runIfMain, type Print } from './lib/main.js';
import { pythonBool } from './lib/numpy-print.js';

export function run(print: Print): void {
  const store = new VariableStore();

  // Same name twice in one scope: TensorFlow's ValueError.
  const v = store.variableScope('foo', () => store.getVariable('v', [1], { initializer: constant(1.0) }));
  try {
    store.variableScope('foo', () => store.getVariable('v', [1], { initializer: constant(1.0) }));
  } catch (err) {
    print(`ValueError: ${(err as Error).message}`);
  }
  // reuse=True fetches the existing variable.
  const v1 = store.variableScope('foo', { reuse: true }, () => store.getVariable('v', [1]));
  print(pythonBool(v1 === v));

  // reuse is inherited: root False, son True, grandson True.
  store.variableScope('root', () => {
    print(pythonBool(store.reuse === true));
    store.variableScope('son', { reuse: true }, () => {
      print(pythonBool(store.reuse === true));
      store.variableScope('grandson', () => print(pythonBool(store.reuse === true)));
    });
  });

  // Names nest with the scopes.
  const name = (full: string) => `${full}:0`;
  store.getVariable('w', [1]);
  print(name('w'));
  store.variableScope('space1', () => {
    store.getVariable('w', [1]);
    print(name(`${store.scopeName}/w`));
    store.variableScope('space2', () => {
      store.getVariable('w', [1]);
      print(name(`${store.scopeName}/w`));
    });
  });

  // The empty scope with reuse=True reaches a variable by its full name.
  const w3 = store.get('space1/space2/w')!.variable;
  const w4 = store.variableScope('', { reuse: true }, () => store.getVariable('space1/space2/w', [1]));
  print(pythonBool(w4 === w3));
  store.dispose();
}

await runIfMain(import.meta.url, run);
