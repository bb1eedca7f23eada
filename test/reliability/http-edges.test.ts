// The HTTP layer under hostile clients: the `?timeout=` value, methods, oversized headers, chunked bodies over the
// limit, conflicting framing headers. Every answer is a 4xx (or a correct admission), never a 5xx, and the server
// keeps serving. Deadlines derived from a hostile `?timeout=` stay within the apiserver's 1–30 s range.
import t from 'tap';
import { connect } from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import fc from 'fast-check';
import { admissionBudgetMs, webhookTimeoutMs } from '../../src/server/deadline.ts';
import { fuzzParameters } from '../helpers/fuzz-arbitraries.ts';
import { kubeConfigFor, startFakeKubeApi } from '../helpers/fake-kube-api.ts';
import { startTestServer } from '../helpers/start-server.ts';
import { DEFAULT_SERVERNAME } from '../helpers/webhook-client.ts';
import { ENV, podReview, since } from './harness.ts';

t.setTimeout(60_000);

/** Sends raw bytes on a fresh TLS connection and returns the status line's code (or -1 if the server hung up). */
function raw(port: number, ca: string, bytes: string | Buffer, waitMs = 3_000): Promise<number> {
  return new Promise((resolve) => {
    let data = '';
    const s = connect({ host: '127.0.0.1', port, ca, servername: DEFAULT_SERVERNAME }, () => s.write(bytes));
    const done = (code: number) => {
      s.destroy();
      resolve(code);
    };
    s.on('data', (c: Buffer) => {
      data += c.toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(data);
      if (m) done(Number(m[1]));
    });
    s.on('error', () => done(-1));
    s.on('end', () => done(/^HTTP\/1\.1 (\d{3})/.exec(data) ? Number(/^HTTP\/1\.1 (\d{3})/.exec(data)![1]) : -1));
    s.setTimeout(waitMs, () => done(-1));
  });
}

t.test('hostile ?timeout= values: always an answer, and the deadline stays within 1–30 s', async (t) => {
  const api = await startFakeKubeApi();
  t.teardown(() => api.close());
  const ts = await startTestServer({ env: { ...ENV, DB_ACCESS_ON_KUBE_ERROR: 'deny' }, kubeConfig: kubeConfigFor(api) });
  t.teardown(() => ts.close());
  const client = ts.client({ connections: 4 });
  const values = ['', 'abc', '-1s', '0s', '1ns', '0.0001s', '1e9s', '99999h', '10', '10s10s', '1m0s', '%00', '10s;x', 'NaN', '9'.repeat(400) + 's'];
  for (const v of values) {
    const res = await client.mutate(podReview(`timeout${values.indexOf(v)}`), { timeout: v });
    t.ok(res.status === 200 || (res.status >= 400 && res.status < 500), `timeout=${v.slice(0, 20)}: ${res.status}`);
  }
  // With the API hanging, tiny values are clamped to the 1 s floor: an answer after ~0.75 s, not at once and not
  // late. (Unreadable values such as "-5s" or "abc" fall back to the apiserver's default of 10 s.)
  api.hangNext(100);
  for (const v of ['1ns', '0s', '0.0001s']) {
    const started = performance.now();
    const res = await client.mutate(podReview(`hang${v.length}x${v.replace(/[^a-z0-9]/g, '')}`), { timeout: v });
    const ms = since(started);
    t.equal(res.json?.response?.allowed, false, `timeout=${v}: denied for the hanging API`);
    t.ok(ms >= 500 && ms < 2_000, `timeout=${v} is clamped to the 1 s minimum: answered after ${ms} ms (not at once, not late)`);
  }
  api.clearFaults();
});

t.test('raw HTTP abuse: 4xx answers or a closed connection, never a 5xx; then still serving', async (t) => {
  const ts = await startTestServer({ env: ENV });
  t.teardown(() => ts.close());
  const port = Number(new URL(ts.url).port);
  const review = JSON.stringify(podReview('raw'));
  const chunk = (s: string) => `${Buffer.byteLength(s).toString(16)}\r\n${s}\r\n`;
  const cases: Array<[string, string | Buffer]> = [
    ['GET /mutate', 'GET /mutate HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['PUT /mutate', `PUT /mutate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${review.length}\r\n\r\n${review}`],
    ['DELETE /', 'DELETE / HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['header over 16 KiB', `POST /mutate HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`],
    ['10,000 headers', `POST /mutate HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 10_000 }, (_, i) => `X-${i}: 1\r\n`).join('')}\r\n`],
    ['Content-Length and Transfer-Encoding', `POST /mutate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n${chunk(review)}0\r\n\r\n`],
    ['two Content-Lengths', `POST /mutate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}`],
    ['Content-Length larger than the body', `POST /mutate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{}`],
    ['chunked body over the limit', Buffer.concat([Buffer.from('POST /mutate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n'), ...Array.from({ length: 5 }, () => Buffer.from(chunk('x'.repeat(1024 * 1024)))), Buffer.from('0\r\n\r\n')])],
    ['Content-Length over the limit', `POST /mutate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${64 * 1024 * 1024}\r\n\r\n{`],
    ['bad chunk size', `POST /mutate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`],
    ['garbage request line', 'HELLO\r\n\r\n'],
    ['HTTP/2 preface on HTTP/1.1', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'],
    ['NUL in the path', 'POST /mu\u0000tate HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['CRLF injection in a header value', `POST /mutate HTTP/1.1\r\nHost: x\r\nX-A: a\rSet-Cookie: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}`],
    ['Expect: 100-continue', `POST /mutate HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Type: application/json\r\nContent-Length: ${review.length}\r\n\r\n${review}`],
  ];
  for (const [name, bytes] of cases) {
    const code = await raw(port, ts.ca, bytes, name === 'Content-Length larger than the body' ? 1_000 : 3_000);
    t.ok(code === -1 || (code >= 100 && code < 500), `${name}: ${code === -1 ? 'connection closed' : code}`);
  }
  await sleep(50);
  const after = await ts.client().mutate(podReview('after-raw'));
  t.equal(after.status, 200, 'still serving');
  t.equal(after.json.response.allowed, true, 'and admits');
});

t.test('for any ?timeout= text the deadline is 1–30 s and our budget ends before it', async (t) => {
  const durations = fc.oneof(
    fc.string({ maxLength: 40 }),
    fc.tuple(fc.double({ min: -1e12, max: 1e12, noNaN: true }), fc.constantFrom('h', 'm', 's', 'ms', 'us', 'µs', 'ns', '')).map(([n, u]) => `${n}${u}`),
    fc.array(fc.tuple(fc.nat(1e6), fc.constantFrom('h', 'm', 's', 'ms')), { maxLength: 5 }).map((parts) => parts.map(([n, u]) => `${n}${u}`).join('')),
  );
  fc.assert(
    fc.property(durations, (text) => {
      const timeout = webhookTimeoutMs(text);
      const budget = admissionBudgetMs(timeout);
      return Number.isInteger(timeout) && timeout >= 1_000 && timeout <= 30_000 && budget >= 100 && budget <= timeout - 250;
    }),
    fuzzParameters(),
  );
  t.pass('deadlines stay inside the apiserver range with a margin to answer');
});
