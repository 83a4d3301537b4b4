/**
 * `mnist-ts/formats`: TensorFlow's file formats over bytes (`Uint8Array`), with no Node module and
 * no tensor library, so it runs in a browser as is. Every damaged input throws a `UserError`
 * whose message names the file and the problem.
 */
export { UserError, fileError } from '../errors.js';
export { crc32c, crc32cExtend, maskCrc, unmaskCrc, maskedCrc32c } from './crc32c.js';
export { frameRecord, encodeTFRecords, decodeTFRecords, detectCompression, type TFRecordReadOptions, type TFRecordCompression } from './tfrecord-frame.js';
export {
  encodeExample, decodeExample, parseSingleExample, bytesFeature, floatFeature, int64Feature, fixedLenFeature, varLenFeature,
  type Feature, type Features, type DecodedFeature, type FeatureSpec, type FeatureDtype, type ParsedExample,
} from './example.js';
export { DTYPES, elementCount, type TensorValue, type TensorDType, type TensorData, type DTypeInfo } from './tensor-value.js';
export {
  writeBundle, readBundleIndex, decodeTensor, dataFileName, indexFileName,
  type BundleEntry, type BundleHeader, type BundleIndex, type BundleFiles, type BundleWriteOptions,
} from './bundle.js';
export { CheckpointBytesReader, type CheckpointBytes } from './bundle-bytes.js';
export { parseCheckpointState, formatCheckpointState, CHECKPOINT_STATE_FILE, type CheckpointState } from './checkpoint-state.js';
export {
  decodeGraphDef, encodeGraphDef, decodeMetaGraphDef, encodeMetaGraphDef, tensorFromProto, tensorProto, parseTensorName,
  type GraphDef, type NodeDef, type AttrValue, type MetaGraphDef, type TensorProto,
} from './graphdef.js';
export { TableReader, TableBuilder, type TableEntry, type TableOptions } from './sstable.js';
export { parseIdxBytes, encodeIdx, type IdxArray } from './idx.js';
