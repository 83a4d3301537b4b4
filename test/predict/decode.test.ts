import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createDeflate } from 'node:zlib';
import sharp from 'sharp';
import { UserError } from '../../src/errors.js';
import { DECODE_MAX_SIDE, ImageTooLargeError, decodeGrey } from '../../src/predict/decode.js';

function peakRssMiB(): number {
  if (!existsSync('/proc/self/status')) return NaN;
  const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

function crc32(bytes: Uint8Array): number {
  let c = ~0;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return ~c >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const out = Buffer.alloc(body.length + 8);
  out.writeUInt32BE(data.length, 0);
  body.copy(out, 4);
  out.writeUInt32BE(crc32(body), body.length + 4);
  return out;
}

/** A valid all-white grey PNG of any size, built row by row: a few hundred KiB for 8192². */
async function blankPng(width: number, height: number): Promise<Buffer> {
  const deflate = createDeflate({ level: 9 });
  const parts: Buffer[] = [];
  deflate.on('data', (c: Buffer) => parts.push(c));
  const done = new Promise((r) => deflate.on('end', r));
  const row = Buffer.alloc(width + 1, 255);
  row[0] = 0; // filter: none
  for (let y = 0; y < height; y++) if (!deflate.write(row)) await new Promise((r) => deflate.once('drain', r));
  deflate.end();
  await done;
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 0, 0, 0, 0], 8); // 8-bit grey
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', Buffer.concat(parts)), chunk('IEND', new Uint8Array())]);
}

// First in this file, while the process's peak RSS is still low.
test('a 4096×4096 RGBA upload decodes in one streaming pass to a small grey image, without a big allocation', async () => {
  const side = 4096;
  const ink = await sharp(Buffer.alloc(3000 * 3000 * 4, 0).fill(255, 0, 3000 * 3000 * 4), { raw: { width: 3000, height: 3000, channels: 4 } }).png().toBuffer();
  const png = await sharp({ create: { width: side, height: side, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } })
    .composite([{ input: ink, left: 548, top: 548 }])
    .png()
    .toBuffer();
  const before = peakRssMiB();
  const t = performance.now();
  const grey = await decodeGrey(png, 'big.png');
  const ms = performance.now() - t;
  const grown = peakRssMiB() - before;
  assert.equal(grey.width, DECODE_MAX_SIDE);
  assert.equal(grey.height, DECODE_MAX_SIDE);
  // white ink on transparency → black behind it
  assert.equal(grey.pixels[0], 0);
  assert.ok(grey.pixels[(DECODE_MAX_SIDE / 2) * DECODE_MAX_SIDE + DECODE_MAX_SIDE / 2] > 250);
  // A full RGBA decode is 64 MiB (and the old code decoded it twice).
  if (!Number.isNaN(grown)) assert.ok(grown < 40, `peak RSS grew by ${grown.toFixed(0)} MiB`);
  console.log(`# 4096² RGBA PNG → ${grey.width}×${grey.height} grey in ${ms.toFixed(0)} ms, peak RSS +${grown.toFixed(0)} MiB`);
});

test('an image with too many pixels is refused from its header, quickly and without decoding', async () => {
  const png = await blankPng(8192, 8192);
  assert.ok(png.length < 1 << 20, `${png.length} bytes`);
  const before = peakRssMiB();
  const t = performance.now();
  await assert.rejects(decodeGrey(png, 'huge.png'), (e: unknown) => e instanceof ImageTooLargeError && /^huge\.png: image is 8192×8192 \(67.1 megapixels\); at most 16.8 megapixels/.test(e.message));
  const ms = performance.now() - t;
  assert.ok(ms < 300, `took ${ms.toFixed(0)} ms`);
  const grown = peakRssMiB() - before;
  if (!Number.isNaN(grown)) assert.ok(grown < 20, `peak RSS grew by ${grown.toFixed(0)} MiB`);
});

test('formats other than PNG, JPEG, WebP, GIF and TIFF are refused (SVG is rendered, not decoded)', async () => {
  const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100"><text x="10" y="80" font-size="80">7</text></svg>');
  await assert.rejects(decodeGrey(svg, 'seven.svg'), (e: unknown) => e instanceof UserError && /^seven\.svg: not a readable image/.test(e.message));
});

test('a JPEG larger than the PNG limit is still read: it is shrunk while it loads', async () => {
  const jpeg = await sharp({ create: { width: 6000, height: 4000, channels: 3, background: '#ffffff' } }).jpeg().toBuffer();
  const grey = await decodeGrey(jpeg, 'photo.jpg');
  assert.deepEqual([grey.width, grey.height], [512, 341]);
});

test('small images are not enlarged', async () => {
  const png = await sharp({ create: { width: 40, height: 30, channels: 3, background: '#808080' } }).png().toBuffer();
  const grey = await decodeGrey(png, 'small.png');
  assert.deepEqual([grey.width, grey.height, grey.pixels.length], [40, 30, 1200]);
});
