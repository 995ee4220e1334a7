// When the run is correct again: every definition that existed at a moment has a Secret holding a
// value of its path at least as new as the one Vault held then. A functional core over what the
// checker's caches hold, so it is specified without a cluster.

import type { KubernetesObject, V1Secret } from '@kubernetes/client-node';
import type { Ledger } from './ledger.ts';
import { pause } from './kube.ts';

export interface DefinitionObject extends KubernetesObject {
  spec?: { name?: unknown; keysMap?: Record<string, { path?: unknown } | undefined> };
}

/** What a converged run is measured against: each path's newest value, each definition that existed. */
export interface Snapshot {
  readonly at: number;
  readonly newest: ReadonlyMap<string, number>;
  readonly definitions: ReadonlySet<string>;
}

/** What the checker's caches hold, as lookups. */
export interface ClusterView {
  readonly definitions: () => readonly DefinitionObject[];
  readonly secret: (name: string, namespace: string) => V1Secret | undefined;
  readonly namespacePhase: (namespace: string) => string | undefined;
}

export function keyOf(object: KubernetesObject): string {
  return `${object.metadata?.namespace ?? ''}/${object.metadata?.name ?? ''}`;
}

/** Each path's newest value in `ledger` and every definition not being deleted, at `at`. */
export function snapshotOf(
  definitions: readonly DefinitionObject[],
  ledger: Pick<Ledger, 'generation'>,
  at: number,
): Snapshot {
  const newest = new Map<string, number>();
  const live = new Set<string>();
  for (const d of definitions) {
    if (d.metadata?.deletionTimestamp) continue;
    live.add(keyOf(d));
    const path = d.spec?.keysMap?.v?.path;
    if (typeof path === 'string') newest.set(path, ledger.generation(path) - 1);
  }
  return { at, newest, definitions: live };
}

/**
 * The definitions of `snapshot` that are not yet correct: still there, in a live namespace, and
 * their Secret not holding a value of their current path at least as new as `snapshot`'s. Each
 * is named with what its Secret holds, for a violation's text.
 */
export function incorrectDefinitions(
  view: ClusterView,
  ledger: Pick<Ledger, 'foreign' | 'valuesOf' | 'generation'>,
  snapshot: Snapshot,
): string[] {
  const wrong: string[] = [];
  for (const d of view.definitions()) {
    const key = keyOf(d);
    if (!snapshot.definitions.has(key) || d.metadata?.deletionTimestamp) continue;
    const namespace = d.metadata?.namespace ?? '';
    if (view.namespacePhase(namespace) !== 'Active') continue;
    const path = d.spec?.keysMap?.v?.path;
    const name = d.spec?.name;
    if (typeof path !== 'string' || typeof name !== 'string') continue;
    // Refused (SecretNotOwned) for as long as it lasts: never correct, and never to be written.
    if (ledger.foreign.has(`${namespace}/${name}`)) continue;
    const encoded = view.secret(name, namespace)?.data?.['v'];
    const value = encoded === undefined ? undefined : Buffer.from(encoded, 'base64').toString();
    const index = value === undefined ? -1 : ledger.valuesOf(path).indexOf(value);
    const wanted = snapshot.newest.get(path) ?? ledger.generation(path) - 1;
    if (index >= wanted) continue;
    const held =
      value === undefined
        ? `no Secret ${name}`
        : index < 0
          ? 'holds no value of it'
          : `holds generation ${String(index)}`;
    wrong.push(`${key} (${path}: ${held}, wants ${String(wanted)} or newer)`);
  }
  return wrong;
}

export interface Clock {
  readonly now: () => number;
  readonly pause: (ms: number) => Promise<void>;
}

const realClock: Clock = { now: Date.now, pause };

/**
 * Asks `incorrect` until it answers none; answers the seconds since `since` it took, or undefined
 * if `giveUpMs` passed first. `wrong` names the definitions still wrong once `budgetMs` had passed
 * (empty when all were correct within it), so a recovery that comes late still says which
 * definitions were late.
 */
export async function untilCorrect(
  incorrect: () => string[],
  since: number,
  budgetMs: number,
  giveUpMs: number,
  clock: Clock = realClock,
): Promise<{ seconds?: number; wrong: string[] }> {
  let late: string[] | undefined;
  for (;;) {
    const wrong = incorrect();
    const elapsed = clock.now() - since;
    if (late === undefined && elapsed > budgetMs) late = wrong;
    if (wrong.length === 0) return { seconds: elapsed / 1000, wrong: late ?? [] };
    if (elapsed > giveUpMs) return { wrong: late ?? wrong };
    await clock.pause(250);
  }
}
