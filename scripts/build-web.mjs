// Builds the `mnist serve` page into web/dist: web/src/main.ts (with uPlot and the CSS) bundled
// by esbuild into app.js + app.css, and the static files copied beside them. No CDN at run time.
import { build } from 'esbuild';
import { copyFile, mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../web/', import.meta.url));
const outdir = `${root}dist`;

await mkdir(outdir, { recursive: true });
await build({
  entryPoints: { app: `${root}src/main.ts` },
  outdir,
  bundle: true,
  format: 'esm',
  target: ['chrome110', 'firefox110', 'safari16'],
  minify: true,
  sourcemap: true,
  legalComments: 'linked',
  logLevel: 'warning',
});
for (const file of ['index.html', 'favicon.svg']) await copyFile(`${root}${file}`, `${outdir}/${file}`);
console.log(`web page built into ${outdir}`);
