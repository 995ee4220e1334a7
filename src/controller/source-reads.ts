// The reads a sync makes of the backend: the access policy asked first (a path no rule could
// allow costs no request), then each path's mount resolved and checked exactly, the definition's
// paths tracked by the poller, and their data read (shared, once per distinct secret). A failed
// read is counted in the original's metric once per key that reads it.

import { backendWords } from '../api/backends.ts';
import { reasons } from '../api/conditions.ts';
import type { Backend, SecretDefinition } from '../api/types.ts';
import { ProviderError } from '../providers/errors.ts';
import type {
  ProviderSources,
  ReadErrorName,
  ResolvedPath,
  SecretData,
  SourceRef,
} from '../providers/provider.ts';
import { sourceId } from './desired.ts';
import type { Failure } from './reporter.ts';

/** The operator-side access policy, as the reconciler asks it (see src/policy/). */
export interface PathAccess {
  /** Whether some spelling of `path` could be allowed: false refuses it before any request to the backend. */
  mayAllow(namespace: string, path: string): boolean;
  /** Whether a resolved secret is allowed: the exact check. */
  allows(namespace: string, secret: ResolvedPath): boolean;
}

export interface SourceReadDeps {
  /** Which backend the paths and versions of definitions name. */
  readonly backend: Backend;
  /** The sources a namespace's definitions read through (with Vault: an identity of its own, or the operator's). */
  readonly sources: (namespace: string) => ProviderSources;
  /** The access policy in force now: it may change while the operator runs. */
  readonly access: () => PathAccess;
  readonly defaultRefreshMs: number;
  readonly observer: {
    readFailed(namespace: string, definition: string, path: string, key: string, error: ReadErrorName): void;
  };
}

/** The original's name for why a read (or the mount lookup before it) failed. */
function vaultReadError(error: unknown): ReadErrorName {
  const reason = error instanceof ProviderError ? error.reason : undefined;
  if (reason === reasons.pathNotFound) return 'BackendSecretNotFoundError';
  if (reason === reasons.forbidden) return 'BackendSecretForbiddenError';
  return 'UnknownError';
}

/** The distinct paths (and pinned versions) a definition reads, dataFrom first, in the order it names them. */
export function uniqueSources(definition: SecretDefinition): SourceRef[] {
  const byId = new Map<string, SourceRef>();
  for (const source of [...definition.spec.dataFrom, ...Object.values(definition.spec.keysMap)]) {
    const ref =
      source.version === undefined ? { path: source.path } : { path: source.path, version: source.version };
    byId.set(sourceId(ref.path, ref.version), ref);
  }
  return [...byId.values()];
}

/** A path a definition reads and the key it reads there ("" for dataFrom): what a read error is counted under. */
export interface ReadKey {
  readonly path: string;
  readonly key: string;
}

/** Every path and key the definition reads, as its read errors are counted. */
export function readKeys(definition: SecretDefinition): ReadKey[] {
  return [
    ...Object.values(definition.spec.keysMap).map((entry) => ({ path: entry.path, key: entry.key })),
    ...definition.spec.dataFrom.map((source) => ({ path: source.path, key: '' })),
  ];
}

/** Counts a failed read of `source` once for every key of the definition that reads it. */
function countReadFailure(
  deps: SourceReadDeps,
  definition: SecretDefinition,
  source: SourceRef,
  error: ReadErrorName,
): void {
  const same = (s: SourceRef): boolean => s.path === source.path && s.version === source.version;
  const { namespace, name } = definition.metadata;
  const count = (key: string): void => deps.observer.readFailed(namespace, name, source.path, key, error);
  for (const entry of Object.values(definition.spec.keysMap)) if (same(entry)) count(entry.key);
  if (definition.spec.dataFrom.some(same)) count('');
}

export function notAllowed(backend: Backend, namespace: string, path: string): Failure {
  const noun = backendWords[backend].pathNoun;
  return {
    reason: reasons.pathNotAllowed,
    message: `the access policy has no rule that lets namespace ${namespace} read ${noun} ${path}; use a path the policy gives this namespace, or ask the operator's administrators for a rule`,
    retry: 'none',
  };
}

/**
 * Whether the access policy lets the definition's namespace issue at its pki or dynamic path: the
 * same rules as for reads (an issuing path is no KV secret, so it is matched as written).
 */
export function issuingRefusal(
  deps: Pick<SourceReadDeps, 'backend' | 'access'>,
  definition: SecretDefinition,
): Failure | undefined {
  const path = definition.spec.pki?.path ?? definition.spec.dynamic?.path;
  if (path === undefined) return undefined;
  const { namespace } = definition.metadata;
  const access = deps.access();
  const allowed =
    access.mayAllow(namespace, path) &&
    access.allows(namespace, { path, apiPath: path, mount: '', version: 1 });
  return allowed ? undefined : notAllowed(deps.backend, namespace, path);
}

/**
 * The data of every path the definition reads, by sourceId of the path as written; or why not.
 * Once its paths are tracked, the poller retries them and brings the definition back on any
 * change; a failure before that (the mount lookup) is retried with backoff.
 */
export async function readSources(
  deps: SourceReadDeps,
  key: string,
  definition: SecretDefinition,
): Promise<{ readonly ok: true; readonly fetched: Map<string, SecretData> } | Failure> {
  const { spec, metadata, status } = definition;
  const { namespace } = metadata;
  const sources = deps.sources(namespace);
  const access = deps.access();
  const wanted = uniqueSources(definition);
  const refused = wanted.find((s) => !access.mayAllow(namespace, s.path));
  if (refused) {
    sources.untrack(key);
    return notAllowed(deps.backend, namespace, refused.path);
  }

  const fetched = new Map<string, SecretData>();
  let tracked = false;
  try {
    // A mount lookup Vault refuses fails the path as its read would have: counted the same way.
    const lookups = await Promise.allSettled(wanted.map((s) => sources.resolve(s.path)));
    lookups.forEach((lookup, i) => {
      const source = wanted[i];
      // Only what the backend answered: a lookup cut off (leadership ended) is no read error.
      if (lookup.status === 'rejected' && source && lookup.reason instanceof ProviderError)
        countReadFailure(deps, definition, source, vaultReadError(lookup.reason));
    });
    const resolved = lookups.map((lookup, i) => {
      if (lookup.status === 'rejected') throw lookup.reason;
      const written = wanted[i] as SourceRef;
      return { written, read: { ...written, path: lookup.value.path }, where: lookup.value };
    });
    const denied = resolved.find((s) => !access.allows(namespace, s.where));
    if (denied) {
      sources.untrack(key);
      return notAllowed(deps.backend, namespace, denied.written.path);
    }
    // Spellings of one secret (KV v2 with and without data/) are one read.
    const byRead = new Map<string, { read: SourceRef; written: SourceRef[] }>();
    for (const { read, written } of resolved) {
      const id = sourceId(read.path, read.version);
      const entry = byRead.get(id) ?? { read, written: [] };
      entry.written.push(written);
      byRead.set(id, entry);
    }
    const distinct = [...byRead.values()];
    sources.track(
      key,
      distinct.map((d) => d.read),
      spec.refreshIntervalMs ?? deps.defaultRefreshMs,
    );
    tracked = true;
    // A definition whose spec changed since it was last in sync reads the backend afresh, so an
    // edit right after a write there sees that write; otherwise the poller's copy is current enough.
    const fresh =
      status.observedGeneration !== undefined && status.observedGeneration !== metadata.generation;
    const reads = await Promise.allSettled(
      distinct.map(async ({ read, written }) => {
        const data = await sources.get(read, fresh);
        for (const w of written) fetched.set(sourceId(w.path, w.version), data);
      }),
    );
    reads.forEach((read, i) => {
      if (read.status === 'fulfilled') return;
      for (const written of distinct[i]?.written ?? [])
        countReadFailure(deps, definition, written, vaultReadError(read.reason));
    });
    const failed = reads.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  } catch (error) {
    if (error instanceof ProviderError)
      return {
        reason: error.reason,
        message: error.message,
        retry: tracked ? 'none' : 'backoff',
        ...(error.detail ? { detail: error.detail } : {}),
      };
    throw error;
  }
  return { ok: true, fetched };
}
