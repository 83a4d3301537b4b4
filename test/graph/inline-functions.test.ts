import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../../src/errors.js';
import { tensorProto, type FunctionDef, type GraphDef, type NodeDef, type OpDef } from '../../src/formats/graphdef.js';
import { addDefaultAttrs, callsFunctions, inlineFunctions, prepareInlinedGraph } from '../../src/graph/inline-functions.js';
import { FrozenGraph } from '../../src/graph/tfjs-model.js';

const F = { type: 'DT_FLOAT' };
const userError = (pattern: RegExp) => (e: unknown) => e instanceof UserError && pattern.test(e.message) && !e.message.includes('\n');
const types = (...t: string[]) => ({ list: { type: t } });
const call = (name: string, fn: string, input: string[], tout: string[], op = 'StatefulPartitionedCall'): NodeDef => ({ name, op, input, attr: { f: { func: { name: fn } }, Tout: types(...tout) } });

/** Split has a list output (`output: num_split * T`): `halves:output:1` is flat output 1. */
const SPLIT: OpDef = {
  name: 'Split',
  input_arg: [{ name: 'split_dim', type: 'DT_INT32' }, { name: 'value', type_attr: 'T' }],
  output_arg: [{ name: 'output', type_attr: 'T', number_attr: 'num_split' }],
  attr: [{ name: 'num_split', type: 'int' }, { name: 'T', type: 'type' }],
};

// inner(a, b) → (s = a + b, p = a · b): two output arguments, so `inner:p:0` is flat output 1.
const INNER: FunctionDef = {
  signature: { name: 'inner', input_arg: [{ name: 'a', type: 'DT_FLOAT' }, { name: 'b', type: 'DT_FLOAT' }], output_arg: [{ name: 's', type: 'DT_FLOAT' }, { name: 'p', type: 'DT_FLOAT' }] },
  node_def: [
    { name: 'sum', op: 'AddV2', input: ['a', 'b'], attr: { T: F } },
    { name: 'prod', op: 'Mul', input: ['a', 'b'], attr: { T: F } },
  ],
  ret: { s: 'sum:z:0', p: 'prod:z:0' },
};

// outer(x, w) → (y = x·(x·w) + x·x, h = second half of 2x), through a StatefulPartitionedCall, a
// direct call (op = the function's name), a list output, and TF 2's automatic control dependencies.
const OUTER: FunctionDef = {
  signature: { name: 'outer', input_arg: [{ name: 'x', type: 'DT_FLOAT' }, { name: 'w', type: 'DT_FLOAT' }], output_arg: [{ name: 'y', type: 'DT_FLOAT' }, { name: 'h', type: 'DT_FLOAT' }] },
  node_def: [
    { name: 'scaled', op: 'Mul', input: ['x', 'w'], attr: { T: F } },
    call('call', 'inner', ['x', 'scaled:z:0'], ['DT_FLOAT', 'DT_FLOAT']),
    { name: 'direct', op: 'inner', input: ['x', 'x'], attr: {} },
    { name: 'dim', op: 'Const', input: [], attr: { dtype: { type: 'DT_INT32' }, value: { tensor: tensorProto({ dtype: 'int32', shape: [], data: Int32Array.of(0) }) } } },
    { name: 'halves', op: 'Split', input: ['dim:output:0', 'direct:s:0'], attr: { num_split: { i: 2 }, T: F } },
    { name: 'total', op: 'AddV2', input: ['call:output:1', 'direct:p:0'], attr: { T: F } },
    { name: 'NoOp', op: 'NoOp', input: ['^call'], attr: {} },
    { name: 'Identity', op: 'Identity', input: ['total:z:0', '^NoOp'], attr: { T: F } },
  ],
  ret: { y: 'Identity:output:0', h: 'halves:output:1' },
  control_ret: { call: 'call' },
};

function graphCalling(library: FunctionDef[], extra: NodeDef[] = []): GraphDef {
  return {
    node: [
      { name: 'x', op: 'Placeholder', input: [], attr: { dtype: F, shape: { shape: { dim: [{ size: 4 }] } } } },
      { name: 'w', op: 'Const', input: [], attr: { dtype: F, value: { tensor: tensorProto({ dtype: 'float32', shape: [], data: Float32Array.of(10) }) } } },
      call('r', 'outer', ['x', 'w'], ['DT_FLOAT', 'DT_FLOAT']),
      ...extra,
    ],
    library: { function: library },
  };
}

test('calls become the called bodies: arguments, node:out:i names and list outputs made flat', () => {
  const graph = graphCalling([INNER, OUTER]);
  assert.ok(callsFunctions(graph));
  const inlined = inlineFunctions(graph, { file: 'g.pb', opDefs: [SPLIT] });
  assert.equal(inlined.library, undefined);
  assert.ok(!callsFunctions(inlined));
  const byName = new Map(inlined.node.map((n) => [n.name, n]));
  // Arguments are the caller's tensors; body nodes live under the call's name.
  assert.deepEqual(byName.get('r/scaled')?.input, ['x', 'w']);
  assert.deepEqual(byName.get('r/call/prod')?.input, ['x', 'r/scaled:0']);
  assert.deepEqual(byName.get('r/direct/sum')?.input, ['x', 'x']);
  // `direct:s:0` → output 0, `direct:p:0` → output 1, `call:output:1` → 1, `halves:output:1` → 1.
  assert.deepEqual(byName.get('r/halves')?.input, ['r/dim:0', 'r/direct:0']);
  assert.deepEqual(byName.get('r/total')?.input, ['r/call:1', 'r/direct:1']);
  assert.deepEqual(byName.get('r/Identity')?.input, ['r/total:0', '^r/NoOp']);
  // Each call is left as an IdentityN of what it returns, so `r:0`, `r:1` and `^r/call` still mean the same.
  assert.deepEqual(byName.get('r/direct'), { name: 'r/direct', op: 'IdentityN', input: ['r/direct/sum:0', 'r/direct/prod:0'], attr: { T: types('DT_FLOAT', 'DT_FLOAT') } });
  assert.deepEqual(byName.get('r')?.input, ['r/Identity:0', 'r/halves:1', '^r/call']);
  assert.equal(byName.get('r/call')?.op, 'IdentityN');
});

test('the inlined graph runs on TensorFlow.js and computes what the functions say', async () => {
  const inlined = inlineFunctions(graphCalling([INNER, OUTER]), { file: 'g.pb', opDefs: [SPLIT] });
  const ready = prepareInlinedGraph(inlined, ['r:0', 'r:1'], 'g.pb');
  assert.ok(ready.node.every((n) => !(n.input ?? []).some((i) => i.startsWith('^'))), 'no control inputs left');
  assert.deepEqual(ready.node.filter((n) => n.op === 'IdentityN').map((n) => n.name), ['r'], 'calls read through, except the fetched one');
  assert.ok(!ready.node.some((n) => n.op === 'NoOp'));
  const model = FrozenGraph.load(ready, 'g.pb');
  try {
    const x = [1, 2, 3, 4];
    const feed = tf.tensor1d(x);
    const [y, h] = await model.run({ x: feed }, ['r:0', 'r:1']);
    assert.deepEqual(Array.from(y.dataSync()), x.map((v) => v * v * 10 + v * v));
    assert.deepEqual(Array.from(h.dataSync()), [6, 8]);
    tf.dispose([feed, y, h]);
  } finally {
    model.dispose();
  }
});

test('what cannot be inlined is a one-line error naming the node or function', () => {
  const file = { file: 'g.pb', opDefs: [SPLIT] };
  assert.throws(() => inlineFunctions(graphCalling([INNER]), file), userError(/^g\.pb: node "r" calls function "outer", which is not in the graph's function library$/));
  const loop: FunctionDef = { signature: { name: 'outer', input_arg: [{ name: 'x', type: 'DT_FLOAT' }, { name: 'w', type: 'DT_FLOAT' }], output_arg: [{ name: 'y', type: 'DT_FLOAT' }] }, node_def: [call('again', 'outer', ['x', 'w'], ['DT_FLOAT'])], ret: { y: 'again:output:0' } };
  assert.throws(() => inlineFunctions(graphCalling([loop]), file), userError(/function "outer" calls itself/));
  const unknown: FunctionDef = { ...loop, node_def: [{ name: 'frob', op: 'Frobnicate', input: ['x'], attr: {} }], ret: { y: 'frob:out:0' } };
  assert.throws(() => inlineFunctions(graphCalling([unknown]), file), userError(/op Frobnicate \(node "frob" in function "outer"\) has no recorded OpDef/));
  const badOutput: FunctionDef = { ...loop, node_def: [{ name: 'm', op: 'Mul', input: ['x', 'w'], attr: { T: F } }], ret: { y: 'm:nope:0' } };
  assert.throws(() => inlineFunctions(graphCalling([badOutput]), file), userError(/function "outer": node "m" \(Mul\) has no output "nope:0"/));
  const badInput: FunctionDef = { ...loop, node_def: [{ name: 'm', op: 'Mul', input: ['x', 'missing'], attr: { T: F } }], ret: { y: 'm:z:0' } };
  assert.throws(() => inlineFunctions(graphCalling([badInput]), file), userError(/node "m" reads "missing", which is neither an argument nor an output/));
  const oneArg: FunctionDef = { ...loop, signature: { ...loop.signature, input_arg: [{ name: 'x', type: 'DT_FLOAT' }] }, node_def: [], ret: { y: 'x' } };
  assert.throws(() => inlineFunctions(graphCalling([oneArg]), file), userError(/node "r" passes 2 input\(s\) to function "outer", which takes 1/));
  const nameless = { ...INNER, node_def: [{ name: '', op: 'AddV2', input: ['a', 'b'] }] };
  assert.throws(() => inlineFunctions(graphCalling([nameless, OUTER]), file), userError(/function "inner" has a node without a name \(damaged graph\?\)/));
  assert.throws(() => inlineFunctions(graphCalling([{ ...INNER, signature: { name: '' } }]), file), userError(/function 0 of the graph's library has no name/));
  const clash = graphCalling([INNER, OUTER], [{ name: 'r/scaled', op: 'NoOp', input: [], attr: {} }]);
  assert.throws(() => inlineFunctions(clash, file), userError(/inlining gives two nodes named "r\/scaled"/));
  const noF: NodeDef = { name: 'r', op: 'PartitionedCall', input: [], attr: {} };
  assert.throws(() => inlineFunctions({ node: [noF] }, file), userError(/node "r" \(PartitionedCall\) names no function/));
});

test('a signature that would change a variable is refused; one that only reads is not', () => {
  const update: FunctionDef = {
    signature: { name: 'outer', input_arg: [{ name: 'x', type: 'DT_FLOAT' }, { name: 'w', type: 'DT_RESOURCE' }], output_arg: [{ name: 'y', type: 'DT_FLOAT' }] },
    node_def: [
      { name: 'assign', op: 'AssignAddVariableOp', input: ['w', 'x'], attr: { dtype: F } },
      { name: 'Identity', op: 'Identity', input: ['x', '^assign'], attr: { T: F } },
    ],
    ret: { y: 'Identity:output:0' },
  };
  const graph: GraphDef = { ...graphCalling([update]), node: graphCalling([update]).node.map((n) => (n.name === 'r' ? call('r', 'outer', ['x', 'w'], ['DT_FLOAT']) : n)) };
  const inlined = inlineFunctions(graph, { file: 'g.pb' });
  assert.throws(() => prepareInlinedGraph(inlined, ['r:0'], 'g.pb'), userError(/^g\.pb: op AssignAddVariableOp \(node "r\/assign"\) changes state/));
  const readOnly = { ...update, node_def: [update.node_def![1]].map((n) => ({ ...n, input: ['x'] })) };
  const fine = inlineFunctions({ ...graph, library: { function: [readOnly] } }, { file: 'g.pb' });
  assert.deepEqual(prepareInlinedGraph(fine, ['r:0'], 'g.pb').node.map((n) => n.name), ['x', 'r/Identity', 'r']);
});

test('TF 2 control flow (an If running branch functions) left after inlining is a one-line error', () => {
  const branch: FunctionDef = { signature: { name: 'then_fn', input_arg: [{ name: 'x', type: 'DT_FLOAT' }], output_arg: [{ name: 'y', type: 'DT_FLOAT' }] }, node_def: [], ret: { y: 'x' } };
  const cond: FunctionDef = {
    signature: { name: 'outer', input_arg: [{ name: 'x', type: 'DT_FLOAT' }, { name: 'w', type: 'DT_FLOAT' }], output_arg: [{ name: 'y', type: 'DT_FLOAT' }] },
    node_def: [{ name: 'if', op: 'StatelessIf', input: ['w', 'x'], attr: { then_branch: { func: { name: 'then_fn' } }, else_branch: { func: { name: 'then_fn' } }, Tout: types('DT_FLOAT') } }],
    ret: { y: 'if:output:0' },
  };
  const graph = graphCalling([branch, cond]);
  const inlined = inlineFunctions({ ...graph, node: graph.node.map((n) => (n.name === 'r' ? call('r', 'outer', ['x', 'w'], ['DT_FLOAT']) : n)) }, { file: 'g.pb', opDefs: [{ name: 'StatelessIf', output_arg: [{ name: 'output', type_list_attr: 'Tout' }] }] });
  assert.throws(() => prepareInlinedGraph(inlined, ['r:0'], 'g.pb'), userError(/^g\.pb: op StatelessIf \(node "r\/if"\) runs function "then_fn" \(TF 2 control flow: tf\.cond, tf\.while_loop…\), which is not supported$/));
});

test('attributes stripped because they held their default are put back from the OpDefs', () => {
  const conv: OpDef = { name: 'Conv2D', attr: [{ name: 'T', type: 'type' }, { name: 'dilations', type: 'list(int)', default_value: { list: { i: [1, 1, 1, 1] } } }, { name: 'data_format', type: 'string', default_value: { s: Buffer.from('NHWC') } }] };
  const graph: GraphDef = { node: [{ name: 'c', op: 'Conv2D', input: [], attr: { T: F, data_format: { s: Buffer.from('NCHW') } } }] };
  const [node] = addDefaultAttrs(graph, [conv]).node;
  assert.deepEqual(node.attr?.dilations, { list: { i: [1, 1, 1, 1] } });
  assert.equal(Buffer.from(node.attr!.data_format.s!).toString(), 'NCHW', 'attributes present are kept');
});
