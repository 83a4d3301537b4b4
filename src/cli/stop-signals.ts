import { constants } from 'node:os';

/** The signals that ask a long command to stop: Ctrl-C, `kill`/Docker/systemd, a closed terminal. */
export const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
export type StopSignal = (typeof STOP_SIGNALS)[number];

export interface StopRequest {
  /** The first stop signal received, if any. */
  readonly signal: StopSignal | undefined;
  /** Removes the handlers; the default behaviour of the signals comes back. */
  dispose(): void;
}

/**
 * Turns SIGINT, SIGTERM and SIGHUP into a polite stop request: the first one calls `onStop` (the
 * command finishes its step and saves), a second one ends the process at once with 128 + n.
 */
export function onStopSignals(onStop: (signal: StopSignal) => void): StopRequest {
  let received: StopSignal | undefined;
  const handlers = STOP_SIGNALS.map((signal) => {
    const handler = () => {
      if (received) process.exit(signalExitCode(signal));
      received = signal;
      onStop(signal);
    };
    process.on(signal, handler);
    return [signal, handler] as const;
  });
  return {
    get signal() {
      return received;
    },
    dispose() {
      for (const [signal, handler] of handlers) process.off(signal, handler);
    },
  };
}

/** The shell's convention for a process ended by a signal: 128 + its number (SIGINT 130, SIGTERM 143, SIGHUP 129). */
export function signalExitCode(signal: StopSignal): number {
  return 128 + constants.signals[signal];
}

/** Writes to a terminal that has gone away (SIGHUP) must not turn a clean stop into a crash. */
export function say(line: string): void {
  try {
    process.stderr.write(line + '\n');
  } catch {
    // the terminal is gone
  }
}
