import { promises as fs, writeFileSync, renameSync, unlinkSync, openSync, fsyncSync, closeSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileError } from '../errors.js';

/** A temporary name beside `target`, unique to this process, so a rename publishes it atomically. */
export function tempPathFor(target: string): string {
  const dir = path.dirname(target);
  return path.join(dir, `.tmp-${path.basename(target)}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
}

/**
 * Writes a file so that readers see either the old content or the whole new content, never a
 * partial file: write to a temporary file in the same directory, fsync, then rename over the target.
 */
export async function writeFileAtomic(target: string, data: Uint8Array | string): Promise<void> {
  const tmp = tempPathFor(target);
  try {
    await fs.mkdir(path.dirname(target), { recursive: true });
    const handle = await fs.open(tmp, 'w');
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(tmp, target);
  } catch (err) {
    await fs.rm(tmp, { force: true }).catch(() => {});
    throw aboutTarget(err, target);
  }
}

/** Synchronous twin of writeFileAtomic, for exit handlers. */
export function writeFileAtomicSync(target: string, data: Uint8Array | string): void {
  const tmp = tempPathFor(target);
  try {
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(tmp, data);
    const fd = openSync(tmp, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, target);
  } catch (err) {
    try {
      unlinkSync(tmp);
    } catch {
      // already gone
    }
    throw aboutTarget(err, target);
  }
}

/** A file-system error names the file the user asked for, never our temporary name beside it. */
function aboutTarget(err: unknown, target: string): unknown {
  const e = err as NodeJS.ErrnoException;
  if (!e?.code) return err;
  const problem: Record<string, string> = {
    ENOENT: 'cannot create the file (a folder on the way is missing)',
    ENOTDIR: 'cannot create the file (a part of the path is a file, not a folder)',
    EEXIST: 'cannot create the folder (a file of that name exists)',
    EACCES: 'permission denied',
    EISDIR: 'is a directory',
    ENOSPC: 'no space left on the device',
    EROFS: 'read-only file system',
  };
  return fileError(target, problem[e.code] ?? e.message.replace(/, \w+ '[^']*'/, ''));
}
