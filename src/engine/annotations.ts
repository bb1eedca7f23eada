// The db-access/* annotations: names, parsing and validation. Values are hostile until checked here.
import { isRecord, own } from './object.ts';
import { ok, refuse, type Result } from './result.ts';
import { quote } from '../text.ts';

export const ANNOTATION_PREFIX = 'db-access/';
export const ENABLED_ANNOTATION = 'db-access/enabled';
export const APP_ANNOTATION = 'db-access/app';
export const CONTAINERS_ANNOTATION = 'db-access/containers';
export const MOUNT_PATH_ANNOTATION = 'db-access/mount-path';
export const STATUS_ANNOTATION = 'db-access/status';
export const KNOWN_ANNOTATIONS: readonly string[] = [
  ENABLED_ANNOTATION,
  APP_ANNOTATION,
  CONTAINERS_ANNOTATION,
  MOUNT_PATH_ANNOTATION,
  STATUS_ANNOTATION,
];

export const DEFAULT_MOUNT_PATH = '/mnt/secrets-store';
const MAX_MOUNT_PATH = 4096;

/** What a pod asks for through its annotations, after validation. */
export interface DbAccessAnnotations {
  /** db-access/app, if set (validated later with the other app-name sources). */
  readonly app: string | undefined;
  /** db-access/containers, split and de-duplicated, in the order written; undefined when absent. */
  readonly containers: readonly string[] | undefined;
  readonly mountPath: string;
  /** Raw db-access/status value, parsed by status.ts. */
  readonly status: string | undefined;
  /** db-access/* keys we do not know (likely typos), for a warning. */
  readonly unknown: readonly string[];
}

export type Trigger = 'true' | 'false' | 'absent';

/** metadata.annotations as a record, or a refusal if it is present but not a map of strings. */
export function readAnnotations(metadata: unknown): Result<Record<string, unknown>> {
  if (metadata === undefined || metadata === null) return ok({});
  if (!isRecord(metadata)) return refuse(`metadata must be an object, got ${quote(metadata)}`);
  const annotations = own(metadata, 'annotations');
  if (annotations === undefined || annotations === null) return ok({});
  if (!isRecord(annotations)) {
    return refuse(`metadata.annotations must be a map of strings, got ${quote(annotations)}`);
  }
  return ok(annotations);
}

/** db-access/enabled: "true" injects, "false" or absent does not; anything else is a mistake worth telling. */
export function parseTrigger(annotations: Record<string, unknown>): Result<Trigger> {
  if (!Object.hasOwn(annotations, ENABLED_ANNOTATION)) return ok('absent');
  const value = annotations[ENABLED_ANNOTATION];
  if (value === 'true' || value === 'false') return ok(value);
  return refuse(`${ENABLED_ANNOTATION} must be "true" or "false", got ${quote(value)}${quoteHint(ENABLED_ANNOTATION, value)}`);
}

function stringAnnotation(annotations: Record<string, unknown>, key: string): Result<string | undefined> {
  if (!Object.hasOwn(annotations, key)) return ok(undefined);
  const value = annotations[key];
  if (typeof value !== 'string') return refuse(`${key} must be a string, got ${quote(value)}${quoteHint(key, value)}`);
  return ok(value);
}

/**
 * YAML reads an unquoted `true`, `yes` or `8080` as a boolean or a number, and annotation values must be strings
 * (kubectl refuses such a manifest too). Only the CLI reads YAML; the apiserver always sends strings.
 */
function quoteHint(key: string, value: unknown): string {
  if (typeof value !== 'boolean' && typeof value !== 'number') return '';
  // What YAML made of it (yes → true, 0123 → 83) may not be what was written: no example of the value.
  return key === ENABLED_ANNOTATION
    ? `; annotation values are strings: write ${key}: "true" (or "false"), quoted`
    : '; annotation values are strings: quote the value in YAML, as written';
}

/** Comma-separated container names; surrounding spaces are ignored, empty entries are not. */
export function parseContainerList(raw: string): Result<readonly string[]> {
  const names: string[] = [];
  const seen = new Set<string>();
  for (const part of raw.split(',')) {
    const name = part.trim();
    if (name === '') {
      return refuse(
        `${CONTAINERS_ANNOTATION} must be a comma-separated list of container names, got ${quote(raw)}; ` +
          'remove the empty entry or the annotation',
      );
    }
    if (!seen.has(name)) {
      seen.add(name);
      names.push(name);
    }
  }
  return ok(names);
}

/**
 * An absolute, normalized path. Normalized because the apiserver compares mount paths as strings: `/a/` and `/a`
 * would both pass its uniqueness check and then collide in the container runtime.
 */
export function parseMountPath(raw: string): Result<string> {
  const fix = `set ${MOUNT_PATH_ANNOTATION} to an absolute path such as "${DEFAULT_MOUNT_PATH}"`;
  if (!raw.startsWith('/')) return refuse(`${MOUNT_PATH_ANNOTATION} must be an absolute path, got ${quote(raw)}; ${fix}`);
  if (raw.length > MAX_MOUNT_PATH) return refuse(`${MOUNT_PATH_ANNOTATION} is longer than ${MAX_MOUNT_PATH} characters; ${fix}`);
  // Control characters (NUL, newline) and ':' (the runtime's volume separator) have no business in a mount path.
  if (/[\u0000-\u001f\u007f:]/.test(raw)) {
    return refuse(`${MOUNT_PATH_ANNOTATION} must not contain control characters or ":", got ${quote(raw)}; ${fix}`);
  }
  const segments = raw.split('/').slice(1);
  if (raw.endsWith('/')) segments.pop();
  if (segments.length === 0) return refuse(`${MOUNT_PATH_ANNOTATION} must not be "/"; ${fix}`);
  for (const segment of segments) {
    if (segment === '' || segment === '.' || segment === '..') {
      return refuse(
        `${MOUNT_PATH_ANNOTATION} must be a normalized path without "//", "." or ".." segments, got ${quote(raw)}; ${fix}`,
      );
    }
  }
  return ok(`/${segments.join('/')}`);
}

/** Reads every db-access/* annotation except the trigger. */
export function parseAnnotations(annotations: Record<string, unknown>): Result<DbAccessAnnotations> {
  const app = stringAnnotation(annotations, APP_ANNOTATION);
  if (!app.ok) return app;

  const containersRaw = stringAnnotation(annotations, CONTAINERS_ANNOTATION);
  if (!containersRaw.ok) return containersRaw;
  let containers: readonly string[] | undefined;
  if (containersRaw.value !== undefined) {
    const parsed = parseContainerList(containersRaw.value);
    if (!parsed.ok) return parsed;
    containers = parsed.value;
  }

  const mountRaw = stringAnnotation(annotations, MOUNT_PATH_ANNOTATION);
  if (!mountRaw.ok) return mountRaw;
  let mountPath = DEFAULT_MOUNT_PATH;
  if (mountRaw.value !== undefined) {
    const parsed = parseMountPath(mountRaw.value);
    if (!parsed.ok) return parsed;
    mountPath = parsed.value;
  }

  const status = stringAnnotation(annotations, STATUS_ANNOTATION);
  if (!status.ok) return status;

  const unknown: string[] = [];
  for (const key of Object.keys(annotations)) {
    if (key.startsWith(ANNOTATION_PREFIX) && !KNOWN_ANNOTATIONS.includes(key)) unknown.push(key);
  }
  return ok({ app: app.value, containers, mountPath, status: status.value, unknown });
}
