/** Validation accuracies (fractions) whose first crossing a training run reports, with the time it took. */
export const ACCURACY_MILESTONES = [0.9, 0.95, 0.97, 0.98, 0.985, 0.99, 0.995, 0.997];

export interface Milestone {
  /** The milestone passed (a fraction, e.g. 0.99). */
  target: number;
  /** The validation accuracy measured when it was first passed. */
  accuracy: number;
  step: number;
  /** Training wall time of this run up to that step, validation passes excluded. */
  seconds: number;
}

/**
 * Follows a run's validation accuracies and says which milestones each one passes for the first
 * time. A measurement can pass several at once; a later dip below a milestone does not un-pass it.
 */
export class MilestoneTracker {
  private next = 0;
  readonly reached: Milestone[] = [];

  constructor(private readonly targets: readonly number[] = ACCURACY_MILESTONES) {}

  observe(accuracy: number, step: number, seconds: number): Milestone[] {
    const passed: Milestone[] = [];
    // Small tolerance: 4950/5000 is 0.99 exactly, which float division may put a hair below.
    while (this.next < this.targets.length && accuracy >= this.targets[this.next] - 1e-9) {
      passed.push({ target: this.targets[this.next++], accuracy, step, seconds });
    }
    this.reached.push(...passed);
    return passed;
  }
}

export function formatMilestone(m: Milestone): string {
  return `Validation accuracy ≥ ${percent(m.target)} % (${percent(m.accuracy)} %) after ${m.seconds.toFixed(2)} s of training, step ${m.step}.`;
}

function percent(fraction: number): string {
  return String(Number((fraction * 100).toFixed(2)));
}
