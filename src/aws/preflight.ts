// Secrets Manager preflight: DescribeSecret only (metadata, never the value). Cached, single-flight, never throws,
// and bounded in time so a slow or throttling AWS can never hold up an admission.
import { DescribeSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { DescribeSecretCommandOutput, SecretsManagerClientConfig } from '@aws-sdk/client-secrets-manager';
import { networkErrorCode, networkErrorWords } from '../network-errors.ts';
import { SingleFlight } from '../single-flight.ts';
// Preflight messages become warnings or denial details: as short as the engine's.
import { warning } from '../text.ts';
import { TtlCache } from '../ttl-cache.ts';
import type { PreflightResult, PreflightStatus, SecretPreflight } from './types.ts';

export interface PreflightLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

export interface PreflightOptions {
  /** Region of the Secrets Manager endpoint (the same region the SecretProviderClass names). */
  readonly region: string;
  /** Tag key that names the secret's organization; empty or absent disables the tag check. */
  readonly orgTagKey?: string;
  /** How long 'ok' is remembered (default 5 minutes). */
  readonly positiveTtlMs?: number;
  /**
   * How long 'missing', 'scheduled-for-deletion' and 'tag-mismatch' are remembered (default 10 s). Short: in deny
   * mode these answers refuse pods, and a fixed secret should be seen by the controller's next retry.
   */
  readonly negativeTtlMs?: number;
  /** How long 'unavailable' is remembered, so a throttling AWS is not hammered (default 5 s). */
  readonly unavailableTtlMs?: number;
  /** Upper bound for one check, whatever the caller's signal says (default 2 s). */
  readonly timeoutMs?: number;
  /** Bound on cached answers (default 10,000). */
  readonly maxEntries?: number;
  /** A ready client (tests, or a caller with its own settings). */
  readonly client?: SecretsManagerClient;
  /** Extra client settings (endpoint, credentials, requestHandler); merged over the preflight's safe defaults. */
  readonly clientConfig?: SecretsManagerClientConfig;
  /**
   * Metric hook: one call per check() answer. `source`: 'aws' when this check made the AWS call, 'shared' when it
   * joined a call already in flight, 'cache' when answered from the cache (or refused before any call).
   */
  readonly onResult?: (status: PreflightStatus, source: PreflightSource) => void;
  readonly logger?: PreflightLogger;
  /** Test hook for time. */
  readonly now?: () => number;
}

export type PreflightSource = 'aws' | 'shared' | 'cache';

export interface Preflight extends SecretPreflight {
  known(secretId: string, organization: string): PreflightResult | undefined;
  readonly cacheSize: number;
  clearCache(): void;
}

const silent: PreflightLogger = { info() {}, warn() {}, debug() {} };

/** Client defaults: few attempts and hard socket timeouts, so the SDK itself cannot outlast the admission. */
export function preflightClientConfig(region: string, timeoutMs: number, extra: SecretsManagerClientConfig = {}): SecretsManagerClientConfig {
  const handlerDefaults = {
    connectionTimeout: Math.min(1000, timeoutMs),
    requestTimeout: timeoutMs,
    throwOnRequestTimeout: true,
  };
  const given = extra.requestHandler;
  // A handler instance is used as is; handler options are merged over our timeouts.
  const requestHandler =
    given !== undefined && typeof (given as { handle?: unknown }).handle === 'function'
      ? given
      : { ...handlerDefaults, ...(given as object | undefined) };
  return { region, maxAttempts: 2, ...extra, requestHandler } as SecretsManagerClientConfig;
}

export function createPreflight(options: PreflightOptions): Preflight {
  const region = options.region;
  const orgTagKey = options.orgTagKey?.trim() || undefined;
  const positiveTtlMs = options.positiveTtlMs ?? 5 * 60_000;
  const negativeTtlMs = options.negativeTtlMs ?? 10_000;
  const unavailableTtlMs = options.unavailableTtlMs ?? 5_000;
  const timeoutMs = options.timeoutMs ?? 2_000;
  const maxEntries = options.maxEntries ?? 10_000;
  const onResult = options.onResult ?? (() => {});
  const logger = options.logger ?? silent;
  const now = options.now ?? Date.now;
  const client = options.client ?? new SecretsManagerClient(preflightClientConfig(region, timeoutMs, options.clientConfig));

  const cache = new TtlCache<PreflightResult>(maxEntries, now);
  const flights = new SingleFlight<PreflightResult>();

  function ttlFor(status: PreflightStatus): number {
    if (status === 'ok') return positiveTtlMs;
    if (status === 'unavailable') return unavailableTtlMs;
    return negativeTtlMs;
  }

  function judge(secretId: string, organization: string, out: DescribeSecretCommandOutput): PreflightResult {
    if (out.DeletedDate !== undefined) {
      return {
        status: 'scheduled-for-deletion',
        message: warning(`Secrets Manager secret ${secretId} is scheduled for deletion; restore it (RestoreSecret) first`),
      };
    }
    if (orgTagKey !== undefined) {
      const tag = out.Tags?.find((t) => t.Key === orgTagKey);
      // A secret without the tag makes no claim about its organization: accepted (documented choice). Organizations
      // are namespaces, so lowercase: `Acme` and ` acme ` name acme too.
      if (tag !== undefined && (tag.Value ?? '').trim().toLowerCase() !== organization) {
        return {
          status: 'tag-mismatch',
          message: warning(`Secrets Manager secret ${secretId} has tag ${orgTagKey}=${tag.Value ?? ''}, expected ${organization}`),
        };
      }
    }
    return { status: 'ok' };
  }

  function classifyError(secretId: string, err: unknown, signal: AbortSignal): PreflightResult {
    const name = String((err as { name?: unknown } | null)?.name ?? '');
    if (name === 'ResourceNotFoundException') {
      return {
        status: 'missing',
        message: warning(`Secrets Manager secret ${secretId} does not exist in ${region}; create it or check the environment`),
      };
    }
    let why: string;
    // The SDK names some socket errors TimeoutError too (ECONNRESET), so a network code wins over the name.
    const code = networkErrorCode(err);
    if (signal.aborted) {
      why = 'Secrets Manager did not answer in time';
    } else if (code !== undefined) {
      why = `cannot reach Secrets Manager (${networkErrorWords(code)})`;
    } else if (name === 'AbortError' || name === 'TimeoutError') {
      why = 'Secrets Manager did not answer in time';
    } else if (name === 'ThrottlingException' || name === 'TooManyRequestsException' || name === 'RequestLimitExceeded') {
      why = 'Secrets Manager is throttling requests';
    } else if (name === 'AccessDeniedException') {
      why = "not allowed: the webhook's IAM role needs secretsmanager:DescribeSecret";
    } else if (name === 'UnrecognizedClientException' || name === 'ExpiredTokenException') {
      why = 'AWS rejected the credentials (invalid or expired token): check IRSA or EKS Pod Identity for the webhook';
    } else if (name === 'CredentialsProviderError') {
      why = 'no AWS credentials: check IRSA or EKS Pod Identity for the webhook';
    } else {
      why = `Secrets Manager error (${name || 'unknown'})`;
    }
    // The reason first: if the message must be clipped, the secret name (known from the pod) goes, not the hint.
    return { status: 'unavailable', message: warning(`preflight skipped: ${why} (${secretId})`) };
  }

  async function describe(secretId: string, organization: string, signal: AbortSignal): Promise<PreflightResult> {
    try {
      const out = await client.send(new DescribeSecretCommand({ SecretId: secretId }), { abortSignal: signal });
      return judge(secretId, organization, out);
    } catch (err) {
      return classifyError(secretId, err, signal);
    }
  }

  async function check(secretId: string, organization: string, signal: AbortSignal): Promise<PreflightResult> {
    try {
      if (typeof secretId !== 'string' || secretId.length === 0 || secretId.length > 512) {
        return answer({ status: 'unavailable', message: 'preflight skipped: no valid secret name' }, 'cache');
      }
      const cached = known(secretId, organization);
      if (cached !== undefined) return cached;
      const key = cacheKey(secretId, organization);
      if (signal.aborted) return answer(timedOut(secretId), 'cache');

      const { result, shared } = flights.join(
        key,
        {
          signal,
          onAbort: () => timedOut(secretId),
          onFailure: () => timedOut(secretId),
          maxMs: timeoutMs,
          timeoutMessage: 'preflight timed out',
        },
        async (flight) => {
          const found = await describe(secretId, organization, flight.signal);
          // An answer cut short because every caller left is not a fact about the secret: do not remember it.
          if (!(flight.signal.aborted && flight.waiters === 0)) cache.set(key, found, ttlFor(found.status));
          if (found.status === 'unavailable') logger.warn({ secretId, status: found.status }, found.message);
          else logger.debug({ secretId, status: found.status }, 'preflight answered');
          return found;
        },
      );
      return answer(await result, shared ? 'shared' : 'aws');
    } catch {
      // Never throw: a preflight can only warn or deny on facts, never break admission.
      return { status: 'unavailable', message: 'preflight skipped: internal error' };
    }
  }

  function timedOut(secretId: string): PreflightResult {
    return { status: 'unavailable', message: warning(`preflight skipped: Secrets Manager did not answer in time (${secretId})`) };
  }

  function answer(result: PreflightResult, source: PreflightSource): PreflightResult {
    try {
      onResult(result.status, source);
    } catch {
      // a broken metric hook must not change the answer
    }
    return result;
  }

  function known(secretId: string, organization: string): PreflightResult | undefined {
    const hit = cache.get(cacheKey(secretId, organization));
    return hit === undefined ? undefined : answer(hit, 'cache');
  }

  return {
    check,
    known,
    get cacheSize() {
      return cache.size;
    },
    clearCache() {
      cache.clear();
    },
  };
}

function cacheKey(secretId: string, organization: string): string {
  return `${secretId}\u0000${organization}`;
}

