// The functional core: what the Secret of a SecretDefinition should be, given what Vault holds.
// No I/O here; the reconciler gathers the inputs and acts on the answer.

import { backendWords } from '../api/backends.ts';
import { reasons, type Reason } from '../api/conditions.ts';
import {
  apiVersion,
  issuedAnnotation,
  kind,
  lastAppliedAnnotation,
  managedByLabel,
  managedByValue,
  type SecretDefinition,
  type Backend,
  type Encoding,
  type SourceVersion,
} from '../api/types.ts';
import type { OwnerRef } from '../kube/live-secret.ts';
import type { SecretApplyConfig } from '../kube/secret-api.ts';
import { wholeValue } from '../providers/provider.ts';
import { templateLimits, type TemplateRenderer } from './template.ts';

const dataKeyPattern = /^[-._a-zA-Z0-9]+$/;
const base64Pattern = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * What Go's base64.StdEncoding.DecodeString accepts, as the original operator decoded it: padded
 * standard base64, with every \r and \n ignored (PEM-style line breaks work). Answers the canonical
 * encoding, as the apiserver will store it, or undefined for what Go rejects.
 */
export function goBase64(value: string): string | undefined {
  const joined = value.replace(/[\r\n]/g, '');
  if (!base64Pattern.test(joined)) return undefined;
  return Buffer.from(joined, 'base64').toString('base64');
}

/** What the Secret should be: the apply configuration less the parts the writer adds. */
export type DesiredSecret = Omit<SecretApplyConfig, 'ownerReferences'> & {
  readonly ownerReference?: OwnerRef;
};

/** What a backend secret holds at one path: its keys and their JSON values. */
export type SourceData = Readonly<Record<string, unknown>>;

export type DesiredResult =
  | { readonly ok: true; readonly secret: DesiredSecret }
  | {
      readonly ok: false;
      readonly reason: Reason;
      readonly message: string;
      /** The key that was missing (KeyNotFound), as written in the definition. */
      readonly missing?: { readonly path: string; readonly key: string };
    };

/** How the reconciler names one read: the path as written plus the pinned version, if any. */
export function sourceId(path: string, version?: SourceVersion): string {
  return version === undefined ? path : `${path}@${version}`;
}

/** Whether a key a dataFrom path holds may be a Secret data key as it is (else InvalidValue). */
export function isDataKey(key: string): boolean {
  return dataKeyPattern.test(key) && key.length <= 253;
}

/**
 * The value a keysMap entry takes from what its path holds, or undefined when the key is not
 * there (KeyNotFound). Azure Key Vault: a value without keys of its own is read whole, whatever
 * the key (the original's rule). A Vault secret always has keys; a key "" there is just a key.
 */
export function keyValue(
  values: SourceData,
  key: string,
  backend: Backend,
): { readonly value: unknown } | undefined {
  const whole =
    backend === 'azure-kv' && Object.keys(values).length === 1 && Object.hasOwn(values, wholeValue);
  if (whole) return { value: values[wholeValue] };
  return Object.hasOwn(values, key) ? { value: values[key] } : undefined;
}

/**
 * What a keysMap entry's value becomes in the Secret (base64), or undefined for a value its
 * encoding rejects (InvalidValue): with encoding base64 the value must be Go-valid base64 text.
 */
export function secretValue(value: unknown, encoding: Encoding): string | undefined {
  if (encoding === 'text') return toBase64(valueText(value));
  // The value is base64 already; the Secret carries it (canonical) and Kubernetes decodes it once.
  return typeof value === 'string' ? goBase64(value) : undefined;
}

/** Strings as they are; anything else (numbers, booleans, objects) as its JSON text. */
function valueText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function toBase64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

/** An own property even for "__proto__", which plain assignment would take as the prototype. */
function setKey(data: Record<string, string>, key: string, value: string): void {
  Object.defineProperty(data, key, { value, enumerable: true, writable: true, configurable: true });
}

export function ownerReferenceFor(definition: SecretDefinition): OwnerRef {
  return {
    apiVersion,
    kind,
    name: definition.metadata.name,
    uid: definition.metadata.uid,
    controller: true,
  };
}

/** What a PKI or dynamic definition's engine issued, for its Secret. */
export interface IssuedData {
  /** The issued keys, base64. */
  readonly data: Readonly<Record<string, string>>;
  /** What the Secret records of them (its issued annotation). */
  readonly annotation: string;
}

/**
 * The Secret a definition describes. All or nothing: one missing key or bad value makes the whole
 * result a failure, so a partial Secret is never written. `templates` renders spec.template (a
 * computation like the rest, done where it does not hold up the operator's event loop). The
 * `issued` keys of a PKI or dynamic definition come after dataFrom's (they win a clash) and
 * beside keysMap's, which may not name one.
 */
export async function desiredSecret(
  definition: SecretDefinition,
  fetched: ReadonlyMap<string, SourceData>,
  backend: Backend = 'vault',
  templates?: TemplateRenderer,
  issued?: IssuedData,
): Promise<DesiredResult> {
  const { spec, metadata } = definition;
  const data: Record<string, string> = {};
  const at = (path: string): string => `${backendWords[backend].pathNoun} ${path}`;

  for (const source of spec.dataFrom) {
    const values = fetched.get(sourceId(source.path, source.version));
    if (!values)
      return { ok: false, reason: reasons.pathNotFound, message: `${at(source.path)} was not read` };
    for (const [key, value] of Object.entries(values)) {
      if (!isDataKey(key)) {
        return {
          ok: false,
          reason: reasons.invalidValue,
          message:
            key === wholeValue && backend === 'azure-kv'
              ? `${at(source.path)} (dataFrom) is not a JSON object, so it has no keys to copy; use keysMap to name the Secret key`
              : `key "${key}" at ${at(source.path)} (dataFrom) is not a valid Secret data key; use keysMap to rename it`,
        };
      }
      setKey(data, key, toBase64(valueText(value)));
    }
  }

  for (const [secretKey, source] of Object.entries(spec.keysMap)) {
    const values = fetched.get(sourceId(source.path, source.version));
    if (!values)
      return { ok: false, reason: reasons.pathNotFound, message: `${at(source.path)} was not read` };
    const taken = keyValue(values, source.key, backend);
    if (!taken) {
      return {
        ok: false,
        reason: reasons.keyNotFound,
        message: `key "${source.key}" not found at ${at(source.path)} (for Secret key "${secretKey}")`,
        missing: { path: source.path, key: source.key },
      };
    }
    const { value } = taken;
    const encoded = secretValue(value, source.encoding);
    if (encoded === undefined) {
      return {
        ok: false,
        reason: reasons.invalidValue,
        message: `key "${source.key}" at ${at(source.path)} is not valid base64 (encoding: base64, Secret key "${secretKey}")`,
      };
    }
    setKey(data, secretKey, encoded);
  }

  if (issued) {
    const clash = Object.keys(spec.keysMap).find((key) => Object.hasOwn(issued.data, key));
    if (clash !== undefined) {
      return {
        ok: false,
        reason: reasons.invalidSpec,
        message: `keysMap key "${clash}" is also a key the ${spec.pki ? 'certificate' : 'credentials'} issued for this definition fill; give the keysMap entry another name`,
      };
    }
    for (const [key, value] of Object.entries(issued.data)) setKey(data, key, value);
  }

  let built = data;
  if (spec.template) {
    if (!templates) throw new Error('a definition with templates needs a template renderer');
    const rendered = await renderTemplates(spec.template.data, data, templates);
    if (!rendered.ok) return rendered;
    built = spec.template.mergePolicy === 'Merge' ? { ...data, ...rendered.data } : rendered.data;
  }

  // The issued record is the operator's alone: one copied from the definition would be forged.
  const annotations: Record<string, string> = Object.fromEntries(
    Object.entries(metadata.annotations).filter(
      ([key]) => key !== lastAppliedAnnotation && key !== issuedAnnotation,
    ),
  );
  if (issued) annotations[issuedAnnotation] = issued.annotation;
  return {
    ok: true,
    secret: {
      name: spec.name,
      namespace: metadata.namespace,
      type: spec.type,
      labels: { ...metadata.labels, [managedByLabel]: managedByValue },
      annotations,
      data: built,
      ...(spec.deletionPolicy === 'Delete' ? { ownerReference: ownerReferenceFor(definition) } : {}),
    },
  };
}

/**
 * The Secret keys the templates build, given the keys the definition fetched (base64): each
 * template reads them as text in `data`.
 */
async function renderTemplates(
  templates: Readonly<Record<string, string>>,
  fetched: Readonly<Record<string, string>>,
  renderer: TemplateRenderer,
): Promise<
  { readonly ok: true; readonly data: Record<string, string> } | (DesiredResult & { readonly ok: false })
> {
  const size = Object.values(templates).reduce((sum, template) => sum + template.length, 0);
  if (size > templateLimits.definition) {
    return {
      ok: false,
      reason: reasons.templateError,
      message: `the templates of this definition hold ${size} characters; at most ${templateLimits.definition} are allowed`,
    };
  }
  const text: Record<string, string> = {};
  for (const [key, value] of Object.entries(fetched))
    setKey(text, key, Buffer.from(value, 'base64').toString('utf8'));
  const outcome = await renderer.render(templates, { data: text });
  if (!outcome.ok) return { ok: false, reason: reasons.templateError, message: outcome.message };
  const data: Record<string, string> = {};
  for (const [key, rendered] of Object.entries(outcome.rendered)) setKey(data, key, toBase64(rendered));
  return { ok: true, data };
}
