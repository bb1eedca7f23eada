// Contract between the admission path and whatever keeps SecretProviderClasses (the cluster, or memory).
import type { SecretProviderClass } from '../engine/types.ts';

export interface EnsureOptions {
  /** request.dryRun: read if needed, never write. */
  readonly dryRun: boolean;
  /** Aborted when the admission's own deadline is near; every API call must stop then. */
  readonly signal: AbortSignal;
  /**
   * Optional: when `signal` will fire, as epoch milliseconds (Date.now()). Lets the store decide whether a
   * Retry-After wait still fits; without it the store assumes its own limit (about 9 s).
   */
  readonly deadline?: number;
}

/**
 * - cached: known to be right, no API call was made
 * - unchanged: read from the API and already right
 * - updated: ours (managed-by label) but different, brought in line
 * - foreign: exists without our managed-by label, left untouched
 * - dry-run: would have written, but the request is a dry run
 *
 * A list as well as a type: the metrics start every outcome at zero (server/metrics.ts).
 */
export const ENSURE_OUTCOMES = ['cached', 'unchanged', 'created', 'updated', 'foreign', 'dry-run'] as const;
export type EnsureOutcome = (typeof ENSURE_OUTCOMES)[number];

export interface EnsureResult {
  readonly outcome: EnsureOutcome;
  /** Set for 'foreign': an admission warning (under 120 characters). */
  readonly warning?: string;
}

/** Thrown when the SecretProviderClass cannot be ensured (403, 5xx, timeout, connection refused). */
export class SecretProviderClassError extends Error {
  /** HTTP status from the API, or undefined for network faults and timeouts. */
  readonly status: number | undefined;
  constructor(message: string, status?: number, options?: ErrorOptions) {
    super(message, options);
    this.name = 'SecretProviderClassError';
    this.status = status;
  }
}

export const KUBE_VERBS = ['get', 'create', 'update'] as const;
export type KubeVerb = (typeof KUBE_VERBS)[number];
export const KUBE_CALL_RESULTS = ['ok', 'not-found', 'conflict', 'error'] as const;
export type KubeCallResult = (typeof KUBE_CALL_RESULTS)[number];

export interface SecretProviderClassStore {
  /** Makes sure `desired` exists in its namespace. Concurrent calls for the same object share one flight. */
  ensure(desired: SecretProviderClass, options: EnsureOptions): Promise<EnsureResult>;
  /**
   * What `ensure` would answer from the store's cache alone, with no I/O; undefined when it would need the API.
   * The warm path uses it to skip the deadline timer and abort signal an API call needs. `dryRun` as for `ensure`:
   * a store that re-checks what it remembers in the background must not write on a dry run's behalf.
   */
  known?(desired: SecretProviderClass, dryRun: boolean): EnsureResult | undefined;
}
