// The workers as a runnable: --concurrency of them take keys from the queue once the caches have
// synced; stopping shuts the queue and waits for the reconciles in flight to finish.

import type { Clock } from '../clock.ts';
import type { WorkQueue } from '../controller/queue.ts';
import type { Reconciler } from '../controller/reconciler.ts';
import { runWorker, type WorkerObserver } from '../controller/worker.ts';
import { describeError } from '../describe-error.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { RuntimeMetrics } from '../observability/runtime-metrics.ts';
import type { Runnable } from './manager.ts';

export interface WorkersWiring {
  readonly count: number;
  readonly queue: WorkQueue;
  readonly reconciler: Pick<Reconciler, 'reconcile'>;
  readonly clock: Clock;
  readonly metrics: Metrics;
  readonly runtime: RuntimeMetrics;
  readonly logger: Logger;
  /** Called once the workers run. */
  readonly running: () => void;
}

export function workersRunnable(w: WorkersWiring): Runnable {
  const { queue, metrics, runtime, logger } = w;
  const workers: Promise<void>[] = [];
  const observer: WorkerObserver = {
    started: () => runtime.reconcileStarted(),
    reconciled(key, result, seconds) {
      runtime.reconciled(result, seconds);
      metrics.reconcileDuration.observe({ result: result.kind }, seconds);
      logger.debug('reconciled', { definition: key, result: result.kind, seconds });
    },
    crashed: (key, error) =>
      logger.error('reconcile failed unexpectedly', { definition: key, error: describeError(error) }),
  };
  return {
    name: 'workers',
    start() {
      for (let i = 0; i < w.count; i += 1) workers.push(runWorker(queue, w.reconciler, w.clock, observer));
      w.running();
    },
    async stop() {
      queue.shutDown();
      await Promise.all(workers);
    },
  };
}
