import { readFileSync } from 'node:fs';
import { fileError, UserError } from '../errors.js';

/**
 * A file-system error about `file` as a one-line UserError naming it: Node's own messages lack
 * the path when a read (not the open) fails, as reading a directory does on Linux.
 * `what` is what the file should have been (`a graph file`).
 */
export function readFailure(file: string, err: unknown, what = 'a file'): UserError {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
      return fileError(file, 'no such file');
    case 'EISDIR':
      return fileError(file, `is a directory, not ${what}`);
    case 'ENOTDIR':
      return fileError(file, 'no such file (a folder on its path is a file)');
    case 'EACCES':
    case 'EPERM':
      return fileError(file, 'permission denied');
    default:
      return fileError(file, `cannot be read (${code ?? (err instanceof Error ? err.message : String(err))})`);
  }
}

/** readFileSync with every failure turned into a one-line UserError naming the file. */
export function readFileOrFail(file: string, what = 'a file'): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw readFailure(file, err, what);
  }
}
