// The Baseline and Restricted controls of the Kubernetes Pod Security Standards,
// https://kubernetes.io/docs/concepts/security/pod-security-standards/ (policy version "latest"), checked field by
// field the way the PodSecurity admission plugin reads them. Windows-only controls are left out (the image is Linux),
// and so is the AppArmor annotation form (the chart sets no annotations of that kind; the field form is checked).
import { isRecord } from './chart.ts';

export type Obj = Record<string, unknown>;
export const obj = (v: unknown): Obj => (isRecord(v) ? v : {});
export const list = (v: unknown): Obj[] => (Array.isArray(v) ? v.filter(isRecord) : []);

// Restricted "Volume Types": only these volume sources.
const RESTRICTED_VOLUME_TYPES = new Set(['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret']);
// Baseline "Capabilities": what may be added at all (Restricted then allows only NET_BIND_SERVICE).
const BASELINE_CAPABILITIES = new Set(['AUDIT_WRITE', 'CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'MKNOD', 'NET_BIND_SERVICE', 'SETFCAP', 'SETGID', 'SETPCAP', 'SETUID', 'SYS_CHROOT']);
// Baseline "Sysctls": the safe set.
const SAFE_SYSCTLS = new Set([
  'kernel.shm_rmid_forced',
  'net.ipv4.ip_local_port_range',
  'net.ipv4.ip_unprivileged_port_start',
  'net.ipv4.tcp_syncookies',
  'net.ipv4.ping_group_range',
  'net.ipv4.ip_local_reserved_ports',
  'net.ipv4.tcp_keepalive_time',
  'net.ipv4.tcp_fin_timeout',
  'net.ipv4.tcp_keepalive_intvl',
  'net.ipv4.tcp_keepalive_probes',
]);
const SELINUX_TYPES = new Set(['', 'container_t', 'container_init_t', 'container_kvm_t', 'container_engine_t']);

/** Every Baseline + Restricted violation in a PodSpec, as readable strings. Empty means "restricted" passes. */
export function restrictedViolations(spec: Obj): string[] {
  const v: string[] = [];
  const pod = obj(spec['securityContext']);
  const containers = ['containers', 'initContainers', 'ephemeralContainers'].flatMap((field) =>
    list(spec[field]).map((c) => ({ where: `${field}[${String(c['name'])}]`, c, sc: obj(c['securityContext']) })),
  );
  if (containers.length === 0) v.push('no containers');

  // Baseline: Host Namespaces.
  for (const field of ['hostNetwork', 'hostPID', 'hostIPC']) if (spec[field] === true) v.push(`${field} must be unset or false`);
  // Baseline: HostPath Volumes; Restricted: Volume Types.
  for (const volume of list(spec['volumes'])) {
    const types = Object.keys(volume).filter((k) => k !== 'name');
    for (const type of types) if (!RESTRICTED_VOLUME_TYPES.has(type)) v.push(`volume ${String(volume['name'])}: type ${type} is not allowed`);
  }
  // Baseline: Sysctls.
  for (const s of list(pod['sysctls'])) if (!SAFE_SYSCTLS.has(String(s['name']))) v.push(`sysctl ${String(s['name'])} is not in the safe set`);
  // Restricted: Running as Non-root (pod level, or every container).
  const podNonRoot = pod['runAsNonRoot'] === true;
  // Restricted: Seccomp (pod level RuntimeDefault/Localhost, or every container).
  const seccompOk = (sc: Obj): boolean => ['RuntimeDefault', 'Localhost'].includes(String(obj(sc['seccompProfile'])['type']));
  const podSeccomp = seccompOk(pod);
  const podSeccompType = obj(pod['seccompProfile'])['type'];
  if (podSeccompType !== undefined && !podSeccomp) v.push(`pod seccompProfile ${String(podSeccompType)} is not allowed`);
  // Restricted: Running as Non-root user.
  if (pod['runAsUser'] === 0) v.push('pod runAsUser must not be 0');
  // Baseline: SELinux (pod).
  const checkSelinux = (where: string, sc: Obj): void => {
    const o = obj(sc['seLinuxOptions']);
    if (o['type'] !== undefined && !SELINUX_TYPES.has(String(o['type']))) v.push(`${where}: seLinuxOptions.type ${String(o['type'])}`);
    if (o['user'] !== undefined || o['role'] !== undefined) v.push(`${where}: seLinuxOptions.user/role must be unset`);
  };
  checkSelinux('pod', pod);
  // Baseline: AppArmor (field form).
  const checkAppArmor = (where: string, sc: Obj): void => {
    const type = obj(sc['appArmorProfile'])['type'];
    if (type !== undefined && !['RuntimeDefault', 'Localhost'].includes(String(type))) v.push(`${where}: appArmorProfile ${String(type)}`);
  };
  checkAppArmor('pod', pod);

  for (const { where, c, sc } of containers) {
    // Baseline: Privileged Containers.
    if (sc['privileged'] === true) v.push(`${where}: privileged`);
    // Baseline: HostPorts.
    for (const p of list(c['ports'])) if (p['hostPort'] !== undefined && p['hostPort'] !== 0) v.push(`${where}: hostPort ${String(p['hostPort'])}`);
    // Baseline: /proc Mount Type.
    if (sc['procMount'] !== undefined && sc['procMount'] !== 'Default') v.push(`${where}: procMount ${String(sc['procMount'])}`);
    checkSelinux(where, sc);
    checkAppArmor(where, sc);
    // Restricted: Privilege Escalation.
    if (sc['allowPrivilegeEscalation'] !== false) v.push(`${where}: allowPrivilegeEscalation must be false`);
    // Restricted: Running as Non-root.
    if (sc['runAsNonRoot'] === false || (!podNonRoot && sc['runAsNonRoot'] !== true)) v.push(`${where}: runAsNonRoot must be true`);
    // Restricted: Running as Non-root user.
    if (sc['runAsUser'] === 0) v.push(`${where}: runAsUser must not be 0`);
    // Restricted: Seccomp.
    const type = obj(sc['seccompProfile'])['type'];
    if (type !== undefined && !seccompOk(sc)) v.push(`${where}: seccompProfile ${String(type)} is not allowed`);
    if (type === undefined && !podSeccomp) v.push(`${where}: seccompProfile must be RuntimeDefault or Localhost`);
    // Restricted: Capabilities (drop ALL, add at most NET_BIND_SERVICE); Baseline: the add list.
    const caps = obj(sc['capabilities']);
    const drop = Array.isArray(caps['drop']) ? caps['drop'].map(String) : [];
    if (!drop.includes('ALL')) v.push(`${where}: capabilities.drop must include ALL`);
    for (const add of Array.isArray(caps['add']) ? caps['add'].map(String) : []) {
      if (!BASELINE_CAPABILITIES.has(add)) v.push(`${where}: capability ${add} is not allowed by baseline`);
      if (add !== 'NET_BIND_SERVICE') v.push(`${where}: capability ${add} is not allowed by restricted`);
    }
  }
  return v;
}

