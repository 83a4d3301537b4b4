/**
 * OpDefs (signatures) of the TensorFlow ops our graphs use, for MetaInfoDef.stripped_op_list —
 * TensorFlow records the definition of every op a saved graph uses, so that a reader can apply
 * the producer's attribute defaults. Written in a compact form: `name:T` is an argument typed by
 * attr T, `name:DT_STRING` a fixed type, `name:&T` a reference; attrs are `name:type[=default]`.
 */
import { attr, type AttrValue, type OpDef, type TensorDType } from '../formats/graphdef.js';

type ArgDef = NonNullable<OpDef['input_arg']>[number];

function arg(spec: string): ArgDef {
  const [name, typeSpec] = spec.split(':');
  const isRef = typeSpec.startsWith('&');
  const t = isRef ? typeSpec.slice(1) : typeSpec;
  const out: ArgDef = { name };
  if (t.startsWith('DT_')) out.type = t;
  else if (t.startsWith('*')) out.type_list_attr = t.slice(1);
  else if (t.includes('*')) {
    const [n, ta] = t.split('*');
    out.number_attr = n;
    out.type_attr = ta;
  } else out.type_attr = t;
  if (isRef) out.is_ref = true;
  return out;
}

function defaultValue(type: string, text: string): AttrValue {
  switch (type) {
    case 'bool':
      return attr.b(text === 'true');
    case 'int':
      return attr.i(Number(text));
    case 'float':
      return attr.f(Number(text));
    case 'string':
      return attr.s(text);
    case 'type':
      return attr.type(text as TensorDType);
    case 'list(int)':
      return attr.ints(text.split(',').map(Number));
    default:
      throw new Error(`no default of type ${type}`);
  }
}

function op(name: string, inputs: string[], outputs: string[], attrs: string[] = [], flags: Partial<Pick<OpDef, 'is_stateful' | 'allows_uninitialized_input' | 'is_commutative' | 'is_aggregate'>> = {}): OpDef {
  return {
    name,
    input_arg: inputs.map(arg),
    output_arg: outputs.map(arg),
    attr: attrs.map((spec) => {
      const [head, def] = spec.split('=');
      const [attrName, type] = head.split(':');
      const a: NonNullable<OpDef['attr']>[number] = { name: attrName, type };
      if (def !== undefined) a.default_value = defaultValue(type, def);
      if (type === 'int' && attrName === 'N') {
        a.has_minimum = true;
        a.minimum = name === 'ConcatV2' ? 2 : 1;
      }
      if (type === 'list(type)') {
        a.has_minimum = true;
        a.minimum = 1;
      }
      return a;
    }),
    ...flags,
  };
}

const CONV_ATTRS = ['T:type', 'strides:list(int)', 'use_cudnn_on_gpu:bool=true', 'padding:string', 'data_format:string=NHWC', 'dilations:list(int)=1,1,1,1'];
const POOL_ATTRS = ['T:type', 'ksize:list(int)', 'strides:list(int)', 'padding:string', 'data_format:string=NHWC'];
const unary = (name: string) => op(name, ['x:T'], ['y:T'], ['T:type']);

const OP_DEFS: OpDef[] = [
  op('Abs', ['x:T'], ['y:T'], ['T:type']),
  op('Add', ['x:T', 'y:T'], ['z:T'], ['T:type']),
  op('ArgMax', ['input:T', 'dimension:Tidx'], ['output:output_type'], ['T:type', 'Tidx:type=int32', 'output_type:type=int64']),
  op('Assign', ['ref:&T', 'value:T'], ['output_ref:&T'], ['T:type', 'validate_shape:bool=true', 'use_locking:bool=true'], { allows_uninitialized_input: true }),
  op('AvgPool', ['value:T'], ['output:T'], POOL_ATTRS),
  op('BiasAdd', ['value:T', 'bias:T'], ['output:T'], ['T:type', 'data_format:string=NHWC']),
  op('ConcatV2', ['values:N*T', 'axis:Tidx'], ['output:T'], ['N:int', 'T:type', 'Tidx:type=int32']),
  op('Const', [], ['output:dtype'], ['value:tensor', 'dtype:type']),
  op('Conv2D', ['input:T', 'filter:T'], ['output:T'], CONV_ATTRS),
  op('FusedBatchNormV3', ['x:T', 'scale:U', 'offset:U', 'mean:U', 'variance:U'],
    ['y:T', 'batch_mean:U', 'batch_variance:U', 'reserve_space_1:U', 'reserve_space_2:U', 'reserve_space_3:U'],
    ['T:type', 'U:type', 'epsilon:float=0.0001', 'exponential_avg_factor:float=1', 'data_format:string=NHWC', 'is_training:bool=true']),
  op('Identity', ['input:T'], ['output:T'], ['T:type']),
  op('L2Loss', ['t:T'], ['output:T'], ['T:type']),
  op('MatMul', ['a:T', 'b:T'], ['product:T'], ['transpose_a:bool=false', 'transpose_b:bool=false', 'T:type']),
  op('MaxPool', ['input:T'], ['output:T'], ['T:type=float32', ...POOL_ATTRS.slice(1)]),
  op('Mul', ['x:T', 'y:T'], ['z:T'], ['T:type'], { is_commutative: true }),
  op('NoOp', [], []),
  op('Pad', ['input:T', 'paddings:Tpaddings'], ['output:T'], ['T:type', 'Tpaddings:type=int32']),
  op('Placeholder', [], ['output:dtype'], ['dtype:type', 'shape:shape']),
  op('RandomStandardNormal', ['shape:T'], ['output:dtype'], ['seed:int=0', 'seed2:int=0', 'dtype:type', 'T:type'], { is_stateful: true }),
  unary('Relu'),
  op('Reshape', ['tensor:T', 'shape:Tshape'], ['output:T'], ['T:type', 'Tshape:type=int32']),
  op('RestoreV2', ['prefix:DT_STRING', 'tensor_names:DT_STRING', 'shape_and_slices:DT_STRING'], ['tensors:*dtypes'], ['dtypes:list(type)'], { is_stateful: true }),
  op('SaveV2', ['prefix:DT_STRING', 'tensor_names:DT_STRING', 'shape_and_slices:DT_STRING', 'tensors:*dtypes'], [], ['dtypes:list(type)'], { is_stateful: true }),
  unary('Sigmoid'),
  op('Softmax', ['logits:T'], ['softmax:T'], ['T:type']),
  op('Sum', ['input:T', 'reduction_indices:Tidx'], ['output:T'], ['keep_dims:bool=false', 'T:type', 'Tidx:type=int32']),
  unary('Tanh'),
  op('TruncatedNormal', ['shape:T'], ['output:dtype'], ['seed:int=0', 'seed2:int=0', 'dtype:type', 'T:type'], { is_stateful: true }),
  op('VariableV2', [], ['ref:&dtype'], ['shape:shape', 'dtype:type', 'container:string=', 'shared_name:string='], { is_stateful: true }),
];

const BY_NAME = new Map(OP_DEFS.map((d) => [d.name, d]));

/** The OpDefs of these ops, sorted by name as TensorFlow lists them (ops without a recorded OpDef are left out). */
export function strippedOpList(ops: Iterable<string>): { op: OpDef[] } {
  const names = [...new Set(ops)].sort();
  return { op: names.flatMap((n) => BY_NAME.get(n) ?? []) };
}

export function hasOpDef(op: string): boolean {
  return BY_NAME.has(op);
}

/** The recorded OpDef of an op, if this project knows its signature. */
export function opDef(op: string): OpDef | undefined {
  return BY_NAME.get(op);
}
