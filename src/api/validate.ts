// Turns an object from the cluster or a manifest file into a checked SecretDefinition, or into
// problems that each name the field to fix. The CRD's own OpenAPI schema does most of the work;
// the rules it cannot express (its CEL rules, duration bounds, path segments) are written here.

import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { loadCrd, versionSchema } from './crd.ts';
import { formatDuration, parseDuration } from './duration.ts';
import { vaultPathProblem } from './vault-path.ts';
import {
  version,
  type DataFromSource,
  type DynamicSpec,
  type PkiSpec,
  type Backend,
  type DeletionPolicy,
  type RolloutRestartTarget,
  type SecretTemplate,
  type Encoding,
  type KeySource,
  type ObjectMeta,
  type SecretDefinition,
  type SecretDefinitionSpec,
  type SecretDefinitionStatus,
} from './types.ts';

/** Shorter intervals would turn the operator into a load generator against Vault. */
export const minimumRefreshIntervalMs = 1_000;

const dataKeyPattern = /^[-._a-zA-Z0-9]+$/;

export type ParseResult =
  | { readonly valid: true; readonly definition: SecretDefinition }
  | {
      readonly valid: false;
      readonly metadata: ObjectMeta;
      readonly status: SecretDefinitionStatus;
      readonly problems: readonly string[];
    };

/** Friendlier words for the schema's patterns, keyed by the schema property they guard. */
const patternHints: Readonly<Record<string, string>> = {
  name: 'must be a lowercase RFC 1123 subdomain name (letters, digits, "-" and "."), like app-db-credentials',
  type: 'must be a Secret type such as Opaque or kubernetes.io/tls',
  refreshInterval: 'must be a duration like 30s, 5m or 1h30m',
  ttl: 'must be a duration like 72h or 30m',
  renewBefore: 'must be a duration like 24h or 10m',
};

let compiled: ValidateFunction | undefined;

function specValidator(): ValidateFunction {
  if (!compiled) {
    // strict: false lets the Kubernetes extensions (x-kubernetes-*) through; formats such as
    // int64 and date-time only concern status, which users do not write.
    // verbose: a failed pattern carries the value, so a path's problem can be named exactly.
    const ajv = new Ajv({
      allErrors: true,
      strict: false,
      useDefaults: true,
      validateFormats: false,
      verbose: true,
    });
    compiled = ajv.compile(versionSchema(loadCrd(), version));
  }
  return compiled;
}

function fieldPath(instancePath: string): string {
  return instancePath
    .split('/')
    .slice(1)
    .map((part) => part.replaceAll('~1', '/').replaceAll('~0', '~'))
    .reduce((path, part) => (/^\d+$/.test(part) ? `${path}[${part}]` : path ? `${path}.${part}` : part), '');
}

/**
 * The schema's errors, one per field: where a value matched none of the forms a field allows
 * (anyOf: a version), that is the one error, not one per form as well.
 */
function schemaErrors(errors: readonly ErrorObject[]): ErrorObject[] {
  const anyOf = new Set(errors.filter((e) => e.keyword === 'anyOf').map((e) => e.instancePath));
  return errors.filter((e) => e.keyword === 'anyOf' || !anyOf.has(e.instancePath));
}

/** Why a path is malformed, and what a path is with `backend`. */
function pathMessage(path: string, backend: Backend): string {
  const problem = vaultPathProblem(path) ?? 'is malformed';
  return backend === 'vault'
    ? `${problem}: a Vault path names one KV secret, like secret/app/db`
    : `${problem}: an Azure Key Vault path is a secret name, like db-password`;
}

function describe(error: ErrorObject, backend: Backend): string {
  const field = fieldPath(error.instancePath) || '(object)';
  const property = error.instancePath.split('/').pop() ?? '';
  switch (error.keyword) {
    case 'required':
      return `${field ? `${field}.` : ''}${String(error.params['missingProperty'])}: is required`.replace(
        /^\(object\)\./,
        '',
      );
    case 'enum':
      return `${field}: must be one of ${(error.params['allowedValues'] as unknown[]).join(', ')}`;
    case 'pattern':
      if (property === 'path' && typeof error.data === 'string')
        return `${field}: ${pathMessage(error.data, backend)}`;
      return `${field}: ${patternHints[property] ?? error.message ?? 'is malformed'}`;
    case 'type':
      return `${field}: must be ${String(error.params['type'])}`;
    case 'anyOf':
      return `${field}: must be a KV v2 version number from 1 (Vault) or the 32-character id of a version (Azure Key Vault)`;
    case 'minLength':
      return error.params['limit'] === 1
        ? `${field}: must not be empty`
        : `${field}: must be at least ${String(error.params['limit'])} characters`;
    case 'maxLength':
      return `${field}: must be at most ${String(error.params['limit'])} characters`;
    default:
      return `${field}: ${error.message ?? 'is invalid'}`;
  }
}

function stringRecord(value: unknown): Record<string, string> {
  if (typeof value !== 'object' || value === null) return {};
  return Object.fromEntries(
    Object.entries(value).filter((entry): entry is [string, string] => typeof entry[1] === 'string'),
  );
}

/** Metadata as the apiserver sends it; missing identity fields mean the object is not one of ours. */
export function parseMetadata(value: unknown, requireIdentity = true): ObjectMeta {
  const meta = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  const name = typeof meta['name'] === 'string' ? meta['name'] : '';
  const namespace = typeof meta['namespace'] === 'string' ? meta['namespace'] : '';
  if (requireIdentity && (!name || !namespace))
    throw new Error('object has no metadata.name or metadata.namespace');
  return {
    name,
    namespace,
    uid: typeof meta['uid'] === 'string' ? meta['uid'] : '',
    generation: typeof meta['generation'] === 'number' ? meta['generation'] : 0,
    resourceVersion: typeof meta['resourceVersion'] === 'string' ? meta['resourceVersion'] : '',
    labels: stringRecord(meta['labels']),
    annotations: stringRecord(meta['annotations']),
    finalizers: Array.isArray(meta['finalizers'])
      ? meta['finalizers'].filter((f): f is string => typeof f === 'string')
      : [],
    creationTimestamp: typeof meta['creationTimestamp'] === 'string' ? meta['creationTimestamp'] : '',
    ...(typeof meta['deletionTimestamp'] === 'string'
      ? { deletionTimestamp: meta['deletionTimestamp'] }
      : {}),
  };
}

function parseStatus(value: unknown): SecretDefinitionStatus {
  if (typeof value !== 'object' || value === null) return {};
  // Status is written only by the operator; it is trusted as far as its shape.
  return value;
}

/** An Azure Key Vault secret name: 1 to 127 letters, digits and dashes. */
const azureSecretName = /^[0-9a-zA-Z-]{1,127}$/;
const azureVersionId = /^[0-9a-f]{32}$/;

/** What a source's path and version must be with `backend`: the problems found, one line each. */
function sourceProblems(
  backend: Backend,
  field: string,
  source: { path?: unknown; version?: unknown },
): string[] {
  const problems: string[] = [];
  const { path, version } = source;
  // The CRD's CEL rule, which the schema library cannot run.
  const versionForm =
    version === undefined ||
    (typeof version === 'number' && Number.isInteger(version) && version >= 1) ||
    (typeof version === 'string' && azureVersionId.test(version));
  if (!versionForm) {
    problems.push(
      `${field}.version: must be a KV v2 version number from 1 (Vault) or the 32-character id of a version (Azure Key Vault)`,
    );
    return problems;
  }
  if (backend === 'vault') {
    const problem = typeof path === 'string' ? vaultPathProblem(path) : undefined;
    if (problem)
      problems.push(`${field}.path: ${problem}: a Vault path names one KV secret, like secret/app/db`);
    if (typeof version === 'string')
      problems.push(`${field}.version: a Vault version is a KV v2 version number, like 3`);
  } else {
    if (typeof path === 'string' && !azureSecretName.test(path))
      problems.push(
        `${field}.path: is not an Azure Key Vault secret name: 1 to 127 letters, digits and "-", like db-password`,
      );
    if (typeof version === 'number')
      problems.push(
        `${field}.version: an Azure Key Vault version is the 32-character id of a secret version`,
      );
  }
  return problems;
}

/** An issue endpoint of a PKI role: `<mount>/issue/<role>`, the mount of one or more segments. */
const pkiIssuePath = /^.+\/issue\/[^/]+$/;

/** The CRD's CEL rules for spec.pki and spec.dynamic, and what a backend without them says. */
function issuingProblems(spec: Record<string, unknown>, backend: Backend): string[] {
  const pki = spec['pki'] as { path?: unknown; ttl?: unknown; renewBefore?: unknown } | undefined;
  const dynamic = spec['dynamic'] as { path?: unknown; method?: unknown; params?: unknown } | undefined;
  if (!pki && !dynamic) return [];
  if (backend !== 'vault') {
    return [
      `spec.${pki ? 'pki' : 'dynamic'}: Azure Key Vault has no ${pki ? 'PKI' : 'dynamic'} secrets engine; this operator runs with --backend azure-kv, so use keysMap or dataFrom, or a secrets-manager that runs with --backend vault`,
    ];
  }
  const problems: string[] = [];
  if (pki && dynamic) problems.push('spec: can have pki or dynamic, not both (one issuing path per Secret)');
  for (const [field, path] of [
    ['spec.pki.path', pki?.path],
    ['spec.dynamic.path', dynamic?.path],
  ] as const) {
    const problem = typeof path === 'string' ? vaultPathProblem(path) : undefined;
    if (problem) problems.push(`${field}: ${problem}: a Vault path like pki/issue/web or database/creds/app`);
  }
  if (pki && typeof pki.path === 'string' && !pkiIssuePath.test(pki.path))
    problems.push(`spec.pki.path: must be <mount>/issue/<role>, like pki/issue/web`);
  const ttl = typeof pki?.ttl === 'string' ? parseDuration(pki.ttl) : undefined;
  const renewBefore = typeof pki?.renewBefore === 'string' ? parseDuration(pki.renewBefore) : undefined;
  if (ttl !== undefined && ttl < 1_000) problems.push('spec.pki.ttl: must be at least 1s');
  if (renewBefore !== undefined && renewBefore < 1_000)
    problems.push('spec.pki.renewBefore: must be at least 1s');
  if (ttl !== undefined && renewBefore !== undefined && renewBefore >= ttl)
    problems.push(
      'spec.pki.renewBefore: must be shorter than spec.pki.ttl, or every certificate would be due at once',
    );
  // Vault takes the names as one comma-separated list: a comma inside a name would split it.
  for (const field of ['altNames', 'ipSans'] as const) {
    const names = (pki as Record<string, unknown> | undefined)?.[field];
    if (Array.isArray(names) && names.some((name) => typeof name === 'string' && name.includes(',')))
      problems.push(`spec.pki.${field}: a name may not hold a comma; give each name as its own entry`);
  }
  const params = dynamic?.params as Record<string, unknown> | undefined;
  if (params && Object.keys(params).length > 0 && dynamic?.method !== 'POST')
    problems.push('spec.dynamic.params: are sent only with method POST; set spec.dynamic.method: POST');
  return problems;
}

/** The rules the OpenAPI schema cannot express (in the CRD they are CEL rules or not there at all). */
function extraProblems(spec: Record<string, unknown>, backend: Backend): string[] {
  const problems: string[] = [];
  const keysMap = (spec['keysMap'] ?? {}) as Record<string, { path?: unknown; version?: unknown }>;
  const dataFrom = (spec['dataFrom'] ?? []) as { path?: unknown; version?: unknown }[];
  if (Object.keys(keysMap).length === 0 && dataFrom.length === 0 && !spec['pki'] && !spec['dynamic']) {
    problems.push('spec: needs at least one entry in keysMap or dataFrom, or pki, or dynamic');
  }
  problems.push(...issuingProblems(spec, backend));
  for (const [key, source] of Object.entries(keysMap)) {
    if (key.length > 253 || !dataKeyPattern.test(key)) {
      problems.push(
        `spec.keysMap.${key}: is not a valid Secret data key (letters, digits, "-", "_" and ".", at most 253 characters)`,
      );
    }
    problems.push(...sourceProblems(backend, `spec.keysMap.${key}`, source));
  }
  dataFrom.forEach((source, index) => {
    problems.push(...sourceProblems(backend, `spec.dataFrom[${index}]`, source));
  });
  const templates = ((spec['template'] ?? {}) as { data?: Record<string, unknown> }).data ?? {};
  for (const key of Object.keys(templates)) {
    if (key.length > 253 || !dataKeyPattern.test(key)) {
      problems.push(
        `spec.template.data.${key}: is not a valid Secret data key (letters, digits, "-", "_" and ".", at most 253 characters)`,
      );
    }
  }
  if (typeof spec['refreshInterval'] === 'string') {
    const ms = parseDuration(spec['refreshInterval']);
    if (ms !== undefined && ms < minimumRefreshIntervalMs) {
      problems.push(`spec.refreshInterval: must be at least ${formatDuration(minimumRefreshIntervalMs)}`);
    }
  }
  return problems;
}

function buildSpec(spec: Record<string, unknown>): SecretDefinitionSpec {
  const keysMap: Record<string, KeySource> = {};
  for (const [key, raw] of Object.entries(
    (spec['keysMap'] ?? {}) as Record<string, Record<string, unknown>>,
  )) {
    keysMap[key] = {
      path: raw['path'] as string,
      key: raw['key'] as string,
      encoding: (raw['encoding'] as Encoding | undefined) ?? 'text',
      ...(typeof raw['version'] === 'number' || typeof raw['version'] === 'string'
        ? { version: raw['version'] }
        : {}),
    };
  }
  const dataFrom: DataFromSource[] = ((spec['dataFrom'] ?? []) as Record<string, unknown>[]).map((raw) => ({
    path: raw['path'] as string,
    ...(typeof raw['version'] === 'number' || typeof raw['version'] === 'string'
      ? { version: raw['version'] }
      : {}),
  }));
  const refresh =
    typeof spec['refreshInterval'] === 'string' ? parseDuration(spec['refreshInterval']) : undefined;
  return {
    name: spec['name'] as string,
    type: spec['type'] as string,
    keysMap,
    dataFrom,
    ...(refresh === undefined ? {} : { refreshIntervalMs: refresh }),
    deletionPolicy: spec['deletionPolicy'] as DeletionPolicy,
    ...(spec['template']
      ? {
          template: {
            data: { ...(spec['template'] as SecretTemplate).data },
            mergePolicy: (spec['template'] as SecretTemplate).mergePolicy,
          },
        }
      : {}),
    rolloutRestartTargets: ((spec['rolloutRestartTargets'] ?? []) as RolloutRestartTarget[]).map((t) => ({
      kind: t.kind,
      name: t.name,
    })),
    ...(spec['pki'] ? { pki: buildPki(spec['pki'] as Record<string, unknown>) } : {}),
    ...(spec['dynamic'] ? { dynamic: buildDynamic(spec['dynamic'] as Record<string, unknown>) } : {}),
  };
}

function buildPki(raw: Record<string, unknown>): PkiSpec {
  const ttl = typeof raw['ttl'] === 'string' ? parseDuration(raw['ttl']) : undefined;
  const renewBefore = typeof raw['renewBefore'] === 'string' ? parseDuration(raw['renewBefore']) : undefined;
  return {
    path: raw['path'] as string,
    commonName: raw['commonName'] as string,
    altNames: [...((raw['altNames'] ?? []) as string[])],
    ipSans: [...((raw['ipSans'] ?? []) as string[])],
    ...(ttl === undefined ? {} : { ttlMs: ttl }),
    ...(renewBefore === undefined ? {} : { renewBeforeMs: renewBefore }),
  };
}

function buildDynamic(raw: Record<string, unknown>): DynamicSpec {
  return {
    path: raw['path'] as string,
    method: raw['method'] === 'POST' ? 'POST' : 'GET',
    params: { ...((raw['params'] ?? {}) as Record<string, string>) },
    renewPercent: typeof raw['renewPercent'] === 'number' ? raw['renewPercent'] : 67,
    revokeOnDelete: raw['revokeOnDelete'] !== false,
  };
}

/**
 * Checks a SecretDefinition object (from a watch or a manifest) and returns it typed, with the
 * schema's defaults applied as the apiserver would, or every problem found.
 */
export function parseSecretDefinition(
  value: unknown,
  options: { requireIdentity?: boolean; backend?: Backend } = {},
): ParseResult {
  const object = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  const metadata = parseMetadata(object['metadata'], options.requireIdentity ?? true);
  const status = parseStatus(object['status']);
  // Defaults are applied to a copy: the caller's object (perhaps an informer's cache) stays as it was.
  const copy = structuredClone({ spec: object['spec'] }) as { spec?: unknown };
  const validate = specValidator();
  const backend = options.backend ?? 'vault';
  const problems = validate(copy) ? [] : schemaErrors(validate.errors ?? []).map((e) => describe(e, backend));
  if (problems.length === 0) problems.push(...extraProblems(copy.spec as Record<string, unknown>, backend));
  if (problems.length > 0) return { valid: false, metadata, status, problems: [...new Set(problems)] };
  return {
    valid: true,
    definition: { metadata, spec: buildSpec(copy.spec as Record<string, unknown>), status },
  };
}
