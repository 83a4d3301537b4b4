import protobuf from 'protobufjs';
import { TF_PROTOS } from './tf-protos.js';

/**
 * TensorFlow's message definitions (proto/*.proto, trimmed to what we use), compiled into
 * tf-protos.ts by scripts/gen-protos.mjs so that this layer reads no file and runs in a browser.
 */
let root: protobuf.Root | undefined;

export function protoRoot(): protobuf.Root {
  if (!root) {
    root = protobuf.Root.fromJSON(TF_PROTOS);
    root.resolveAll();
  }
  return root;
}

export function protoType(fullName: string): protobuf.Type {
  return protoRoot().lookupType(fullName);
}

export function protoEnum(fullName: string): protobuf.Enum {
  return protoRoot().lookupEnum(fullName);
}
