import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { selectBackend } from '../../src/backend/select.js';

/** Every example exports `run(print)`; tests collect the printed lines, `node examples/x.ts` prints them. */
export type Print = (line: string) => void;

/** Runs `run(console.log)` on the cpu backend when the file is the program being executed. */
export async function runIfMain(moduleUrl: string, run: (print: Print) => Promise<void> | void): Promise<void> {
  const script = process.argv[1] ? path.resolve(process.argv[1]) : '';
  if (script !== fileURLToPath(moduleUrl)) return;
  await selectBackend('cpu');
  await run((line) => console.log(line));
}
