// What applying a definition would change in its Secret, by key name: the desired data compared
// with the live Secret by value hash (kube/live-secret.ts), never by value. Pure.

import { dataIdAnnotation, ownerAnnotation, type SecretDefinition } from '../api/types.ts';
import type { DesiredSecret } from '../controller/desired.ts';
import { driftOf } from '../controller/drift.ts';
import { valueHash, type LiveSecret } from '../kube/live-secret.ts';

export type SecretChanges =
  /** Nothing would be written: the definition would not sync (the verdict says why). */
  | { readonly kind: 'notSynced' }
  /** The Secret is in sync: nothing would be written. */
  | { readonly kind: 'none' }
  | { readonly kind: 'create'; readonly added: readonly string[] }
  | {
      readonly kind: 'update';
      readonly added: readonly string[];
      readonly changed: readonly string[];
      readonly removed: readonly string[];
      /** Secret types cannot change: the Secret would be deleted and created again. */
      readonly typeChange?: { readonly from: string; readonly to: string };
      /** A change besides the data (a label, an annotation, the owner reference), as the operator would log it. */
      readonly other?: string;
    };

const byName = (keys: Iterable<string>): string[] => [...keys].sort();

/** Whether the data of the Secret would change: what a rollout restart follows. */
export function dataChanges(changes: SecretChanges): boolean {
  return (
    changes.kind === 'update' && changes.added.length + changes.changed.length + changes.removed.length > 0
  );
}

export function secretChanges(
  definition: SecretDefinition,
  desired: DesiredSecret | undefined,
  live: LiveSecret | undefined,
  restarts: boolean,
): SecretChanges {
  if (!desired) return { kind: 'notSynced' };
  if (!live) return { kind: 'create', added: byName(Object.keys(desired.data)) };
  const added: string[] = [];
  const changed: string[] = [];
  for (const [key, value] of Object.entries(desired.data)) {
    const hash = live.dataHashes[key];
    if (hash === undefined) added.push(key);
    else if (hash !== valueHash(value)) changed.push(key);
  }
  // Only keys the operator wrote are removed: another tool's keys stay. What a PKI or dynamic
  // definition issued stays too: explain does not issue, so those keys are not in `desired`.
  const issuing = definition.spec.pki !== undefined || definition.spec.dynamic !== undefined;
  const removed = issuing
    ? []
    : [...live.applied.dataKeys].filter(
        (key) => !Object.hasOwn(desired.data, key) && Object.hasOwn(live.dataHashes, key),
      );
  const dataId = live.annotations[dataIdAnnotation];
  const ours = {
    [ownerAnnotation]: definition.metadata.name,
    ...(restarts && dataId !== undefined ? { [dataIdAnnotation]: dataId } : {}),
  };
  const drift = driftOf(desired, live, ours);
  const typeChange = live.type === desired.type ? undefined : { from: live.type, to: desired.type };
  // A definition not applied yet has no uid for the owner reference to name: not a change to report.
  const unapplied = definition.metadata.uid === '';
  const other =
    !issuing &&
    drift.kind === 'update' &&
    !drift.why.startsWith('data key ') &&
    !(unapplied && drift.why.startsWith('owner reference'))
      ? drift.why
      : undefined;
  if (!typeChange && added.length + changed.length + removed.length === 0 && other === undefined)
    return { kind: 'none' };
  return {
    kind: 'update',
    added: byName(added),
    changed: byName(changed),
    removed: byName(removed),
    ...(typeChange ? { typeChange } : {}),
    ...(other === undefined ? {} : { other }),
  };
}
