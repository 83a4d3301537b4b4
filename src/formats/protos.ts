import protobuf from 'protobufjs';
import { quoted } from '../errors.js';
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

/**
 * Decodes `bytes` as a message of `type`, turning every way that can fail into a short reason
 * (a one-line string) instead of a protobufjs or JavaScript error: the decoder's own complaints,
 * nesting deep enough to overflow the stack, and what the decoder lets through but `toObject`
 * cannot take (a map entry without its value, which protobufjs leaves as null).
 */
export function decodeProto(type: protobuf.Type, bytes: Uint8Array): { message: protobuf.Message } | { problem: string } {
  let message: protobuf.Message;
  try {
    message = type.decode(bytes);
  } catch (err) {
    return { problem: decodeFailure(err) };
  }
  const missing = findMissingValue(type, message as unknown as Fields, type.name);
  if (missing) return { problem: `${missing} has no value` };
  return { message };
}

/** Why protobufjs could not decode a message, in a few words of ours. */
export function decodeFailure(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof RangeError && /call stack/i.test(message)) return 'messages nested too deeply';
  const wireType = /invalid wire type (\d+) at offset (\d+)/.exec(message);
  if (wireType) return `invalid field encoding (wire type ${wireType[1]}) at byte ${wireType[2]}`;
  if (/index out of range/.test(message)) return 'a field runs past the end of its message';
  if (/invalid varint/.test(message)) return 'a number is encoded with more than 10 bytes';
  if (/nesting depth/.test(message)) return 'messages nested too deeply';
  if (/missing required/.test(message)) return message.replace(/\s+/g, ' ');
  return `undecodable protobuf data (${message.replace(/\s+/g, ' ').slice(0, 100)})`;
}

type Fields = Record<string, unknown>;

/** Where a message-typed map value is missing (`GraphDef.node "add".attr["T"]`), or undefined. */
function findMissingValue(type: protobuf.Type, message: Fields, at: string, depth = 0): string | undefined {
  if (depth > 100) return undefined; // decode already bounds the nesting; this only guards the walk
  for (const field of type.fieldsArray) {
    const value = message[field.name];
    const sub = field.resolvedType;
    if (value === undefined || value === null || !(sub instanceof protobuf.Type)) continue;
    if (field.map) {
      for (const [key, v] of Object.entries(value as Fields)) {
        const where = `${at}.${field.name}[${quoted(key)}]`;
        if (v === null || v === undefined) return where;
        const inner = findMissingValue(sub, v as Fields, where, depth + 1);
        if (inner) return inner;
      }
    } else if (field.repeated) {
      const items = value as Fields[];
      for (let i = 0; i < items.length; i++) {
        const name = items[i].name;
        const where = `${at}.${field.name}${typeof name === 'string' && name ? ` ${quoted(name)}` : `[${i}]`}`;
        const inner = findMissingValue(sub, items[i], where, depth + 1);
        if (inner) return inner;
      }
    } else {
      const inner = findMissingValue(sub, value as Fields, `${at}.${field.name}`, depth + 1);
      if (inner) return inner;
    }
  }
  return undefined;
}
