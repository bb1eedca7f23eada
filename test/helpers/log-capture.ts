// Captures every log line of a scenario and searches them for values that must never be logged.
// Plant unique sentinels where a careless `log.info({ pod })` or `log.debug({ err })` would pick them up, run the
// scenario, then `assertNoSecrets(t, capture.lines, planted)`.
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { Logger, LevelWithSilent } from 'pino';

export interface LogCapture {
  /** Every raw line written so far, in order (one JSON object per line for pino). */
  readonly lines: string[];
  /** A pino destination (also a Node Writable, e.g. for a child process's stdout). */
  readonly stream: Writable;
  /** A pino DestinationStream (synchronous), e.g. for buildApp's logger. */
  readonly destination: { write(chunk: string): boolean };
  /** A pino logger writing into this capture. */
  logger(level?: LevelWithSilent): Logger;
  /** The lines parsed as JSON (non-JSON lines are skipped). */
  records(): Array<Record<string, unknown>>;
  /** Lines containing `text`. */
  grep(text: string): string[];
}

export function createLogCapture(): LogCapture {
  const lines: string[] = [];
  let partial = '';
  function push(chunk: string | Uint8Array): void {
    const text = partial + (typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    const parts = text.split('\n');
    partial = parts.pop() ?? '';
    for (const line of parts) if (line !== '') lines.push(line);
  }
  // For pipes (a child process's stdout); `final` keeps a last line without a newline.
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      push(chunk);
      callback();
    },
    final(callback) {
      if (partial !== '') lines.push(partial);
      partial = '';
      callback();
    },
  });
  // pino writes synchronously to a destination with a plain write(), so lines are visible as soon as logged.
  const destination = {
    write(chunk: string): boolean {
      push(chunk);
      return true;
    },
  };
  return {
    lines,
    stream,
    destination,
    logger(level: LevelWithSilent = 'info') {
      return pino({ level }, destination);
    },
    records() {
      const out: Array<Record<string, unknown>> = [];
      for (const line of lines) {
        try {
          const v: unknown = JSON.parse(line);
          if (v !== null && typeof v === 'object') out.push(v as Record<string, unknown>);
        } catch {
          // not JSON: a stray console line; the secret search still covers it through `lines`
        }
      }
      return out;
    },
    grep(text: string) {
      return lines.filter((l) => l.includes(text));
    },
  };
}

/** A unique marker that cannot occur by chance: `SENTINEL-<what>-<random hex>`. */
export function sentinel(what: string): string {
  return `SENTINEL-${what}-${randomBytes(8).toString('hex')}`;
}

/** The forms a value can take in a log line: raw, JSON-escaped, URL-encoded, and base64 at each alignment. */
export function encodingsOf(value: string): string[] {
  const forms = new Set<string>([value]);
  forms.add(JSON.stringify(value).slice(1, -1));
  forms.add(encodeURIComponent(value));
  // A value inside a base64 blob (a logged patch or body) shows up at one of three alignments; the inner part of
  // each encoding is stable whatever surrounds it.
  if (value.length >= 12) {
    for (let pad = 0; pad < 3; pad++) {
      const b64 = Buffer.from('x'.repeat(pad) + value, 'utf8').toString('base64');
      const inner = b64.slice(4, -4);
      if (inner.length >= 8) forms.add(inner);
    }
  }
  return [...forms];
}

/** Where planted values were found: one entry per (value, line). */
export function findSecrets(lines: readonly string[], planted: readonly string[]): Array<{ value: string; line: string }> {
  const hits: Array<{ value: string; line: string }> = [];
  for (const value of planted) {
    if (value.length < 6) throw new Error(`planted value ${JSON.stringify(value)} is too short to search for safely`);
    const forms = encodingsOf(value);
    for (const line of lines) {
      if (forms.some((f) => line.includes(f))) hits.push({ value, line: line.length > 400 ? `${line.slice(0, 400)}…` : line });
    }
  }
  return hits;
}

/** The two tap assertions used (a tap Test fits; so does a small recorder in the helper's own test). */
interface Asserter {
  ok(value: unknown, message: string): unknown;
  same(found: unknown, wanted: unknown, message: string): unknown;
}

export interface AssertNoSecretsOptions {
  /** Fail if fewer lines were captured: a silent logger proves nothing. Default 1. */
  readonly minLines?: number;
}

/** Fails `t` if any planted value (in any encoding) appears in any captured line; also fails on an empty capture. */
export function assertNoSecrets(t: Asserter, lines: readonly string[], planted: readonly string[], options: AssertNoSecretsOptions = {}): void {
  const minLines = options.minLines ?? 1;
  t.ok(lines.length >= minLines, `captured at least ${minLines} log line(s) (got ${lines.length}): the search is not vacuous`);
  const hits = findSecrets(lines, planted);
  t.same(
    hits.map((h) => `${h.value} in: ${h.line}`),
    [],
    `none of ${planted.length} planted values appears in ${lines.length} log lines`,
  );
}

/** A set of sentinels for the usual hiding places; plant them with `plantSecrets`. */
export interface PlantedSecrets {
  readonly envValue: string;
  readonly annotationValue: string;
  readonly lastApplied: string;
  readonly image: string;
  readonly args: string;
  readonly command: string;
  readonly nodeName: string;
  readonly managedField: string;
  /** All of the above, for assertNoSecrets. */
  readonly all: readonly string[];
}

export function plantedSecrets(): PlantedSecrets {
  const s = {
    envValue: sentinel('ENV'),
    annotationValue: sentinel('ANNOTATION'),
    lastApplied: sentinel('LASTAPPLIED'),
    image: `registry.example/${sentinel('IMAGE').toLowerCase()}:1`,
    args: sentinel('ARGS'),
    command: sentinel('COMMAND'),
    nodeName: sentinel('NODENAME').toLowerCase(),
    managedField: sentinel('MANAGEDFIELD'),
  };
  return { ...s, all: Object.values(s) };
}

/**
 * Puts the sentinels into a pod (mutates and returns it): an env value, a foreign annotation, the
 * last-applied-configuration annotation (a whole object), the image, args, command, nodeName and managedFields.
 * None of these has a reason to be logged.
 */
export function plantSecrets<T extends Record<string, unknown>>(pod: T, s: PlantedSecrets): T {
  const p = pod as unknown as {
    metadata: Record<string, unknown> & { annotations?: Record<string, string> };
    spec: Record<string, unknown> & { containers: Array<Record<string, unknown>> };
  };
  p.metadata.annotations = {
    ...p.metadata.annotations,
    'example.com/api-token': s.annotationValue,
    'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify({ password: s.lastApplied }),
  };
  p.metadata.managedFields = [{ manager: s.managedField, operation: 'Update', fieldsType: 'FieldsV1', fieldsV1: {} }];
  p.spec.nodeName = s.nodeName;
  const c = p.spec.containers[0];
  if (c !== undefined) {
    c.image = s.image;
    c.args = ['--password', s.args];
    c.command = ['/bin/app', s.command];
    c.env = [...((c.env as unknown[] | undefined) ?? []), { name: 'API_KEY', value: s.envValue }];
  }
  return pod;
}
