/**
 * TensorFlow's graph messages — GraphDef (a frozen `.pb`), MetaGraphDef (a `model.ckpt-N.meta`),
 * VariableDef and TensorProto values — as plain objects, one module per concern. No tensor library
 * here: tensor values come out as typed arrays.
 */
export * from './graph-messages.js';
export * from './graph-codec.js';
export * from './tensor-value.js';
export * from './tensor-proto.js';
export * from './attr-values.js';
export * from './graph-names.js';
