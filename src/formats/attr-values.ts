/**
 * AttrValue builders and readers, as TensorFlow writes them.
 */
import { AttrValue } from './graph-messages.js';
import { shapeProto, tensorProto } from './tensor-proto.js';
import { dtypeEnum, type TensorDType, type TensorValue } from './tensor-value.js';

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder();

export const attr = {
  type: (dtype: TensorDType): AttrValue => ({ type: dtypeEnum(dtype) }),
  s: (value: string): AttrValue => ({ s: utf8.encode(value) }),
  i: (value: number): AttrValue => ({ i: value }),
  f: (value: number): AttrValue => ({ f: value }),
  b: (value: boolean): AttrValue => ({ b: value }),
  shape: (shape: ReadonlyArray<number | null>): AttrValue => ({ shape: shapeProto(shape) }),
  unknownShape: (): AttrValue => ({ shape: { unknown_rank: true } }),
  ints: (values: number[]): AttrValue => ({ list: { i: values } }),
  strings: (values: string[]): AttrValue => ({ list: { s: values.map((v) => utf8.encode(v)) } }),
  types: (values: TensorDType[]): AttrValue => ({ list: { type: values.map(dtypeEnum) } }),
  tensor: (value: TensorValue): AttrValue => ({ tensor: tensorProto(value) }),
};

export function attrString(value: AttrValue | undefined): string | undefined {
  return value?.s === undefined ? undefined : utf8Decoder.decode(value.s);
}

export function textBytes(value: string): Uint8Array {
  return utf8.encode(value);
}

export function bytesText(value: Uint8Array): string {
  return utf8Decoder.decode(value);
}
