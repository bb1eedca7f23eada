// How long we may work on one admission. The apiserver tells us its own timeout with `?timeout=10s` and gives
// up after it (failurePolicy then decides). We stop our own work earlier so there is always time to answer.

export const DEFAULT_WEBHOOK_TIMEOUT_MS = 10_000;
/** The apiserver accepts webhook timeouts of 1 to 30 seconds. */
const MIN_TIMEOUT_MS = 1_000;
const MAX_TIMEOUT_MS = 30_000;

// Go also writes microseconds with a micro sign (U+00B5) or a Greek mu (U+03BC). Escaped: the bundle must stay ASCII
// (scripts/build.ts).
const UNIT_MS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1_000, ms: 1, us: 0.001, '\u00b5s': 0.001, '\u03bcs': 0.001, ns: 0.000001 };

/**
 * Reads the apiserver's `timeout` query value: a Go duration such as "10s", "1m0s" or "2500ms". Missing or
 * unreadable values give the default 10 s; the result is clamped to 1..30 s.
 */
export function webhookTimeoutMs(value: unknown): number {
  if (typeof value !== 'string' || value.length === 0 || value.length > 32) return DEFAULT_WEBHOOK_TIMEOUT_MS;
  // The apiserver sends the same value on every call of a webhook: parse it once, not per admission.
  if (value === lastValue) return lastMs;
  lastMs = parseTimeoutMs(value);
  lastValue = value;
  return lastMs;
}

let lastValue: string | undefined;
let lastMs = DEFAULT_WEBHOOK_TIMEOUT_MS;

function parseTimeoutMs(value: string): number {
  const parts = value.match(/(\d+(?:\.\d+)?)(h|ms|m|s|us|\u00b5s|\u03bcs|ns)/g);
  if (!parts || parts.join('') !== value) return DEFAULT_WEBHOOK_TIMEOUT_MS;
  let ms = 0;
  for (const part of parts) {
    const [, num, unit] = /^(\d+(?:\.\d+)?)(.+)$/.exec(part) ?? [];
    ms += Number(num) * (UNIT_MS[unit ?? ''] ?? Number.NaN);
  }
  if (!Number.isFinite(ms)) return DEFAULT_WEBHOOK_TIMEOUT_MS;
  return Math.min(MAX_TIMEOUT_MS, Math.max(MIN_TIMEOUT_MS, Math.round(ms)));
}

/**
 * Our working budget within the apiserver's timeout: 20 % is kept back (at least 250 ms, at most 2 s) for the
 * answer to travel back and for event-loop delay under load. 10 s → 8 s; 1 s → 750 ms; 30 s → 28 s.
 */
export function admissionBudgetMs(timeoutMs: number): number {
  const margin = Math.min(2_000, Math.max(250, timeoutMs * 0.2));
  return Math.max(100, Math.round(timeoutMs - margin));
}
