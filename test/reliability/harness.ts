// Small shared pieces for the reliability and security suites (the server itself comes from
// test/helpers/start-server.ts, the kube-apiserver-like client from test/helpers/webhook-client.ts).
import { decide } from '../../src/engine/index.ts';
import type { EnginePolicy, SecretProviderClass } from '../../src/engine/index.ts';
import { plainPod, reviewFor } from '../helpers/fuzz-arbitraries.ts';

/** The environment every suite runs with (matches ENV below). */
export const ENVIRONMENT = 'prod';

/** Settings for startTestServer: the environment above, trace logging (every log statement runs). */
export const ENV: Record<string, string> = { DB_ACCESS_ENVIRONMENT: ENVIRONMENT, LOG_LEVEL: 'trace', AWS_REGION: 'eu-west-1' };

export const POLICY: EnginePolicy = {
  environment: ENVIRONMENT,
  region: 'eu-west-1',
  webhookNamespace: 'db-access-webhook',
  excludedNamespaces: [],
  usePodIdentity: false,
  urlFromSecret: false,
};

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

/** An opted-in pod review for `app` in `namespace`, with a unique uid. */
export function podReview(app: string, namespace = 'tenant-a', uid?: string): Record<string, unknown> {
  return uid === undefined ? reviewFor(plainPod(app), namespace) : reviewFor(plainPod(app), namespace, uid);
}

/** The SecretProviderClass the engine wants for a plain pod of `app` (to compare with what was stored). */
export function desiredSpc(app: string, namespace = 'tenant-a'): SecretProviderClass {
  const request = (podReview(app, namespace) as { request: Parameters<typeof decide>[0] }).request;
  const d = decide(request, POLICY);
  if (d.action !== 'inject') throw new Error(`plain pod of ${app} was not injected`);
  return d.secretProviderClass;
}

/** Milliseconds since `start` (performance.now()). */
export function since(start: number): number {
  return Math.round(performance.now() - start);
}
