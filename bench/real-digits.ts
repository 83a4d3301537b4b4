/**
 * Accuracy on the real-world-like digit images in test/fixtures/real-digits (see its README):
 * an image counts as right when the whole number is read exactly.
 *
 *   node --import tsx bench/real-digits.ts <model-dir | frozen.pb> [preprocess module]
 *
 * The optional module (a path to a preprocess.ts, e.g. from an older checkout) is used instead
 * of src/predict/preprocess.ts: one exporting only imageToMnist reads each image as one digit.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { selectBackend } from '../src/backend/select.js';
import { loadModel } from '../src/eval/evaluate.js';
import { predictWithGraph } from '../src/graph/predict-graph.js';
import { predictDigits, type Prediction } from '../src/predict/predict.js';

const [source, modulePath] = process.argv.slice(2);
if (!source) throw new Error('usage: bench/real-digits.ts <model-dir | frozen.pb> [preprocess module]');
const dir = 'test/fixtures/real-digits';
const labels = JSON.parse(readFileSync(path.join(dir, 'labels.json'), 'utf8')) as Record<string, string>;
type Pre = { imageToDigits?: (b: Uint8Array, f: string) => Promise<Array<{ pixels: Float32Array }>>; imageToMnist: (b: Uint8Array, f: string) => Promise<Float32Array> };
const pre = (await import(modulePath ? pathToFileURL(path.resolve(modulePath)).href : '../src/predict/preprocess.js')) as Pre;

await selectBackend('cpu');
let predict: (inputs: Float32Array[]) => Promise<Prediction[]>;
if (source.endsWith('.pb')) predict = (inputs) => predictWithGraph(source, inputs);
else {
  const { model } = loadModel(source, { useEma: true });
  predict = async (inputs) => predictDigits(model, inputs);
}

const byKind = new Map<string, { right: number; total: number }>();
const wrong: string[] = [];
for (const [file, label] of Object.entries(labels)) {
  const bytes = readFileSync(path.join(dir, file));
  let read: string;
  try {
    const inputs = pre.imageToDigits ? (await pre.imageToDigits(bytes, file)).map((d) => d.pixels) : [await pre.imageToMnist(bytes, file)];
    read = (await predict(inputs)).map((p) => p.digit).join('');
  } catch (err) {
    read = `error: ${(err as Error).message}`;
  }
  const kind = file.replace(/-.*$/, '') + (file.startsWith('typed-number') ? '-number' : '');
  const k = byKind.get(kind) ?? { right: 0, total: 0 };
  k.total++;
  if (read === label) k.right++;
  else wrong.push(`${file}: ${label} read as ${read}`);
  byKind.set(kind, k);
}
let right = 0;
let total = 0;
for (const [kind, k] of byKind) {
  console.log(`${kind.padEnd(14)} ${k.right}/${k.total}`);
  right += k.right;
  total += k.total;
}
console.log(`all            ${right}/${total} = ${((100 * right) / total).toFixed(1)} %`);
if (process.env.VERBOSE) console.log(wrong.join('\n'));
