// Imitates how the kubelet projects a Secret into a pod: files are symlinks through `..data`, and an update
// writes a new timestamped directory and atomically renames a fresh `..data` symlink over the old one.
import { mkdtemp, mkdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface SecretVolume {
  readonly dir: string;
  readonly certFile: string;
  readonly keyFile: string;
  /** Atomically replaces the contents, the way the kubelet does. */
  update(files: { cert: string; key: string }): Promise<void>;
  /** Overwrites one file in place, the way a careless tool would (not atomic). */
  overwrite(name: 'tls.crt' | 'tls.key', content: string): Promise<void>;
  remove(): Promise<void>;
}

let generation = 0;

export async function createSecretVolume(files: { cert: string; key: string }): Promise<SecretVolume> {
  const dir = await mkdtemp(join(tmpdir(), 'db-access-tls-'));
  let current = '';
  const update = async (next: { cert: string; key: string }): Promise<void> => {
    const stamp = `..${Date.now()}_${process.pid}_${generation++}`;
    await mkdir(join(dir, stamp));
    await writeFile(join(dir, stamp, 'tls.crt'), next.cert);
    await writeFile(join(dir, stamp, 'tls.key'), next.key, { mode: 0o600 });
    await symlink(stamp, join(dir, '..data_tmp'));
    await rename(join(dir, '..data_tmp'), join(dir, '..data'));
    if (current) await rm(join(dir, current), { recursive: true, force: true });
    current = stamp;
  };
  await update(files);
  await symlink('..data/tls.crt', join(dir, 'tls.crt'));
  await symlink('..data/tls.key', join(dir, 'tls.key'));
  return {
    dir,
    certFile: join(dir, 'tls.crt'),
    keyFile: join(dir, 'tls.key'),
    update,
    overwrite: (name, content) => writeFile(join(dir, current, name), content),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
