// One call in flight per key, shared by every caller that asks for the same thing while it runs (a rollout's pods
// all ask at once). Each caller waits only as long as its own signal allows; the call stops when the last one leaves.

/** What the work sees of its own flight. */
export interface Flight {
  /** Aborted when the flight runs past its limit or every caller has left. */
  readonly signal: AbortSignal;
  /** Callers still waiting for it. */
  readonly waiters: number;
  /**
   * The latest deadline (epoch ms) among its callers, but never past the flight's own limit (`maxMs` from its start):
   * a wait inside the work (Retry-After) must end before it.
   */
  readonly deadline: number;
}

export interface JoinOptions<T> {
  /** This caller's signal: when it aborts first, the caller gets `onAbort`'s answer (a value, or what it throws). */
  readonly signal: AbortSignal;
  readonly onAbort: (reason: unknown) => T;
  /** The caller's answer when the flight fails (a value, or what it throws); the error is rethrown without it. */
  readonly onFailure?: (err: unknown) => T;
  /** The caller's own deadline (epoch ms), raising the flight's. */
  readonly deadline?: number;
  /** A new flight is stopped after this long, whatever its callers' signals say. */
  readonly maxMs: number;
  /** The reason a flight stopped by `maxMs` gives (a TimeoutError). */
  readonly timeoutMessage: string;
  /** The clock the deadlines are read on (epoch ms); Date.now unless the caller keeps its own. */
  readonly now?: () => number;
}

interface Running<T> {
  promise: Promise<T>;
  readonly controller: AbortController;
  waiters: number;
  deadline: number;
  /** When `maxMs` stops it, on the first caller's clock: a later caller's deadline cannot raise `deadline` past it. */
  readonly limitAt: number;
}

export class SingleFlight<T> {
  readonly #flights = new Map<string, Running<T>>();

  /** Flights in progress. */
  get size(): number {
    return this.#flights.size;
  }

  /**
   * Waits for the flight of `key`, starting `work` as a new flight when none runs (or the last one was stopped).
   * `shared` says whether this caller joined a flight that was already running.
   */
  join(key: string, options: JoinOptions<T>, work: (flight: Flight) => Promise<T>): { result: Promise<T>; shared: boolean } {
    let flight = this.#flights.get(key);
    const shared = flight !== undefined && !flight.controller.signal.aborted;
    if (shared && flight !== undefined) {
      flight.deadline = Math.min(flight.limitAt, Math.max(flight.deadline, options.deadline ?? Number.POSITIVE_INFINITY));
    } else {
      flight = this.#start(key, options, work);
    }
    return { result: this.#wait(key, flight, options), shared };
  }

  #start(key: string, options: JoinOptions<T>, work: (flight: Flight) => Promise<T>): Running<T> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new DOMException(options.timeoutMessage, 'TimeoutError')), options.maxMs);
    timer.unref();
    const limitAt = (options.now ?? Date.now)() + options.maxMs;
    const running: Running<T> = {
      controller,
      waiters: 0,
      deadline: Math.min(limitAt, options.deadline ?? Number.POSITIVE_INFINITY),
      limitAt,
      promise: undefined as unknown as Promise<T>, // set below, before anyone reads it
    };
    const view: Flight = {
      signal: controller.signal,
      get waiters() {
        return running.waiters;
      },
      get deadline() {
        return running.deadline;
      },
    };
    let started: Promise<T>;
    try {
      started = work(view);
    } catch (err) {
      started = Promise.reject(err);
    }
    running.promise = started.finally(() => {
      clearTimeout(timer);
      if (this.#flights.get(key) === running) this.#flights.delete(key);
    });
    running.promise.catch(() => {}); // a failure reaches every caller through #wait
    this.#flights.set(key, running);
    return running;
  }

  #wait(key: string, flight: Running<T>, options: JoinOptions<T>): Promise<T> {
    const { signal } = options;
    flight.waiters++;
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const settle = (answer: () => T) => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        flight.waiters--;
        try {
          resolve(answer());
        } catch (err) {
          reject(err);
        }
      };
      const onAbort = () => {
        settle(() => options.onAbort(signal.reason));
        if (flight.waiters === 0) {
          // Nobody waits any more: stop the work, and let the next caller start afresh.
          if (this.#flights.get(key) === flight) this.#flights.delete(key);
          flight.controller.abort(signal.reason);
        }
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      flight.promise.then(
        (value) => settle(() => value),
        (err: unknown) =>
          settle(() => {
            if (options.onFailure === undefined) throw err;
            return options.onFailure(err);
          }),
      );
    });
  }
}
