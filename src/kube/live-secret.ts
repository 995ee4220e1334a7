// What the operator keeps of a Secret it watches: identity, metadata, and a hash per data value,
// never the values themselves, plus which fields its own field manager wrote (read from
// managedFields: its apply, and its create), so it can tell what to remove and what belongs to
// other tools.

import { createHash } from 'node:crypto';
import { stringMap, stringOr } from '../text.ts';

export interface OwnerRef {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly uid: string;
  readonly controller: boolean;
}

export interface AppliedFields {
  readonly dataKeys: ReadonlySet<string>;
  readonly labels: ReadonlySet<string>;
  readonly annotations: ReadonlySet<string>;
  readonly ownerReferenceUids: ReadonlySet<string>;
}

export interface LiveSecret {
  readonly name: string;
  readonly namespace: string;
  readonly uid: string;
  readonly resourceVersion: string;
  readonly type: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly ownerReferences: readonly OwnerRef[];
  /** Data key -> hash of its (base64) value. */
  readonly dataHashes: Readonly<Record<string, string>>;
  /** What our field manager applied or created; empty sets when it never wrote this Secret. */
  readonly applied: AppliedFields;
  /**
   * Whether the fields of the operator's create are still an Update entry of their own: an apply
   * cannot remove those until they are folded into its own (SecretApi.adoptCreatedFields).
   */
  readonly createdFields: boolean;
}

/** The manager a create is recorded under: a POST is an Update, whose fields an apply never removes. */
export function createManager(fieldManager: string): string {
  return `${fieldManager}-create`;
}

export function valueHash(base64Value: string): string {
  return createHash('sha256').update(base64Value).digest('base64url').slice(0, 22);
}

function fieldNames(fields: unknown, prefix = 'f:'): Set<string> {
  if (typeof fields !== 'object' || fields === null) return new Set();
  return new Set(
    Object.keys(fields)
      .filter((k) => k.startsWith(prefix))
      .map((k) => k.slice(prefix.length)),
  );
}

type FieldSet = Record<string, Record<string, unknown> | undefined>;

function fieldsOf(entry: Record<string, unknown> | undefined): AppliedFields {
  const fields = (entry?.['fieldsV1'] ?? {}) as FieldSet;
  const metadata = fields['f:metadata'] ?? {};
  const uids = new Set<string>();
  for (const key of fieldNames(metadata['f:ownerReferences'], 'k:')) {
    try {
      const uid = (JSON.parse(key) as { uid?: unknown }).uid;
      if (typeof uid === 'string') uids.add(uid);
    } catch {
      // Not a key of ours to understand.
    }
  }
  return {
    dataKeys: fieldNames(fields['f:data']),
    labels: fieldNames(metadata['f:labels']),
    annotations: fieldNames(metadata['f:annotations']),
    ownerReferenceUids: uids,
  };
}

const union = (a: ReadonlySet<string>, b: ReadonlySet<string>): ReadonlySet<string> =>
  b.size === 0 ? a : new Set([...a, ...b]);

function writtenFields(
  managedFields: unknown,
  fieldManager: string,
): { applied: AppliedFields; created: boolean } {
  const entries = Array.isArray(managedFields) ? (managedFields as Record<string, unknown>[]) : [];
  const entry = (manager: string, operation: string) =>
    entries.find((e) => e['manager'] === manager && e['operation'] === operation);
  const created = entry(createManager(fieldManager), 'Update');
  const a = fieldsOf(entry(fieldManager, 'Apply'));
  if (!created) return { applied: a, created: false };
  const c = fieldsOf(created);
  return {
    applied: {
      dataKeys: union(a.dataKeys, c.dataKeys),
      labels: union(a.labels, c.labels),
      annotations: union(a.annotations, c.annotations),
      ownerReferenceUids: union(a.ownerReferenceUids, c.ownerReferenceUids),
    },
    created: true,
  };
}

/** A Secret object from the API as the operator keeps it; undefined if it has no identity. */
export function toLiveSecret(object: unknown, fieldManager: string): LiveSecret | undefined {
  if (typeof object !== 'object' || object === null) return undefined;
  const secret = object as Record<string, unknown>;
  const meta = (secret['metadata'] ?? {}) as Record<string, unknown>;
  if (typeof meta['name'] !== 'string' || typeof meta['namespace'] !== 'string') return undefined;
  const owners = Array.isArray(meta['ownerReferences'])
    ? (meta['ownerReferences'] as Record<string, unknown>[])
    : [];
  const data = stringMap(secret['data']);
  const written = writtenFields(meta['managedFields'], fieldManager);
  return {
    name: meta['name'],
    namespace: meta['namespace'],
    uid: typeof meta['uid'] === 'string' ? meta['uid'] : '',
    resourceVersion: typeof meta['resourceVersion'] === 'string' ? meta['resourceVersion'] : '',
    type: typeof secret['type'] === 'string' ? secret['type'] : 'Opaque',
    labels: stringMap(meta['labels']),
    annotations: stringMap(meta['annotations']),
    ownerReferences: owners.map((o) => ({
      apiVersion: stringOr(o['apiVersion']),
      kind: stringOr(o['kind']),
      name: stringOr(o['name']),
      uid: stringOr(o['uid']),
      controller: o['controller'] === true,
    })),
    dataHashes: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, valueHash(v)])),
    applied: written.applied,
    createdFields: written.created,
  };
}
