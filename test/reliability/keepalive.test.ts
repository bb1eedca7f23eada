// Keep-alive: kube-apiserver keeps idle webhook connections for 90 s and never retries a POST, so the webhook must
// never be the side that closes an idle connection first. Node's default keepAliveTimeout is 5 s and fastify's is
// 72 s: both shorter than the apiserver's 90 s. We test a real idle gap longer than Node's default (6 s) on one
// connection, with a control server on Node's defaults that does drop it; the 90 s case is asserted from the
// configured timeouts rather than slept through (a 90 s test would dominate the suite).
import t from 'tap';
import https from 'node:https';
import { connect } from 'node:tls';
import type { TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTestServer } from '../helpers/start-server.ts';
import type { TestServer } from '../helpers/start-server.ts';
import { DEFAULT_SERVERNAME } from '../helpers/webhook-client.ts';
import { httpsServerOf } from '../../src/server/app.ts';
import { createDevCa, issueServingCertificate, servingNames } from '../../src/tls/dev-certificates.ts';
import { ENV, podReview } from './harness.ts';

t.setTimeout(60_000); // a real 6 s idle gap

const IDLE_MS = 6_000; // > Node's default keepAliveTimeout (5 s)
const APISERVER_IDLE_MS = 90_000;
const NODE_DEFAULT_KEEPALIVE_MS = 5_000;
const FASTIFY_DEFAULT_KEEPALIVE_MS = 72_000;

/** One raw HTTP/1.1 exchange on an open TLS socket; resolves with the status, or rejects if the socket is gone. */
function exchange(socket: TLSSocket, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    if (socket.destroyed || !socket.writable) {
      reject(new Error('socket already closed by the server'));
      return;
    }
    let buffer = '';
    const onData = (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      const head = buffer.indexOf('\r\n\r\n');
      if (head < 0) return;
      const length = Number(/content-length: (\d+)/i.exec(buffer.slice(0, head))?.[1] ?? 0);
      if (Buffer.byteLength(buffer.slice(head + 4)) < length) return;
      cleanup();
      resolve(Number(buffer.slice(9, 12)));
    };
    const onEnd = () => {
      cleanup();
      reject(new Error('connection closed by the server'));
    };
    const cleanup = () => {
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
    };
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
    socket.write(
      `POST /mutate?timeout=10s HTTP/1.1\r\nHost: ${DEFAULT_SERVERNAME}\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: keep-alive\r\n\r\n${body}`,
    );
  });
}

function open(port: number, ca: string): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, ca, servername: DEFAULT_SERVERNAME }, () => resolve(s));
    s.once('error', reject);
  });
}

let ts: TestServer;
t.before(async () => {
  ts = await startTestServer({ env: ENV }); // production server limits: no overrides
});
t.teardown(() => ts.close());

t.test('the configured timeouts outlast the apiserver idle time (the 90 s case, asserted)', async (t) => {
  const server = ts.server.app.server;
  t.ok(server.keepAliveTimeout > APISERVER_IDLE_MS, `keepAliveTimeout ${server.keepAliveTimeout} ms > the apiserver's ${APISERVER_IDLE_MS} ms`);
  t.ok(server.keepAliveTimeout > FASTIFY_DEFAULT_KEEPALIVE_MS && server.keepAliveTimeout > NODE_DEFAULT_KEEPALIVE_MS, 'and above the Node and fastify defaults');
  // On a connection that has not carried a request yet, Node counts both from the moment it opened.
  t.ok(server.headersTimeout > APISERVER_IDLE_MS, `headersTimeout ${server.headersTimeout} ms outlasts a parked new connection`);
  t.ok(server.requestTimeout > APISERVER_IDLE_MS, `requestTimeout ${server.requestTimeout} ms outlasts it too, and the 30 s maximum webhook timeout`);
  t.ok(server.headersTimeout < Number.POSITIVE_INFINITY && server.headersTimeout > 0, 'and still bounded (slow headers)');
});

t.test(`an idle gap of ${IDLE_MS / 1000} s on one kept-alive connection: zero failed requests`, async (t) => {
  let connections = 0;
  httpsServerOf(ts.server.app).on('secureConnection', () => connections++);

  // Control: an HTTPS server on Node's defaults closes the idle connection after 5 s.
  const ca = await createDevCa('keep-alive control CA');
  const pair = await issueServingCertificate(ca, servingNames());
  const control = https.createServer({ ...pair }, (req, res) => {
    req.resume();
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      res.end('{}');
    });
  });
  await new Promise<void>((r) => control.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise((r) => control.close(r)));

  const body = JSON.stringify(podReview('keepalive'));
  const webhookSocket = await open(Number(new URL(ts.url).port), ts.ca);
  const controlSocket = await open((control.address() as AddressInfo).port, ca.cert);
  const pooled = ts.client({ connections: 1 }); // undici, as the other suites use it
  t.teardown(() => {
    webhookSocket.destroy();
    controlSocket.destroy();
  });

  t.equal(await exchange(webhookSocket, body), 200, 'first request');
  t.equal(await exchange(controlSocket, body), 200, 'control: first request');
  t.equal((await pooled.mutate(body)).status, 200, 'pooled client: first request');
  await sleep(IDLE_MS);

  await t.rejects(exchange(controlSocket, body), /closed/, 'control on Node defaults: the idle connection is gone');
  t.equal(await exchange(webhookSocket, body), 200, 'the webhook answers on the same connection after the idle gap');
  t.equal((await pooled.mutate(body)).status, 200, 'pooled client: same');
  t.equal(connections, 2, 'exactly two TLS connections were ever made (raw socket + pool): nothing reconnected');
});
