// SIGTERM under load, on the real entry point (child process, `node src/server/main.ts`): 48 admissions spread
// over 8 kept-alive connections are inside the webhook (waiting on a slow Kubernetes API) when SIGTERM arrives.
// Every one of them gets its answer; the process exits 0. Its stdout (trace level) carries no planted secrets.
import t from 'tap';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import { kubeConfigFor, startFakeKubeApi } from '../helpers/fake-kube-api.ts';
import { assertNoSecrets, createLogCapture, plantSecrets, plantedSecrets } from '../helpers/log-capture.ts';
import { plainPod, reviewFor } from '../helpers/fuzz-arbitraries.ts';

t.setTimeout(120_000);

type Answer = { response?: { uid?: string; allowed?: boolean; patchType?: string } }; // a child process loading client-node is slow on a busy machine

const root = new URL('../../', import.meta.url).pathname;
// One admission per connection at a time, as kube-apiserver does (HTTP/1.1, no pipelining).
const IN_FLIGHT = 48;
const CONNECTIONS = IN_FLIGHT;

t.test('SIGTERM with 48 admissions in flight: all answered, exit 0', async (t) => {
  const api = await startFakeKubeApi();
  t.teardown(() => api.close());
  api.latencyMs = 1_200; // every API call is slow: the admissions are all inside the webhook at SIGTERM
  const dir = await mkdtemp(join(tmpdir(), 'db-access-shutdown-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const kubeconfig = join(dir, 'kubeconfig');
  await writeFile(kubeconfig, kubeConfigFor(api).exportConfig());

  const logs = createLogCapture();
  const child = spawn(process.execPath, ['src/server/main.ts'], {
    cwd: root,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME ?? tmpdir(),
      PORT: '0',
      METRICS_PORT: '0',
      HOST: '127.0.0.1',
      KUBECONFIG: kubeconfig,
      DB_ACCESS_KUBE: 'cluster',
      LOG_LEVEL: 'trace',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.pipe(logs.stream);
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  t.teardown(async () => {
    if (child.exitCode === null) child.kill('SIGKILL');
    await exited;
  });

  let port: number | undefined;
  for (let i = 0; i < 400 && port === undefined && child.exitCode === null; i++) {
    for (const r of logs.records()) {
      const m = /listening on https:\/\/[^:]+:(\d+)\/mutate/.exec(String(r.msg));
      if (m) port = Number(m[1]);
    }
    if (port === undefined) await sleep(50);
  }
  if (port === undefined) throw new Error(`the webhook did not start; stderr: ${stderr}`);

  // The embedded self-signed certificate: this test is about draining, not trust (the TLS suites pin CAs).
  const pool = new Pool(`https://127.0.0.1:${port}`, { connections: CONNECTIONS, connect: { rejectUnauthorized: false } });
  t.teardown(() => pool.close());
  const planted = plantedSecrets();
  const send = (i: number) =>
    pool
      .request({
        method: 'POST',
        path: '/mutate?timeout=10s',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(reviewFor(plantSecrets(plainPod(`drain${i}`), planted), 'tenant-a', `uid-${i}`)),
      })
      .then(async (res) => ({ i, status: res.statusCode, error: '', json: (await res.body.json()) as Answer }));

  // Open the connections, then put 48 admissions in flight (48 different apps: 48 SecretProviderClass reads).
  await Promise.all(Array.from({ length: CONNECTIONS }, (_, i) => send(1000 + i)));
  const before = api.requests.length;
  const inFlight = Array.from({ length: IN_FLIGHT }, (_, i) => send(i).catch((err: Error) => ({ i, status: -1, json: {} as Answer, error: err.message })));
  for (let i = 0; i < 200 && api.requests.length - before < IN_FLIGHT; i++) await sleep(20);
  t.equal(api.requests.length - before, IN_FLIGHT, 'all 48 admissions are inside the webhook, waiting on the API');

  child.kill('SIGTERM');
  const results = await Promise.all(inFlight);
  const failed = results.filter((r) => r.status !== 200 || r.json.response?.allowed !== true || r.json.response.uid !== `uid-${r.i}`);
  t.same(failed.map((r) => `#${r.i}: ${r.status} ${r.error}`), [], 'every in-flight admission got its own, correct answer');
  t.ok(results.every((r) => r.json.response?.patchType === 'JSONPatch'), 'with its injection');
  t.equal(await exited, 0, 'exit code 0');
  for (let i = 0; i < IN_FLIGHT; i++) {
    if (!api.get('tenant-a', `drain${i}-database-secrets`)) t.fail(`SecretProviderClass drain${i} was not created`);
  }
  const msgs = logs.records().map((r) => r.msg);
  t.ok(msgs.includes('stopped'), 'logged a clean stop');
  assertNoSecrets(t, logs.lines, planted.all, { minLines: IN_FLIGHT });
});
