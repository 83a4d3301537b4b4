import { fileError, quoted } from '../errors.js';

/** Why JSON.parse refused `text`, in a few words: V8's own message quotes the text, newlines and all. */
function jsonProblem(err: Error, text: string): string {
  const position = /at position (\d+)/.exec(err.message);
  if (/end of JSON input/.test(err.message) || (position && Number(position[1]) >= text.length)) return 'it ends early; truncated?';
  const token = /Unexpected token '(.+?)'/s.exec(err.message);
  let at = '';
  if (position) {
    const before = text.slice(0, Number(position[1])).split('\n');
    at = ` at line ${before.length}, column ${before[before.length - 1].length + 1}`;
  }
  return token ? `unexpected ${quoted(token[1])}${at}` : `bad syntax${at}`;
}

/** JSON.parse, failing with a one-line UserError naming `file` (never a quote of the text). */
export function parseJsonText(text: string, file: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw fileError(file, `not valid JSON (${jsonProblem(err as Error, text)})`);
  }
}

/** What a JSON value is, in words for a message ("a string", "a list", "empty"), without echoing it. */
export function jsonKind(value: unknown): string {
  if (value === null) return 'empty';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'number') return 'a number';
  if (typeof value === 'string') return 'a string';
  if (typeof value === 'boolean') return 'true/false';
  return 'missing';
}
