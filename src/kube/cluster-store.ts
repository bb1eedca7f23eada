// The SecretProviderClass store backed by the Kubernetes API (@kubernetes/client-node 2.x, CustomObjectsApi).
// Warm path: a TTL cache answers without a call. Cold path: one flight per object, bounded by the callers' deadlines.
import { ApiException, CustomObjectsApi, KubeConfig, Observable } from '@kubernetes/client-node';
import type { ConfigurationOptions, RequestContext, ResponseContext } from '@kubernetes/client-node';
// For create-store.ts, which imports this module lazily: client-node loads only in cluster mode.
export { KubeConfig };
import { setMaxListeners } from 'node:events';
import { untilAborted } from '../abort.ts';
import { createApiAgent, TLS_TRUST_ERRORS } from './api-agent.ts';
import { SingleFlight, type Flight } from '../single-flight.ts';
import { networkErrorCode, networkErrorWords } from '../network-errors.ts';
import { clip } from '../text.ts';
import { TtlCache } from '../ttl-cache.ts';
import type { SecretProviderClass } from '../engine/types.ts';
import type {
  EnsureOptions,
  EnsureResult,
  KubeCallResult,
  KubeVerb,
  SecretProviderClassStore,
} from './types.ts';
import { SecretProviderClassError } from './types.ts';
import {
  SPC_GROUP,
  SPC_PLURAL,
  SPC_VERSION,
  fingerprint,
  foreignWarning,
  isOurs,
  keyOf,
  matchesDesired,
  mergeDesired,
  silentLogger,
} from './spc.ts';
import type { StoredObject, StoreLogger } from './spc.ts';

export interface ClusterStoreOptions {
  readonly kubeConfig: KubeConfig;
  readonly logger?: StoreLogger;
  /** Metric hook: called once per API request with its verb and result. */
  readonly onCall?: (verb: KubeVerb, result: KubeCallResult) => void;
  /** How long an object known to be right is trusted without a read, when no admission asks for it meanwhile. */
  readonly cacheTtlMs?: number;
  /**
   * An object known to be right for longer than this is still answered from the cache, and re-checked once in the
   * background (read, and re-created or repaired if it was deleted or edited), so a deleted object does not leave
   * new pods stuck in ContainerCreating until the cache expires. Never on a dry run's behalf.
   */
  readonly recheckAfterMs?: number;
  /** How long a foreign object is remembered (shorter: its owner may hand it over by adding our label). */
  readonly foreignTtlMs?: number;
  /** Bound on cached entries (oldest dropped first). */
  readonly cacheMaxEntries?: number;
  /** Safety net when a caller's signal never fires: no flight runs longer than this. */
  readonly maxFlightMs?: number;
  /** 409 Conflict on update (another writer) is re-read and retried at most this many times. */
  readonly maxConflictRetries?: number;
  /** 429/503 with Retry-After is retried at most this many times, and only if the wait fits in the deadline. */
  readonly maxThrottleRetries?: number;
  /** How often the kubeconfig's CA and client-certificate files are compared with what the connection uses (30 s). */
  readonly tlsRecheckMs?: number;
  /** Test hook for time. */
  readonly now?: () => number;
}

/** Inspection for tests and the readiness check. */
export interface ClusterStore extends SecretProviderClassStore {
  known(desired: SecretProviderClass, dryRun?: boolean): EnsureResult | undefined;
  readonly cacheSize: number;
  readonly inFlight: number;
  /** Forget every cached answer (e.g. after a configuration change). */
  clearCache(): void;
  /** Closes the kept-alive connections to the API server (at shutdown). */
  close(): Promise<void>;
}

/** Remembered answer for one desired version (its fingerprint): the object is right, or belongs to someone else. */
interface CacheEntry {
  readonly fingerprint: string;
  readonly state: 'ok' | 'foreign';
  /** When the API last confirmed it: the entry expires a TTL after this, whatever re-checks are started. */
  readonly confirmedAt: number;
  /** When it was last confirmed or a background re-check was started. */
  readonly checkedAt: number;
}

/** What we learned from one API call that did not succeed. */
interface CallFailure {
  readonly status: number | undefined;
  readonly reason: string | undefined;
  readonly message: string | undefined;
  readonly retryAfterSeconds: number | undefined;
  readonly networkCode: string | undefined;
  readonly aborted: boolean;
  readonly cause: unknown;
}

const NEVER_ABORTED = new AbortController().signal;
// Every background re-check listens on it until it settles; many at once are not a leak.
setMaxListeners(0, NEVER_ABORTED);

const RETRY_ON_NEW_AGENT: ReadonlySet<string> = new Set([...TLS_TRUST_ERRORS, 'UND_ERR_CLOSED']);

/** Dry runs must not share a flight with writers (and vice versa), nor different desired versions. */
function flightKey(key: string, dryRun: boolean, fp: string): string {
  return `${key}\u0000${dryRun ? 'dry' : 'wet'}\u0000${fp}`;
}

/** Names our writes in managedFields, so `kubectl get -o yaml --show-managed-fields` shows who wrote what. */
const FIELD_MANAGER = 'db-access-webhook';

/** The least time a call retried after a Retry-After wait is given; a call that took longer gets as long again. */
const MIN_RETRY_CALL_MS = 250;

const DEFAULTS = {
  cacheTtlMs: 10 * 60_000,
  recheckAfterMs: 60_000,
  foreignTtlMs: 60_000,
  cacheMaxEntries: 10_000,
  maxFlightMs: 9_000,
  maxConflictRetries: 3,
  maxThrottleRetries: 2,
};

type Action = 'reading' | 'creating' | 'updating' | 'ensuring';
const ACTION_VERB: Record<Exclude<Action, 'ensuring'>, KubeVerb> = { reading: 'get', creating: 'create', updating: 'update' };

export function createClusterStore(options: ClusterStoreOptions): ClusterStore {
  const logger = options.logger ?? silentLogger;
  const onCall = options.onCall ?? (() => {});
  const now = options.now ?? Date.now;
  const cacheTtlMs = options.cacheTtlMs ?? DEFAULTS.cacheTtlMs;
  const recheckAfterMs = options.recheckAfterMs ?? DEFAULTS.recheckAfterMs;
  const foreignTtlMs = options.foreignTtlMs ?? DEFAULTS.foreignTtlMs;
  const cacheMaxEntries = options.cacheMaxEntries ?? DEFAULTS.cacheMaxEntries;
  const maxFlightMs = options.maxFlightMs ?? DEFAULTS.maxFlightMs;
  const maxConflictRetries = options.maxConflictRetries ?? DEFAULTS.maxConflictRetries;
  const maxThrottleRetries = options.maxThrottleRetries ?? DEFAULTS.maxThrottleRetries;
  const api = options.kubeConfig.makeApiClient(CustomObjectsApi);
  const agent = createApiAgent(options.kubeConfig, { now, ...(options.tlsRecheckMs !== undefined ? { recheckMs: options.tlsRecheckMs } : {}) });
  let closing: Promise<void> | undefined;

  const cache = new TtlCache<CacheEntry>(cacheMaxEntries, now);
  const flights = new SingleFlight<EnsureResult>();
  /** By cache key: the re-check pods admitted from a young entry are owed (one per key, for its latest version). */
  const scheduledRechecks = new Map<string, { readonly fingerprint: string; readonly timer: NodeJS.Timeout }>();

  function cacheGet(key: string, fp: string): CacheEntry | undefined {
    const entry = cache.get(key);
    if (entry === undefined || entry.fingerprint === fp) return entry;
    cache.delete(key); // remembered for another desired version
    return undefined;
  }

  function cacheSet(key: string, fp: string, state: CacheEntry['state']): void {
    const at = now();
    cache.set(key, { fingerprint: fp, state, confirmedAt: at, checkedAt: at }, state === 'ok' ? cacheTtlMs : foreignTtlMs);
  }

  /** Per-request options that make the generated fetch client stop when `signal` aborts. */
  function withSignal(signal: AbortSignal, used: { generation: number }): ConfigurationOptions {
    return {
      middleware: [
        {
          pre(ctx: RequestContext) {
            ctx.setSignal(signal);
            // Replaces the Agent client-node made for this one request (a new TLS connection per call).
            const dispatcher = agent.current();
            used.generation = agent.generation;
            if (dispatcher !== undefined) ctx.setDispatcher(dispatcher);
            return new Observable(Promise.resolve(ctx));
          },
          post(rsp: ResponseContext) {
            return new Observable(Promise.resolve(rsp));
          },
        },
      ],
      middlewareMergeStrategy: 'append',
    };
  }

  function sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason);
      const timer = setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Runs one API request; 429/503 with Retry-After is retried while the wait fits before the flight's deadline. */
  async function call<T>(
    action: Exclude<Action, 'ensuring'>,
    key: string,
    flight: Flight,
    request: (opts: ConfigurationOptions) => Promise<T>,
    expected: (failure: CallFailure) => KubeCallResult | undefined,
  ): Promise<{ ok: true; value: T } | { ok: false; failure: CallFailure }> {
    const verb = ACTION_VERB[action];
    let retriedOnNewAgent = false;
    let throttleRetries = 0;
    /** The throttling this call waited out: a deadline reached after it is the throttling's doing. */
    let throttledFor: Throttled | undefined;
    for (;;) {
      const used = { generation: agent.generation };
      const startedAt = now();
      try {
        const value = await untilAborted(request(withSignal(flight.signal, used)), flight.signal);
        onCall(verb, 'ok');
        return { ok: true, value };
      } catch (err) {
        const failure = describeFailure(err, flight.signal);
        const known = expected(failure);
        if (known !== undefined) {
          onCall(verb, known);
          return { ok: false, failure };
        }
        onCall(verb, 'error');
        // A rotated cluster CA or client certificate: read the files again now, and retry once on a newer Agent
        // (this call's, or one another call built meanwhile). A call that took the old Agent just before it was
        // replaced fails as closed: retried the same way.
        if (!retriedOnNewAgent && failure.networkCode !== undefined && RETRY_ON_NEW_AGENT.has(failure.networkCode)) {
          if (TLS_TRUST_ERRORS.has(failure.networkCode)) agent.reload();
          if (agent.generation !== used.generation) {
            retriedOnNewAgent = true;
            continue;
          }
        }
        const wait = failure.retryAfterSeconds;
        const throttled = failure.status === 429 || (failure.status === 503 && wait !== undefined);
        if (throttled && throttleRetries < maxThrottleRetries) {
          throttleRetries++;
          const waitMs = Math.max(0, (wait ?? 1) * 1000);
          // The wait must leave time for the call it waits for, or it only spends the pod's deadline.
          const callMs = Math.max(MIN_RETRY_CALL_MS, now() - startedAt);
          if (now() + waitMs + callMs <= flight.deadline) {
            throttledFor = { status: failure.status as number, seconds: wait ?? 1 };
            await sleep(waitMs, flight.signal).catch((e: unknown) => {
              throw toError(action, key, describeFailure(e, flight.signal), throttledFor);
            });
            continue;
          }
        }
        throw toError(action, key, failure, throttledFor);
      }
    }
  }

  async function run(desired: SecretProviderClass, dryRun: boolean, fp: string, ctx: Flight): Promise<EnsureResult> {
    const { namespace, name } = desired.metadata;
    const key = keyOf(desired);
    const log = { namespace, name };

    const read = () =>
      call(
        'reading',
        key,
        ctx,
        (opts) =>
          api.getNamespacedCustomObject(
            { group: SPC_GROUP, version: SPC_VERSION, namespace, plural: SPC_PLURAL, name },
            opts,
          ) as Promise<StoredObject>,
        (f) => (f.status === 404 ? 'not-found' : undefined),
      );

    const create = () =>
      call(
        'creating',
        key,
        ctx,
        (opts) =>
          api.createNamespacedCustomObject(
            { group: SPC_GROUP, version: SPC_VERSION, namespace, plural: SPC_PLURAL, body: structuredClone(desired), fieldManager: FIELD_MANAGER },
            opts,
          ) as Promise<StoredObject>,
        (f) => (f.status === 409 && f.reason === 'AlreadyExists' ? 'conflict' : undefined),
      );

    const update = (body: StoredObject) =>
      call(
        'updating',
        key,
        ctx,
        (opts) =>
          api.replaceNamespacedCustomObject(
            { group: SPC_GROUP, version: SPC_VERSION, namespace, plural: SPC_PLURAL, name, body, fieldManager: FIELD_MANAGER },
            opts,
          ) as Promise<StoredObject>,
        (f) => (f.status === 409 ? 'conflict' : f.status === 404 ? 'not-found' : undefined),
      );

    const finish = (result: EnsureResult): EnsureResult => {
      if (result.outcome === 'foreign') {
        cacheSet(key, fp, 'foreign');
        logger.warn({ ...log, outcome: result.outcome }, 'SecretProviderClass exists without our managed-by label; left untouched');
      } else if (result.outcome !== 'dry-run') {
        cacheSet(key, fp, 'ok');
        if (result.outcome === 'unchanged') logger.debug({ ...log, outcome: result.outcome }, 'SecretProviderClass ensured');
        else logger.info({ ...log, outcome: result.outcome }, 'SecretProviderClass ensured');
      } else {
        logger.info({ ...log, outcome: result.outcome }, 'SecretProviderClass would be written (dry run)');
      }
      return result;
    };

    // Bounded: each step either finishes or moves to a read; the loop stops after a few conflicts.
    let current: StoredObject | undefined;
    let haveRead = false;
    let conflicts = 0;
    for (let step = 0; step < 3 + 2 * maxConflictRetries; step++) {
      if (!haveRead) {
        const got = await read();
        haveRead = true;
        current = got.ok ? got.value : undefined; // not ok here means 404: errors were thrown by call()
      }
      if (current === undefined) {
        if (dryRun) return finish({ outcome: 'dry-run' });
        const made = await create();
        if (made.ok) return finish({ outcome: 'created' });
        // 409 AlreadyExists: another replica won the race; read what it wrote and compare.
        haveRead = false;
        if (++conflicts > maxConflictRetries + 1) break;
        continue;
      }
      if (!isOurs(current)) return finish({ outcome: 'foreign', warning: foreignWarning(desired) });
      if (current.metadata?.deletionTimestamp) {
        // Pods admitted now would point at an object about to vanish, and nothing would recreate it: refuse
        // (transient) and forget it, so the first admission after it is gone creates it again.
        cache.delete(key);
        throw new SecretProviderClassError(
          `SecretProviderClass ${key} is being deleted (a finalizer holds it); the first pod after it is gone recreates it: retry the pod, or check what holds the deletion`,
          409,
        );
      }
      if (matchesDesired(current, desired)) return finish({ outcome: 'unchanged' });
      if (dryRun) return finish({ outcome: 'dry-run' });
      const body = mergeDesired(current, desired); // keeps resourceVersion: optimistic concurrency
      const put = await update(body);
      if (put.ok) return finish({ outcome: 'updated' });
      // 409 Conflict: someone wrote in between; 404: deleted in between. Re-read and decide again.
      haveRead = false;
      if (++conflicts > maxConflictRetries) break;
    }
    throw new SecretProviderClassError(
      `ensuring SecretProviderClass ${key}: still conflicting after ${conflicts} attempts (409): another writer keeps changing it; check for a second controller or webhook`,
      409,
    );
  }

  function known(desired: SecretProviderClass, dryRun = false): EnsureResult | undefined {
    if (!desired?.metadata?.namespace || !desired.metadata.name) return undefined;
    return remembered(desired, keyOf(desired), fingerprint(desired), dryRun);
  }

  /**
   * The cached answer, if any. An old 'ok' also starts one background re-check (stale-while-revalidate); a young one
   * schedules that re-check for when it is due, so pods admitted from the cache are followed by one look at the API
   * even if no pod of the app comes after them (an object deleted since the last check would otherwise stay missing).
   */
  function remembered(desired: SecretProviderClass, key: string, fp: string, dryRun: boolean): EnsureResult | undefined {
    const hit = cacheGet(key, fp);
    if (hit?.state === 'ok' && !dryRun) {
      if (now() - hit.checkedAt >= recheckAfterMs) recheck(desired, key, fp, hit);
      else scheduleRecheck(desired, key, fp, hit.checkedAt + recheckAfterMs - now());
    }
    return fromCache(hit, desired);
  }

  /**
   * Owed to the pods a young entry admitted: one re-check when it is due, whatever happened since (a check that ran
   * meanwhile may have started before those pods; timers may also fire a little early). A new desired version takes
   * over the key's owed re-check: its check covers the object, and the old version's entry is gone.
   */
  function scheduleRecheck(desired: SecretProviderClass, key: string, fp: string, inMs: number): void {
    const owed = scheduledRechecks.get(key);
    if (owed?.fingerprint === fp) return;
    if (owed !== undefined) clearTimeout(owed.timer);
    const timer = setTimeout(() => {
      scheduledRechecks.delete(key);
      const entry = cache.get(key); // not cacheGet: an entry of another version is not this timer's to drop
      if (entry?.state === 'ok' && entry.fingerprint === fp) recheck(desired, key, fp, entry);
    }, Math.min(Math.max(0, inMs), recheckAfterMs));
    timer.unref();
    scheduledRechecks.set(key, { fingerprint: fp, timer });
  }

  function recheck(desired: SecretProviderClass, key: string, fp: string, hit: CacheEntry): void {
    // One re-check per interval, however many pods ask. The expiry stays: only a success renews it, so a re-check
    // that keeps failing (RBAC revoked, API down) lets the entry expire and the next admission sees the error.
    cache.set(key, { ...hit, checkedAt: now() }, hit.confirmedAt + cacheTtlMs - now());
    const { result } = flights.join(
      flightKey(key, false, fp),
      {
        signal: NEVER_ABORTED, // nobody waits: the flight's own limit (maxFlightMs) bounds it
        deadline: now() + maxFlightMs,
        maxMs: maxFlightMs,
        now,
        timeoutMessage: 'SecretProviderClass re-check exceeded its time limit',
        onAbort: () => ({ outcome: 'cached' }),
      },
      (flight) => ensureNow(desired, false, fp, flight),
    );
    // A failure is logged once by ensureNow; the remembered answer stands until the cache expires.
    result.catch(() => {});
  }

  function fromCache(hit: CacheEntry | undefined, desired: SecretProviderClass): EnsureResult | undefined {
    if (hit?.state === 'ok') return { outcome: 'cached' };
    if (hit?.state === 'foreign') return { outcome: 'foreign', warning: foreignWarning(desired) };
    return undefined;
  }

  async function ensure(desired: SecretProviderClass, { dryRun, signal, deadline }: EnsureOptions): Promise<EnsureResult> {
    if (!desired?.metadata?.namespace || !desired.metadata.name) {
      throw new SecretProviderClassError('ensuring SecretProviderClass: the object has no metadata.namespace or metadata.name');
    }
    const key = keyOf(desired);
    const fp = fingerprint(desired);
    const cached = remembered(desired, key, fp, dryRun);
    if (cached !== undefined) return cached;
    if (signal.aborted) {
      throw toError('ensuring', key, describeFailure(signal.reason, signal));
    }

    const { result } = flights.join(
      flightKey(key, dryRun, fp),
      {
        signal,
        deadline: Math.min(deadline ?? Number.POSITIVE_INFINITY, now() + maxFlightMs),
        maxMs: maxFlightMs,
        now,
        timeoutMessage: 'SecretProviderClass flight exceeded its time limit',
        onAbort: (reason) => {
          throw toError('ensuring', key, describeFailure(reason, signal));
        },
        onFailure: (err) => {
          throw err instanceof SecretProviderClassError ? err : toError('ensuring', key, describeFailure(err, signal));
        },
      },
      (flight) => ensureNow(desired, dryRun, fp, flight),
    );
    return result;
  }

  /** One flight's work: `run`, with its failure logged once per flight, not per waiting pod. */
  function ensureNow(desired: SecretProviderClass, dryRun: boolean, fp: string, flight: Flight): Promise<EnsureResult> {
    return run(desired, dryRun, fp, flight).catch((err: unknown) => {
      const status = err instanceof SecretProviderClassError ? err.status : undefined;
      logger.warn(
        { namespace: desired.metadata.namespace, name: desired.metadata.name, outcome: 'error', status },
        err instanceof Error ? err.message : 'SecretProviderClass could not be ensured',
      );
      throw err;
    });
  }

  return {
    ensure,
    known,
    get cacheSize() {
      return cache.size;
    },
    get inFlight() {
      return flights.size;
    },
    clearCache() {
      cache.clear();
    },
    close() {
      for (const { timer } of scheduledRechecks.values()) clearTimeout(timer);
      scheduledRechecks.clear();
      closing ??= agent.close();
      return closing;
    },
  };
}

function parseStatus(body: unknown): { reason?: string; message?: string } {
  let parsed: unknown = body;
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body);
    } catch {
      return {};
    }
  }
  if (parsed === null || typeof parsed !== 'object') return {};
  const { reason, message } = parsed as { reason?: unknown; message?: unknown };
  return {
    ...(typeof reason === 'string' ? { reason } : {}),
    ...(typeof message === 'string' ? { message } : {}),
  };
}

function parseRetryAfter(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const seconds = Number(value.trim());
  if (Number.isFinite(seconds) && seconds >= 0) return seconds;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, (date - Date.now()) / 1000);
}

function describeFailure(err: unknown, signal: AbortSignal): CallFailure {
  if (err instanceof ApiException) {
    const headers = (err.headers ?? {}) as Record<string, string>;
    const status = parseStatus(err.body);
    return {
      status: err.code,
      reason: status.reason,
      message: status.message,
      retryAfterSeconds: parseRetryAfter(headers['retry-after']),
      networkCode: undefined,
      aborted: false,
      cause: err,
    };
  }
  const name = (err as { name?: unknown } | null)?.name;
  const aborted = signal.aborted || name === 'AbortError' || name === 'TimeoutError';
  return {
    status: undefined,
    reason: undefined,
    message: undefined,
    retryAfterSeconds: undefined,
    networkCode: aborted ? undefined : networkErrorCode(err),
    aborted,
    cause: err,
  };
}

const RBAC_VERB: Record<Action, string> = { reading: 'get', creating: 'create', updating: 'update', ensuring: 'get/create/update' };

/**
 * Not every 403 is RBAC: a namespace being deleted, a full ResourceQuota and a validating webhook or policy
 * (Gatekeeper, Kyverno) refuse with 403 too, and their message is the diagnosis.
 */
function forbiddenHint(action: Action, message: string | undefined): string {
  if (message === undefined || /\bcannot [a-z]+ resource\b/.test(message)) {
    return `check the webhook's RBAC: verb ${RBAC_VERB[action]} on secretproviderclasses.${SPC_GROUP}`;
  }
  if (/\bbeing terminated\b/.test(message)) return 'the namespace is being deleted';
  return `refused: ${clip(message, 150)}; check ResourceQuotas and admission policies in the namespace`;
}

/** A 429 (or a 503 with Retry-After) whose wait a call sat out before trying again. */
interface Throttled {
  readonly status: number;
  readonly seconds: number;
}

/**
 * A message that says what failed and what to check; never includes object contents. `throttledFor`: the throttling
 * already waited out, so that a deadline reached after it is reported as throttling, not as a slow API.
 */
function toError(action: Action, key: string, f: CallFailure, throttledFor?: Throttled): SecretProviderClassError {
  const what = `${action} SecretProviderClass ${key}`;
  const options = { cause: f.cause };
  if (f.aborted && throttledFor !== undefined) {
    return new SecretProviderClassError(
      `${what}: throttled (${throttledFor.status}, waited ${throttledFor.seconds}s to retry), and no answer within the ` +
        "deadline: check the API server's load (API Priority and Fairness)",
      throttledFor.status,
      options,
    );
  }
  if (f.aborted) {
    return new SecretProviderClassError(
      `${what}: no answer within the deadline: check the Kubernetes API server's health and load`,
      undefined,
      options,
    );
  }
  if (f.status === undefined) {
    const code = f.networkCode === undefined ? 'network error' : networkErrorWords(f.networkCode);
    return new SecretProviderClassError(
      `${what}: cannot reach the Kubernetes API (${code}): check network policies and the API server address`,
      undefined,
      options,
    );
  }
  const label = `${f.reason ?? 'HTTP'} ${f.status}`;
  let hint: string;
  switch (f.status) {
    case 401:
      hint = "check the webhook's service account token";
      break;
    case 403:
      hint = forbiddenHint(action, f.message);
      break;
    case 404:
      hint = /\bnamespaces? "[^"]*" not found/.test(f.message ?? '')
        ? 'the namespace does not exist'
        : 'check that the Secrets Store CSI driver (its SecretProviderClass CRD) is installed';
      break;
    case 409:
      hint = 'another writer changed it at the same time; retry the pod, and check for a second controller writing it';
      break;
    case 422:
      hint = `the API rejected the object: ${clip(f.message ?? 'invalid', 120)}; check the CRD version installed`;
      break;
    case 429:
      hint =
        f.retryAfterSeconds !== undefined
          ? `throttled, Retry-After ${f.retryAfterSeconds}s does not fit in the deadline: check the API server's load`
          : "throttled: check the API server's load";
      break;
    default:
      // A 5xx often names its cause: another admission webhook that failed ("failed calling webhook ...").
      hint =
        f.status >= 500
          ? `${f.message ? `${clip(f.message, 120)}; ` : ''}check the Kubernetes API server's health and the admission webhooks it calls`
          : `unexpected answer: ${clip(f.message ?? '', 120)}; check the webhook logs`;
  }
  return new SecretProviderClassError(`${what}: ${label}: ${hint}`, f.status, options);
}

