import { readFileOrFail } from '../../util/read-file.js';
import path from 'node:path';
import type { Command } from 'commander';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../backend/select.js';
import { UserError } from '../../errors.js';
import * as img from '../../image/ops.js';
import { writeFileAtomic } from '../../util/atomic-write.js';
import { Random } from '../../util/random.js';
import { positiveInt } from '../options.js';

interface ImageFlags {
  input: string;
  output: string;
  seed?: number;
  quality?: number;
}

type Op = (x: img.Image, rng: Random) => img.Image;

const OP_HELP = `
Operations (applied left to right to a float image in [0, 1], like the book's tf.image calls):
  resize=HxW[:METHOD]        METHOD bilinear (default), nearest, bicubic, area, or 0..3 as in resize_images
  crop-or-pad=HxW            resize_image_with_crop_or_pad
  central-crop=F             central_crop, keep fraction F of each side
  crop=TOP,LEFT,HxW          crop_to_bounding_box
  pad=TOP,LEFT,HxW           pad_to_bounding_box
  flip-lr | flip-ud          flip_left_right / flip_up_down
  random-flip-lr | random-flip-ud
  brightness=D               adjust_brightness (add D)
  contrast=F                 adjust_contrast
  hue=D                      adjust_hue (D in turns, -1..1; wraps around)
  saturation=F               adjust_saturation
  random-brightness=MAX      random-contrast=LO,HI      random-hue=MAX      random-saturation=LO,HI
  distort-color=0|1          the book's distort_color with colour ordering 0 or 1
  standardize                per_image_standardization
  clip                       clip_by_value(x, 0, 1)
  draw-boxes=Y0,X0,Y1,X1[/…] draw_bounding_boxes, relative coordinates
  distorted-crop[=COVER]     sample_distorted_bounding_box (min_object_covered COVER, default 0.1) + slice
  preprocess=HxW             the book's preprocess_for_train (crop, random resize method, flip, colours)
The result is written as PNG or JPEG by the output file's extension (values outside [0, 1] are clipped).`;

export function register(program: Command): void {
  const cmd = program
    .command('image')
    .description("apply a chain of the book's tf.image operations to a PNG/JPEG file")
    .argument('<ops...>', 'operations, see below')
    .requiredOption('-i, --input <file>', 'PNG or JPEG image to read')
    .requiredOption('-o, --output <file>', 'where to write the result (.png, .jpg or .jpeg)')
    .option('--seed <n>', 'seed for the random operations', (v) => positiveInt(String(Number(v) + 1)) - 1)
    .option('--quality <q>', 'JPEG quality 1..100 (TF default 95)', positiveInt);
  cmd.addHelpText(
    'after',
    `${OP_HELP}

Examples:
  mnist image resize=28x28 flip-lr standardize -i a.jpg -o b.png
  mnist image resize=300x300:bicubic -i cat.jpg -o cat-bicubic.png
  mnist image brightness=-0.5 brightness=0.7 clip -i cat.jpg -o multi-step.png
  mnist image draw-boxes=0.1,0.4,0.9,0.8/0.1,0.5,0.36,0.76 -i cat.jpg -o boxes.png
  mnist image preprocess=299x299 --seed 3 -i cat.jpg -o train-sample.jpg`,
  );
  cmd.action(async (specs: string[], flags: ImageFlags) => {
    const ops = specs.map(parseOp);
    // Small images, element-wise ops and JS loops: the plain cpu backend is the predictable choice.
    await selectBackend('cpu');
    const format = outputFormat(flags.output);
    const bytes = readFileOrFail(flags.input, 'an image');
    const decoded = await img.decodeImage(bytes, { source: flags.input });
    const rng = new Random(flags.seed ?? Math.floor(Math.random() * 2 ** 32));
    const float = img.convertImageDtype(decoded, 'float32');
    decoded.dispose();
    let result: img.Image;
    try {
      result = img.chain(float, ops.map((op) => (x: img.Image) => op(x, rng)));
    } catch (e) {
      if (e instanceof UserError) throw new UserError(`${flags.input}: ${e.message}`);
      throw e;
    }
    const encoded = format === 'png' ? await img.encodePng(result) : await img.encodeJpeg(result, { quality: flags.quality });
    await writeFileAtomic(flags.output, encoded);
    console.log(`${flags.output}: ${result.shape.join('x')} (${specs.join(' → ')})`);
    tf.dispose([float, result]);
  });
}

function outputFormat(file: string): 'png' | 'jpeg' {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.png') return 'png';
  if (ext === '.jpg' || ext === '.jpeg') return 'jpeg';
  throw new UserError(`${file}: output must end in .png, .jpg or .jpeg`);
}

function bad(spec: string, why: string): UserError {
  return new UserError(`image op "${spec}": ${why} (see mnist image --help)`);
}

function num(spec: string, s: string | undefined): number {
  const n = Number(s);
  if (s === undefined || s.trim() === '' || !Number.isFinite(n)) throw bad(spec, `expected a number, got "${s ?? ''}"`);
  return n;
}

function size(spec: string, s: string | undefined): [number, number] {
  const m = /^(\d+)x(\d+)$/.exec(s ?? '');
  if (!m || Number(m[1]) === 0 || Number(m[2]) === 0) throw bad(spec, `expected HxW like 28x28, got "${s ?? ''}"`);
  return [Number(m[1]), Number(m[2])];
}

function nums(spec: string, s: string | undefined, count: number): number[] {
  const parts = (s ?? '').split(',');
  if (parts.length !== count) throw bad(spec, `expected ${count} comma-separated numbers`);
  return parts.map((p) => num(spec, p));
}

function offsetsAndSize(spec: string, s: string | undefined): [number, number, number, number] {
  const parts = (s ?? '').split(',');
  if (parts.length !== 3) throw bad(spec, 'expected TOP,LEFT,HxW');
  const [h, w] = size(spec, parts[2]);
  return [num(spec, parts[0]), num(spec, parts[1]), h, w];
}

function method(spec: string, s: string | undefined): img.ResizeMethod {
  if (s === undefined) return 'bilinear';
  if (/^[0-3]$/.test(s)) return img.RESIZE_METHODS[Number(s)];
  if ((img.RESIZE_METHODS as readonly string[]).includes(s)) return s as img.ResizeMethod;
  throw bad(spec, `unknown resize method "${s}"`);
}

/** The operations that take one number: `brightness=0.2`, `random-hue=0.1`… */
const ONE_NUMBER_ADJUSTMENTS = new Map<string, (x: img.Image, v: number, rng: Random) => img.Image>([
  ['brightness', (x, d) => img.adjustBrightness(x, d)],
  ['contrast', (x, f) => img.adjustContrast(x, f)],
  ['hue', (x, d) => img.adjustHue(x, d)],
  ['saturation', (x, f) => img.adjustSaturation(x, f)],
  ['random-brightness', (x, d, rng) => img.randomBrightness(x, d, rng)],
  ['random-hue', (x, d, rng) => img.randomHue(x, d, rng)],
]);

/** Parses one `name[=args]` operation. */
export function parseOp(spec: string): Op {
  const eq = spec.indexOf('=');
  const name = eq < 0 ? spec : spec.slice(0, eq);
  const arg = eq < 0 ? undefined : spec.slice(eq + 1);
  const adjust = ONE_NUMBER_ADJUSTMENTS.get(name);
  if (adjust) {
    const v = num(spec, arg);
    return (x, rng) => adjust(x, v, rng);
  }
  switch (name) {
    case 'resize': {
      const [dims, m] = (arg ?? '').split(':');
      const hw = size(spec, dims);
      const how = method(spec, m);
      return (x) => img.resize(x, hw, how);
    }
    case 'crop-or-pad': {
      const [h, w] = size(spec, arg);
      return (x) => img.resizeWithCropOrPad(x, h, w);
    }
    case 'central-crop': {
      const f = num(spec, arg);
      return (x) => img.centralCrop(x, f);
    }
    case 'crop': {
      const [t, l, h, w] = offsetsAndSize(spec, arg);
      return (x) => img.cropToBoundingBox(x, t, l, h, w);
    }
    case 'pad': {
      const [t, l, h, w] = offsetsAndSize(spec, arg);
      return (x) => img.padToBoundingBox(x, t, l, h, w);
    }
    case 'flip-lr':
      return (x) => img.flipLeftRight(x);
    case 'flip-ud':
      return (x) => img.flipUpDown(x);
    case 'random-flip-lr':
      return (x, rng) => img.randomFlipLeftRight(x, rng);
    case 'random-flip-ud':
      return (x, rng) => img.randomFlipUpDown(x, rng);
    case 'random-contrast': {
      const [lo, hi] = nums(spec, arg, 2);
      return (x, rng) => img.randomContrast(x, lo, hi, rng);
    }
    case 'random-saturation': {
      const [lo, hi] = nums(spec, arg, 2);
      return (x, rng) => img.randomSaturation(x, lo, hi, rng);
    }
    case 'distort-color': {
      const o = num(spec, arg ?? '0');
      if (o !== 0 && o !== 1) throw bad(spec, 'colour ordering must be 0 or 1');
      return (x, rng) => img.distortColor(x, o, rng);
    }
    case 'standardize':
      return (x) => img.perImageStandardization(x);
    case 'clip':
      return (x) => img.clip(x);
    case 'draw-boxes': {
      const boxes = (arg ?? '').split('/').map((b) => nums(spec, b, 4) as img.Box);
      return (x) => img.drawBoundingBoxes(x, boxes);
    }
    case 'distorted-crop': {
      const cover = arg === undefined ? 0.1 : num(spec, arg);
      return (x, rng) => {
        const { begin, size: sz } = img.sampleDistortedBoundingBox(x.shape, [], rng, { minObjectCovered: cover });
        return img.cropToBoundingBox(x, begin[0], begin[1], sz[0], sz[1]);
      };
    }
    case 'preprocess': {
      const [h, w] = size(spec, arg);
      return (x, rng) => img.preprocessForTrain(x, h, w, [], rng);
    }
    default:
      throw bad(spec, 'unknown operation');
  }
}
