// The admission core (vault-k8s' Mutate): a checked AdmissionRequest in, an AdmissionReview answer out.
// It knows nothing of HTTP. It asks the engine for a decision, then, for an injection, makes sure the
// SecretProviderClass exists and runs the Secrets Manager preflight, both within the apiserver's deadline.
// It never throws: every failure becomes an admission answer (a denial with a message, or a warning).
import { allowResponse, denyResponse, patchResponse } from '../admission/respond.ts';
import { printable, warning } from '../text.ts';
import type { AdmissionRequest, AdmissionReviewResponse } from '../admission/types.ts';
import type { PreflightResult, SecretPreflight } from '../aws/types.ts';
import type { OnKubeError, PreflightMode } from '../config.ts';
import { decide as engineDecide } from '../engine/index.ts';
import type { AdmissionRequestInput, Decision, EnginePolicy } from '../engine/types.ts';
import { SecretProviderClassError, type EnsureOutcome, type EnsureResult, type SecretProviderClassStore } from '../kube/types.ts';
import { untilAborted } from '../abort.ts';
import { admissionBudgetMs } from './deadline.ts';
import type { AdmissionOutcome } from './metrics.ts';

export interface AdmitDeps {
  readonly policy: EnginePolicy;
  readonly store: SecretProviderClassStore;
  /** Required unless preflightMode is 'off'. */
  readonly preflight?: SecretPreflight | undefined;
  readonly preflightMode: PreflightMode;
  readonly onKubeError: OnKubeError;
  /** The engine; replaceable in tests that need a decision the engine would not make (e.g. one that throws). */
  readonly decide?: (request: AdmissionRequestInput, policy: EnginePolicy) => Decision;
  readonly onEnsure?: (outcome: EnsureOutcome | 'error') => void;
  readonly onPreflight?: (status: PreflightResult['status']) => void;
}

export interface AdmitOptions {
  /** The apiserver's timeout for this call (from `?timeout=`), in ms. */
  readonly timeoutMs: number;
  /**
   * Time since the request's headers were parsed, in ms: receiving its body, and waiting for the event loop between
   * the steps. The apiserver's clock started before ours, so it comes off our budget.
   */
  readonly elapsedMs?: number;
}

/** Safe, small fields for the one log line per admission: no objects, no values from env. */
export interface AdmitLog {
  uid: string;
  namespace?: string;
  pod?: string;
  operation?: string;
  dryRun?: boolean;
  decision: 'skip' | 'deny' | 'inject' | 'error';
  reason?: string;
  app?: string;
  spc?: EnsureOutcome | 'error';
  preflight?: PreflightResult['status'];
  warnings?: number;
  error?: string;
}

export interface AdmitResult {
  readonly review: AdmissionReviewResponse;
  readonly outcome: AdmissionOutcome;
  /** 'warn' when something needs an operator's eye (foreign SPC, store failure), 'error' for a bug. */
  readonly level: 'info' | 'warn' | 'error';
  readonly log: AdmitLog;
  /** The unexpected exception, for the log's `err` field. */
  readonly err?: unknown;
}

/** Below this, the time before admit() is routine and the messages do not mention it. */
const NOTABLE_ARRIVAL_MS = 100;

class DeadlineError extends Error {
  readonly budgetMs: number;
  readonly elapsedMs: number;
  constructor(budgetMs: number, elapsedMs: number) {
    super(`no answer within ${Math.max(0, budgetMs - elapsedMs)} ms`);
    this.name = 'DeadlineError';
    this.budgetMs = budgetMs;
    this.elapsedMs = elapsedMs;
  }

  /** What the adapters had, after the time already spent on the request. */
  get leftMs(): number {
    return Math.max(0, this.budgetMs - this.elapsedMs);
  }

  /** "within 400 ms: 2000 ms of …" — says where the time went, so the hint can point at the right place. */
  describe(what: string): string {
    if (this.elapsedMs < NOTABLE_ARRIVAL_MS) {
      return `no answer from ${what} within ${this.budgetMs} ms (the webhook's share of the apiserver timeout)`;
    }
    const gone =
      `${this.elapsedMs} ms of the webhook's ${this.budgetMs} ms share of the apiserver timeout went by between the ` +
      "request's headers and the start of its admission";
    return this.leftMs === 0 ? `${what} was not asked: ${gone}` : `no answer from ${what} within ${this.leftMs} ms: ${gone}`;
  }

  /**
   * Half or more of the share was gone before we could ask: then the arrival (a slow body, a busy event loop) lost
   * more time than the adapters did, and the webhook's CPU and network are the first suspects, not the API or AWS.
   */
  get lateArrival(): boolean {
    return this.elapsedMs >= this.budgetMs / 2;
  }
}

const LATE_ARRIVAL_HINT =
  "check the webhook's CPU (throttling, event-loop delay) and the network between the apiserver and the webhook";

/** What an operator should look at for a store failure, when the store's own message does not say. */
function storeHint(status: number | undefined): string {
  if (status === 401 || status === 403) return "check the webhook's RBAC for secretproviderclasses.secrets-store.csi.x-k8s.io";
  if (status === 404) return 'check that the Secrets Store CSI driver (its SecretProviderClass CRD) is installed';
  if (status === undefined || status === 429 || status >= 500) {
    return "check the Kubernetes API server's health and load, and the webhook's network access to it";
  }
  return 'check the webhook logs';
}

export async function admit(request: AdmissionRequest, options: AdmitOptions, deps: AdmitDeps): Promise<AdmitResult> {
  // The answer echoes the uid exactly; the log gets it printable (parse.ts checks only its length).
  const log: AdmitLog = { uid: printable(request.uid, 128), decision: 'error', ...describeRequest(request) };
  try {
    const decision = (deps.decide ?? engineDecide)(request, deps.policy);
    if (decision.action === 'skip') {
      log.decision = 'skip';
      log.reason = decision.reason;
      return done('skipped', 'info', allowResponse(request.uid, decision.warnings));
    }
    if (decision.action === 'deny') {
      const review = denyResponse(request.uid, decision.code, decision.message, decision.warnings);
      // The engine answers its own bugs with a 500 (decide.ts): counted and logged as errors, so alerts see them.
      if (decision.code >= 500) {
        log.error = printable(decision.message, 200);
        return done('error', 'error', review);
      }
      log.decision = 'deny';
      log.reason = printable(decision.message, 200);
      return done('denied', 'info', review);
    }
    log.decision = 'inject';
    log.app = decision.target.app;
    return await inject(request, decision, options, deps, log);
  } catch (err) {
    log.decision = 'error';
    log.error = err instanceof Error ? printable(err.message, 200) : 'non-error thrown';
    return {
      review: denyResponse(
        request.uid,
        500,
        `db-access-webhook failed unexpectedly on this request (uid ${request.uid}); the pod was not admitted. ` +
          'Retry; if it persists, check the webhook logs for this uid.',
      ),
      outcome: 'error',
      level: 'error',
      log,
      err,
    };
  }

  function done(outcome: AdmissionOutcome, level: AdmitResult['level'], review: AdmissionReviewResponse): AdmitResult {
    const n = review.response.warnings?.length ?? 0;
    if (n > 0) log.warnings = n;
    return { review, outcome, level, log };
  }
}

async function inject(
  request: AdmissionRequest,
  decision: Extract<Decision, { action: 'inject' }>,
  options: AdmitOptions,
  deps: AdmitDeps,
  log: AdmitLog,
): Promise<AdmitResult> {
  const uid = request.uid;
  const dryRun = request.dryRun === true;
  const spc = decision.secretProviderClass;
  const spcName = `${spc.metadata.namespace}/${spc.metadata.name}`;
  const { ensured, checked } = warmAnswers(decision, dryRun, deps) ?? (await askAdapters(decision, dryRun, options, deps));

  const warnings = [...decision.warnings];
  let level: AdmitResult['level'] = 'info';

  if (ensured.ok) {
    log.spc = ensured.result.outcome;
    deps.onEnsure?.(ensured.result.outcome);
    if (ensured.result.outcome === 'foreign') {
      level = 'warn';
      warnings.push(
        ensured.result.warning ??
          `SecretProviderClass ${spcName} exists and is not managed by db-access-webhook; it was left as is`,
      );
    }
  } else {
    log.spc = 'error';
    log.error = printable(ensured.message, 300);
    level = 'warn';
    deps.onEnsure?.('error');
  }

  if (checked) {
    log.preflight = checked.status;
    deps.onPreflight?.(checked.status);
    if (checked.status !== 'ok') {
      const message = checked.message ?? preflightText(checked.status, decision.target.secretId);
      if (checked.status !== 'unavailable' && deps.preflightMode === 'deny') {
        log.decision = 'deny';
        log.reason = `preflight ${checked.status}`;
        const review = denyResponse(uid, 403, `db-access preflight: ${message}`, warnings);
        return finish('denied', level, review);
      }
      warnings.push(message);
    }
  }

  if (!ensured.ok) {
    if (deps.onKubeError === 'deny') {
      log.decision = 'deny';
      log.reason = 'secretproviderclass-error';
      // Worth retrying the pod: no answer, the API's own trouble, throttling, or another writer (409).
      const transient = ensured.status === undefined || ensured.status >= 500 || ensured.status === 429 || ensured.status === 409;
      const review = denyResponse(
        uid,
        transient ? 503 : 500,
        `db-access-webhook could not ensure SecretProviderClass ${spcName}: ${ensured.message}`,
        warnings,
      );
      return finish('error', level, review);
    }
    // DB_ACCESS_ON_KUBE_ERROR=warn: the pod gets its injection and waits in ContainerCreating until the
    // SecretProviderClass exists (the CSI driver retries the mount), rather than being refused outright.
    warnings.push(printable(`SecretProviderClass ${spcName} could not be ensured: ${ensured.message}`, 250));
  }

  return finish('injected', level, patchResponse(uid, decision.patch, warnings));

  function finish(outcome: AdmissionOutcome, lvl: AdmitResult['level'], review: AdmissionReviewResponse): AdmitResult {
    const n = review.response.warnings?.length ?? 0;
    if (n > 0) log.warnings = n;
    if (dryRun) log.dryRun = true;
    return { review, outcome, level: lvl, log };
  }
}

type Ensured = { ok: true; result: EnsureResult } | { ok: false; message: string; status: number | undefined };
interface AdapterAnswers {
  readonly ensured: Ensured;
  readonly checked: PreflightResult | undefined;
}

/**
 * The warm path: the store and the preflight both answer from memory, so no deadline timer, abort controller or
 * listener is set up (about 0.7 % of the webhook's CPU, BENCHMARKS.md). Undefined when either needs I/O.
 */
function warmAnswers(decision: Extract<Decision, { action: 'inject' }>, dryRun: boolean, deps: AdmitDeps): AdapterAnswers | undefined {
  const result = deps.store.known?.(decision.secretProviderClass, dryRun);
  if (result === undefined) return undefined;
  // Asked second: a cache answer is counted in the preflight's metrics, and must be counted once.
  let checked: PreflightResult | undefined;
  if (deps.preflightMode !== 'off' && deps.preflight) {
    checked = deps.preflight.known?.(decision.target.secretId, decision.target.organization);
    if (checked === undefined) return undefined;
  }
  return { ensured: { ok: true, result }, checked };
}

/**
 * Asks the store and the preflight in parallel, both bounded by the webhook's share of the apiserver's timeout,
 * counted from the request's arrival.
 */
async function askAdapters(
  decision: Extract<Decision, { action: 'inject' }>,
  dryRun: boolean,
  options: AdmitOptions,
  deps: AdmitDeps,
): Promise<AdapterAnswers> {
  const budgetMs = admissionBudgetMs(options.timeoutMs);
  const elapsedMs = Number.isFinite(options.elapsedMs) ? Math.max(0, Math.round(options.elapsedMs as number)) : 0;
  const secretId = decision.target.secretId;
  const preflight = deps.preflightMode === 'off' ? undefined : deps.preflight;
  const late = new DeadlineError(budgetMs, elapsedMs);
  const leftMs = late.leftMs;
  if (leftMs === 0) {
    // No time to ask anyone: what the caches know still counts (warmAnswers needed both), the rest is a deadline.
    const known = deps.store.known?.(decision.secretProviderClass, dryRun);
    return {
      ensured: known === undefined ? storeFailure(late) : { ok: true, result: known },
      checked: preflight ? (preflight.known?.(secretId, decision.target.organization) ?? preflightFailure(late, secretId)) : undefined,
    };
  }
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(late), leftMs);
  const signal = controller.signal;
  const deadline = Date.now() + leftMs;
  try {
    const [ensured, checked] = await Promise.all([
      untilAborted(deps.store.ensure(decision.secretProviderClass, { dryRun, signal, deadline }), signal).then(
        (result): Ensured => ({ ok: true, result }),
        storeFailure,
      ),
      preflight
        ? untilAborted(preflight.check(secretId, decision.target.organization, signal), signal).catch((err: unknown) =>
            preflightFailure(err, secretId),
          )
        : Promise.resolve(undefined),
    ]);
    return { ensured, checked };
  } finally {
    clearTimeout(timer);
  }
}

function storeFailure(err: unknown): Ensured {
  if (err instanceof DeadlineError) {
    const hint = err.lateArrival ? LATE_ARRIVAL_HINT : storeHint(undefined);
    return { ok: false, message: `${err.describe('the Kubernetes API')}; ${hint}`, status: undefined };
  }
  const status = (err as { status?: number } | undefined)?.status;
  let message = err instanceof Error ? err.message : 'unknown failure';
  // The store's own errors already say what to check (cluster-store.ts, toError); others get a hint here.
  if (!(err instanceof SecretProviderClassError)) message = `${message}; ${storeHint(status)}`;
  return { ok: false, message, status };
}

/** Worded like the preflight's own answers (preflight.ts), which the README's table lists. */
function preflightFailure(err: unknown, secretId: string): PreflightResult {
  let reason: string;
  if (err instanceof DeadlineError) {
    reason = err.lateArrival ? 'the request arrived too late to ask Secrets Manager' : 'Secrets Manager did not answer in time';
  } else {
    reason = err instanceof Error ? printable(err.message, 80) : 'unknown failure';
  }
  return { status: 'unavailable', message: warning(`preflight skipped: ${reason} (${secretId})`) };
}

function preflightText(status: PreflightResult['status'], secretId: string): string {
  switch (status) {
    case 'missing':
      return `Secrets Manager secret ${secretId} does not exist`;
    case 'scheduled-for-deletion':
      return `Secrets Manager secret ${secretId} is scheduled for deletion`;
    case 'tag-mismatch':
      return `Secrets Manager secret ${secretId} belongs to another organization`;
    default:
      return `Secrets Manager check for ${secretId} skipped: AWS is unavailable`;
  }
}

/** Names for the log line, from hostile input: only short strings are kept. */
function describeRequest(request: AdmissionRequest): Partial<AdmitLog> {
  const out: Partial<AdmitLog> = {};
  const ns = shortString(request.namespace);
  if (ns !== undefined) out.namespace = ns;
  const op = shortString(request.operation);
  if (op !== undefined) out.operation = op;
  const object = request.object;
  if (object !== null && typeof object === 'object' && !Array.isArray(object)) {
    const metadata = (object as Record<string, unknown>).metadata;
    if (metadata !== null && typeof metadata === 'object' && !Array.isArray(metadata)) {
      const m = metadata as Record<string, unknown>;
      const pod = shortString(m.name) ?? shortString(m.generateName);
      if (pod !== undefined) out.pod = pod;
    }
  }
  if (out.pod === undefined) {
    const name = shortString(request.name);
    if (name !== undefined) out.pod = name;
  }
  return out;
}

function shortString(value: unknown): string | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  return printable(value, 253);
}

