#!/usr/bin/env node
// Thin launcher: the compiled CLI lives in dist/ (built by `npm run build`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  console.error('error: mnist-ts is not built yet; run `npm run build` first');
  process.exit(1);
}
const { main } = await import(entry.href);
await main(process.argv);
