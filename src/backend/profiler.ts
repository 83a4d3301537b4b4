/** Per-kernel wall time on the `native` backend, for `bench --profile` and tuning. */
export interface KernelTime {
  kernel: string;
  calls: number;
  totalMs: number;
  native: boolean;
}

class KernelProfiler {
  enabled = false;
  private readonly times = new Map<string, KernelTime>();

  record(kernel: string, ms: number, native: boolean): void {
    let t = this.times.get(kernel);
    if (!t) this.times.set(kernel, (t = { kernel, calls: 0, totalMs: 0, native }));
    t.calls++;
    t.totalMs += ms;
    t.native &&= native;
  }

  reset(): void {
    this.times.clear();
  }

  /** Kernels by total time, slowest first. */
  report(): KernelTime[] {
    return [...this.times.values()].sort((a, b) => b.totalMs - a.totalMs);
  }
}

export const kernelProfiler = new KernelProfiler();
