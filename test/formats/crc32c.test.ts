import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32c, crc32cExtend, maskCrc, maskedCrc32c, unmaskCrc } from '../../src/formats/crc32c.js';

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

test('crc32c of the standard check string', () => {
  assert.equal(crc32c(ascii('123456789')), 0xe3069283);
  assert.equal(crc32c(new Uint8Array(0)), 0);
});

test('crc32c vectors from RFC 3720 (iSCSI)', () => {
  assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa);
  assert.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
  assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i)), 0x46dd794e);
  assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i)), 0x113fdb5c);
});

test('crc32cExtend over pieces equals crc32c of the whole', () => {
  const data = Uint8Array.from({ length: 1000 }, (_, i) => (i * 7919) & 0xff);
  for (const cut of [0, 1, 7, 8, 9, 500, 999, 1000]) {
    assert.equal(crc32cExtend(crc32c(data.subarray(0, cut)), data.subarray(cut)), crc32c(data));
  }
});

test('masking matches the values TensorFlow stored for v1=[1.0] and v2=[2.0]', () => {
  // ckpt_v1_v2/model.ckpt.index stores crc32c 0x2bdaa581 for float 1.0 and 0x4f78fd10 for 2.0.
  assert.equal(maskedCrc32c(new Uint8Array(new Float32Array([1]).buffer)), 0x2bdaa581);
  assert.equal(maskedCrc32c(new Uint8Array(new Float32Array([2]).buffer)), 0x4f78fd10);
  assert.equal(maskCrc(0), 0xa282ead8);
  for (const c of [0, 1, 0xe3069283, 0xffffffff, 0x80000000]) assert.equal(unmaskCrc(maskCrc(c)), c);
  assert.notEqual(maskCrc(0xe3069283), 0xe3069283);
});
