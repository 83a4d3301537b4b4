import type { Command } from 'commander';
import { CheckpointReader } from '../../checkpoint/reader.js';
import { describeSavedModel, isSavedModel, readSavedModel } from '../../graph/saved-model.js';
import { formatShape, formatTensorTable, formatTensorValues, tensorTable, tensorToNested } from '../../checkpoint/inspect.js';

interface InspectFlags {
  tensor?: string;
  all?: boolean;
  json?: boolean;
  verify: boolean;
}

export function register(program: Command): void {
  program
    .command('inspect')
    .description("list a checkpoint's tensors (name, dtype, shape) or print their values, like TensorFlow's inspect_checkpoint")
    .argument('<checkpoint>', 'a checkpoint prefix (runs/mlp/model.ckpt-1000), one of its files, a directory (its latest checkpoint), or a SavedModel directory')
    .option('-t, --tensor <name>', 'print the values of this tensor')
    .option('-a, --all', 'print the values of every tensor')
    .option('--json', 'machine-readable output')
    .option('--no-verify', "skip reading every tensor to check its checksum (listing only)")
    .addHelpText(
      'after',
      `
Reads TensorFlow V2 checkpoints (.index + .data-*) and V1 ones (a single model.ckpt file), whether
written by mnist-ts or by TensorFlow, and lists a SavedModel's tag sets, signatures and variables.
Every block and tensor checksum is verified; damage is reported as one line naming the file.

Examples:
  $ mnist inspect runs/mlp                          # latest checkpoint in the directory
  $ mnist inspect runs/mlp/model.ckpt-30000
  $ mnist inspect runs/mlp --tensor layer1/biases
  $ mnist inspect runs/mlp --tensor global_step --json
  $ mnist inspect export/1                          # a SavedModel: tags, signatures, variables`,
    )
    .action((checkpoint: string, flags: InspectFlags) => {
      if (isSavedModel(checkpoint)) {
        for (const line of describeSavedModel(readSavedModel(checkpoint))) console.log(line);
        return;
      }
      const reader = CheckpointReader.open(checkpoint);
      if (flags.verify || flags.all) reader.verifyAll();
      const rows = tensorTable(reader);
      const selected = flags.tensor !== undefined ? [flags.tensor] : flags.all ? rows.filter((r) => isReadable(r.dtype)).map((r) => r.name) : [];
      if (flags.tensor !== undefined) reader.info(flags.tensor); // unknown name → UserError

      if (flags.json) {
        const out =
          selected.length === 0
            ? { checkpoint: reader.prefix, tensors: rows }
            : {
                checkpoint: reader.prefix,
                tensors: selected.map((name) => {
                  const t = reader.tensor(name);
                  return { name, dtype: t.dtype, shape: t.shape, values: tensorToNested(t) };
                }),
              };
        console.log(JSON.stringify(out));
        return;
      }

      if (selected.length === 0) {
        const values = rows.reduce((sum, r) => sum + r.shape.reduce((a, b) => a * b, 1), 0);
        console.log(`checkpoint: ${reader.prefix}`);
        console.log(formatTensorTable(rows));
        console.log(`${rows.length} tensors, ${values.toLocaleString('en-US')} values${flags.verify ? ', all checksums OK' : ''}`);
        return;
      }
      for (const name of selected) {
        const t = reader.tensor(name);
        console.log(`tensor_name:  ${name}  (${t.dtype} ${formatShape(t.shape)})`);
        console.log(formatTensorValues(t));
      }
    });
}

function isReadable(dtype: string): boolean {
  return !dtype.startsWith('DT_');
}
