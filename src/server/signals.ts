// SIGTERM and SIGINT start one graceful shutdown. The same signal often arrives twice at once: a terminal sends Ctrl-C
// to the whole process group and npm forwards it again, and a `kill` of a group reaches both npm and the server. A
// repeat within a second is that duplicate and is ignored; a later one is someone who will not wait: exit at once.
// The listeners stay installed: were there none for an instant, Node would restore the default action, and a
// duplicate arriving then would kill the process mid-drain.

export const SHUTDOWN_SIGNALS = ['SIGTERM', 'SIGINT'] as const;
export type ShutdownSignal = (typeof SHUTDOWN_SIGNALS)[number];

/** A second signal this soon after the first is the same request delivered twice. */
export const DUPLICATE_WINDOW_MS = 1_000;

export interface SignalTarget {
  on(event: ShutdownSignal, listener: (signal: ShutdownSignal) => void): unknown;
  off(event: ShutdownSignal, listener: (signal: ShutdownSignal) => void): unknown;
}

export interface ShutdownSignalHandlers {
  /** The first signal: begin the graceful shutdown. */
  readonly start: (signal: ShutdownSignal) => void;
  /** A signal after the duplicate window: give up on the drain. */
  readonly force: (signal: ShutdownSignal) => void;
}

/** Installs the listeners; returns a function that removes them. */
export function onShutdownSignals(
  handlers: ShutdownSignalHandlers,
  target: SignalTarget = process,
  now: () => number = Date.now,
): () => void {
  let firstAt: number | undefined;
  const listener = (signal: ShutdownSignal): void => {
    if (firstAt === undefined) {
      firstAt = now();
      handlers.start(signal);
    } else if (now() - firstAt >= DUPLICATE_WINDOW_MS) {
      handlers.force(signal);
    }
  };
  for (const signal of SHUTDOWN_SIGNALS) target.on(signal, listener);
  return () => {
    for (const signal of SHUTDOWN_SIGNALS) target.off(signal, listener);
  };
}
