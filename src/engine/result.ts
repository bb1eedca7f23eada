// Internal outcome of a check: a value, or a refusal that becomes the admission denial. Nothing in the engine throws.

export interface Refusal {
  readonly ok: false;
  /** 400: the pod (or request) is wrong and the user must change it. */
  readonly code: number;
  /** Says what is wrong and what to change. */
  readonly message: string;
}

export type Result<T> = { readonly ok: true; readonly value: T } | Refusal;

export function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}

export function refuse(message: string, code = 400): Refusal {
  return { ok: false, code, message };
}
