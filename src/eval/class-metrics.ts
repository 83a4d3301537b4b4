/** Precision, recall and F1 of one class, from a confusion matrix (rows = true label, columns = prediction). */
export interface ClassMetrics {
  digit: number;
  precision: number;
  recall: number;
  f1: number;
  /** Test images of this class. */
  support: number;
}

/** Per-class precision, recall and F1; a class never predicted (or absent) gets 0, as scikit-learn reports it. */
export function classMetrics(matrix: number[][]): ClassMetrics[] {
  return matrix.map((row, digit) => {
    const truePositives = row[digit];
    const support = row.reduce((a, b) => a + b, 0);
    const predicted = matrix.reduce((n, r) => n + r[digit], 0);
    const precision = predicted ? truePositives / predicted : 0;
    const recall = support ? truePositives / support : 0;
    const f1 = precision + recall ? (2 * precision * recall) / (precision + recall) : 0;
    return { digit, precision, recall, f1, support };
  });
}

export function formatClassMetrics(metrics: ClassMetrics[]): string {
  const rows = metrics.map((m) => `${String(m.digit).padEnd(6)}${[m.precision, m.recall, m.f1].map((v) => v.toFixed(4).padStart(11)).join('')}${String(m.support).padStart(9)}`);
  const macro = (key: 'precision' | 'recall' | 'f1') => metrics.reduce((s, m) => s + m[key], 0) / metrics.length;
  const total = metrics.reduce((s, m) => s + m.support, 0);
  return [
    'class   precision     recall         F1  support',
    ...rows,
    `${'macro'.padEnd(6)}${[macro('precision'), macro('recall'), macro('f1')].map((v) => v.toFixed(4).padStart(11)).join('')}${String(total).padStart(9)}`,
  ].join('\n');
}
