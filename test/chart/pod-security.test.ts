// The webhook's Deployment passes Pod Security "restricted".
//
// The rules are in pod-security-standards.ts, citing
// https://kubernetes.io/docs/concepts/security/pod-security-standards/.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { controlStackAt, docsOfKind, loadCiValues, loadDefaultValues, readTemplate, repoRoot, skeleton, type Values } from './chart.ts';
import { list, obj, restrictedViolations, type Obj } from './pod-security-standards.ts';

function podSpecOf(values: Values): { spec: Obj; errors: string[] } {
  const s = skeleton(readTemplate('deployment.yaml'), { values });
  const [deployment] = docsOfKind(s, 'Deployment');
  return { spec: obj(obj(obj(deployment?.['spec'])['template'])['spec']), errors: s.errors };
}

t.test('the checker catches every rule it claims to check', async (t) => {
  const good: Obj = {
    securityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } },
    containers: [{ name: 'c', securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } } }],
    volumes: [{ name: 'v', secret: { secretName: 's' } }],
  };
  t.same(restrictedViolations(good), [], 'a minimal restricted pod passes');
  const c = (sc: Obj): Obj => ({ ...good, containers: [{ name: 'c', securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, ...sc } }] });
  const bad: Array<[string, Obj]> = [
    ['hostNetwork', { ...good, hostNetwork: true }],
    ['hostPID', { ...good, hostPID: true }],
    ['hostIPC', { ...good, hostIPC: true }],
    ['hostPath volume', { ...good, volumes: [{ name: 'h', hostPath: { path: '/' } }] }],
    ['nfs volume', { ...good, volumes: [{ name: 'n', nfs: { server: 'x', path: '/' } }] }],
    ['unsafe sysctl', { ...good, securityContext: { ...obj(good['securityContext']), sysctls: [{ name: 'kernel.msgmax', value: '1' }] } }],
    ['no runAsNonRoot anywhere', { ...good, securityContext: { runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } } }],
    ['container runAsNonRoot false', c({ runAsNonRoot: false })],
    ['pod runAsUser 0', { ...good, securityContext: { ...obj(good['securityContext']), runAsUser: 0 } }],
    ['container runAsUser 0', c({ runAsUser: 0 })],
    ['no seccomp', { ...good, securityContext: { runAsNonRoot: true } }],
    ['Unconfined seccomp', c({ seccompProfile: { type: 'Unconfined' } })],
    ['privileged', c({ privileged: true })],
    ['allowPrivilegeEscalation unset', { ...good, containers: [{ name: 'c', securityContext: { capabilities: { drop: ['ALL'] } } }] }],
    ['no drop ALL', c({ capabilities: { drop: ['NET_RAW'] } })],
    ['adds NET_ADMIN', c({ capabilities: { drop: ['ALL'], add: ['NET_ADMIN'] } })],
    ['adds CHOWN', c({ capabilities: { drop: ['ALL'], add: ['CHOWN'] } })],
    ['hostPort', { ...good, containers: [{ name: 'c', ports: [{ containerPort: 80, hostPort: 80 }], securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } } }] }],
    ['procMount Unmasked', c({ procMount: 'Unmasked' })],
    ['SELinux user', c({ seLinuxOptions: { user: 'root' } })],
    ['AppArmor Unconfined', c({ appArmorProfile: { type: 'Unconfined' } })],
    ['bad init container', { ...good, initContainers: [{ name: 'i', securityContext: { privileged: true } }] }],
  ];
  for (const [name, spec] of bad) t.not(restrictedViolations(spec), [], name);
  t.same(restrictedViolations(c({ capabilities: { drop: ['ALL'], add: ['NET_BIND_SERVICE'] } })), [], 'NET_BIND_SERVICE may be added');
});

// The one way out of restricted, and only when asked for: hostNetwork (EKS with a custom CNI, values.yaml says why).
const HOST_NETWORK_LINE = 'hostNetwork: true';

t.test('host networking is rendered only under `if .Values.hostNetwork`, which is off by default', async (t) => {
  t.same(controlStackAt(readTemplate('deployment.yaml'), HOST_NETWORK_LINE), ['if .Values.hostNetwork']);
  t.equal(loadDefaultValues()['hostNetwork'], false);
  for (const c of loadCiValues()) t.not(c.values['hostNetwork'], true, `${c.file} keeps the pod network`);
});

t.test('the Deployment passes restricted with values.yaml and every ci example', async (t) => {
  const variants: Array<[string, Values]> = [['values.yaml', loadDefaultValues()], ...loadCiValues().map((c): [string, Values] => [c.file, c.values])];
  for (const [name, values] of variants) {
    const { spec, errors } = podSpecOf(values);
    t.same(errors, [], `${name}: parses`);
    // The skeleton keeps every branch; the test above shows hostNetwork's is off unless asked for.
    t.equal(spec['hostNetwork'], true, `${name}: the skeleton holds the hostNetwork branch`);
    delete spec['hostNetwork'];
    t.same(restrictedViolations(spec), [], name);
    const pod = obj(spec['securityContext']);
    t.equal(typeof pod['runAsUser'], 'number', `${name}: a fixed numeric UID (not left to the image)`);
    t.ok(Number(pod['runAsUser']) > 0 && Number(pod['runAsGroup']) > 0, `${name}: non-zero UID and GID`);
  }
});

t.test('beyond restricted: read-only root, no privilege anywhere, the token only because the API needs it', async (t) => {
  const { spec } = podSpecOf(loadDefaultValues());
  const [container] = list(spec['containers']);
  const sc = obj(container?.['securityContext']);
  t.equal(sc['readOnlyRootFilesystem'], true);
  t.equal(sc['privileged'], false);
  t.same(obj(sc['capabilities'])['add'], undefined, 'adds no capability');
  const volumes = list(spec['volumes']);
  t.same(volumes.map((v) => Object.keys(v).sort()), [['name', 'secret']], 'the only volume is the TLS Secret');
  t.equal(obj(volumes[0]?.['secret'])['defaultMode'], 0o440, 'TLS files readable by owner and group only');
  t.same(list(container?.['volumeMounts']).map((m) => m['readOnly']), [true], 'mounted read-only');
  t.equal(spec['automountServiceAccountToken'], true, 'the server calls the Kubernetes API');
  t.equal(spec['enableServiceLinks'], false, 'no service env vars leaking other services into the environment');
  t.equal(obj(loadDefaultValues()['securityContext'])['runAsUser'], 65532, 'the distroless nonroot UID, same as the image USER');
});

t.test('readOnlyRootFilesystem is safe: nothing the server loads writes to disk', async (t) => {
  // Walk the relative imports from the server entry point; none of those files may call a filesystem write.
  const entry = resolve(repoRoot, 'src', 'server', 'main.ts');
  const seen = new Set<string>();
  const queue = [entry];
  while (queue.length > 0 && seen.size < 500) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    t.notMatch(text, /\b(writeFile|writeFileSync|appendFile|appendFileSync|mkdir|mkdirSync|mkdtemp|mkdtempSync|createWriteStream|tmpdir)\s*\(/, file.slice(repoRoot.length));
    // Static `from '…'` and dynamic `import('…')`: main.ts loads the server lazily, after the settings are checked.
    for (const m of text.matchAll(/(?:\bfrom\s+|\bimport\(\s*)'(\.{1,2}\/[^']+\.ts)'/g)) queue.push(resolve(dirname(file), m[1]!));
  }
  t.ok(seen.size > 5, `${seen.size} server modules checked`);
});
