// Shared set-up for the reliability and security suites: a webhook (buildApp over HTTPS, as main.ts builds it)
// wired to a given store and preflight, a client that calls it the way kube-apiserver does (CA pinned, SAN
// <svc>.<ns>.svc, keep-alive, ?timeout=), and the log capture. Everything is closed by `close()`.
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';
import type { Logger } from 'pino';
import { buildApp } from '../../src/server/app.ts';
import type { AppOptions } from '../../src/server/app.ts';
import { createMetrics } from '../../src/server/metrics.ts';
import type { Metrics } from '../../src/server/metrics.ts';
import { createLogger } from '../../src/server/logger.ts';
import { secureOptions } from '../../src/tls/index.ts';
import type { EnginePolicy } from '../../src/engine/types.ts';
import type { SecretProviderClassStore } from '../../src/kube/types.ts';
import type { SecretPreflight } from '../../src/aws/types.ts';
import type { OnKubeError, PreflightMode, LogLevel } from '../../src/config.ts';
import { createTestCa, issueCertificate } from '../helpers/test-ca.ts';
import type { TestCa } from '../helpers/test-ca.ts';
import { createLogCapture } from '../helpers/log-capture.ts';
import type { LogCapture } from '../helpers/log-capture.ts';

export const SERVICE_NAME = 'db-access-webhook.db-access-webhook.svc';

export const POLICY: EnginePolicy = {
  environment: 'prod',
  region: 'eu-west-1',
  webhookNamespace: 'db-access-webhook',
  excludedNamespaces: [],
  usePodIdentity: false,
  urlFromSecret: false,
};

export interface WebhookUnderTest {
  readonly origin: string;
  readonly ca: TestCa;
  readonly logs: LogCapture;
  readonly metrics: Metrics;
  readonly logger: Logger;
  /** A keep-alive pool that speaks like the apiserver (CA pinned, SAN checked). */
  readonly client: Pool;
  /** POST /mutate?timeout=… with a raw body. */
  post(body: string, options?: { contentType?: string; timeout?: string }): Promise<{ status: number; text: string; headers: Record<string, unknown> }>;
  close(): Promise<void>;
}

export interface StartOptions {
  readonly store: SecretProviderClassStore;
  readonly preflight?: SecretPreflight;
  readonly preflightMode?: PreflightMode;
  readonly onKubeError?: OnKubeError;
  readonly policy?: EnginePolicy;
  readonly logLevel?: LogLevel;
  readonly connections?: number;
  readonly app?: Omit<AppOptions, 'https'>;
}

export async function startWebhook(options: StartOptions): Promise<WebhookUnderTest> {
  const ca = await createTestCa('webhook test CA');
  const leaf = await issueCertificate(ca, { dnsNames: [SERVICE_NAME, 'localhost'], ipAddresses: ['127.0.0.1'] });
  const logs = createLogCapture();
  const logger = createLogger(options.logLevel ?? 'info', logs.destination);
  const metrics = createMetrics({ defaultMetrics: false });
  const app = buildApp(
    {
      policy: options.policy ?? POLICY,
      preflightMode: options.preflightMode ?? 'off',
      onKubeError: options.onKubeError ?? 'deny',
      store: options.store,
      preflight: options.preflight,
      logger,
      metrics,
      readiness: () => ({ ready: true, reasons: [] }),
    },
    { ...options.app, https: secureOptions(leaf) },
  );
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  const origin = `https://127.0.0.1:${port}`;
  const client = new Pool(origin, {
    connections: options.connections ?? 16,
    connect: { ca: ca.cert, servername: SERVICE_NAME },
  });
  return {
    origin,
    ca,
    logs,
    metrics,
    logger,
    client,
    async post(body, { contentType = 'application/json', timeout = '10s' } = {}) {
      const res = await client.request({
        path: `/mutate?timeout=${timeout}`,
        method: 'POST',
        headers: { 'content-type': contentType },
        body,
      });
      const text = await res.body.text();
      return { status: res.statusCode, text, headers: res.headers };
    },
    async close() {
      await client.close();
      await app.close();
    },
  };
}

/** Runs `work` over `items` with at most `limit` in flight; resolves when all are done (bounded by items). */
export async function runPool<T>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      await work(items[i] as T, i);
    }
  });
  await Promise.all(workers);
}
