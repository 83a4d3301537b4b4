import { Command, CommanderError } from 'commander';
import { UserError } from '../errors.js';
import { COMMANDS } from './commands/index.js';

/**
 * The `mnist` command line. Each sub-command lives in `commands/<name>.ts` and exports a
 * `register(program)` function; this file only wires them up and turns errors into one line.
 */
export async function main(argv: string[]): Promise<void> {
  // `mnist inspect … | head` closes the pipe early: that is the reader's choice, not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    if (err.code === 'EIO') return; // the terminal closed (SIGHUP): the command still saves its work
    throw err;
  });
  process.stderr.on('error', () => {}); // likewise: nowhere left to report to
  const program = new Command();
  program
    .name('mnist')
    .description("The TensorFlow book's MNIST system in TypeScript: train, evaluate, test, predict, inspect checkpoints.")
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  for (const register of COMMANDS) register(program);

  try {
    await program.parseAsync(argv);
  } catch (err) {
    process.exitCode = exitCodeFor(err);
  }
}

function exitCodeFor(err: unknown): number {
  if (err instanceof CommanderError) {
    // --help and --version end here with code 0; usage errors were already printed.
    return err.exitCode;
  }
  if (err instanceof UserError) {
    console.error(`error: ${err.message}`);
    return 1;
  }
  const e = err as NodeJS.ErrnoException;
  if (e && typeof e === 'object' && e.code && e.path) {
    // File-system errors from Node already name the file; keep them to one line.
    console.error(`error: ${e.path}: ${describeErrno(e)}`);
    return 1;
  }
  console.error(`error: ${(err as Error)?.message ?? String(err)}`);
  if (process.env.MNIST_DEBUG) console.error((err as Error)?.stack);
  return 2;
}

function describeErrno(e: NodeJS.ErrnoException): string {
  switch (e.code) {
    case 'ENOENT':
      return 'no such file or directory';
    case 'EACCES':
      return 'permission denied';
    case 'EISDIR':
      return 'is a directory';
    case 'ENOTDIR':
      return 'not a directory';
    default:
      return e.message;
  }
}
