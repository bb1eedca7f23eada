// Builds AdmissionReview answers. Every answer has the same apiVersion/kind and echoes request.uid.
import type { PatchOperation } from '../engine/types.ts';
import {
  ADMISSION_API_VERSION,
  ADMISSION_KIND,
  type AdmissionResponse,
  type AdmissionReviewResponse,
} from './types.ts';

/** The apiserver may truncate warnings longer than 256 characters; we cut them ourselves so the cut is visible. */
const MAX_WARNING_LENGTH = 256;

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
  return review({
    uid,
    allowed: true,
    patchType: 'JSONPatch',
    patch: Buffer.from(JSON.stringify(patch)).toString('base64'),
    ...warningsField(warnings),
  });
}

export function denyResponse(
  uid: string,
  code: number,
  message: string,
  warnings: readonly string[] = [],
): AdmissionReviewResponse {
  return review({ uid, allowed: false, status: { code, message }, ...warningsField(warnings) });
}

function review(response: AdmissionResponse): AdmissionReviewResponse {
  return { apiVersion: ADMISSION_API_VERSION, kind: ADMISSION_KIND, response };
}

function warningsField(warnings: readonly string[]): { warnings?: string[] } {
  const kept: string[] = [];
  for (const w of warnings) {
    if (typeof w !== 'string' || w === '') continue;
    // Warnings become HTTP headers on the user's side: no control characters, bounded length.
    const clean = w.replace(/[\u0000-\u001f\u007f]+/g, ' ');
    const cut = clean.length > MAX_WARNING_LENGTH ? `${clean.slice(0, MAX_WARNING_LENGTH - 3)}...` : clean;
    if (!kept.includes(cut)) kept.push(cut);
  }
  return kept.length > 0 ? { warnings: kept } : {};
}
