import type { Command } from 'commander';
import { backendInfo, selectBackend } from '../../backend/select.js';
import { addBackendOption, type BackendFlag } from '../options.js';

export function register(program: Command): void {
  const cmd = program
    .command('info')
    .description('show the active TensorFlow.js backend and what the native (oneDNN) backend offers on this machine')
    .option('--json', 'print the information as JSON');
  addBackendOption(cmd)
    .addHelpText('after', `
Examples:
  $ mnist info                  # which backend training would use, oneDNN version, threads, CPU ISA
  $ mnist info --backend wasm   # what happens when wasm is requested
  $ mnist info --json`)
    .action(async (flags: { json?: boolean; backend?: BackendFlag }) => {
      const { note } = await selectBackend(flags.backend ?? 'auto');
      const info = backendInfo();
      if (flags.json) {
        console.log(JSON.stringify({ ...info, note }, null, 2));
        return;
      }
      const n = info.native;
      const lines: Array<[string, string]> = [['backend', info.backend]];
      if (note) lines.push(['note', note]);
      if (n.available) {
        lines.push(['oneDNN', `${n.onednn} (${n.runtime})${n.onednnLibrary ? ` from ${n.onednnLibrary}` : ''}`]);
        if (n.addon) lines.push(['addon', n.addon]);
        lines.push(['threads', n.threadsReason ? `${n.threads} (${n.threadsReason})` : String(n.threads)]);
        lines.push(['CPU ISA', `${n.isa} (addon compiled for ${n.compiledFor})`]);
      } else {
        lines.push(['native', `unavailable: ${n.reason}`]);
      }
      lines.push([n.available ? 'native kernels' : 'would override', `${n.kernels.length}: ${n.kernels.join(', ')}`]);
      for (const [k, v] of lines) console.log(`${`${k}:`.padEnd(16)}${v}`);
    });
}

