// Checks the AdmissionReview envelope. Only what is needed to answer is checked here (version, kind, request,
// uid); the request's content is the engine's business and stays `unknown`.
import { escapeUnsafeText } from '../text.ts';
import { ADMISSION_API_VERSION, ADMISSION_KIND, type AdmissionRequest } from './types.ts';

export type ParseResult =
  | { readonly ok: true; readonly request: AdmissionRequest }
  /** A specific message for an HTTP 400: what is wrong with the envelope. */
  | { readonly ok: false; readonly message: string };

/** The apiserver sends UUIDs; anything longer than this is not a uid we want to echo back. */
const MAX_UID_LENGTH = 128;

export function parseAdmissionReview(body: unknown): ParseResult {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    return fail(`the body must be a JSON object (an ${ADMISSION_API_VERSION} ${ADMISSION_KIND}); got ${describe(body)}`);
  }
  const review = body as Record<string, unknown>;
  if (review.apiVersion !== ADMISSION_API_VERSION) {
    return fail(
      `apiVersion must be "${ADMISSION_API_VERSION}" (list only v1 in admissionReviewVersions); got ${describe(review.apiVersion)}`,
    );
  }
  if (review.kind !== ADMISSION_KIND) {
    return fail(`kind must be "${ADMISSION_KIND}"; got ${describe(review.kind)}`);
  }
  const request = review.request;
  if (request === undefined || request === null) {
    return fail('the AdmissionReview has no request');
  }
  if (typeof request !== 'object' || Array.isArray(request)) {
    return fail(`request must be an object; got ${describe(request)}`);
  }
  const uid = (request as Record<string, unknown>).uid;
  if (uid === undefined || uid === null) {
    return fail('request.uid is missing');
  }
  if (typeof uid !== 'string') {
    return fail(`request.uid must be a string; got ${describe(uid)}`);
  }
  if (uid === '' || uid.length > MAX_UID_LENGTH) {
    return fail(`request.uid must be 1 to ${MAX_UID_LENGTH} characters; got ${uid.length}`);
  }
  return { ok: true, request: request as AdmissionRequest };
}

function fail(message: string): ParseResult {
  return { ok: false, message };
}

/** Names the type (and a short value for scalars) without echoing large or hostile input. */
function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') {
    // JSON escapes C0 only; bidi and C1 controls would reach the log and the client's terminal as they are.
    return value.length > 40 ? `a string of ${value.length} characters` : escapeUnsafeText(JSON.stringify(value));
  }
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${String(value)}`;
  return `a value of type ${typeof value}`;
}
