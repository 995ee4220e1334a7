// What runs, in order: the only place that knows every part. Each part is built in src/wiring/
// and runs under the Manager, which starts them in this order and stops them in reverse.

import { systemClock, type Clock, type Random } from './clock.ts';
import type { Config } from './config.ts';
import { WorkQueue } from './controller/queue.ts';
import { ThreadedRenderer } from './controller/threaded-renderer.ts';
import { describeError } from './describe-error.ts';
import type { Logger } from './observability/logger.ts';
import { Metrics } from './observability/metrics.ts';
import { RuntimeMetrics } from './observability/runtime-metrics.ts';
import { processMetrics } from './observability/process-metrics.ts';
import { startHttpServer } from './observability/server.ts';
import { Caches } from './wiring/caches.ts';
import { kubeClients } from './wiring/kube-clients.ts';
import { leadershipRunnable } from './wiring/leadership.ts';
import { Manager } from './wiring/manager.ts';
import { openPolicy } from './wiring/policy.ts';
import { wireEvents } from './wiring/events.ts';
import { createProvider, describeStart } from './wiring/provider.ts';
import { wireIssuance, wireReconciler } from './wiring/reconciler.ts';
import { workersRunnable } from './wiring/workers.ts';
import { wireRestarts } from './wiring/restarts.ts';

/** The field manager of every apply; the original's Secrets are taken over from their managers. */
export const fieldManager = 'secrets-manager';

export interface AppDeps {
  readonly logger: Logger;
  readonly clock?: Clock;
  readonly random?: Random;
}

export type StopCause = 'requested' | 'lost-leadership' | 'failed';

export interface App {
  readonly metrics: Metrics;
  /** Resolves when the operator has stopped, with why. */
  readonly stopped: Promise<StopCause>;
  stop(cause?: StopCause): Promise<void>;
}

export async function startApp(config: Config, deps: AppDeps): Promise<App> {
  const { logger } = deps;
  const clock = deps.clock ?? systemClock;
  const random = deps.random ?? Math.random;
  const metrics = new Metrics();
  const runtime = new RuntimeMetrics(metrics.registry, config.controllerName);
  // The leadership term: once it ends, every in-flight read and Kubernetes request is aborted and
  // every new one fails at once, so a replica that lost the Lease writes nothing more.
  let term: (() => AbortSignal) | undefined;
  const signal = (): AbortSignal | undefined => term?.();
  const clients = kubeClients(config, clock, runtime, logger, signal);
  let phase: 'standby' | 'starting' | 'running' | 'stopping' = config.leaderElection.enabled
    ? 'standby'
    : 'starting';

  const observer = runtime.observeQueue(() => queue);
  const queue: WorkQueue = new WorkQueue({
    clock,
    random,
    baseDelayMs: 1_000,
    maxDelayMs: 300_000,
    observer,
  });
  // Every definition back to the queue (the access policy or the refresh stretch changed); the
  // caches it reads are made below, and nothing calls it before they are.
  let enqueueAll = (): void => undefined;
  const changed = (users: readonly string[]): void => users.forEach((key) => queue.add(key));
  const provider = await createProvider(
    config,
    { clock, random, metrics, logger, signal, changed, stretchChanged: () => enqueueAll() },
    clients.writes,
  );
  const { watchNamespaces, excludeNamespaces } = config;
  const caches = new Caches({
    ...{
      watchNamespaces,
      excludeNamespaces,
      kube: clients.reads,
      fieldManager,
      queue,
      clock,
      random,
      logger,
    },
    definitionAdded: (namespace) => provider.definitionAdded(namespace),
    definitionRemoved: (namespace) => provider.definitionRemoved(namespace),
  });
  enqueueAll = () => caches.enqueueAll();
  const policy = await openPolicy(config.accessPolicyFile, config.backend, logger, () => enqueueAll());
  const events = wireEvents(clients.writes, config.controllerName, clock, logger);
  const rollout = config.rolloutRestart.enabled
    ? wireRestarts({ config, kube: clients, events, clock, random, metrics, logger })
    : undefined;
  const templates = new ThreadedRenderer();
  const issuance = wireIssuance({ config, kube: clients.writes, fieldManager, metrics, clock, logger });
  const reconciler = wireReconciler({
    ...{ config, kube: clients.writes, fieldManager, events, caches, provider, metrics, clock, logger },
    templates,
    issuance,
    policy: () => policy.file?.policy,
    ...(rollout ? { restarts: rollout.restarter } : {}),
  });
  metrics.beforeScrape = () => {
    metrics.queueDepth.set(queue.depth);
    provider.collect();
  };
  const server = await startHttpServer(config.metricsAddress, [metrics.registry, processMetrics()], {
    notReady() {
      if (phase === 'stopping') return 'stopping';
      return caches.notSynced ?? rollout?.notSynced() ?? provider.notReady();
    },
    readyText: () => (phase === 'standby' ? 'standby: caches synced, waiting to lead' : 'ok'),
  });
  logger.info('secrets-manager started', describeStart(config, policy.file?.policy.rules.length));

  const leadership = config.leaderElection.enabled
    ? leadershipRunnable({
        ...{ client: clients.lease, config: config.leaderElection, clock, metrics, runtime, logger },
        leading(leaderTerm) {
          term = leaderTerm;
          phase = 'starting';
        },
        lost() {
          if (phase === 'stopping') return;
          logger.error('lost leadership; stopping so that only the leader writes');
          void stop('lost-leadership');
        },
      })
    : undefined;
  // What runs, in the order it starts; it stops in the reverse order. Everything up to the
  // leadership runs on every replica (a hot standby): the definition, Secret and workload caches synced
  // and the backend logged in, so a new leader starts warm. Nothing before it writes to Kubernetes or reads a path: the
  // workers that do start only once this instance leads.
  const manager = new Manager(
    [
      clients.runnable,
      { name: 'metrics server', stop: () => new Promise<void>((resolve) => server.close(() => resolve())) },
      ...policy.runnables,
      { name: provider.backend, start: (abort) => provider.start(abort), stop: () => provider.stop() },
      caches.runnable(),
      // Warm on a standby too; a list that stays refused ends the operator within the caches'
      // deadline, with the cache and the refusal named in readiness and the log.
      ...(rollout?.runnables ?? []),
      ...(leadership ? [leadership] : []),
      { name: 'leader gauge', start: () => metrics.leader.set(1), stop: () => metrics.leader.set(0) },
      { name: 'definition events', start: () => caches.startEnqueueing() },
      // As controller-runtime's Controller.Start: its series exist once this instance leads.
      { name: 'controller metrics', start: () => runtime.controllerStarted(config.concurrency) },
      // Stopped after the workers that render on it.
      { name: 'template thread', stop: () => templates.close() },
      // Revocations still waiting are dropped: those leases end at their own time.
      { name: 'issuance', stop: () => issuance.stop() },
      workersRunnable({
        ...{ count: config.concurrency, queue, reconciler, clock, metrics, runtime, logger },
        running: () => (phase = 'running'),
      }),
    ],
    (name, error) => logger.warn('could not stop cleanly', { part: name, error: describeError(error) }),
  );

  let resolveStopped: (cause: StopCause) => void = () => undefined;
  const stopped = new Promise<StopCause>((resolve) => (resolveStopped = resolve));
  let stopping: Promise<void> | undefined;
  const stop = (cause: StopCause = 'requested'): Promise<void> =>
    (stopping ??= (async () => {
      phase = 'stopping';
      logger.info('stopping: finishing in-flight work');
      await manager.stop();
      logger.info('stopped', { cause });
      resolveStopped(cause);
    })());
  manager.start().catch((error: unknown) => {
    if (phase === 'stopping') return;
    logger.error('could not start', { error: describeError(error) });
    void stop('failed');
  });
  return { metrics, stopped, stop };
}
