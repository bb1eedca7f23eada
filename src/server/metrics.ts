// Prometheus metrics, on a Registry of our own (tests build many apps in one process; the global one would clash).
// Every metric here is documented in README.md, section Metrics.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { ENSURE_OUTCOMES, KUBE_CALL_RESULTS, KUBE_VERBS, type KubeCallResult, type KubeVerb, type EnsureOutcome } from '../kube/types.ts';
import { PREFLIGHT_STATUSES, type PreflightStatus } from '../aws/types.ts';

export const ADMISSION_OUTCOMES = ['injected', 'skipped', 'denied', 'error'] as const;
export type AdmissionOutcome = (typeof ADMISSION_OUTCOMES)[number];

/** Why a request was answered before any admission: 400, 415, 413, 404 and 503. */
export const REJECTION_REASONS = ['bad-request', 'unsupported-media-type', 'too-large', 'not-found', 'overloaded'] as const;
export type RejectionReason = (typeof REJECTION_REASONS)[number];

/** Seconds. Fine steps from 0.5 to 25 ms, where a warm admission lives; coarse steps up to the 10 s deadline. */
export const LATENCY_BUCKETS = [0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.025, 0.05, 0.1, 0.25, 1, 2.5, 5, 10];

export const RELOAD_RESULTS = ['success', 'failure'] as const;
export type ReloadResult = (typeof RELOAD_RESULTS)[number];

/** A prom-client Counter whose one label takes only the values listed for it (prom-client types accept any string). */
export interface LabelledCounter<Name extends string, Value extends string> {
  inc(labels: Record<Name, Value>, value?: number): void;
}

export interface Metrics {
  readonly registry: Registry;
  readonly admissions: Counter<'outcome'>;
  readonly admissionDuration: Histogram<'outcome'>;
  readonly inFlight: Gauge;
  /** The one-label counters are typed by value, not just by label name: a value the README does not list fails to compile. */
  readonly rejectedRequests: LabelledCounter<'reason', RejectionReason>;
  readonly kubeCalls: Counter<'verb' | 'result'>;
  readonly spcEnsure: LabelledCounter<'outcome', EnsureOutcome | 'error'>;
  readonly preflight: LabelledCounter<'status', PreflightStatus>;
  readonly preflightAwsCalls: LabelledCounter<'status', PreflightStatus>;
  readonly certificateReloads: LabelledCounter<'result', ReloadResult>;
  readonly certificateNotAfter: Gauge;
  /** Hook for the store's `onCall`. */
  onKubeCall(verb: KubeVerb, result: KubeCallResult): void;
  onEnsure(outcome: EnsureOutcome | 'error'): void;
  onPreflight(status: PreflightStatus): void;
}

export function createMetrics(options: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry });

  const admissions = new Counter({
    name: 'db_access_admissions_total',
    help: 'AdmissionReviews answered on /mutate, by outcome: injected, skipped, denied, error.',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const admissionDuration = new Histogram({
    name: 'db_access_admission_duration_seconds',
    help: "Time from an AdmissionReview request's headers to its answer (receiving the body included), by outcome.",
    labelNames: ['outcome'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const inFlight = new Gauge({
    name: 'db_access_admissions_in_flight',
    help: 'POST /mutate requests being processed now.',
    registers: [registry],
  });
  const rejectedRequests = new Counter({
    name: 'db_access_http_rejected_requests_total',
    help: 'Requests refused before admission, by reason: bad-request, unsupported-media-type, too-large, overloaded, not-found.',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  const kubeCalls = new Counter({
    name: 'db_access_secretproviderclass_api_calls_total',
    help: 'Kubernetes API calls for SecretProviderClasses, by verb (get, create, update) and result (ok, not-found, conflict, error).',
    labelNames: ['verb', 'result'] as const,
    registers: [registry],
  });
  const spcEnsure = new Counter({
    name: 'db_access_secretproviderclass_ensure_total',
    help: 'SecretProviderClass ensure results: cached, unchanged, created, updated, foreign, dry-run, error.',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const preflight = new Counter({
    name: 'db_access_preflight_results_total',
    help: 'Secrets Manager preflight results: ok, missing, scheduled-for-deletion, tag-mismatch, unavailable.',
    labelNames: ['status'] as const,
    registers: [registry],
  });
  const preflightAwsCalls = new Counter({
    name: 'db_access_preflight_aws_calls_total',
    help: 'DescribeSecret calls actually made to AWS (cache misses), by result status.',
    labelNames: ['status'] as const,
    registers: [registry],
  });
  const certificateReloads = new Counter({
    name: 'db_access_tls_certificate_reloads_total',
    help: 'Serving certificate changes seen on disk: success (installed) or failure (refused, last good kept).',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  const certificateNotAfter = new Gauge({
    name: 'db_access_tls_certificate_not_after_seconds',
    help: 'Expiry of the serving certificate in use, as a Unix timestamp.',
    registers: [registry],
  });

  // Every series exists at zero from the start: rate() and increase() cannot see the step from "no series" to the
  // first count, so without this the first errors after each restart would never reach an alert.
  for (const outcome of ADMISSION_OUTCOMES) {
    admissions.inc({ outcome }, 0);
    admissionDuration.zero({ outcome });
  }
  for (const reason of REJECTION_REASONS) rejectedRequests.inc({ reason }, 0);
  for (const verb of KUBE_VERBS) for (const result of KUBE_CALL_RESULTS) kubeCalls.inc({ verb, result }, 0);
  for (const outcome of [...ENSURE_OUTCOMES, 'error']) spcEnsure.inc({ outcome }, 0);
  for (const status of PREFLIGHT_STATUSES) {
    preflight.inc({ status }, 0);
    preflightAwsCalls.inc({ status }, 0);
  }
  for (const result of RELOAD_RESULTS) certificateReloads.inc({ result }, 0);

  return {
    registry,
    admissions,
    admissionDuration,
    inFlight,
    rejectedRequests,
    kubeCalls,
    spcEnsure,
    preflight,
    preflightAwsCalls,
    certificateReloads,
    certificateNotAfter,
    onKubeCall: (verb, result) => kubeCalls.inc({ verb, result }),
    onEnsure: (outcome) => spcEnsure.inc({ outcome }),
    onPreflight: (status) => preflight.inc({ status }),
  };
}
