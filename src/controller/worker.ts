// A worker: takes keys from the queue one at a time, reconciles them, and turns each result into
// what the queue should do next. It returns when the queue shuts down.

import { reasons } from '../api/conditions.ts';
import type { Clock } from '../clock.ts';
import type { WorkQueue } from './queue.ts';
import type { ReconcileResult, Reconciler } from './reconciler.ts';

export interface WorkerObserver {
  /** A reconcile of `key` begins. */
  started(key: string): void;
  reconciled(key: string, result: ReconcileResult, seconds: number): void;
  crashed(key: string, error: unknown): void;
}

export async function runWorker(
  queue: WorkQueue,
  reconciler: Pick<Reconciler, 'reconcile'>,
  clock: Clock,
  observer: WorkerObserver,
): Promise<void> {
  for (;;) {
    const key = await queue.get();
    if (key === undefined) return;
    observer.started(key);
    const started = clock.monotonic();
    let result: ReconcileResult;
    try {
      result = await reconciler.reconcile(key);
    } catch (error) {
      observer.crashed(key, error);
      result = { kind: 'retry', reason: reasons.kubernetesError };
    }
    observer.reconciled(key, result, (clock.monotonic() - started) / 1000);
    if (result.kind === 'retry') queue.addRateLimited(key);
    else queue.forget(key);
    if (result.kind === 'requeueAfter') queue.addAfter(key, result.ms);
    queue.done(key);
  }
}
