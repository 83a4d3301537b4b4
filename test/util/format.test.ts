import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatG } from '../../src/util/format.js';

test("formatG matches Python's %g", () => {
  const cases: Array<[number, string]> = [
    [0.9838, '0.9838'],
    [2.5, '2.5'],
    [0.0401246, '0.0401246'],
    [1234567, '1.23457e+06'],
    [0.00001234, '1.234e-05'],
    [100, '100'],
    [0, '0'],
    [0.5, '0.5'],
    [5.454999923706055, '5.455'],
  ];
  for (const [x, s] of cases) assert.equal(formatG(x), s, String(x));
});
