// Everything the processes under test need: a CA the client pins, a serving certificate for the Service name,
// the in-test Kubernetes API (kubeconfig on disk for the child), free ports and a scratch directory.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createTestCa, issueCertificate } from '../../test/helpers/test-ca.ts';
import type { TestCa } from '../../test/helpers/test-ca.ts';
import { bundle, buildServer } from '../../scripts/build.ts';
import { kubeConfigFor, startFakeKubeApi } from '../../test/helpers/fake-kube-api.ts';
import type { FakeKubeApi } from '../../test/helpers/fake-kube-api.ts';
import { ChildUnderTest, waitUntil } from './child.ts';
import { Pool } from 'undici';
import { LoadClient } from './load.ts';

/** The name kube-apiserver checks: `<service>.<namespace>.svc`. */
export const SERVICE_DNS_NAME = 'db-access-webhook.db-access-webhook.svc';
/** The apiserver always appends its own deadline. */
export const MUTATE_PATH = '/mutate?timeout=10s';

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface BenchEnvironment {
  readonly dir: string;
  /** The webhook's entry as the image runs it, bundled by scripts/build.ts (or BENCH_SERVER_MAIN, not written). */
  readonly webhookMain: string;
  readonly echoMain: string;
  /** Preloaded into every child (bench/lib/probe.ts, bundled). */
  readonly probe: string;
  readonly ca: TestCa;
  readonly certFile: string;
  readonly keyFile: string;
  readonly kubeApi: FakeKubeApi;
  readonly kubeconfigFile: string;
  close(): Promise<void>;
}

export async function createEnvironment(): Promise<BenchEnvironment> {
  const dir = mkdtempSync(path.join(tmpdir(), 'db-access-bench-'));
  const ca = await createTestCa('db-access-webhook bench CA');
  const leaf = await issueCertificate(ca, { dnsNames: [SERVICE_DNS_NAME, 'localhost'], ipAddresses: ['127.0.0.1'] });
  // Certificates in their own directory, as a mounted Secret is: the webhook watches that directory for rotation,
  // and log files written next to them would wake its watcher on every admission.
  const tlsDir = path.join(dir, 'tls');
  mkdirSync(tlsDir);
  mkdirSync(path.join(dir, 'logs'));
  const certFile = path.join(tlsDir, 'tls.crt');
  const keyFile = path.join(tlsDir, 'tls.key');
  writeFileSync(certFile, leaf.cert);
  writeFileSync(keyFile, leaf.key, { mode: 0o600 });
  // The children run bundled, as the image runs the webhook (scripts/build.ts says why): the webhook exactly as
  // `npm run build` makes it, the echo and the probe with the same options.
  const { main: webhookMain } = await buildServer(path.join(dir, 'build', 'webhook'));
  await bundle(['bench/echo-server.ts', 'bench/lib/probe.ts'], path.join(dir, 'build', 'bench'));
  const kubeApi = await startFakeKubeApi();
  const kubeconfigFile = path.join(dir, 'kubeconfig');
  writeFileSync(kubeconfigFile, kubeConfigFor(kubeApi).exportConfig(), { mode: 0o600 });
  return {
    dir,
    // BENCH_SERVER_MAIN runs another build of the entry, e.g. src/server/main.ts on type stripping, to compare.
    webhookMain: process.env.BENCH_SERVER_MAIN ?? webhookMain,
    echoMain: path.join(dir, 'build', 'bench', 'echo-server.mjs'),
    probe: path.join(dir, 'build', 'bench', 'probe.mjs'),
    ca,
    certFile,
    keyFile,
    kubeApi,
    kubeconfigFile,
    async close() {
      await kubeApi.close();
      // BENCH_KEEP_LOGS=1 keeps the children's logs (one JSON line per admission) for a look after the run.
      if (process.env.BENCH_KEEP_LOGS === '1') process.stderr.write(`[bench] logs kept in ${dir}\n`);
      else rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface RunningTarget {
  readonly name: 'webhook' | 'echo';
  readonly child: ChildUnderTest;
  readonly port: number;
  readonly metricsPort: number;
  readonly origin: string;
  /** ms from spawn to the first 200 on /readyz. */
  readonly readyMs: number;
  client(maxConnections: number): LoadClient;
}

export interface TargetOptions {
  readonly nodeFlags?: readonly string[];
  /** Extra environment for the webhook (e.g. DB_ACCESS_KUBE=memory). */
  readonly env?: Record<string, string>;
  /** Use the embedded defaults: no certificate files, no kubeconfig (what `npm start` does). */
  readonly embeddedDefaults?: boolean;
  /** Picks the ports to give the child (tests of the retry); freePort by default. */
  readonly pickPort?: () => Promise<number>;
}

/** The webhook's environment: the real main, our certificate, the fake API through KUBECONFIG. */
export function webhookEnv(env: BenchEnvironment, port: number, metricsPort: number, options: TargetOptions = {}): Record<string, string> {
  const base: Record<string, string> = {
    PORT: String(port),
    HOST: '127.0.0.1',
    METRICS_PORT: String(metricsPort),
    DB_ACCESS_ENVIRONMENT: 'prod',
    AWS_REGION: 'eu-west-1',
    LOG_LEVEL: 'info',
    NODE_ENV: 'production',
    DB_ACCESS_DRAIN_SECONDS: '0', // the shutdown drain only delays each start-up run's exit
  };
  if (options.embeddedDefaults !== true) {
    Object.assign(base, {
      TLS_CERT_FILE: env.certFile,
      TLS_KEY_FILE: env.keyFile,
      DB_ACCESS_KUBE: 'cluster',
      KUBECONFIG: env.kubeconfigFile,
    });
  }
  return { ...base, ...options.env };
}

async function readyCheck(client: LoadClient | Pool): Promise<boolean> {
  const pool = client instanceof LoadClient ? client.pool : client;
  const response = await pool.request({ path: '/readyz', method: 'GET' });
  await response.body.dump();
  return response.statusCode === 200;
}

/**
 * freePort() closes its probe socket before the child binds the port, so another process (a parallel test) can take
 * it in between: a child that exits with EADDRINUSE is started again on other ports.
 */
async function startTarget(env: BenchEnvironment, name: 'webhook' | 'echo', options: TargetOptions): Promise<RunningTarget> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startTargetOnce(env, name, options);
    } catch (error) {
      if (!(error instanceof PortTakenError) || attempt >= 3) throw error;
    }
  }
}

class PortTakenError extends Error {}

async function startTargetOnce(
  env: BenchEnvironment,
  name: 'webhook' | 'echo',
  options: TargetOptions,
): Promise<RunningTarget> {
  const pickPort = options.pickPort ?? freePort;
  const port = await pickPort();
  const metricsPort = name === 'webhook' ? await pickPort() : 0;
  const childEnv =
    name === 'webhook'
      ? webhookEnv(env, port, metricsPort, options)
      : { PORT: String(port), HOST: '127.0.0.1', TLS_CERT_FILE: env.certFile, TLS_KEY_FILE: env.keyFile, NODE_ENV: 'production' };
  const child = new ChildUnderTest({
    file: name === 'webhook' ? env.webhookMain : env.echoMain,
    probe: env.probe,
    env: childEnv,
    logFile: path.join(env.dir, 'logs', `${name}-${port}.log`),
    ...(options.nodeFlags ? { nodeFlags: options.nodeFlags } : {}),
  });
  const origin = `https://127.0.0.1:${port}`;
  // With the embedded self-signed certificate there is nothing to pin: poll the plain-HTTP metrics port, as the
  // kubelet's probes do. Otherwise poll over TLS, which also proves the serving certificate is in place.
  const probeClient =
    options.embeddedDefaults === true
      ? new Pool(`http://127.0.0.1:${metricsPort}`, { connections: 1 })
      : new LoadClient({ origin, ca: env.ca.cert, servername: SERVICE_DNS_NAME, maxConnections: 1 });
  const pool = probeClient instanceof LoadClient ? probeClient.pool : probeClient;
  let readyAt: number;
  try {
    readyAt = await waitUntil(child, () => readyCheck(probeClient));
  } catch (error) {
    // destroy, not close: a probe may hang on whoever holds the port, and close() would wait for it.
    await pool.destroy();
    await child.stop(2_000);
    const log = await readFile(child.logFile, 'utf8').catch(() => '');
    throw log.includes('EADDRINUSE') ? new PortTakenError(`port ${port} or ${metricsPort} was taken`) : error;
  }
  await pool.close();
  return {
    name,
    child,
    port,
    metricsPort,
    origin,
    readyMs: readyAt - child.startedAt,
    client: (maxConnections) => new LoadClient({ origin, ca: env.ca.cert, servername: SERVICE_DNS_NAME, maxConnections }),
  };
}

export function startWebhook(env: BenchEnvironment, options: TargetOptions = {}): Promise<RunningTarget> {
  return startTarget(env, 'webhook', options);
}

export function startEcho(env: BenchEnvironment, options: TargetOptions = {}): Promise<RunningTarget> {
  return startTarget(env, 'echo', options);
}
