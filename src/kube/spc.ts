// Pure helpers shared by the cluster and memory stores: identity, ownership, comparison, messages.
import { hash } from 'node:crypto';
import { derivedText } from '../engine/shared.ts';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../engine/types.ts';
import type { SecretProviderClass } from '../engine/types.ts';
import { clip, MAX_WARNING_LENGTH } from '../text.ts';

/** The smallest logger both stores need; a pino.Logger fits. */
export interface StoreLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

export const silentLogger: StoreLogger = { info() {}, warn() {}, debug() {} };

export const SPC_GROUP = 'secrets-store.csi.x-k8s.io';
export const SPC_VERSION = 'v1';
export const SPC_PLURAL = 'secretproviderclasses';

export function keyOf(spc: { metadata: { namespace: string; name: string } }): string {
  return `${spc.metadata.namespace}/${spc.metadata.name}`;
}

/** Any object read back from the API: only the fields we look at. */
export interface StoredObject {
  metadata?: {
    name?: string;
    namespace?: string;
    labels?: Record<string, string>;
    resourceVersion?: string;
    deletionTimestamp?: string;
  };
  spec?: unknown;
}

export function isOurs(obj: StoredObject): boolean {
  return obj.metadata?.labels?.[MANAGED_BY_LABEL] === MANAGED_BY_VALUE;
}

/** JSON with object keys sorted at every depth, so equal content gives equal text whatever the key order. */
export function stableStringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value as Record<string, unknown>)
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableStringify((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * Fingerprint of what we own in `desired`: our labels and the spec, for the warm cache lookup on every admission.
 * Plain JSON.stringify, not stableStringify (sorting cost ~4 % of the webhook's CPU, BENCHMARKS.md "Fixed during this work"): the
 * engine builds `desired` with a fixed key order. JSON text is exact, so different content gets a different
 * fingerprint (short of a SHA-256 collision); the same content in another key order only misses the cache (one read,
 * no write). Hashed, because the cache keeps one per app: 43 characters instead of about 800, 7 MB less with the
 * cache full (BENCHMARKS.md, finding 5). The engine shares one frozen object per app (engine/shared.ts), so the hash
 * is computed once per app and kept while that object lives, not on every admission.
 * Objects read back from the API are compared with matchesDesired, which does sort.
 */
export function fingerprint(desired: SecretProviderClass): string {
  return derivedText(desired, 'fingerprint', () => hash('sha256', JSON.stringify([desired.metadata.labels, desired.spec]), 'base64url'));
}

/**
 * True when `actual` already carries what we want: every label we set has our value (labels added by others are
 * kept and ignored) and the spec is the same. Server-added fields (resourceVersion, uid, status…) are not compared.
 */
export function matchesDesired(actual: StoredObject, desired: SecretProviderClass): boolean {
  const labels = actual.metadata?.labels ?? {};
  for (const [k, v] of Object.entries(desired.metadata.labels)) {
    if (labels[k] !== v) return false;
  }
  return stableStringify(actual.spec ?? null) === stableStringify(desired.spec);
}

/** `actual` brought in line with `desired`: foreign labels kept, our labels and the spec replaced. */
export function mergeDesired<T extends StoredObject>(actual: T, desired: SecretProviderClass): T & SecretProviderClass {
  // managedFields left out: absent on an update means "keep them", echoing them back could only do harm.
  const { managedFields: _managedFields, ...metadata } = (actual.metadata ?? {}) as Record<string, unknown>;
  return {
    ...actual,
    apiVersion: desired.apiVersion,
    kind: desired.kind,
    metadata: {
      ...metadata,
      name: desired.metadata.name,
      namespace: desired.metadata.namespace,
      labels: { ...actual.metadata?.labels, ...desired.metadata.labels },
    },
    spec: structuredClone(desired.spec),
  } as T & SecretProviderClass;
}

/** The admission warning for a SecretProviderClass that exists without our managed-by label. */
export function foreignWarning(desired: SecretProviderClass): string {
  const head = 'SecretProviderClass ';
  const tail = ` is not managed by ${MANAGED_BY_VALUE}; left untouched`;
  return `${head}${clip(desired.metadata.name, MAX_WARNING_LENGTH - head.length - tail.length)}${tail}`;
}
