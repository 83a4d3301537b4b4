/**
 * TensorFlow's graph messages (graph.proto, node_def.proto, attr_value.proto, meta_graph.proto…) as plain
 * objects: field names are TensorFlow's (snake_case), enums their names (`DT_FLOAT`, `V2`), int64s numbers.
 */

export interface TensorShapeProto {
  dim?: Array<{ size: number; name?: string }>;
  unknown_rank?: boolean;
}

export interface TensorProto {
  dtype: string;
  tensor_shape?: TensorShapeProto;
  tensor_content?: Uint8Array;
  float_val?: number[];
  double_val?: number[];
  int_val?: number[];
  int64_val?: number[];
  bool_val?: boolean[];
  string_val?: Uint8Array[];
  half_val?: number[];
}

export interface NameAttrList {
  name: string;
  attr?: Record<string, AttrValue>;
}

export interface AttrValue {
  s?: Uint8Array;
  i?: number;
  f?: number;
  b?: boolean;
  type?: string;
  shape?: TensorShapeProto;
  tensor?: TensorProto;
  list?: {
    s?: Uint8Array[];
    i?: number[];
    f?: number[];
    b?: boolean[];
    type?: string[];
    shape?: TensorShapeProto[];
    tensor?: TensorProto[];
    func?: NameAttrList[];
  };
  func?: NameAttrList;
  placeholder?: string;
}

export interface NodeDef {
  name: string;
  op: string;
  input?: string[];
  device?: string;
  attr?: Record<string, AttrValue>;
}

export interface VersionDef {
  producer?: number;
  min_consumer?: number;
  bad_consumers?: number[];
}

export interface GraphDef {
  node: NodeDef[];
  versions?: VersionDef;
  /** The functions nodes call (TensorFlow 2 keeps every tf.function body here). */
  library?: FunctionDefLibrary;
}

/**
 * A function of the library. Its body's inputs name an argument (`x`), an output of a body node as
 * `node:output_arg_name:index`, or a control dependency (`^node`); `ret` maps each output argument to
 * such a tensor.
 */
export interface FunctionDef {
  signature: OpDef;
  attr?: Record<string, AttrValue>;
  node_def?: NodeDef[];
  ret?: Record<string, string>;
  control_ret?: Record<string, string>;
}

export interface FunctionDefLibrary {
  function?: FunctionDef[];
  gradient?: Array<{ function_name: string; gradient_func: string }>;
}

export interface OpDef {
  name: string;
  input_arg?: Array<{ name: string; type?: string; type_attr?: string; number_attr?: string; type_list_attr?: string; is_ref?: boolean }>;
  output_arg?: Array<{ name: string; type?: string; type_attr?: string; number_attr?: string; type_list_attr?: string; is_ref?: boolean }>;
  attr?: Array<{ name: string; type: string; default_value?: AttrValue; has_minimum?: boolean; minimum?: number; allowed_values?: AttrValue }>;
  is_commutative?: boolean;
  is_aggregate?: boolean;
  is_stateful?: boolean;
  allows_uninitialized_input?: boolean;
}

export interface SaverDef {
  filename_tensor_name: string;
  save_tensor_name: string;
  restore_op_name: string;
  max_to_keep: number;
  sharded?: boolean;
  keep_checkpoint_every_n_hours: number;
  version: 'LEGACY' | 'V1' | 'V2';
}

export interface CollectionDef {
  node_list?: { value: string[] };
  bytes_list?: { value: Uint8Array[] };
  int64_list?: { value: number[] };
  float_list?: { value: number[] };
}

export interface MetaGraphDef {
  meta_info_def?: {
    meta_graph_version?: string;
    stripped_op_list?: { op: OpDef[] };
    tags?: string[];
    tensorflow_version?: string;
    tensorflow_git_version?: string;
    stripped_default_attrs?: boolean;
  };
  graph_def?: GraphDef;
  saver_def?: SaverDef;
  collection_def?: Record<string, CollectionDef>;
}

export interface VariableDef {
  variable_name: string;
  initial_value_name?: string;
  initializer_name?: string;
  snapshot_name?: string;
  is_resource?: boolean;
  trainable?: boolean;
}
