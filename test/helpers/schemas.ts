// Output checks against the real schemas. Each returns a list of errors: empty means valid.
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { Pod } from 'kubernetes-models/v1/Pod';
import { parse } from 'yaml';

type Rec = Record<string, unknown>;
const isRec = (v: unknown): v is Rec => typeof v === 'object' && v !== null && !Array.isArray(v);
const list = (v: unknown): Rec[] => (Array.isArray(v) ? v.filter(isRec) : []);

/** Engine-injected env names: our output must never define one of them twice in a container. */
const OUR_ENV = new Set([
  'DB_HOST', 'DB_PORT', 'DB_NAME', 'DB_USER', 'DB_PASSWORD',
  'PGHOST', 'PGPORT', 'PGDATABASE', 'PGUSER', 'PGPASSWORD', 'PGSSLMODE', 'DATABASE_URL',
]);

/**
 * kubernetes-models' Pod schema, plus the apiserver rules it does not encode: unique volume names, every mount names
 * an existing volume, unique mount paths per container, no block device at a mount path (ValidateVolumeDevices);
 * and ours: none of our env names twice in one container.
 */
export function validatePod(pod: unknown): string[] {
  const errors: string[] = [];
  try {
    new Pod(pod as ConstructorParameters<typeof Pod>[0]).validate();
  } catch (error) {
    errors.push(`Pod schema: ${error instanceof Error ? error.message : String(error)}`);
  }
  const spec = isRec(pod) && isRec(pod.spec) ? pod.spec : {};
  const volumeNames = new Set<string>();
  for (const volume of list(spec.volumes)) {
    const name = String(volume.name);
    if (volumeNames.has(name)) errors.push(`spec.volumes: duplicate name ${JSON.stringify(name)}`);
    volumeNames.add(name);
  }
  const containerNames = new Set<string>();
  for (const key of ['initContainers', 'containers', 'ephemeralContainers'] as const) {
    for (const container of list(spec[key])) {
      const where = `spec.${key}[${JSON.stringify(container.name)}]`;
      if (containerNames.has(String(container.name))) errors.push(`${where}: duplicate container name`);
      containerNames.add(String(container.name));
      const paths = new Set<string>();
      for (const mount of list(container.volumeMounts)) {
        if (!volumeNames.has(String(mount.name))) errors.push(`${where}: mount of missing volume ${JSON.stringify(mount.name)}`);
        const path = String(mount.mountPath);
        if (paths.has(path)) errors.push(`${where}: duplicate mountPath ${JSON.stringify(path)}`);
        paths.add(path);
      }
      for (const device of list(container.volumeDevices)) {
        const path = String(device.devicePath);
        if (paths.has(path)) errors.push(`${where}: devicePath ${JSON.stringify(path)} is also a mountPath`);
      }
      const env = new Set<string>();
      for (const variable of list(container.env)) {
        const name = String(variable.name);
        if (OUR_ENV.has(name) && env.has(name)) errors.push(`${where}: env ${name} defined twice`);
        env.add(name);
      }
    }
  }
  return errors;
}

const crdPath = new URL('../fixtures/crd/secrets-store.csi.x-k8s.io_secretproviderclasses.yaml', import.meta.url);
const crd = parse(readFileSync(crdPath, 'utf8')) as { spec: { versions: Array<{ name: string; schema: { openAPIV3Schema: object } }> } };
const v1 = crd.spec.versions.find((v) => v.name === 'v1');
if (v1 === undefined) throw new Error('the SecretProviderClass CRD fixture has no v1 version');
// strict: false because CRD schemas carry x-kubernetes-* extensions Ajv does not know.
const validateSpcSchema = new Ajv({ strict: false, allErrors: true }).compile(v1.schema.openAPIV3Schema);

/** The v1 SecretProviderClass CRD's openAPIV3Schema, plus what the apiserver checks on every object. */
export function validateSecretProviderClass(spc: unknown): string[] {
  const errors: string[] = [];
  if (!validateSpcSchema(spc)) {
    for (const e of validateSpcSchema.errors ?? []) errors.push(`SecretProviderClass${e.instancePath} ${e.message ?? ''}`);
  }
  if (!isRec(spc) || spc.apiVersion !== 'secrets-store.csi.x-k8s.io/v1' || spc.kind !== 'SecretProviderClass') {
    errors.push('SecretProviderClass: apiVersion/kind must be secrets-store.csi.x-k8s.io/v1 SecretProviderClass');
  }
  const metadata = isRec(spc) && isRec(spc.metadata) ? spc.metadata : {};
  const dns1123Subdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
  for (const key of ['name', 'namespace'] as const) {
    const value = metadata[key];
    if (typeof value !== 'string' || value.length > 253 || !dns1123Subdomain.test(value)) {
      errors.push(`SecretProviderClass metadata.${key} ${JSON.stringify(value)} is not a DNS-1123 subdomain`);
    }
  }
  if (isRec(metadata.labels)) {
    for (const [k, v] of Object.entries(metadata.labels)) {
      if (typeof v !== 'string' || v.length > 63 || !/^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/.test(v)) {
        errors.push(`SecretProviderClass label ${k}: invalid value ${JSON.stringify(v)}`);
      }
    }
  }
  return errors;
}
