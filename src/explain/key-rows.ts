// One row per Secret key of a definition: where it comes from, whether the policy allows it,
// whether it was found, and how it stands against the live Secret (by value hash). Pure; a row
// names keys and paths, never a value or a hash.

import type { Backend, Encoding, SecretDefinition, SourceVersion } from '../api/types.ts';
import { isDataKey, keyValue, secretValue, type DesiredSecret } from '../controller/desired.ts';
import { valueHash, type LiveSecret } from '../kube/live-secret.ts';
import { wholeValue } from '../providers/provider.ts';
import type { SourceOutcome } from './inputs.ts';

export type KeySource =
  | {
      readonly kind: 'keysMap';
      readonly path: string;
      readonly key: string;
      readonly version?: SourceVersion;
      readonly encoding: Encoding;
    }
  | { readonly kind: 'dataFrom'; readonly path: string; readonly version?: SourceVersion }
  | { readonly kind: 'template' }
  | { readonly kind: 'issued'; readonly engine: 'pki' | 'dynamic' };

export interface KeyRow {
  /** The Secret data key; "*" for keys not known by name (a dataFrom path not read, dynamic credentials). */
  readonly secretKey: string;
  readonly source: KeySource;
  readonly policy: 'allowed' | 'denied' | 'unchecked' | 'notApplicable';
  /**
   * Whether desiredSecret would take it: `invalidKey` a dataFrom key that is no Secret data key,
   * `notAnObject` a dataFrom value without keys (Azure Key Vault), `invalidValue` a keysMap value
   * its encoding rejects; each is the verdict's InvalidValue.
   */
  readonly found:
    | 'found'
    | 'keyNotFound'
    | 'pathNotFound'
    | 'notRead'
    | 'invalidKey'
    | 'notAnObject'
    | 'invalidValue'
    | 'notApplicable';
  /** Against the live Secret: compared only when the definition would sync. */
  readonly live: 'matches' | 'differs' | 'added' | 'notCompared';
}

function policyOf(source: SourceOutcome | undefined): KeyRow['policy'] {
  if (!source || !source.mayAllow) return 'denied';
  if (!source.resolved?.ok) return 'unchecked';
  return source.resolved.allowed ? 'allowed' : 'denied';
}

function readOf(source: SourceOutcome | undefined): 'read' | 'pathNotFound' | 'notRead' {
  if (source?.read?.ok) return 'read';
  const failure = source?.read ?? source?.resolved;
  return failure && !failure.ok && failure.reason === 'PathNotFound' ? 'pathNotFound' : 'notRead';
}

function liveOf(
  key: string,
  desired: DesiredSecret | undefined,
  live: LiveSecret | undefined,
): KeyRow['live'] {
  const value = desired?.data[key];
  if (value === undefined) return 'notCompared';
  const hash = live?.dataHashes[key];
  if (hash === undefined) return 'added';
  return hash === valueHash(value) ? 'matches' : 'differs';
}

const same = (s: SourceOutcome, path: string, version: SourceVersion | undefined): boolean =>
  s.path === path && s.version === version;

/** The rows of a dataFrom path that was read: its keys by name, as desiredSecret would take them. */
function dataFromRows(
  data: Readonly<Record<string, unknown>>,
  backend: Backend,
  row: (secretKey: string, found: KeyRow['found']) => KeyRow,
  keysMap: Readonly<Record<string, unknown>>,
): KeyRow[] {
  const keys = Object.keys(data).sort();
  if (keys.length === 0) return [row('*', 'found')];
  if (backend === 'azure-kv' && keys.length === 1 && keys[0] === wholeValue) return [row('*', 'notAnObject')];
  // keysMap wins a clash: that key's row is keysMap's. A key that is no Secret key fails first.
  return keys
    .filter((key) => !isDataKey(key) || !Object.hasOwn(keysMap, key))
    .map((key) => row(key, isDataKey(key) ? 'found' : 'invalidKey'));
}

export function keyRows(
  definition: SecretDefinition,
  backend: Backend,
  sources: readonly SourceOutcome[],
  desired: DesiredSecret | undefined,
  live: LiveSecret | undefined,
  issuingAllowed?: boolean,
): KeyRow[] {
  const { spec } = definition;
  const rows: KeyRow[] = [];
  const compared = (key: string) => liveOf(key, desired, live);
  for (const from of spec.dataFrom) {
    const source = sources.find((s) => same(s, from.path, from.version));
    const ref = {
      kind: 'dataFrom' as const,
      path: from.path,
      ...(from.version === undefined ? {} : { version: from.version }),
    };
    const policy = policyOf(source);
    const data = source?.read?.ok ? source.read.data : undefined;
    const row = (secretKey: string, found: KeyRow['found']): KeyRow => ({
      secretKey,
      source: ref,
      policy,
      found,
      live: compared(secretKey),
    });
    if (data === undefined) {
      rows.push(row('*', readOf(source) === 'pathNotFound' ? 'pathNotFound' : 'notRead'));
      continue;
    }
    rows.push(...dataFromRows(data, backend, row, spec.keysMap));
  }
  for (const [secretKey, entry] of Object.entries(spec.keysMap)) {
    const source = sources.find((s) => same(s, entry.path, entry.version));
    const read = readOf(source);
    const taken = source?.read?.ok ? keyValue(source.read.data, entry.key, backend) : undefined;
    const found =
      read !== 'read'
        ? read
        : !taken
          ? 'keyNotFound'
          : secretValue(taken.value, entry.encoding) === undefined
            ? 'invalidValue'
            : 'found';
    rows.push({
      secretKey,
      source: {
        kind: 'keysMap',
        path: entry.path,
        key: entry.key,
        ...(entry.version === undefined ? {} : { version: entry.version }),
        encoding: entry.encoding,
      },
      policy: policyOf(source),
      found,
      live: compared(secretKey),
    });
  }
  for (const key of Object.keys(spec.template?.data ?? {})) {
    if (spec.pki || spec.dynamic) continue;
    rows.push({
      secretKey: key,
      source: { kind: 'template' },
      policy: 'notApplicable',
      found: 'notApplicable',
      live: compared(key),
    });
  }
  const engine = spec.pki ? 'pki' : spec.dynamic ? 'dynamic' : undefined;
  // What is issued is new at every issue: nothing to find or compare before it is.
  const issuedKeys = engine === 'pki' ? ['tls.crt', 'tls.key', 'ca.crt'] : ['*'];
  if (engine)
    for (const secretKey of issuedKeys)
      rows.push({
        secretKey,
        source: { kind: 'issued', engine },
        policy: issuingAllowed === false ? 'denied' : 'allowed',
        found: 'notApplicable',
        live: 'notCompared',
      });
  return rows;
}
