// Overload, as chosen in docs/server.md: answer fast with a clear 503 (Retry-After) instead of letting a queue grow
// until every request times out; keep the admissions already accepted within the apiserver's deadline; keep the
// probes answering; recover by itself. Also a regression test for SECURITY.md finding 1 (false "Infinity" 503s).
import t from 'tap';
import { setTimeout as sleep } from 'node:timers/promises';
import { kubeConfigFor, startFakeKubeApi } from '../helpers/fake-kube-api.ts';
import { startTestServer } from '../helpers/start-server.ts';
import type { WebhookAnswer } from '../helpers/webhook-client.ts';
import { ENV, podReview, since } from './harness.ts';
import { busy } from '../helpers/busy.ts';

t.setTimeout(90_000); // three scenarios with 1 s sample windows

t.test('more admissions than the cap while the API hangs: the excess is refused at once, the rest answer in time', async (t) => {
  const api = await startFakeKubeApi();
  t.teardown(() => api.close());
  const ts = await startTestServer({ env: { ...ENV, DB_ACCESS_ON_KUBE_ERROR: 'deny', DB_ACCESS_MAX_IN_FLIGHT: '8' }, kubeConfig: kubeConfigFor(api), probes: true });
  t.teardown(() => ts.close());
  const client = ts.client({ connections: 32 });
  api.hangNext(1_000);

  const timed = async (i: number) => {
    const s = performance.now();
    const res = await client.mutate(podReview(`busy${i}`), { timeout: '2s' });
    return { res, ms: since(s), at: performance.now() };
  };
  const answers = await Promise.all(Array.from({ length: 32 }, (_, i) => timed(i)));
  const refused = answers.filter((a) => a.res.status === 503);
  const accepted = answers.filter((a) => a.res.status === 200);
  t.equal(accepted.length, 8, '8 accepted (the cap)');
  t.equal(refused.length, 24, 'the other 24 refused');
  // Ordered, not timed: a refusal does not wait for the hanging API that holds the accepted ones.
  const lastRefusal = Math.max(...refused.map((a) => a.at));
  const firstAccepted = Math.min(...accepted.map((a) => a.at));
  t.ok(lastRefusal < firstAccepted, `every refusal came before the first accepted answer (${Math.round(firstAccepted - lastRefusal)} ms earlier)`);
  t.ok(refused.every((a) => a.res.headers['retry-after'] !== undefined && /in progress|overloaded/.test(String(a.res.json?.message))), `a clear message and Retry-After: ${refused[0]?.res.text}`);
  t.ok(accepted.every((a) => a.ms < 2_000 && a.res.json.response.allowed === false), 'the accepted ones get their (deny) answer before the 2 s timeout');

  // Probes still answer while it is saturated; then it recovers on its own.
  api.clearFaults();
  const probe = await fetch(`${ts.server.metricsUrl}/healthz`);
  t.equal(probe.status, 200, 'liveness answers');
  const after = await client.mutate(podReview('after-overload'));
  t.equal(after.json.response.allowed, true, 'recovered: the next admission is served');
  const metrics = await ts.metrics.registry.metrics();
  t.match(metrics, /db_access_http_rejected_requests_total\{reason="overloaded"\} 24/, 'refusals are counted');
});

t.test('a saturated CPU (event loop blocked beyond the limit): 503 at once, then recovery', async (t) => {
  // The production limit is 2 s (docs/server.md); the mechanism is the same at 500 ms, set through the setting.
  const ts = await startTestServer({ env: { ...ENV, DB_ACCESS_MAX_EVENT_LOOP_DELAY_MS: '500' }, probes: true });
  t.teardown(() => ts.close());
  const client = ts.client();
  t.equal((await client.mutate(podReview('warm'))).status, 200, 'served while idle');
  await sleep(1_100); // one clean sample window

  busy(1_500); // longer than the 500 ms limit and the 1 s window
  await sleep(0);
  let answer: WebhookAnswer | undefined;
  // The next window closes within a second: poll briefly until under-pressure has seen the delay.
  for (let i = 0; i < 20; i++) {
    answer = await client.mutate(podReview('during'));
    if (answer.status === 503) break;
    busy(600);
    await sleep(0);
  }
  t.equal(answer?.status, 503, 'refused while the event loop is saturated');
  // Which of the two it says depends on whether a sample fell inside the blocked time (a loaded machine may not get one).
  t.match(
    answer?.json?.message,
    /overloaded \((event loop delay \d+ ms|event loop blocked for a whole sample window)\); retry shortly/,
    `a clear message: ${answer?.json?.message}`,
  );
  t.equal((await fetch(`${ts.server.metricsUrl}/readyz`)).status, 200, 'probes are exempt');

  let recovered = false;
  for (let i = 0; i < 30 && !recovered; i++) {
    await sleep(200);
    recovered = (await client.mutate(podReview('after'))).status === 200;
  }
  t.ok(recovered, 'served again once the loop is idle');
});

t.test('short busy stretches below the limit never cause a 503 (SECURITY.md finding 1)', async (t) => {
  // At a 500 ms limit, where the original 200 ms window gave false "Infinity" 503s.
  const ts = await startTestServer({ env: { ...ENV, DB_ACCESS_MAX_EVENT_LOOP_DELAY_MS: '500' } });
  t.teardown(() => ts.close());
  const client = ts.client();
  await sleep(1_100);
  const statuses: number[] = [];
  for (let round = 0; round < 4; round++) {
    // Three back-to-back 250 ms stretches: the loop turns in between, each delay is below the 500 ms limit.
    for (let k = 0; k < 3; k++) {
      busy(250);
      await new Promise((r) => setImmediate(r));
    }
    statuses.push((await client.mutate(podReview(`short${round}`))).status);
    await sleep(1_100);
  }
  t.same(statuses, [200, 200, 200, 200], 'no false "overloaded" answers');
});

t.test('a flood of idle and half-open connections (slowloris) does not starve admissions', async (t) => {
  const { connect: tcpConnect } = await import('node:net');
  const { connect: tlsConnect } = await import('node:tls');
  const ts = await startTestServer({ env: ENV });
  t.teardown(() => ts.close());
  const port = Number(new URL(ts.url).port);
  const sockets: Array<{ destroy(): void }> = [];
  t.teardown(() => {
    for (const s of sockets) s.destroy();
  });
  // 200 TCP connections that never start TLS, 200 TLS connections that send half a request and stall.
  await Promise.all(
    Array.from({ length: 200 }, () => new Promise<void>((resolve) => {
      const s = tcpConnect({ host: '127.0.0.1', port }, () => resolve());
      s.on('error', () => resolve());
      sockets.push(s);
    })),
  );
  await Promise.all(
    Array.from({ length: 200 }, () => new Promise<void>((resolve) => {
      const s = tlsConnect({ host: '127.0.0.1', port, ca: ts.ca, servername: 'db-access-webhook.db-access-webhook.svc' }, () => {
        s.write('POST /mutate?timeout=10s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n');
        resolve();
      });
      s.on('error', () => resolve());
      sockets.push(s);
    })),
  );
  const client = ts.client({ connections: 8 });
  const started = performance.now();
  const answers = await Promise.all(Array.from({ length: 64 }, (_, i) => client.mutate(podReview(`flood${i % 4}`))));
  t.ok(answers.every((a) => a.status === 200 && a.json.response.allowed === true), '64 admissions answered while 400 connections hang');
  t.ok(since(started) < 10_000, `within the apiserver's default timeout (${since(started)} ms)`);
});
