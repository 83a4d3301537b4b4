import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { UserError } from '../../src/errors.js';
import { formatCheckpointState, parseCheckpointState } from '../../src/formats/checkpoint-state.js';

test('parses the state file TensorFlow 1.10 wrote', () => {
  const text = readFileSync(fileURLToPath(new URL('../fixtures/ckpt_houseprices_adam/checkpoint', import.meta.url)), 'utf8');
  const state = parseCheckpointState(text, 'checkpoint');
  assert.deepEqual(state, { modelCheckpointPath: 'model.ckpt', allModelCheckpointPaths: ['model.ckpt'] });
  // ... and writes the same text back.
  assert.equal(formatCheckpointState(state), text.endsWith('\n') ? text : text + '\n');
});

test('round trip with several paths, timestamps and awkward characters', () => {
  const state = {
    modelCheckpointPath: '/tmp/dir with "quotes"/model.ckpt-1000',
    allModelCheckpointPaths: ['model.ckpt-800', "it's\\here\tümlaut", '/tmp/dir with "quotes"/model.ckpt-1000'],
    allModelCheckpointTimestamps: [1690000000.5, 1690000100.25, 1690000200],
    lastPreservedTimestamp: 1689999999.75,
  };
  const text = formatCheckpointState(state);
  assert.match(text, /^model_checkpoint_path: "\/tmp\/dir with \\"quotes\\"\/model\.ckpt-1000"\n/);
  assert.match(text, /all_model_checkpoint_paths: "it\\'s\\\\here\\t\\303\\274mlaut"\n/);
  assert.deepEqual(parseCheckpointState(text, 'checkpoint'), state);
});

test('accepts single quotes, hex escapes, adjacent pieces, comments and unknown fields', () => {
  const text = [
    '# a comment',
    "model_checkpoint_path: 'a\\x41' \"b\"",
    'all_model_checkpoint_paths: "aAb"',
    'some_future_field: 3',
    '',
  ].join('\n');
  assert.deepEqual(parseCheckpointState(text, 'checkpoint'), { modelCheckpointPath: 'aAb', allModelCheckpointPaths: ['aAb'] });
});

test('malformed files give a UserError naming the file and line', () => {
  const bad = (text: string, pattern: RegExp): void => {
    assert.throws(() => parseCheckpointState(text, 'runs/x/checkpoint'), (e: unknown) => e instanceof UserError && /^runs\/x\/checkpoint: /.test(e.message) && pattern.test(e.message));
  };
  bad('', /no model_checkpoint_path/);
  bad('model_checkpoint_path: "unterminated\n', /line 1: unterminated string/);
  bad('model_checkpoint_path: unquoted\n', /line 1: expected a quoted string/);
  bad('model_checkpoint_path: "a"\ngarbage line\n', /line 2: expected "field: value"/);
  bad('model_checkpoint_path: "a"\nall_model_checkpoint_timestamps: soon\n', /line 2: not a number/);
});
