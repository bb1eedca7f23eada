// Namespaces that are never injected. The check runs before anything that could deny: system pods are never blocked.
import type { EnginePolicy } from './types.ts';

/** Never injected, whatever the configuration says. */
export const ALWAYS_EXCLUDED_NAMESPACES: readonly string[] = ['kube-system', 'kube-public', 'kube-node-lease'];

export function isExcludedNamespace(namespace: string, policy: EnginePolicy): boolean {
  return (
    ALWAYS_EXCLUDED_NAMESPACES.includes(namespace) ||
    namespace === policy.webhookNamespace ||
    policy.excludedNamespaces.includes(namespace)
  );
}
