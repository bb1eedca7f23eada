// Contract for the Secrets Manager preflight: metadata only, never secret values.

/**
 * - missing: ResourceNotFoundException
 * - scheduled-for-deletion: DeletedDate is set
 * - tag-mismatch: the organization tag names another organization
 * - unavailable: throttled, timed out, DNS or network failure, access denied; never blocks a pod
 *
 * A list as well as a type: the metrics start every status at zero (server/metrics.ts).
 */
export const PREFLIGHT_STATUSES = ['ok', 'missing', 'scheduled-for-deletion', 'tag-mismatch', 'unavailable'] as const;
export type PreflightStatus = (typeof PREFLIGHT_STATUSES)[number];

export interface PreflightResult {
  readonly status: PreflightStatus;
  /** Plain words for an admission warning or denial (under 120 characters); absent for 'ok'. */
  readonly message?: string;
}

export interface SecretPreflight {
  check(secretId: string, organization: string, signal: AbortSignal): Promise<PreflightResult>;
  /** What `check` would answer from its cache alone, with no I/O; undefined when it would need AWS. */
  known?(secretId: string, organization: string): PreflightResult | undefined;
}
