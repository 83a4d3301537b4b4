/**
 * An error caused by the user's input (a bad file, a missing path, a wrong flag).
 * The CLI prints its message on one line, without a stack trace, and exits non-zero.
 * Messages name the file first: `model.ckpt-1000.index: bad block checksum at offset 4096`.
 */
export class UserError extends Error {
  override name = 'UserError';
}

/** Builds a UserError whose message starts with the file it is about. */
export function fileError(file: string, problem: string): UserError {
  return new UserError(`${file}: ${problem}`);
}
