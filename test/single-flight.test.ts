import t from 'tap';
import { SingleFlight, type Flight } from '../src/single-flight.ts';

function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const options = (signal: AbortSignal, extra: object = {}) => ({
  signal,
  onAbort: () => 'caller gave up',
  maxMs: 10_000,
  timeoutMessage: 'too slow',
  ...extra,
});

t.test('callers of one key share one run of the work; a new run starts after it ends', async (t) => {
  const flights = new SingleFlight<string>();
  const gate = deferred<string>();
  let runs = 0;
  const work = () => {
    runs++;
    return gate.promise;
  };
  const a = flights.join('k', options(new AbortController().signal), work);
  const b = flights.join('k', options(new AbortController().signal), work);
  t.equal(a.shared, false);
  t.equal(b.shared, true);
  t.equal(flights.size, 1);
  gate.resolve('done');
  t.same(await Promise.all([a.result, b.result]), ['done', 'done']);
  t.equal(runs, 1);
  t.equal(flights.size, 0, 'forgotten once it ended');
  const c = flights.join('k', options(new AbortController().signal), async () => 'again');
  t.equal(c.shared, false);
  t.equal(await c.result, 'again');
});

t.test('a caller whose signal aborts gets its own answer; the work stops only when the last caller has left', async (t) => {
  const flights = new SingleFlight<string>();
  let seen: Flight | undefined;
  const gate = deferred<string>();
  const first = new AbortController();
  const second = new AbortController();
  const a = flights.join('k', options(first.signal), (flight) => {
    seen = flight;
    return gate.promise;
  });
  const b = flights.join('k', options(second.signal), () => t.fail('not run twice') as never);
  t.equal(seen?.waiters, 2);
  first.abort(new Error('first deadline'));
  t.equal(await a.result, 'caller gave up');
  t.equal(seen?.signal.aborted, false, 'one caller still waits');
  t.equal(seen?.waiters, 1);
  second.abort(new Error('second deadline'));
  t.equal(await b.result, 'caller gave up');
  t.equal(seen?.signal.aborted, true, 'nobody waits: the work is told to stop');
  t.equal(flights.size, 0, 'and the next caller starts afresh');
  gate.resolve('late');
});

t.test('onAbort may throw: the caller is rejected with it', async (t) => {
  const flights = new SingleFlight<string>();
  const caller = new AbortController();
  const { result } = flights.join(
    'k',
    options(caller.signal, {
      onAbort: () => {
        throw new Error('deadline passed');
      },
    }),
    () => new Promise<string>(() => {}),
  );
  caller.abort();
  await t.rejects(result, { message: 'deadline passed' });
});

t.test('a failed flight is rethrown, or mapped by onFailure', async (t) => {
  const flights = new SingleFlight<string>();
  const boom = () => Promise.reject(new Error('boom'));
  await t.rejects(flights.join('a', options(new AbortController().signal), boom).result, { message: 'boom' });
  const mapped = flights.join('b', options(new AbortController().signal, { onFailure: (e: Error) => `mapped ${e.message}` }), boom);
  t.equal(await mapped.result, 'mapped boom');
  const sync = flights.join('c', options(new AbortController().signal), () => {
    throw new Error('thrown before any await');
  });
  await t.rejects(sync.result, { message: 'thrown before any await' });
  t.equal(flights.size, 0);
});

t.test('a flight past maxMs is aborted with a TimeoutError, and a new caller starts a new one', async (t) => {
  const flights = new SingleFlight<string>();
  // The limit's timer is unref'd (it must not keep a stopping server alive), so something else must hold the loop.
  const hold = setInterval(() => {}, 1_000);
  t.teardown(() => clearInterval(hold));
  let seen: Flight | undefined;
  const slow = flights.join('k', options(new AbortController().signal, { maxMs: 20 }), (flight) => {
    seen = flight;
    return new Promise<string>((_, reject) => flight.signal.addEventListener('abort', () => reject(flight.signal.reason)));
  });
  await t.rejects(slow.result, { name: 'TimeoutError', message: 'too slow' });
  t.equal(seen?.signal.aborted, true);
  const next = flights.join('k', options(new AbortController().signal), async () => 'fresh');
  t.equal(next.shared, false);
  t.equal(await next.result, 'fresh');
});

t.test('the flight keeps the latest deadline of its callers', async (t) => {
  const flights = new SingleFlight<string>();
  let seen: Flight | undefined;
  const gate = deferred<string>();
  const a = flights.join('k', options(new AbortController().signal, { deadline: 1_000 }), (flight) => {
    seen = flight;
    return gate.promise;
  });
  t.equal(seen?.deadline, 1_000);
  const b = flights.join('k', options(new AbortController().signal, { deadline: 5_000 }), () => gate.promise);
  const c = flights.join('k', options(new AbortController().signal, { deadline: 2_000 }), () => gate.promise);
  t.equal(seen?.deadline, 5_000);
  gate.resolve('ok');
  await Promise.all([a.result, b.result, c.result]);
});

t.test("a later caller's deadline does not raise the flight's past its own limit", async (t) => {
  const flights = new SingleFlight<string>();
  let seen: Flight | undefined;
  const gate = deferred<string>();
  let clock = 100_000;
  const now = () => clock;
  const a = flights.join('k', options(new AbortController().signal, { deadline: 105_000, maxMs: 9_000, now }), (flight) => {
    seen = flight;
    return gate.promise;
  });
  t.equal(seen?.deadline, 105_000);
  clock += 2_000;
  // Its own deadline is 10 s away, but maxMs stops the flight 9 s after it started, at 109,000.
  const b = flights.join('k', options(new AbortController().signal, { deadline: 112_000, maxMs: 9_000, now }), () => gate.promise);
  t.equal(seen?.deadline, 109_000, 'capped at the start plus maxMs');
  gate.resolve('ok');
  await Promise.all([a.result, b.result]);
});
