import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { UserError } from '../../errors.js';
import { isEventFileName, readEventFile, scalarRows, type TFEvent } from '../../formats/events.js';
import { formatG } from '../../util/format.js';
import { float32Repr } from '../../util/float32-repr.js';

/** The event files a path names: the file itself, or a directory's `*tfevents*` files in name order. */
export function eventFilesIn(target: string): string[] {
  let stat;
  try {
    stat = statSync(target);
  } catch {
    throw new UserError(`${target}: no such file or directory`);
  }
  if (!stat.isDirectory()) return [target];
  const files = readdirSync(target).filter(isEventFileName).sort().map((f) => path.join(target, f));
  if (!files.length) throw new UserError(`${target}: no TensorBoard event files (events.out.tfevents.*) here; train with \`mnist train --model-dir ${target}\``);
  return files;
}

const csvField = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

export function register(program: Command): void {
  program
    .command('events')
    .description('print the scalar summaries of TensorBoard event files (a run directory or files) as a table or CSV')
    .argument('<paths...>', 'event files, or model directories holding events.out.tfevents.* files')
    .option('--csv', 'CSV: step, wall_time (seconds since 1970), one column per tag (float32 values, shortest exact form)')
    .addHelpText(
      'after',
      `
Examples:
  mnist events runs/mlp
  mnist events runs/mlp --csv > mlp.csv
  mnist events runs/mlp/events.out.tfevents.1765110000.myhost`,
    )
    .action((paths: string[], flags: { csv?: boolean }) => {
      const events: TFEvent[] = [];
      for (const file of paths.flatMap(eventFilesIn)) {
        const read = readEventFile(file);
        if (read.truncated) console.error(`warning: ${file}: the last record is incomplete (still being written?); left out`);
        events.push(...read.events);
      }
      const { tags, rows } = scalarRows(events);
      if (flags.csv) {
        console.log(['step', 'wall_time', ...tags].map(csvField).join(','));
        for (const r of rows) console.log([String(r.step), r.wallTime.toFixed(3), ...tags.map((t) => (r.values.has(t) ? float32Repr(r.values.get(t)!) : ''))].join(','));
        return;
      }
      if (!rows.length) {
        console.log('no scalar summaries');
        return;
      }
      const header = ['step', 'time', ...tags];
      const body = rows.map((r) => [String(r.step), new Date(r.wallTime * 1000).toISOString().slice(0, 19).replace('T', ' '), ...tags.map((t) => (r.values.has(t) ? formatG(r.values.get(t)!) : ''))]);
      const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
      for (const row of [header, ...body]) console.log(row.map((c, i) => (i === 1 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  '));
    });
}
