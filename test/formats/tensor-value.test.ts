import { test } from 'node:test';
import assert from 'node:assert/strict';
import { protoEnum } from '../../src/formats/protos.js';
import { DTYPES, dataMatchesDType, dtypeEnum, dtypeFromEnum, dtypeFromEnumValue, numericDataFromBytes, zerosData, type TensorDType } from '../../src/formats/tensor-value.js';
import { tensorFromProto, tensorProto } from '../../src/formats/tensor-proto.js';
import { decodeTensor, readBundleIndex, writeBundle } from '../../src/formats/bundle.js';

const dtypes = Object.keys(DTYPES) as TensorDType[];

test("the dtype table's enum names and numbers are TensorFlow's (types.proto)", () => {
  const DataType = protoEnum('tensorflow.DataType');
  for (const dtype of dtypes) {
    const { enumName, enumValue } = DTYPES[dtype];
    assert.equal(DataType.values[enumName], enumValue, dtype);
    assert.equal(dtypeEnum(dtype), enumName);
    assert.equal(dtypeFromEnum(enumName), dtype);
    assert.equal(dtypeFromEnumValue(enumValue), dtype);
  }
  assert.equal(dtypeFromEnum('DT_HALF'), undefined);
  assert.equal(dtypeFromEnumValue(19), undefined);
  assert.equal(dtypeFromEnum('toString'), undefined);
});

test("the dtype table's byte sizes are its typed arrays' and the bytes decode little-endian", () => {
  for (const dtype of dtypes) {
    const { array, bytes } = DTYPES[dtype];
    assert.equal(bytes, array?.BYTES_PER_ELEMENT ?? 0, dtype);
    const zeros = zerosData(dtype, 3);
    assert.equal(zeros.length, 3);
    assert.ok(dataMatchesDType(dtype, zeros), dtype);
  }
  assert.deepEqual(numericDataFromBytes('int16', Uint8Array.from([0x01, 0x80, 0xff, 0x7f])), Int16Array.from([-32767, 32767]));
  assert.ok(!dataMatchesDType('int8', new Uint8Array(1)));
  assert.ok(!dataMatchesDType('string', new Uint8Array(1)));
});

test('one TensorValue goes through a checkpoint and a TensorProto unchanged, for every dtype', () => {
  const values: Record<TensorDType, ArrayLike<unknown>> = {
    float32: Float32Array.from([1.5, -2]), float64: Float64Array.from([Math.PI, -1e300]), int32: Int32Array.from([-7, 2 ** 31 - 1]),
    uint8: Uint8Array.from([0, 255]), int16: Int16Array.from([-32768, 5]), int8: Int8Array.from([-128, 127]),
    string: [Uint8Array.from([104, 105]), new Uint8Array(0)], int64: BigInt64Array.from([-(2n ** 40n), 3n]), bool: Uint8Array.from([1, 0]),
  };
  for (const dtype of dtypes) {
    const t = { dtype, shape: [2], data: values[dtype] as never };
    const files = writeBundle([['t', t]]);
    const [entry] = readBundleIndex(files.index, 't.index').entries;
    assert.deepEqual(decodeTensor(entry, files.data, 't.data'), t, `${dtype} through a checkpoint`);
    assert.deepEqual(tensorFromProto(tensorProto(t), 'const'), t, `${dtype} through a TensorProto`);
  }
});
