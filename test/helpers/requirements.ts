/**
 * What a test file needs from the machine — the native addon, Chromium, protoc — and honest skips.
 *
 * - `requirement()`: available → false (run). Missing → the reason is printed and returned as the
 *   skip reason; under CI=true (or `mustHave`) one test named after the requirement also fails,
 *   its error the one line saying what is missing.
 * - `describe`/`it`/`test`/`before`/`after` here are node:test's, except that a suite given
 *   `{ skip: reason }` still registers its tests, each one skipped with the reason: node:test
 *   drops the tests of a skipped suite from its summary (252 native tests counted as 0 skipped).
 */
import * as nodeTest from 'node:test';

type Options = { skip?: string | boolean; [key: string]: unknown };

/** The skip reason of the suite whose body is being registered, if any. */
let suiteSkip: string | false = false;

export function requirement(what: string, missing: string | undefined, opts: { mustHave?: boolean } = {}): string | false {
  if (missing === undefined) return false;
  const line = `${what} is missing: ${missing}`;
  if (process.env.CI === 'true' || opts.mustHave) {
    // One failing test that says what is missing; the file's other tests are skipped with the same line.
    const why = process.env.CI === 'true' ? 'CI=true, where every test must run' : 'required here';
    nodeTest.test(`${what} (${why})`, () => {
      const error = new Error(line);
      error.stack = line;
      throw error;
    });
  }
  console.log(`skipping: ${line}`);
  return line;
}

/** name, [options], fn → the same with the current suite's skip reason added to the options. */
function withSuiteSkip(args: unknown[]): unknown[] {
  if (!suiteSkip) return args;
  const [name, a, b] = args;
  if (typeof a === 'function' || a === undefined) return [name, { skip: suiteSkip }, a];
  return [name, { ...(a as Options), skip: suiteSkip }, b];
}

export const it = ((...args: unknown[]) => (nodeTest.it as (...a: unknown[]) => unknown)(...withSuiteSkip(args))) as typeof nodeTest.it;
export const test = ((...args: unknown[]) => (nodeTest.test as (...a: unknown[]) => unknown)(...withSuiteSkip(args))) as typeof nodeTest.test;

export const describe = ((name: string, a?: Options | (() => void), b?: () => void) => {
  const options = typeof a === 'function' ? {} : (a ?? {});
  const body = (typeof a === 'function' ? a : b)!;
  const { skip, ...rest } = options;
  const reason = typeof skip === 'string' ? skip : skip ? 'skipped' : false;
  return nodeTest.describe(name, rest, () => {
    const outer = suiteSkip;
    suiteSkip = reason || outer;
    try {
      body();
    } finally {
      suiteSkip = outer;
    }
  });
}) as typeof nodeTest.describe;

/** Hooks of a skipped suite do not run (they would start what the suite's tests need). */
function hook(register: (fn: () => unknown, options?: unknown) => unknown) {
  return (fn: () => unknown, options?: unknown) => register(suiteSkip ? () => {} : fn, options);
}
export const before = hook(nodeTest.before as never) as typeof nodeTest.before;
export const after = hook(nodeTest.after as never) as typeof nodeTest.after;
