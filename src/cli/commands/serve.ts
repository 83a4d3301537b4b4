import { InvalidArgumentError, type Command } from 'commander';
import { UserError } from '../../errors.js';
import { startServer } from '../../web/server.js';
import { onStopSignals, signalExitCode, type StopRequest, type StopSignal } from '../stop-signals.js';
import { addBackendOption, addDataOptions, useBackend, type BackendFlag } from '../options.js';

interface ServeFlags {
  modelDir: string;
  port: number;
  host: string;
  checkpoint?: string;
  ema: boolean;
  dataDir?: string;
  limit?: number;
  backend?: BackendFlag;
  allowedHost: string[];
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError(`expected a port number 0-65535, got "${value}"`);
  return n;
}

export function register(program: Command): void {
  const cmd = program
    .command('serve')
    .description('open a local web page: draw a digit and see the prediction, watch training live, browse mistakes')
    .option('-d, --model-dir <dir>', 'model directory to serve (and to train into from the page)', 'runs/mlp')
    .option('-p, --port <n>', 'port to listen on (0 = any free port)', port, 8080)
    .option('--host <address>', 'address to listen on (loopback by default; 0.0.0.0 opens it to the network)', '127.0.0.1')
    .option('--allowed-host <name>', 'also accept requests addressed to this host name (repeatable; e.g. a name in /etc/hosts or behind a proxy)', collect, [])
    .option('--checkpoint <N|prefix>', 'checkpoint the page uses unless another is picked: a global step N or a checkpoint of the model directory (default: the newest, following training)')
    .option('--no-ema', 'predict with the raw variables instead of their moving averages');
  addDataOptions(cmd, 'test');
  addBackendOption(cmd);
  cmd.addHelpText(
    'after',
    `
The page and its JSON API (/api/predict, /api/checkpoints, /api/events, /api/train, /api/mistakes)
are described in docs/web.md. Training started from the page runs in a worker thread and writes
checkpoints into --model-dir like \`mnist train\`; a \`mnist train\` run in another terminal shows
up live too. Ctrl-C, SIGTERM or SIGHUP stop the server (and a page-started run, after saving a
checkpoint). The server answers only requests addressed to it (Host: localhost, 127.0.0.1, [::1],
the --host address, --allowed-host names) and refuses changes asked by pages of other sites.

Examples:
  mnist serve                                  # http://127.0.0.1:8080/ over runs/mlp
  mnist serve --model-dir runs/quick --port 3000
  mnist serve --checkpoint 20000               # the page predicts with model.ckpt-20000 by default
  mnist serve --limit 5000                     # mistakes over the first 5,000 test images (quicker)`,
  );
  cmd.action(async (flags: ServeFlags) => {
    const backend = await useBackend(flags.backend);
    const running = await startServer({
      modelDir: flags.modelDir,
      port: flags.port,
      host: flags.host,
      checkpoint: flags.checkpoint,
      useEma: flags.ema,
      dataDir: flags.dataDir,
      limit: flags.limit,
      backend: flags.backend ?? 'auto',
      allowedHosts: flags.allowedHost,
    }).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') throw new UserError(`port ${flags.port} on ${flags.host} is in use (pick another with --port)`);
      throw err;
    });
    console.log(`Serving ${flags.modelDir} at ${running.url} (backend ${backend}); Ctrl-C to stop`);
    let signals: StopRequest | undefined;
    const signal = await new Promise<StopSignal>((resolve) => (signals = onStopSignals(resolve)));
    console.error(`\nStopping (${signal}; again to quit at once)…`);
    await running.close();
    signals?.dispose();
    process.exitCode = signalExitCode(signal);
  });
}
