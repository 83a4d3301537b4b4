/**
 * The book's image-folder layout (`flower_photos/daisy/*.jpg`, …): one sub-folder per class, its
 * name the label. Each image is put into training, validation or testing by a hash of its file
 * name, as retrain.py's create_image_lists does, so adding images never moves existing ones
 * between sets.
 */
import { createHash } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileError, UserError } from '../errors.js';

export const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png'];

export type SetName = 'training' | 'validation' | 'testing';

export interface LabelledImage {
  file: string;
  label: number;
  set: SetName;
}

export interface ImageFolders {
  /** Class names (sub-folder names), sorted; a label is an index into this list. */
  classes: string[];
  images: LabelledImage[];
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw fileError(dir, code === 'ENOENT' ? 'no such directory' : code === 'ENOTDIR' ? 'not a directory' : (err as Error).message);
  }
}

/** retrain.py's which-set rule: SHA-1 of the file name (minus any `_nohash_` suffix) as a percentage. */
export function whichSet(file: string, validationPercent: number, testingPercent: number): SetName {
  const name = path.basename(file).replace(/_nohash_.*$/, '');
  const hash = createHash('sha1').update(name).digest();
  const percent = (hash.readUInt32BE(0) / 0x100000000) * 100;
  if (percent < validationPercent) return 'validation';
  if (percent < validationPercent + testingPercent) return 'testing';
  return 'training';
}

/** Reads `dir/<class>/<image>` (JPEG/PNG); an empty class folder or no class folder at all is an error. */
export function readImageFolders(dir: string, opts: { validationPercent?: number; testingPercent?: number } = {}): ImageFolders {
  const validation = opts.validationPercent ?? 10;
  const testing = opts.testingPercent ?? 10;
  if (validation < 0 || testing < 0 || validation + testing >= 100) {
    throw new UserError(`validation (${validation}%) and testing (${testing}%) percentages must be ≥ 0 and leave some images for training`);
  }
  const classes = listDir(dir).filter((name) => !name.startsWith('.') && statSync(path.join(dir, name)).isDirectory());
  if (classes.length < 2) throw fileError(dir, `expected one sub-folder of images per class, found ${classes.length} (${classes.join(', ') || 'none'})`);
  const images: LabelledImage[] = [];
  classes.forEach((name, label) => {
    const folder = path.join(dir, name);
    const files = listDir(folder).filter((f) => IMAGE_EXTENSIONS.includes(path.extname(f).toLowerCase()));
    if (!files.length) throw fileError(folder, `class folder holds no images (${IMAGE_EXTENSIONS.join(', ')})`);
    for (const f of files) {
      const file = path.join(folder, f);
      images.push({ file, label, set: whichSet(file, validation, testing) });
    }
  });
  return { classes, images };
}
