// The standard series the original exported through controller-runtime v0.8.3 and client-go
// v0.20.2, with their names, types, labels and buckets, so that dashboards and alerts built on the
// original keep working: reconciles per controller, the work queue, leader election and the
// apiserver requests. `controller` and the queue's `name` are the value of --controller-name.

import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** What a work queue tells its metrics (client-go's workqueue metrics provider). */
export interface QueueObserver {
  /** A key started waiting (an add of a key already waiting is not one). */
  added(): void;
  /** A delayed add was asked for: a retry after a failure, or a requeue after a while. */
  retried(): void;
  /** A worker took a key that waited `waitedMs` since it was added. */
  started(waitedMs: number): void;
  /** A worker finished a key after `workedMs`. */
  finished(workedMs: number): void;
}

/** How a reconcile ended, as the metrics read it: the reconciler's ReconcileResult has this shape. */
export interface ReconcileOutcome {
  readonly kind: 'done' | 'retry' | 'requeueAfter';
  /** Set when the sync failed. */
  readonly failure?: string;
}

/**
 * controller-runtime's result label. The original returned an error for every failed sync, so a
 * failure is `error` here too, whether it is retried with backoff, rechecked later or waits for a
 * change; otherwise a requeue after a delay is `requeue_after`, and the rest `success`.
 */
function resultLabel(result: ReconcileOutcome): string {
  if (result.kind === 'retry' || result.failure !== undefined) return 'error';
  return result.kind === 'requeueAfter' ? 'requeue_after' : 'success';
}

/** controller-runtime v0.8.3's reconcile time buckets. */
const reconcileBuckets = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.25,
  1.5, 1.75, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5, 6, 7, 8, 9, 10, 15, 20, 25, 30, 40, 50, 60,
];
/** client-go's queue buckets: prometheus.ExponentialBuckets(10e-9, 10, 10), 10 ns to 10 s. */
const queueBuckets = Array.from({ length: 10 }, (_, i) => Number((1e-8 * 10 ** i).toPrecision(1)));

/** What the queue reads at scrape time. */
export interface QueueReadings {
  readonly waiting: number;
  inProgressMs(): number[];
}

export class RuntimeMetrics {
  readonly #controller: string;
  #queue: (() => QueueReadings) | undefined;

  readonly reconcileTotal: Counter<'controller' | 'result'>;
  readonly reconcileErrors: Counter<'controller'>;
  readonly reconcileTime: Histogram<'controller'>;
  readonly maxConcurrentReconciles: Gauge<'controller'>;
  readonly activeWorkers: Gauge<'controller'>;
  readonly queueDepth: Gauge<'name'>;
  readonly queueAdds: Counter<'name'>;
  readonly queueDuration: Histogram<'name'>;
  readonly workDuration: Histogram<'name'>;
  readonly unfinishedWork: Gauge<'name'>;
  readonly longestRunning: Gauge<'name'>;
  readonly retries: Counter<'name'>;
  readonly leaderStatus: Gauge<'name'>;
  readonly restRequests: Counter<'code' | 'method' | 'host'>;

  constructor(registry: Registry, controller: string) {
    this.#controller = controller;
    const registers = [registry];
    const byQueue = { name: controller };
    this.reconcileTotal = new Counter({
      name: 'controller_runtime_reconcile_total',
      help: 'Total number of reconciliations per controller',
      labelNames: ['controller', 'result'],
      registers,
    });
    this.reconcileErrors = new Counter({
      name: 'controller_runtime_reconcile_errors_total',
      help: 'Total number of reconciliation errors per controller',
      labelNames: ['controller'],
      registers,
    });
    this.reconcileTime = new Histogram({
      name: 'controller_runtime_reconcile_time_seconds',
      help: 'Length of time per reconciliation per controller',
      labelNames: ['controller'],
      buckets: reconcileBuckets,
      registers,
    });
    this.maxConcurrentReconciles = new Gauge({
      name: 'controller_runtime_max_concurrent_reconciles',
      help: 'Maximum number of concurrent reconciles per controller',
      labelNames: ['controller'],
      registers,
    });
    this.activeWorkers = new Gauge({
      name: 'controller_runtime_active_workers',
      help: 'Number of currently used workers per controller',
      labelNames: ['controller'],
      registers,
    });
    this.queueDepth = new Gauge({
      name: 'workqueue_depth',
      help: 'Current depth of workqueue',
      labelNames: ['name'],
      registers,
      collect: () => {
        if (this.#queue) this.queueDepth.set(byQueue, this.#queue().waiting);
      },
    });
    this.queueAdds = new Counter({
      name: 'workqueue_adds_total',
      help: 'Total number of adds handled by workqueue',
      labelNames: ['name'],
      registers,
    });
    this.queueDuration = new Histogram({
      name: 'workqueue_queue_duration_seconds',
      help: 'How long in seconds an item stays in workqueue before being requested',
      labelNames: ['name'],
      buckets: queueBuckets,
      registers,
    });
    this.workDuration = new Histogram({
      name: 'workqueue_work_duration_seconds',
      help: 'How long in seconds processing an item from workqueue takes.',
      labelNames: ['name'],
      buckets: queueBuckets,
      registers,
    });
    this.unfinishedWork = new Gauge({
      name: 'workqueue_unfinished_work_seconds',
      help:
        "How many seconds of work has been done that is in progress and hasn't been observed by work_duration. " +
        'Large values indicate stuck threads. One can deduce the number of stuck threads by observing the rate at which this increases.',
      labelNames: ['name'],
      registers,
      collect: () => {
        if (!this.#queue) return;
        const ages = this.#queue().inProgressMs();
        this.unfinishedWork.set(byQueue, ages.reduce((sum, ms) => sum + ms, 0) / 1000);
        this.longestRunning.set(byQueue, Math.max(0, ...ages) / 1000);
      },
    });
    this.longestRunning = new Gauge({
      name: 'workqueue_longest_running_processor_seconds',
      help: 'How many seconds has the longest running processor for workqueue been running.',
      labelNames: ['name'],
      registers,
    });
    this.retries = new Counter({
      name: 'workqueue_retries_total',
      help: 'Total number of retries handled by workqueue',
      labelNames: ['name'],
      registers,
    });
    this.leaderStatus = new Gauge({
      name: 'leader_election_master_status',
      help: "Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master. 'name' is the string used to identify the lease. Please make sure to group by name.",
      labelNames: ['name'],
      registers,
    });
    this.restRequests = new Counter({
      name: 'rest_client_requests_total',
      help: 'Number of HTTP requests, partitioned by status code, method, and host.',
      labelNames: ['code', 'method', 'host'],
      registers,
    });
  }

  /**
   * The controller starts (after leadership, before the caches sync), as controller-runtime's
   * Controller.Start: every reconcile series exists from now, at 0, and the worker count is known.
   */
  controllerStarted(workers: number): void {
    const controller = this.#controller;
    for (const result of ['error', 'requeue_after', 'requeue', 'success'])
      this.reconcileTotal.inc({ controller, result }, 0);
    this.reconcileErrors.inc({ controller }, 0);
    this.activeWorkers.set({ controller }, 0);
    this.maxConcurrentReconciles.set({ controller }, workers);
    for (const counter of [this.queueAdds, this.retries]) counter.inc({ name: controller }, 0);
  }

  /** The observer a queue reports to; `queue` is read at scrape time for depth and work in progress. */
  observeQueue(queue: () => QueueReadings): QueueObserver {
    this.#queue = queue;
    const name = { name: this.#controller };
    return {
      added: () => this.queueAdds.inc(name),
      retried: () => this.retries.inc(name),
      started: (waitedMs) => this.queueDuration.observe(name, waitedMs / 1000),
      finished: (workedMs) => this.workDuration.observe(name, workedMs / 1000),
    };
  }

  reconcileStarted(): void {
    this.activeWorkers.inc({ controller: this.#controller });
  }

  reconciled(result: ReconcileOutcome, seconds: number): void {
    const controller = this.#controller;
    const label = resultLabel(result);
    this.activeWorkers.dec({ controller });
    this.reconcileTime.observe({ controller }, seconds);
    this.reconcileTotal.inc({ controller, result: label });
    if (label === 'error') this.reconcileErrors.inc({ controller });
  }

  /** Leadership of the Lease `lease` was taken (true) or is not held (false). */
  leading(lease: string, leader: boolean): void {
    this.leaderStatus.set({ name: lease }, leader ? 1 : 0);
  }

  /** One HTTP exchange with the apiserver at `host`: its status code, or `<error>` without one. */
  restRequest(host: string, method: string, code: number | undefined): void {
    this.restRequests.inc({ code: code === undefined ? '<error>' : String(code), method, host });
  }
}
