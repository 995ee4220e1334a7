// What the operator takes from one entry of Vault's (or OpenBao's) audit stream: only whether it
// is a completed change of a path, and which KV secret that path names. Values in audit entries
// are HMACed; the operator reads the request path and operation only and keeps nothing else.
// Pure.

/** The operations that change what a KV path holds (KV v2 data, metadata, delete, undelete, destroy; KV v1). */
const changing: ReadonlySet<string> = new Set(['create', 'update', 'patch', 'delete']);

/** KV v2 endpoints below a mount that change the secret named after them. */
const kv2Endpoints: ReadonlySet<string> = new Set(['data', 'metadata', 'delete', 'undelete', 'destroy']);

const maxPathLength = 4_096;
/** Deeper paths are not KV secrets anyone polls: mapping them would cost time for nothing. */
const maxSegments = 32;

export type AuditEntry =
  /** `namespace`: the Vault Enterprise namespace the path is in ("" for the root). */
  | { readonly kind: 'change'; readonly path: string; readonly namespace: string }
  /** Well formed, but no change of a path: a read, a request entry, a refused request. */
  | { readonly kind: 'other' }
  | { readonly kind: 'unparsable' };

/**
 * One line of the stream. A change is the response entry of a create, update, patch or delete that
 * succeeded: by then Vault has applied it, so a read sees it.
 */
export function parseAuditLine(line: string): AuditEntry {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return { kind: 'unparsable' };
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { kind: 'unparsable' };
  const entry = raw as { type?: unknown; error?: unknown; request?: unknown };
  const request = entry.request as
    { path?: unknown; operation?: unknown; namespace?: { path?: unknown } | null } | null | undefined;
  if (typeof entry.type !== 'string' || typeof request !== 'object' || request === null)
    return { kind: 'unparsable' };
  const { path, operation } = request;
  if (typeof path !== 'string' || typeof operation !== 'string') return { kind: 'unparsable' };
  if (entry.type !== 'response' || (typeof entry.error === 'string' && entry.error !== ''))
    return { kind: 'other' };
  if (!changing.has(operation) || path === '' || path.length > maxPathLength) return { kind: 'other' };
  const namespace = typeof request.namespace?.path === 'string' ? request.namespace.path : '';
  return { kind: 'change', path, namespace };
}

/**
 * The KV secrets a changed request path may name, as the poller spells them (mount and name,
 * without KV v2's data/): the path itself (KV v1, or a KV v2 name read as written), and for each
 * place a KV v2 endpoint segment could follow the mount, the name after it. The mount is not
 * known here; a spelling no definition uses matches nothing, so a guess costs no read.
 */
export function changedSecrets(path: string): string[] {
  const segments = path.replace(/\/+$/, '').split('/');
  if (segments.length > maxSegments) return [];
  const names = new Set<string>([segments.join('/')]);
  for (let i = 1; i < segments.length - 1; i += 1) {
    if (kv2Endpoints.has(segments[i] ?? ''))
      names.add([...segments.slice(0, i), ...segments.slice(i + 1)].join('/'));
  }
  return [...names];
}
