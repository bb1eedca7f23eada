// The engine's contract: what goes in, what comes out. Shared by the server, the CLI and the benchmarks.
// Everything here is plain data; the engine does no I/O.

/** Settings that shape every decision. Built once at start-up (server) or from flags (CLI). */
export interface EnginePolicy {
  /** Deployment environment, part of the Secrets Manager name: `{organization}-{environment}-database-credentials`. */
  readonly environment: string;
  /** AWS region written into the SecretProviderClass. */
  readonly region: string;
  /** The webhook's own namespace: never injected. */
  readonly webhookNamespace: string;
  /** Extra namespaces never injected, on top of kube-system, kube-public, kube-node-lease and webhookNamespace. */
  readonly excludedNamespaces: readonly string[];
  /** Write `usePodIdentity: "true"` into the SecretProviderClass (EKS Pod Identity instead of IRSA). */
  readonly usePodIdentity: boolean;
  /** The secret carries a pre-encoded `url` key: DATABASE_URL comes from it instead of being composed. */
  readonly urlFromSecret: boolean;
}

/** The parts of an admission.k8s.io/v1 AdmissionRequest the engine reads. Fields are unknown: input is hostile. */
export interface AdmissionRequestInput {
  readonly uid?: unknown;
  readonly kind?: unknown;
  readonly resource?: unknown;
  readonly subResource?: unknown;
  readonly operation?: unknown;
  readonly namespace?: unknown;
  readonly dryRun?: unknown;
  readonly object?: unknown;
}

/** RFC 6902 operations the engine emits. */
export type PatchOperation =
  | { readonly op: 'add' | 'replace' | 'test'; readonly path: string; readonly value: unknown }
  | { readonly op: 'remove'; readonly path: string };

export interface SecretProviderClass {
  apiVersion: 'secrets-store.csi.x-k8s.io/v1';
  kind: 'SecretProviderClass';
  metadata: {
    name: string;
    namespace: string;
    /** Always includes MANAGED_BY_LABEL: MANAGED_BY_VALUE and APP_LABEL: <app>. */
    labels: Record<string, string>;
  };
  spec: {
    provider: 'aws';
    parameters: Record<string, string>;
    secretObjects: Array<{
      secretName: string;
      type: 'Opaque';
      data: Array<{ objectName: string; key: string }>;
    }>;
  };
}

/** The names one injection resolves to. Useful for logs, preflight and the CLI. */
export interface InjectionTarget {
  readonly organization: string;
  readonly environment: string;
  readonly app: string;
  /** Secrets Manager secret name. */
  readonly secretId: string;
  readonly secretProviderClassName: string;
  /** Kubernetes Secret synced by the CSI driver. */
  readonly syncedSecretName: string;
  /** Containers and init containers that get the mount and env, in pod order. */
  readonly containers: readonly string[];
  readonly mountPath: string;
}

export type SkipReason =
  | 'not-a-pod'
  | 'not-create'
  | 'subresource'
  | 'not-opted-in'
  | 'excluded-namespace';

export type Decision =
  | { readonly action: 'skip'; readonly reason: SkipReason; readonly warnings: readonly string[] }
  | {
      readonly action: 'deny';
      /** HTTP-style code for AdmissionResponse.status.code (400 for a bad pod spec, 403 for a policy refusal). */
      readonly code: number;
      /** Says what is wrong and what to change. */
      readonly message: string;
      readonly warnings: readonly string[];
    }
  | {
      readonly action: 'inject';
      /** Empty when the pod already carries exactly this injection (reinvocation). */
      readonly patch: readonly PatchOperation[];
      readonly secretProviderClass: SecretProviderClass;
      readonly target: InjectionTarget;
      readonly warnings: readonly string[];
    };

export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY_VALUE = 'db-access-webhook';
export const APP_LABEL = 'db-access/app';
