// Waiting for informers to list: what the definition caches and the workload caches share. As
// controller-runtime's WaitForCacheSync with its CacheSyncTimeout: a cache that cannot be listed
// (RBAC, a namespace that is gone) is an error to see within a deadline, not a wait forever; the
// operator exits, and its Pod's restarts say so too. Until then readiness names each cache that
// cannot be listed and what its list was told.

import type { Clock } from '../clock.ts';

/** What the wait needs of an informer. */
export interface SyncingCache {
  readonly synced: boolean;
  /** What the cache is (`secrets in team-a`), for the reasons below. */
  readonly description: string;
  /** Why its last list failed, while it has not synced. */
  readonly listFailure: string | undefined;
}

/** How long caches may take to list before the operator gives up (controller-runtime's default: 2 min). */
export const defaultSyncTimeoutMs = 120_000;

/** Why `caches` are not synced, naming up to three that cannot be listed; undefined once synced. */
export function notSyncedReason(what: string, caches: readonly SyncingCache[]): string | undefined {
  const waiting = caches.filter((c) => !c.synced);
  if (waiting.length === 0) return undefined;
  const failing = waiting.filter((c) => c.listFailure !== undefined);
  if (failing.length === 0) return `${what} are not synced yet`;
  const shown = failing.slice(0, 3).map((c) => `${c.description}: ${c.listFailure ?? ''}`);
  const more = failing.length > shown.length ? `; and ${failing.length - shown.length} more` : '';
  return `${what} cannot be listed: ${shown.join('; ')}${more}`;
}

/** Resolves once every cache has synced (or `signal` aborts); throws after `timeoutMs` saying why. */
export async function waitForSync(
  what: string,
  caches: readonly SyncingCache[],
  clock: Pick<Clock, 'monotonic' | 'sleep'>,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<void> {
  const deadline = clock.monotonic() + timeoutMs;
  for (;;) {
    const reason = notSyncedReason(what, caches);
    if (reason === undefined || signal.aborted) return;
    if (clock.monotonic() >= deadline) throw new Error(`${reason} (gave up after ${timeoutMs / 1000} s)`);
    await clock.sleep(50, signal);
  }
}
