import type { Command } from 'commander';
import { register as train } from './train.js';
import { register as evaluate } from './eval.js';
import { register as test } from './test.js';
import { register as predict } from './predict.js';
import { register as tfrecord } from './tfrecord.js';
import { register as events } from './events.js';
import { register as image } from './image.js';
import { register as info } from './info.js';
import { register as serve } from './serve.js';
import { register as inspect } from './inspect.js';
import { register as summary } from './summary.js';
import { register as freeze } from './freeze.js';
import { register as runGraph } from './run-graph.js';
import { register as exportModel } from './export.js';
import { register as sine } from './sine.js';
import { register as transfer } from './transfer.js';

/** Every sub-command, in the order `mnist --help` lists them. One line per command module. */
export const COMMANDS: Array<(program: Command) => void> = [
  train,
  evaluate,
  test,
  predict,
  tfrecord,
  events,
  image,
  info,
  serve,
  inspect,
  summary,
  freeze,
  runGraph,
  exportModel,
  sine,
  transfer,
];
