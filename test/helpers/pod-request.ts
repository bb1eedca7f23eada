// An AdmissionRequest for a pod CREATE in namespace `acme` (the organization), as the apiserver sends it.
import type { AdmissionRequestInput } from '../../src/engine/index.ts';

export function podCreateRequest(object: unknown, extra: Record<string, unknown> = {}): AdmissionRequestInput {
  return {
    uid: 'u',
    kind: { group: '', version: 'v1', kind: 'Pod' },
    resource: { group: '', version: 'v1', resource: 'pods' },
    operation: 'CREATE',
    namespace: 'acme',
    object,
    ...extra,
  };
}
