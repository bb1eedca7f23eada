// Checks that an answer is the AdmissionReview the apiserver needs, so a fast wrong answer is counted as an error.
import type { RequestSpec, Validate } from './load.ts';

/** Request kinds the benchmarks send; each implies what a correct answer looks like. */
export type RequestKind = 'mutate' | 'pass-through' | 'cold' | 'echo';

interface Answer {
  apiVersion?: unknown;
  kind?: unknown;
  response?: { uid?: unknown; allowed?: unknown; patchType?: unknown; patch?: unknown; status?: { message?: unknown } };
}

export function checkAnswer(statusCode: number, text: string, spec: RequestSpec): string | undefined {
  if (statusCode !== 200) return `HTTP ${statusCode}`;
  if (spec.kind === 'echo') return text.length > 0 ? undefined : 'empty answer';
  let answer: Answer;
  try {
    answer = JSON.parse(text) as Answer;
  } catch {
    return 'answer is not JSON';
  }
  if (answer.apiVersion !== 'admission.k8s.io/v1' || answer.kind !== 'AdmissionReview') return 'not an admission.k8s.io/v1 AdmissionReview';
  const response = answer.response;
  if (response === undefined) return 'no response';
  if (response.uid !== spec.uid) return `response.uid ${String(response.uid)} is not the request's`;
  if (response.allowed !== true) return `denied: ${String(response.status?.message ?? '')}`.slice(0, 200);
  const patched = response.patchType === 'JSONPatch' && typeof response.patch === 'string' && response.patch.length > 0;
  if (spec.kind === 'pass-through') return response.patch === undefined ? undefined : 'pass-through pod got a patch';
  return patched ? undefined : `${spec.kind} pod got no JSONPatch`;
}

export const validateAnswer: Validate = checkAnswer;
