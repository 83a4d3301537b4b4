import { Worker } from 'node:worker_threads';

/**
 * Starts the worker module `<name>.js` beside the module at `besideUrl` (pass `import.meta.url`)
 * when running compiled, or `<name>.ts` behind a tiny bootstrap that registers tsx first when
 * running from TypeScript sources: Node 20 workers don't inherit `--import tsx` loader hooks.
 */
export function startModuleWorker(besideUrl: string, name: string, workerData: unknown): Worker {
  if (!besideUrl.endsWith('.ts')) return new Worker(new URL(`./${name}.js`, besideUrl), { workerData });
  const api = import.meta.resolve('tsx/esm/api');
  const entry = new URL(`./${name}.ts`, besideUrl).href;
  const code = `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(code, { eval: true, workerData });
}
