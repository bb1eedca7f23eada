// Bounding a promise by an AbortSignal, for callers that must answer by a deadline whatever the work does.

/** Settles with `work`, or rejects when `signal` aborts first (an adapter that ignores its signal can't hold us). */
export function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    work.catch(() => {});
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    // A late result or rejection of `work` is dropped: the handlers below run, but this promise has settled.
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
