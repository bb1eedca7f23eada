// Applies an RFC 6902 patch the way a test should trust it: with the independent `rfc6902` package, failing on any
// operation error, and cross-checked against fast-json-patch (what the server's own tooling uses).
import { isDeepStrictEqual } from 'node:util';
import jsonpatch from 'fast-json-patch';
import { applyPatch as rfc6902Apply, type Operation } from 'rfc6902';

/** Returns the patched copy of `document` (the input is not modified). Throws if any operation fails. */
export function applyPatch<T>(document: T, patch: readonly unknown[]): T {
  const viaRfc6902 = structuredClone(document);
  const results = rfc6902Apply(viaRfc6902, structuredClone(patch) as Operation[]);
  const failures = results
    .map((result, i) => (result === null ? undefined : `op ${i} ${JSON.stringify(patch[i])}: ${result.name} ${result.message}`))
    .filter((line) => line !== undefined);
  if (failures.length > 0) throw new Error(`patch does not apply (rfc6902):\n${failures.join('\n')}`);

  // validateOperation = true: fast-json-patch throws on a malformed op or a missing path.
  const viaFastJsonPatch = jsonpatch.applyPatch(
    structuredClone(document),
    structuredClone(patch) as jsonpatch.Operation[],
    true,
    false,
  ).newDocument;
  if (!isDeepStrictEqual(viaRfc6902, viaFastJsonPatch)) {
    throw new Error('rfc6902 and fast-json-patch disagree on the result of the patch');
  }
  return viaRfc6902;
}
