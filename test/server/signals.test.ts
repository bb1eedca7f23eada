// One graceful shutdown per request to stop, whether the signal arrives once or twice.
import t from 'tap';
import { EventEmitter } from 'node:events';
import { DUPLICATE_WINDOW_MS, onShutdownSignals, type SignalTarget } from '../../src/server/signals.ts';

function harness() {
  const emitter = new EventEmitter();
  let clock = 0;
  const calls: string[] = [];
  const uninstall = onShutdownSignals(
    { start: (s) => calls.push(`start ${s}`), force: (s) => calls.push(`force ${s}`) },
    emitter as unknown as SignalTarget,
    () => clock,
  );
  return {
    emitter,
    calls,
    uninstall,
    send: (signal: 'SIGTERM' | 'SIGINT', atMs: number) => {
      clock = atMs;
      emitter.emit(signal, signal);
    },
  };
}

t.test('the first signal starts the shutdown; the same request delivered twice is ignored', async (t) => {
  const h = harness();
  h.send('SIGINT', 0); // Ctrl-C reaches the process group…
  h.send('SIGINT', 3); // …and npm forwards it again
  h.send('SIGTERM', DUPLICATE_WINDOW_MS - 1);
  t.same(h.calls, ['start SIGINT']);
});

t.test('a signal after the duplicate window forces the exit', async (t) => {
  const h = harness();
  h.send('SIGTERM', 0);
  h.send('SIGTERM', DUPLICATE_WINDOW_MS);
  t.same(h.calls, ['start SIGTERM', 'force SIGTERM']);
});

t.test('the listeners stay installed until removed, so the default action never returns mid-shutdown', async (t) => {
  const h = harness();
  h.send('SIGTERM', 0);
  t.equal(h.emitter.listenerCount('SIGTERM'), 1);
  t.equal(h.emitter.listenerCount('SIGINT'), 1);
  h.uninstall();
  t.equal(h.emitter.listenerCount('SIGTERM'), 0);
  t.equal(h.emitter.listenerCount('SIGINT'), 0);
});
