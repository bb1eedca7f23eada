// The load generator tells a server that closes idle keep-alive connections from its own idle timeout.
import t from 'tap';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { LoadClient } from '../../bench/lib/load.ts';
import { createTestCa, issueCertificate } from '../helpers/test-ca.ts';

const ca = await createTestCa();
const pair = await issueCertificate(ca, { dnsNames: ['webhook.test'] });

async function serve(keepAliveTimeout: number): Promise<{ server: Server; client: LoadClient }> {
  const server = createServer({ cert: pair.cert, key: pair.key }, (_req, res) => res.end('ok'));
  server.keepAliveTimeout = keepAliveTimeout;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const client = new LoadClient({ origin: `https://127.0.0.1:${port}`, ca: ca.cert, servername: 'webhook.test', maxConnections: 1 });
  return { server, client };
}

async function oneRequest(client: LoadClient): Promise<void> {
  const res = await client.pool.request({ path: '/', method: 'GET' });
  await res.body.text();
}

t.test('an idle connection the server ends is counted as closed by the server', async (t) => {
  const { server, client } = await serve(200);
  t.teardown(() => new Promise((resolve) => server.close(resolve)));
  t.teardown(() => client.close());
  await oneRequest(client);
  for (let i = 0; i < 100 && client.connectionsClosed === 0; i++) await sleep(50);
  t.equal(client.connectionsOpened, 1);
  t.equal(client.connectionsClosed, 1);
  t.equal(client.connectionsClosedByServer, 1);
});

t.test('a connection the client retires is closed, but not by the server', async (t) => {
  const { server, client } = await serve(60_000);
  t.teardown(() => new Promise((resolve) => server.close(resolve)));
  await oneRequest(client);
  t.equal(client.connectionsClosed, 0, 'kept alive after the answer');
  await client.close();
  for (let i = 0; i < 100 && client.connectionsClosed === 0; i++) await sleep(20);
  t.equal(client.connectionsClosed, 1);
  t.equal(client.connectionsClosedByServer, 0);
});
