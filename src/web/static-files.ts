import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ServerResponse } from 'node:http';

/** Where `npm run build:web` puts the page (the same place from src/web and dist/web). */
export const DEFAULT_PAGE_DIR = fileURLToPath(new URL('../../web/dist/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.map': 'application/json; charset=utf-8',
};

/** Everything the page loads comes from us: the policy makes a stray CDN reference fail loudly. */
const SECURITY_HEADERS = {
  'Content-Security-Policy': "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; connect-src 'self'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
};

const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>mnist-ts</title>
<p>The web page is not built yet. Run <code>npm run build</code> (or <code>npm run build:web</code>) and reload.</p>`;

/**
 * Serves the built page's files by plain name (`/`, `/app.js`, `/app.css`): no sub-folders, so
 * no path can leave the folder. Returns false when the path is not one of ours.
 */
export async function serveStatic(pageDir: string, urlPath: string, res: ServerResponse, headOnly = false): Promise<boolean> {
  const name = urlPath === '/' ? 'index.html' : urlPath.slice(1);
  if (!/^[A-Za-z0-9_-][A-Za-z0-9_.-]*$/.test(name)) return false;
  const type = TYPES[path.extname(name)];
  if (!type) return false;
  let body: Buffer;
  try {
    body = await readFile(path.join(pageDir, name));
  } catch {
    if (name !== 'index.html') return false;
    body = Buffer.from(NOT_BUILT);
  }
  res.writeHead(200, { 'Content-Type': type, 'Content-Length': body.length, 'Cache-Control': 'no-cache', ...SECURITY_HEADERS });
  res.end(headOnly ? undefined : body);
  return true;
}
