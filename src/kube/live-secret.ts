// What the operator keeps of a Secret it watches: identity, metadata, and a hash per data value,
// never the values themselves, plus which fields its own field manager applied last time (read
// from managedFields), so it can tell what to remove and what belongs to other tools.

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
  /** What our field manager applied; empty sets when it never applied this Secret. */
  readonly applied: AppliedFields;
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

function appliedFields(managedFields: unknown, fieldManager: string): AppliedFields {
  const entries = Array.isArray(managedFields) ? (managedFields as Record<string, unknown>[]) : [];
  const ours = entries.find((e) => e['manager'] === fieldManager && e['operation'] === 'Apply');
  const fields = (ours?.['fieldsV1'] ?? {}) as Record<string, Record<string, unknown> | undefined>;
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
    applied: appliedFields(meta['managedFields'], fieldManager),
  };
}
