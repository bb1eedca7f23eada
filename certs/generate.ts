// Makes a development CA and a serving certificate for the webhook, and writes them as PEM files.
//
//   npx node certs/generate.ts [service] [namespace] [--out dir]
//
// Defaults: service and namespace db-access-webhook, output certs/out/ (git-ignored). The serving certificate
// names localhost, 127.0.0.1, ::1 and <service>, <service>.<namespace>, <service>.<namespace>.svc and
// <service>.<namespace>.svc.cluster.local.
import { mkdir, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { createDevCertificates, DEFAULT_NAMESPACE, DEFAULT_SERVICE } from '../src/tls/dev-certificates.ts';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

function usage(message: string): never {
  process.stderr.write(`${message}\nusage: npx node certs/generate.ts [service] [namespace] [--out dir]\n`);
  process.exit(2);
}

const positional: string[] = [];
let out = resolve(import.meta.dirname, 'out');
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
  const arg = args[i] ?? '';
  if (arg === '--out') {
    const dir = args[++i];
    if (!dir) usage('--out needs a directory');
    out = resolve(dir);
  } else if (arg === '-h' || arg === '--help') {
    usage('Writes ca.crt, ca.key, tls.crt and tls.key for local use and test clusters.');
  } else if (arg.startsWith('-')) {
    usage(`unknown option ${JSON.stringify(arg)}`);
  } else {
    positional.push(arg);
  }
}
if (positional.length > 2) usage('at most two names: service and namespace');
const [service = DEFAULT_SERVICE, namespace = DEFAULT_NAMESPACE] = positional;
for (const [what, value] of [['service', service], ['namespace', namespace]] as const) {
  if (!DNS_LABEL.test(value)) usage(`${what} must be a lowercase DNS label; got ${JSON.stringify(value)}`);
}

const dev = await createDevCertificates(service, namespace);
await mkdir(out, { recursive: true });
await writeFile(resolve(out, 'ca.crt'), dev.ca.cert);
await writeFile(resolve(out, 'ca.key'), dev.ca.key, { mode: 0o600 });
await writeFile(resolve(out, 'tls.crt'), dev.serving.cert);
await writeFile(resolve(out, 'tls.key'), dev.serving.key, { mode: 0o600 });

const leaf = new X509Certificate(dev.serving.cert);
process.stdout.write(
  [
    `wrote ${out}/{ca.crt,ca.key,tls.crt,tls.key}`,
    `serving certificate: ${leaf.subjectAltName}`,
    `valid until: ${new Date(leaf.validTo).toISOString()}`,
    `run:      TLS_CERT_FILE=${out}/tls.crt TLS_KEY_FILE=${out}/tls.key npm start`,
    `caBundle: base64 -w0 < ${out}/ca.crt`,
    '',
  ].join('\n'),
);
