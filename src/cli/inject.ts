// The heart of `inject`: every pod (or pod template) in the documents goes through the webhook's own engine, as
// the synthetic CREATE request the apiserver would send, and the engine's patch is written back into the document.
import { isDeepStrictEqual } from 'node:util';
import jsonpatch from 'fast-json-patch';
import { Document, isAlias, isCollection, visit } from 'yaml';
import { ANNOTATION_PREFIX, ENABLED_ANNOTATION, decide } from '../engine/index.ts';
import type { AdmissionRequestInput, EnginePolicy, SecretProviderClass } from '../engine/types.ts';
import { printable, quote, quoteList } from '../text.ts';
import type { ManifestDocument } from './manifests.ts';
import { controllerPod, getPath, isList, isObject, workloadKind, type Json, type JsonObject } from './workloads.ts';

export interface InjectOptions {
  readonly policy: EnginePolicy;
  /** The organization for documents without metadata.namespace. */
  readonly namespace: string | undefined;
}

/** Something to tell the user about one document. */
export interface Finding {
  /** e.g. `Deployment/api (file deploy.yaml, document 2)`. */
  readonly subject: string;
  readonly message: string;
}

export interface RenderedDocument {
  /** As named on the command line, made printable (one line, no terminal controls). */
  readonly file: string;
  readonly index: number;
  /** The document as read; kept so --diff can compare. */
  readonly before: Document;
  /** The document after injection (the same object as `before` when nothing changed). */
  readonly after: Document;
  readonly changed: boolean;
  /** For diff headers: `Deployment/api`. */
  readonly title: string;
  /** Keep the input's sequence indentation style (see ManifestDocument). */
  readonly indentSeq: boolean;
}

export interface InjectResult {
  /** Every non-empty document, in input order. */
  readonly documents: readonly RenderedDocument[];
  /** Deduplicated, in order of first use. */
  readonly secretProviderClasses: readonly SecretProviderClass[];
  readonly warnings: readonly Finding[];
  /** The webhook would deny these pods. */
  readonly denials: readonly Finding[];
  /** The CLI cannot even ask (no namespace): a usage problem, not a denial. */
  readonly problems: readonly Finding[];
  /** The engine reported a bug of its own (a 5xx denial). */
  readonly internal: readonly Finding[];
}

type Path = (string | number)[];

/** `Kind/name` for messages and diff headers; both come from the input, so kept to one visible line. */
function title(obj: Json): string {
  if (!isObject(obj)) return 'document';
  const kind = typeof obj.kind === 'string' ? obj.kind : 'object';
  const meta = isObject(obj.metadata) ? obj.metadata : {};
  const name =
    typeof meta.name === 'string' ? meta.name :
    typeof meta.generateName === 'string' ? `${meta.generateName}*` :
    '(unnamed)';
  return `${printable(kind, 63)}/${printable(name, 253)}`;
}

/** Why a document is not something kubectl would apply, or undefined when it is an object with apiVersion and kind. */
function notAnObject(value: Json): string | undefined {
  if (value === null) return 'empty';
  if (Array.isArray(value)) return 'a list';
  if (!isObject(value)) return `a ${typeof value}`;
  if (typeof value.kind !== 'string' || value.kind === '') return 'no kind';
  if (typeof value.apiVersion !== 'string' || value.apiVersion === '') return 'no apiVersion';
  return undefined;
}

/**
 * A name or namespace YAML read as a number or boolean (`namespace: 12345`, `name: no`): kubectl refuses it, and the
 * namespace is the organization, so it must never be taken for missing and replaced by --namespace.
 */
function nonStringMetadata(value: Json): string | undefined {
  const meta = isObject(value) ? value.metadata : undefined;
  if (!isObject(meta)) return undefined;
  for (const field of ['name', 'generateName', 'namespace']) {
    const v = meta[field];
    if (v !== undefined && v !== null && typeof v !== 'string') {
      return `metadata.${field} must be a string, got ${quote(v)}; quote it in YAML`;
    }
  }
  return undefined;
}

/**
 * The engine names fields of the pod it was handed; the user needs them in their manifest: `spec.containers` of a
 * Deployment is `spec.template.spec.containers`, and the request's namespace is the document's metadata.namespace
 * (--namespace is checked before the engine runs).
 */
function inManifest(message: string, templatePath: readonly string[]): string {
  if (message.startsWith('request.namespace ')) return `metadata.namespace ${message.slice('request.namespace '.length)}`;
  if (templatePath.length === 0) return message;
  return message.replace(/^(?=(?:spec|metadata)\b)/, `${templatePath.join('.')}.`);
}

/** `, item 2.1` for an object inside (nested) Lists, nothing for a document itself. */
function itemSuffix(item: readonly number[]): string {
  return item.length === 0 ? '' : `, item ${item.join('.')}`;
}

/** `(file deploy.yaml, document 2, item 1)`; `file` already printable. */
function location(file: string, index: number, item: readonly number[]): string {
  return `(file ${file}, document ${index}${itemSuffix(item)})`;
}

interface Located {
  readonly obj: Json;
  /** From the document root. */
  readonly path: Path;
  /** 1-based positions in the enclosing Lists, outermost first; empty for the document itself. */
  readonly item: readonly number[];
  /** Whether kubectl requires apiVersion and kind here: a document, or an item of a `v1 List`. */
  readonly mustBeObject: boolean;
}

/**
 * The objects of a document: itself, or the items of a List, nested Lists included. The items of a typed list
 * (`DeploymentList`) may leave out kind and apiVersion, which the list implies.
 */
function* objectsIn(value: Json, path: Path = [], item: readonly number[] = [], mustBeObject = true): Generator<Located> {
  // A List is an object too: one without apiVersion is refused like any other (its items are not looked at).
  if (!isList(value) || (mustBeObject && notAnObject(value) !== undefined)) {
    yield { obj: value, path, item, mustBeObject };
    return;
  }
  const kind = value.kind === 'List' ? undefined : value.kind.slice(0, -'List'.length);
  for (const [i, entry] of value.items.entries()) {
    let obj = entry;
    if (kind !== undefined && isObject(entry) && entry.kind === undefined) {
      obj = { ...entry, kind };
      if (entry.apiVersion === undefined && typeof value.apiVersion === 'string') obj.apiVersion = value.apiVersion;
    }
    yield* objectsIn(obj, [...path, 'items', i], [...item, i + 1], kind === undefined);
  }
}

/** Applies the engine's change to one map of the template's metadata (labels or annotations), leaving the rest. */
function applyMapDelta(target: JsonObject, key: string, before: Json | undefined, after: Json | undefined, ignore: readonly string[]): void {
  const b = isObject(before) ? before : {};
  const a = isObject(after) ? after : {};
  const current: JsonObject = isObject(target[key]) ? { ...target[key] } : {};
  for (const k of Object.keys(b)) if (!(k in a) && !ignore.includes(k)) delete current[k];
  for (const [k, v] of Object.entries(a)) if (!ignore.includes(k) && !isDeepStrictEqual(b[k], v)) current[k] = v;
  if (Object.keys(current).length > 0 || target[key] !== undefined) target[key] = current;
}

/**
 * Writes `after` into the YAML node at `path`, touching only what differs, so comments and formatting of
 * everything the engine did not change survive (and --diff shows only the injection).
 */
function syncNode(doc: Document, path: Path, before: Json | undefined, after: Json | undefined): void {
  if (isDeepStrictEqual(before, after)) return;
  if (isObject(before) && isObject(after)) {
    for (const key of Object.keys(before)) if (!(key in after)) doc.deleteIn([...path, key]);
    for (const [key, value] of Object.entries(after)) {
      if (key in before) syncNode(doc, [...path, key], before[key], value);
      else doc.setIn([...path, key], value);
    }
    return;
  }
  if (Array.isArray(before) && Array.isArray(after) && after.length >= before.length) {
    for (const [i, value] of after.entries()) {
      if (i < before.length) syncNode(doc, [...path, i], before[i], value);
      else doc.addIn(path, value);
    }
    return;
  }
  doc.setIn(path, after);
}

function hasAlias(doc: Document): boolean {
  let found = false;
  visit(doc, { Alias: () => { found = true; return visit.BREAK; } });
  return found;
}

function isFlow(doc: Document): boolean {
  return isCollection(doc.contents) && doc.contents.flow === true;
}

/** A document to edit: JSON input becomes block YAML, and anchors are expanded so an edit never leaks into an alias. */
function editable(doc: Document, value: Json): Document {
  if (!isFlow(doc) && !hasAlias(doc)) return doc.clone();
  const copy = new Document(value);
  copy.commentBefore = doc.commentBefore;
  copy.comment = doc.comment;
  return copy;
}

export function inject(documents: readonly ManifestDocument[], options: InjectOptions): InjectResult {
  const rendered: RenderedDocument[] = [];
  const spcs = new Map<string, SecretProviderClass>();
  const warnings: Finding[] = [];
  const denials: Finding[] = [];
  const problems: Finding[] = [];
  const internal: Finding[] = [];

  for (const { file: rawFile, index, doc, value: data, indentSeq } of documents) {
    const value = data as Json;
    if (value === null || value === undefined) continue; // empty or comment-only: kubectl ignores these too
    const file = printable(rawFile, 200);
    const where = (item: readonly number[]): string => location(file, index, item);
    const objects = [...objectsIn(value)];
    // kubectl refuses these; echoing them would hide a wrong file (a binary, a values.yaml) in a pipeline.
    let bad = false;
    for (const { obj, item, mustBeObject } of objects) {
      const why = mustBeObject ? notAnObject(obj) : undefined;
      if (why !== undefined) {
        bad = true;
        problems.push({
          subject: file,
          message: `document ${index}${itemSuffix(item)} is not a Kubernetes object (${why}): every object needs apiVersion and kind`,
        });
        continue;
      }
      const metadata = nonStringMetadata(obj);
      if (metadata !== undefined) {
        bad = true;
        problems.push({ subject: `${title(obj)} ${where(item)}`, message: metadata });
      }
    }
    if (bad) continue;
    // Flow (JSON) documents are re-rendered as block YAML even when unchanged, so the output reads as one style.
    const before = isFlow(doc) ? editable(doc, value) : doc;
    let after: Document | undefined;

    const visitObject = ({ obj, path, item }: Located): void => {
      if (!isObject(obj)) return;
      const kind = workloadKind(obj);
      if (kind === undefined) return;
      const template = kind.templatePath.length === 0 ? obj : getPath(obj, kind.templatePath);
      if (!isObject(template)) return;
      const subject = `${title(obj)} ${where(item)}`;
      const meta = isObject(obj.metadata) ? obj.metadata : {};
      const namespace = typeof meta.namespace === 'string' && meta.namespace !== '' ? meta.namespace : options.namespace;
      const tmeta = isObject(template.metadata) ? template.metadata : {};
      if (kind.templatePath.length > 0) {
        // The webhook sees only the pod, so db-access/ annotations on the workload itself do nothing.
        const own = Object.keys(isObject(meta.annotations) ? meta.annotations : {}).filter((k) => k.startsWith(ANNOTATION_PREFIX));
        const misplaced = own.filter((k) => !(isObject(tmeta.annotations) && k in tmeta.annotations));
        if (misplaced.length > 0) {
          warnings.push({
            subject,
            message:
              `${quoteList(misplaced, 3)} ${misplaced.length === 1 ? 'is' : 'are'} on the ${printable(String(obj.kind), 63)}'s ` +
              `own metadata.annotations, where the webhook never sees ${misplaced.length === 1 ? 'it' : 'them'}; ` +
              `move ${misplaced.length === 1 ? 'it' : 'them'} to ${kind.templatePath.join('.')}.metadata.annotations`,
          });
        }
      }
      if (namespace === undefined) {
        // Without a namespace there is no organization; only a pod that asks for injection needs one.
        const trigger = isObject(tmeta.annotations) ? tmeta.annotations[ENABLED_ANNOTATION] : undefined;
        if (trigger !== undefined && trigger !== 'false') {
          problems.push({ subject, message: 'no namespace: set metadata.namespace or pass --namespace (the organization)' });
        }
        return;
      }

      let pod: JsonObject;
      let addedLabels: readonly string[] = [];
      if (kind.templatePath.length === 0) {
        pod = structuredClone(obj);
        pod.metadata = { ...meta, namespace }; // the apiserver fills it in before admission
      } else {
        ({ pod, addedLabels } = controllerPod(obj, template, namespace));
      }
      const request: AdmissionRequestInput = {
        uid: '00000000-0000-4000-8000-000000000001',
        kind: { group: '', version: 'v1', kind: 'Pod' },
        resource: { group: '', version: 'v1', resource: 'pods' },
        operation: 'CREATE',
        namespace,
        dryRun: false,
        object: structuredClone(pod),
      };
      const decision = decide(request, options.policy);
      for (const message of decision.warnings) warnings.push({ subject, message: inManifest(message, kind.templatePath) });
      if (decision.action === 'skip') return;
      if (decision.action === 'deny') {
        (decision.code >= 500 ? internal : denials).push({ subject, message: inManifest(decision.message, kind.templatePath) });
        return;
      }
      const spc = decision.secretProviderClass;
      const key = `${spc.metadata.namespace}/${spc.metadata.name}`;
      if (!spcs.has(key)) spcs.set(key, spc);
      if (decision.patch.length === 0) return; // already injected (the output of an earlier run)

      const patched = jsonpatch.applyPatch(
        structuredClone(pod),
        decision.patch as jsonpatch.Operation[],
        true,
        false,
      ).newDocument as JsonObject;
      const podMeta = isObject(pod.metadata) ? pod.metadata : {};
      const patchedMeta = isObject(patched.metadata) ? patched.metadata : {};
      const newMeta: JsonObject = structuredClone(tmeta);
      applyMapDelta(newMeta, 'annotations', podMeta.annotations, patchedMeta.annotations, []);
      applyMapDelta(newMeta, 'labels', podMeta.labels, patchedMeta.labels, addedLabels);

      after ??= editable(doc, value);
      const templateAt: Path = [...path, ...kind.templatePath];
      if (template.metadata !== undefined || Object.keys(newMeta).length > 0) {
        syncNode(after, [...templateAt, 'metadata'], template.metadata, newMeta);
      }
      syncNode(after, [...templateAt, 'spec'], template.spec, patched.spec ?? null);
    };

    for (const located of objects) visitObject(located);
    rendered.push({ file, index, before, after: after ?? before, changed: after !== undefined, title: title(value), indentSeq });
  }

  // Input that already holds a SecretProviderClass we would add (an earlier run's output, also inside a List) keeps
  // it, not a copy: the output of inject is a fixed point.
  for (const { file, index, value } of documents) {
    for (const { obj, item } of objectsIn(value as Json)) {
      if (!isObject(obj) || obj.kind !== 'SecretProviderClass' || !isObject(obj.metadata)) continue;
      const namespace = typeof obj.metadata.namespace === 'string' ? obj.metadata.namespace : options.namespace;
      const key = `${namespace}/${String(obj.metadata.name)}`;
      const wanted = spcs.get(key);
      if (wanted === undefined) continue;
      spcs.delete(key);
      if (!isDeepStrictEqual(obj.spec, wanted.spec)) {
        warnings.push({
          subject: `${title(obj)} ${location(printable(file, 200), index, item)}`,
          message: 'differs from the one the webhook creates; the webhook will replace its spec',
        });
      }
    }
  }

  return { documents: rendered, secretProviderClasses: [...spcs.values()], warnings, denials, problems, internal };
}
