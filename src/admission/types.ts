// The admission.k8s.io/v1 wire shapes this webhook reads and writes.
import type { AdmissionRequestInput } from '../engine/types.ts';

export const ADMISSION_API_VERSION = 'admission.k8s.io/v1';
export const ADMISSION_KIND = 'AdmissionReview';

/** An AdmissionRequest whose envelope has been checked: the uid is a non-empty string. Everything else is hostile. */
export interface AdmissionRequest extends AdmissionRequestInput {
  readonly uid: string;
  readonly name?: unknown;
  readonly userInfo?: unknown;
}

export interface AdmissionStatus {
  readonly code: number;
  readonly message: string;
}

export interface AdmissionResponse {
  readonly uid: string;
  readonly allowed: boolean;
  readonly patchType?: 'JSONPatch';
  /** base64 of the JSON array of RFC 6902 operations. */
  readonly patch?: string;
  readonly status?: AdmissionStatus;
  readonly warnings?: readonly string[];
}

export interface AdmissionReviewResponse {
  readonly apiVersion: typeof ADMISSION_API_VERSION;
  readonly kind: typeof ADMISSION_KIND;
  readonly response: AdmissionResponse;
}
