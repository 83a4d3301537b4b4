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

/**
 * Text taken from a file, quoted for an error message: control characters, invalid UTF-8
 * (U+FFFD) and other invisible characters escaped, and cut to about `max` characters, so a
 * damaged file cannot put binary garbage or extra lines into the message.
 */
export function quoted(text: string, max = 60): string {
  const cut = text.length > max ? `${text.slice(0, max)}…` : text;
  return JSON.stringify(cut).replace(/[\u007f-\u009f\u00ad\u200b-\u200f\u2028\u2029\ufeff\ufffd]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
