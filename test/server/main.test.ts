// The real entry point as a child process: `npm start` with no settings, SIGTERM draining, start-up errors.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { X509Certificate } from 'node:crypto';
import { Pool } from 'undici';
import { applyPatch } from '../helpers/apply-patch.ts';
import { kubeConfigFor, startFakeKubeApi } from '../helpers/fake-kube-api.ts';
import { bareEnv, listeningPort, post, recordsOnce, start, stopGroup, type Child } from '../helpers/server-process.ts';
import { optedIn } from '../helpers/webhook-client.ts';

// Child processes start slowly on a loaded machine (client-node alone takes a second to load).
t.setTimeout(120_000);

const review = JSON.parse(
  readFileSync(new URL('../fixtures/admission/01-deployment-pod-mutating-phase.review.json', import.meta.url), 'utf8'),
);

t.test('the test runs on Node 24 (the child processes use the same binary)', async (t) => {
  t.match(process.version, /^v24\./);
});

t.test('`npm start` with no settings serves a correct admission', async (t) => {
  let child: Child | undefined;
  let port: number | undefined;
  // The defaults are fixed ports (8443, 9090); another test run may hold them for a moment, so retry a little.
  for (let attempt = 0; attempt < 10 && port === undefined; attempt++) {
    child = start('npm', ['start', '--silent'], bareEnv());
    port = await listeningPort(child);
    if (port === undefined) {
      t.comment(`attempt ${attempt + 1} ended: ${child.stderr().trim().split('\n').at(-1)}`);
      await sleep(500);
    }
  }
  const c = child!;
  t.teardown(async () => {
    stopGroup(c);
    await c.exited;
  });
  t.equal(port, 8443, 'the default port');

  // Like `curl -k`: the embedded certificate is self-signed and its CA exists only in that process.
  const pool = new Pool(`https://127.0.0.1:${port}`, { connect: { rejectUnauthorized: false } });
  t.teardown(() => pool.close());
  const sent = optedIn(review);
  const res = await post(pool, sent);
  t.equal(res.status, 200);
  t.equal(res.json.apiVersion, 'admission.k8s.io/v1');
  t.equal(res.json.response.uid, review.request.uid);
  t.equal(res.json.response.allowed, true);
  t.equal(res.json.response.patchType, 'JSONPatch');
  const pod = applyPatch(sent.request.object, JSON.parse(Buffer.from(res.json.response.patch, 'base64').toString('utf8'))) as any;
  t.ok(pod.spec.volumes.some((v: any) => v.csi?.driver === 'secrets-store.csi.k8s.io'));

  const probes = await fetch('http://127.0.0.1:9090/readyz');
  t.equal(probes.status, 200, 'the probe port answers');

  const cert = await new Promise<X509Certificate>((resolve, reject) => {
    import('node:tls').then(({ connect }) => {
      const s = connect({ host: '127.0.0.1', port: port!, servername: 'localhost', rejectUnauthorized: false }, () => {
        const raw = s.getPeerCertificate().raw;
        s.end();
        resolve(new X509Certificate(raw));
      });
      s.once('error', reject);
    }, reject);
  });
  t.ok(cert.checkHost('localhost'), 'the embedded certificate names localhost');
  t.ok(cert.checkIP('127.0.0.1'));

  const records = await recordsOnce(c, (r) => r.msg === 'admission');
  t.ok(records.some((r) => /in-memory self-signed certificate/.test(String(r.msg))), 'says it is self-signed');
  t.ok(records.some((r) => /would create SecretProviderClass/.test(String(r.msg))), 'logs the SecretProviderClass it would create');
  const admission = records.filter((r) => r.msg === 'admission');
  t.equal(admission.length, 1);
  t.match(admission[0], { uid: review.request.uid, namespace: 'kubewarden', decision: 'inject', durationMs: Number });

  // The docs quote this start-up line, with `...` for the fields that change per run: what they show must be true.
  const listening = records.find((r) => String(r.msg).startsWith('db-access-webhook listening on'));
  t.ok(listening, 'the start-up line says where it listens');
  const samples = documentedListeningLines();
  t.equal(samples.length, 3, 'quoted twice in the README and once in docs/server.md');
  for (const { doc, fields, shape } of samples) {
    t.match(listening, fields, `${doc}: the start-up line's values as documented`);
    t.match(Object.keys(listening!).join(','), shape, `${doc}: its fields in order, \`...\` standing for one or more`);
  }

  stopGroup(c);
  await c.exited; // npm itself may end by the signal; what matters is the server's own clean stop
  t.ok(c.logs.records().some((r) => r.msg === 'stopped'), 'SIGTERM ends the server cleanly');
});

/**
 * The start-up lines quoted in the README and docs/server.md: their values (`...,` removed, then parsed), and the
 * order of their fields as a pattern over the real line's field names, where `...` stands for one or more fields.
 */
function documentedListeningLines(): Array<{ doc: string; fields: Record<string, unknown>; shape: RegExp }> {
  const out: Array<{ doc: string; fields: Record<string, unknown>; shape: RegExp }> = [];
  for (const doc of ['README.md', 'docs/server.md']) {
    const text = readFileSync(new URL(`../../${doc}`, import.meta.url), 'utf8');
    for (const line of text.split('\n')) {
      if (!line.includes('"msg":"db-access-webhook listening on')) continue;
      const fields = JSON.parse(line.replaceAll('...,', '')) as Record<string, unknown>;
      const tokens = [...line.matchAll(/[{,](?:"(\w+)":|\.\.\.(?=,))/g)].map((m) => m[1] ?? '...');
      const shape = tokens.map((k) => (k === '...' ? '\\w+(?:,\\w+)*' : k)).join(',');
      out.push({ doc, fields, shape: new RegExp(`^${shape}$`) });
    }
  }
  return out;
}

t.test('SIGTERM to npm alone reaches the server: `npm start` leaves no orphan behind', async (t) => {
  // A supervisor or an IDE often signals only the process it started. npm forwards the signal to its child, which
  // must be the server itself (the script execs node), not a shell that dies and leaves node running.
  const c = start('npm', ['start', '--silent'], bareEnv({ PORT: '0', METRICS_PORT: '0' }));
  t.teardown(async () => {
    stopGroup(c, 'SIGKILL');
    await c.exited;
  });
  t.ok(await listeningPort(c), 'started');
  process.kill(c.proc.pid!, 'SIGTERM'); // npm only, not its process group
  const records = await recordsOnce(c, (r) => r.msg === 'stopped');
  t.ok(records.some((r) => r.msg === 'stopped'), 'the server got the signal and stopped cleanly');
});

t.test('Ctrl-C under npm (SIGINT to the whole group, then forwarded by npm) drains once and exits 0', async (t) => {
  const c = start('npm', ['start', '--silent'], bareEnv({ PORT: '0', METRICS_PORT: '0', DB_ACCESS_DRAIN_SECONDS: '1' }));
  t.teardown(async () => {
    stopGroup(c, 'SIGKILL');
    await c.exited;
  });
  t.ok(await listeningPort(c), 'started');
  stopGroup(c, 'SIGINT');
  const records = await recordsOnce(c, (r) => r.msg === 'stopped');
  t.equal(records.filter((r) => r.msg === 'shutdown requested').length, 1, 'one shutdown, not two');
  t.match(records.find((r) => /draining/.test(String(r.msg))), { drainMs: 1000 }, 'the drain ran');
  t.ok(records.some((r) => r.msg === 'stopped'));
  t.notOk(records.some((r) => /second signal/.test(String(r.msg))), 'the duplicate did not force an exit');
  t.equal(await c.exited, 0, 'npm reports success');
});

t.test('SIGTERM: no new connections, the request in flight completes, exit 0', async (t) => {
  const api = await startFakeKubeApi();
  t.teardown(() => api.close());
  api.latencyMs = 1_500; // the SecretProviderClass create takes a while
  const dir = await mkdtemp(join(tmpdir(), 'db-access-main-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const kubeconfig = join(dir, 'kubeconfig');
  await writeFile(kubeconfig, kubeConfigFor(api).exportConfig());

  const child = start(process.execPath, ['src/server/main.ts'], bareEnv({
    PORT: '0',
    METRICS_PORT: '0',
    HOST: '127.0.0.1',
    KUBECONFIG: kubeconfig,
    DB_ACCESS_KUBE: 'cluster',
  }));
  t.teardown(async () => {
    stopGroup(child, 'SIGKILL');
    await child.exited;
  });
  const port = await listeningPort(child);
  t.ok(port, 'started');

  const pool = new Pool(`https://127.0.0.1:${port}`, { connect: { rejectUnauthorized: false } });
  t.teardown(() => pool.close());
  const inFlight = post(pool, optedIn(review));
  // Wait until the webhook is talking to the API (the request is inside the webhook), then signal.
  for (let i = 0; i < 100 && api.requests.length === 0; i++) await sleep(20);
  t.ok(api.requests.length > 0, 'the admission reached the Kubernetes API');
  child.proc.kill('SIGTERM');
  await sleep(200);

  const refused = await new Promise<string>((resolve) => {
    const s = netConnect({ host: '127.0.0.1', port: port! });
    s.once('connect', () => {
      s.destroy();
      resolve('connected');
    });
    s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
  });
  t.equal(refused, 'ECONNREFUSED', 'no new connections after SIGTERM');

  const res = await inFlight;
  t.equal(res.status, 200, 'the request in flight got its answer');
  t.equal(res.json.response.allowed, true);
  t.equal(res.json.response.patchType, 'JSONPatch');
  t.ok(api.get('kubewarden', 'kubewarden-controller-database-secrets'), 'and its SecretProviderClass was created');
  t.equal(await child.exited, 0, 'exit code 0');
  const msgs = child.logs.records().map((r) => r.msg);
  t.ok(msgs.includes('shutdown requested'));
  t.ok(msgs.includes('stopped'));
});

t.test('a bad setting: one line naming it, exit 1, no stack trace', async (t) => {
  const child = start(process.execPath, ['src/server/main.ts'], bareEnv({ DB_ACCESS_PREFLIGHT: 'maybe', PORT: '0', METRICS_PORT: '0' }));
  t.equal(await child.exited, 1);
  t.equal(
    child.stderr().trim(),
    'db-access-webhook: invalid setting: DB_ACCESS_PREFLIGHT must be one of off, warn, deny; got "maybe"',
  );
});

t.test('a missing key file at start-up: exit 1 with an error naming TLS_KEY_FILE', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'db-access-main-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'tls.crt'), 'x');
  const child = start(process.execPath, ['src/server/main.ts'], bareEnv({
    PORT: '0',
    METRICS_PORT: '0',
    TLS_CERT_FILE: join(dir, 'tls.crt'),
    TLS_KEY_FILE: join(dir, 'tls.key'),
  }));
  t.equal(await child.exited, 1);
  t.match(child.stderr(), /cannot start: TLS_KEY_FILE ".*tls.key" cannot be read: no such file/);
  t.notMatch(child.stderr(), /\n\s+at /, 'no stack trace');
});


t.test('a port in use at start-up: exit 1 with an error naming the setting, for each listener', async (t) => {
  const { createServer } = await import('node:net');
  const squatter = createServer();
  await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise((resolve) => squatter.close(resolve)));
  const taken = String((squatter.address() as import('node:net').AddressInfo).port);

  const https = start(process.execPath, ['src/server/main.ts'], bareEnv({ HOST: '127.0.0.1', PORT: taken, METRICS_PORT: '0' }));
  t.equal(await https.exited, 1);
  t.match(https.stderr(), `cannot start: cannot listen on PORT=${taken}, HOST=127.0.0.1: the port is already in use by another process`);

  const probes = start(process.execPath, ['src/server/main.ts'], bareEnv({ HOST: '127.0.0.1', PORT: '0', METRICS_PORT: taken }));
  t.equal(await probes.exited, 1);
  t.match(probes.stderr(), `cannot listen on METRICS_PORT=${taken}, HOST=127.0.0.1: the port is already in use by another process (METRICS_PORT=0 turns the probe listener off)`);
  t.notMatch(probes.stderr(), /\n\s+at /, 'no stack trace');
});
