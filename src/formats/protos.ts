import protobuf from 'protobufjs';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * Loads the TensorFlow `.proto` files kept in the repository's `proto/` folder (TensorFlow's
 * message definitions, trimmed to what we use). The folder sits two levels above this module
 * both in `src/formats/` (tsx) and in `dist/formats/` (compiled), so one relative URL serves both.
 * Every `*.proto` file there is loaded; imports between them are resolved by base name.
 */
const PROTO_DIR = fileURLToPath(new URL('../../proto/', import.meta.url));

let root: protobuf.Root | undefined;

export function protoRoot(): protobuf.Root {
  if (!root) {
    const r = new protobuf.Root();
    r.resolvePath = (_origin, target) => PROTO_DIR + target.replace(/^.*\//, '');
    const files = readdirSync(PROTO_DIR).filter((f) => f.endsWith('.proto')).sort();
    r.loadSync(files, { keepCase: true });
    r.resolveAll();
    root = r;
  }
  return root;
}

export function protoType(fullName: string): protobuf.Type {
  return protoRoot().lookupType(fullName);
}

export function protoEnum(fullName: string): protobuf.Enum {
  return protoRoot().lookupEnum(fullName);
}
