import type { Command } from 'commander';
import { getModelDefinition } from '../../models/registry.js';
import { Model } from '../../models/model.js';
import { formatSummary, summarize } from '../../models/summary.js';
import { requireModelDir, resolveModelName } from '../../train/model-dir.js';
import { addBackendOption, useBackend, type BackendFlag } from '../options.js';

interface SummaryFlags {
  model?: string;
  modelDir?: string;
  json?: boolean;
  backend?: BackendFlag;
}

export function register(program: Command): void {
  const cmd = program
    .command('summary')
    .description("a model's layers like Keras's model.summary(): type, output shape, parameters, FLOPs per example")
    .option('-m, --model <name>', 'a registry model (default: the model directory\'s, else mlp)')
    .option('-d, --model-dir <dir>', 'a model directory: summarise the model it holds')
    .option('--json', 'print a JSON object instead of the table');
  addBackendOption(cmd);
  cmd.addHelpText('after', '\nExamples:\n  mnist summary                        # the book MLP\n  mnist summary --model deep-cnn\n  mnist summary --model-dir runs/fast-cnn --json');
  cmd.action(async (flags: SummaryFlags) => {
    await useBackend(flags.backend ?? 'cpu', true);
    if (flags.modelDir) requireModelDir(flags.modelDir);
    const name = flags.modelDir ? resolveModelName(flags.modelDir, flags.model) : (flags.model ?? 'mlp');
    const model = Model.build(getModelDefinition(name));
    try {
      const summary = summarize(model);
      console.log(flags.json ? JSON.stringify(summary) : formatSummary(summary));
    } finally {
      model.dispose();
    }
  });
}
