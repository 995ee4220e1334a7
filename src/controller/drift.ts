// Does the live Secret differ from the desired one in anything this operator manages? Pure, so
// that "nothing changed" reliably means "nothing is written".

import type { LiveSecret } from '../kube/live-secret.ts';
import { valueHash } from '../kube/live-secret.ts';
import type { DesiredSecret } from './desired.ts';

export type Drift =
  | { readonly kind: 'none' }
  | { readonly kind: 'create' }
  | { readonly kind: 'update'; readonly why: string }
  /** The type of a Secret cannot change: delete and create it again. */
  | { readonly kind: 'recreate'; readonly from: string; readonly to: string };

function mapDrift(
  what: string,
  desired: Readonly<Record<string, string>>,
  live: Readonly<Record<string, string>>,
  applied: ReadonlySet<string>,
  same: (desiredValue: string, liveValue: string | undefined) => boolean,
): string | undefined {
  for (const [key, value] of Object.entries(desired))
    if (!same(value, live[key])) return `${what} ${key} differs`;
  for (const key of applied)
    if (!(key in desired) && key in live) return `${what} ${key} is no longer wanted`;
  return undefined;
}

export function driftOf(
  desired: DesiredSecret,
  live: LiveSecret | undefined,
  extraAnnotations: Readonly<Record<string, string>>,
): Drift {
  if (!live) return { kind: 'create' };
  if (live.type !== desired.type) return { kind: 'recreate', from: live.type, to: desired.type };
  const annotations = { ...desired.annotations, ...extraAnnotations };
  const why =
    mapDrift(
      'data key',
      desired.data,
      live.dataHashes,
      live.applied.dataKeys,
      (d, l) => valueHash(d) === l,
    ) ??
    mapDrift('label', desired.labels, live.labels, live.applied.labels, (d, l) => d === l) ??
    mapDrift('annotation', annotations, live.annotations, live.applied.annotations, (d, l) => d === l) ??
    ownerDrift(desired, live);
  return why ? { kind: 'update', why } : { kind: 'none' };
}

function ownerDrift(desired: DesiredSecret, live: LiveSecret): string | undefined {
  const wanted = desired.ownerReference;
  if (wanted && !live.ownerReferences.some((ref) => ref.uid === wanted.uid && ref.controller))
    return 'owner reference missing';
  for (const uid of live.applied.ownerReferenceUids) {
    if (uid !== wanted?.uid && live.ownerReferences.some((ref) => ref.uid === uid))
      return 'owner reference no longer wanted';
  }
  return undefined;
}

/**
 * Whether the live Secret holds `data` (base64 values) as this operator manages it, by its value
 * hashes: every desired key with its value, and no key the operator wrote before that it would
 * now remove. Keys of other tools do not count: the operator never touches them.
 */
export function holdsData(live: LiveSecret, data: Readonly<Record<string, string>>): boolean {
  const desired = Object.keys(data);
  if (!desired.every((key) => live.dataHashes[key] === valueHash(data[key] ?? ''))) return false;
  return [...live.applied.dataKeys].every(
    (key) => Object.hasOwn(data, key) || !Object.hasOwn(live.dataHashes, key),
  );
}

/**
 * Whether applying `desired` over `live` removes a field the operator wrote: a data key, label,
 * annotation or owner reference it wrote and no longer wants.
 */
export function removesWritten(
  desired: DesiredSecret,
  live: LiveSecret,
  extraAnnotations: Readonly<Record<string, string>>,
): boolean {
  const gone = (written: ReadonlySet<string>, wanted: Readonly<Record<string, string>>, present: object) =>
    [...written].some((key) => !Object.hasOwn(wanted, key) && Object.hasOwn(present, key));
  const annotations = { ...desired.annotations, ...extraAnnotations };
  const presentOwners = new Set(live.ownerReferences.map((ref) => ref.uid));
  return (
    gone(live.applied.dataKeys, desired.data, live.dataHashes) ||
    gone(live.applied.labels, desired.labels, live.labels) ||
    gone(live.applied.annotations, annotations, live.annotations) ||
    [...live.applied.ownerReferenceUids].some(
      (uid) => uid !== desired.ownerReference?.uid && presentOwners.has(uid),
    )
  );
}
