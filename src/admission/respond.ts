// Builds AdmissionReview answers. Every answer has the same apiVersion/kind and echoes request.uid.
import { derivedText } from '../engine/shared.ts';
import type { PatchOperation } from '../engine/types.ts';
import { escapeUnsafeText, printable } from '../text.ts';
import {
  ADMISSION_API_VERSION,
  ADMISSION_KIND,
  type AdmissionResponse,
  type AdmissionReviewResponse,
} from './types.ts';

/** Each warning becomes an HTTP Warning header on the client's side; the apiserver may truncate longer ones, so we
 * cut them ourselves and the cut is visible. */
const MAX_HEADER_WARNING_LENGTH = 256;

export function allowResponse(uid: string, warnings: readonly string[] = []): AdmissionReviewResponse {
  return review({ uid, allowed: true, ...warningsField(warnings) });
}

/** Allowed with a JSON patch; an empty patch gives a plain allow (no patchType, no patch). */
export function patchResponse(
  uid: string,
  patch: readonly PatchOperation[],
  warnings: readonly string[] = [],
): AdmissionReviewResponse {
  if (patch.length === 0) return allowResponse(uid, warnings);
  const answer = review({
    uid,
    allowed: true,
    patchType: 'JSONPatch',
    patch: Buffer.from(patchText(patch)).toString('base64'),
    ...warningsField(warnings),
  });
  base64Patches.add(answer.response);
  return answer;
}

export function denyResponse(
  uid: string,
  code: number,
  message: string,
  warnings: readonly string[] = [],
): AdmissionReviewResponse {
  return review({ uid, allowed: false, status: { code, message: escapeUnsafeText(message) }, ...warningsField(warnings) });
}

/** JSON text of a value; for the engine's shared values (engine/shared.ts) computed once and kept with the value. */
function valueText(value: unknown): string {
  return derivedText(value, 'json', () => JSON.stringify(value));
}

/**
 * The same text as JSON.stringify(patch), but the engine's shared values (the env list and each entry, the volume,
 * the mount) are serialized once per app rather than once per pod: they are most of the patch's bytes (BENCHMARKS.md,
 * finding 1). A list added whole around a shared entry (a pod without volumes) is new per pod and serialized in full.
 */
export function patchText(patch: readonly PatchOperation[]): string {
  let text = '[';
  for (let i = 0; i < patch.length; i++) {
    const op = patch[i] as PatchOperation & { value?: unknown };
    if (i > 0) text += ',';
    text += `{"op":${JSON.stringify(op.op)},"path":${JSON.stringify(op.path)}`;
    if (op.value !== undefined) text += `,"value":${valueText(op.value)}`;
    text += '}';
  }
  return `${text}]`;
}

function review(response: AdmissionResponse): AdmissionReviewResponse {
  return { apiVersion: ADMISSION_API_VERSION, kind: ADMISSION_KIND, response };
}

function warningsField(warnings: readonly string[]): { warnings?: string[] } {
  const kept: string[] = [];
  for (const w of warnings) {
    if (typeof w !== 'string' || w === '') continue;
    const cut = printable(w, MAX_HEADER_WARNING_LENGTH);
    if (!kept.includes(cut)) kept.push(cut);
  }
  return kept.length > 0 ? { warnings: kept } : {};
}

/** Responses whose `patch` this module produced with Buffer#toString('base64'): its text needs no JSON escaping. */
const base64Patches = new WeakSet<AdmissionResponse>();

/**
 * The answer as JSON text, written directly: JSON.stringify would scan the 5+ KB base64 patch again for characters
 * to escape, and base64 has none (BENCHMARKS.md, "Fixed during this work"). The uid, the message and the warnings come from the
 * request or from hostile names, so they still go through JSON.stringify. Same meaning as JSON.stringify(review).
 */
export function serializeReview(answer: AdmissionReviewResponse): string {
  const r = answer.response;
  let text = `{"apiVersion":${JSON.stringify(answer.apiVersion)},"kind":${JSON.stringify(answer.kind)},"response":{"uid":${JSON.stringify(r.uid)},"allowed":${r.allowed ? 'true' : 'false'}`;
  if (r.patchType !== undefined) text += `,"patchType":${JSON.stringify(r.patchType)}`;
  if (r.patch !== undefined) {
    text += base64Patches.has(r) ? `,"patch":"${r.patch}"` : `,"patch":${JSON.stringify(r.patch)}`;
  }
  if (r.status !== undefined) text += `,"status":${JSON.stringify({ code: r.status.code, message: r.status.message })}`;
  if (r.warnings !== undefined) text += `,"warnings":${JSON.stringify(r.warnings)}`;
  return `${text}}}`;
}
